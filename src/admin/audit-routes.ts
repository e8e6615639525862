import express, { type Request, type Response, type Router } from "express";
import { z } from "zod";
import type { Logger } from "../http/logger";
import { mount, operation } from "./operation";
import { presentSource } from "./presenters";
import { ChangeSource, named, OrganizationRole, OrganizationRoleSource, ManagedBy, ProjectRole, ProjectRoleSource } from "./schemas";
import { decodeAuditCursor, encodeAuditCursor, type AuditFilter, type AuditPosition } from "../audit/audit-query";
import type { AccessSource } from "../domain/access";
import type { AccessCatalog } from "../domain/catalog";
import type { AuditEvent } from "../domain/audit";
import { InvalidError } from "../errors";
import type { Services } from "../services";
import { requireAccessReviewer, type AccessReviewReport, type OrganizationFlag, type ReviewedUser } from "../services/access-review";
import { csvAttachment, csvRecord } from "./csv";
import { ReviewCompletions, type LastReview } from "../services/review-completions";

/**
 * The audit trail and access reviews (mounted under /api/v1 after authentication): what an
 * identity administrator shows an auditor — who changed what, when, through which channel — and
 * who has access today and why. Admin and Owner only, always within the caller's organization.
 */

/** An ISO 8601 time with a zone (`2025-01-31T12:00:00Z`, `…+02:00`) or a UTC date; local times would be ambiguous. */
const isoTime = z
  .union([z.iso.datetime({ offset: true }), z.iso.date()])
  .describe("An ISO 8601 time with a zone (`2025-01-31T12:00:00Z`, `…+02:00`) or a date (UTC midnight); local times without a zone are refused.")
  .transform((text) => new Date(text))
  .refine((date) => !Number.isNaN(date.getTime()), "not a valid time");

/**
 * Query parameters, each at most once and each a plain string: express parses `actor[$ne]=x` into
 * an object, which is refused here rather than reaching the database as an operator. Unknown
 * parameters are refused too — a misspelt filter (`actorId=`) silently widening an audit search
 * would be worse than an error.
 */
const filterParameters = {
  actor: z.string().min(1).optional().describe("Only events by this actor (`actor.id`: a user id, a SCIM token id, the CLI operator's name)."),
  target: z.string().min(1).optional().describe("Only events about this target (`target.id`: a user, group, mapping, project, token or organization id)."),
  action: z.string().min(1).optional().describe("Only events with exactly this action, e.g. `user.deactivated`."),
  source: ChangeSource.optional().describe("Only events that came through this channel."),
  from: isoTime.optional().describe("Only events at or after this time (inclusive)."),
  to: isoTime.optional().describe("Only events before this time (exclusive); must be later than `from`."),
};
const exportQuery = z.object(filterParameters).strict();
const searchQuery = z
  .object({
    ...filterParameters,
    limit: z
      .string()
      .regex(/^\d+$/, "must be a whole number")
      .transform(Number)
      .pipe(z.number().int().min(1).max(1000))
      .optional()
      .describe(
        "The most events on the page: a whole number from 1 to 1000, 25 when left out. On the embedded database each event beyond the most recent few thousand costs about a millisecond to read, so small pages answer fastest.",
      ),
    cursor: z.string().min(1).max(1000).optional().describe("The `nextCursor` of the previous page."),
  })
  .strict();

/**
 * 25: on the embedded database a page's events are read by `_id` at ~1 ms each (storage/audit-index.ts),
 * so a deep page of 25 answers in ~25 ms where one of 100 took ~90 ms (README "Performance").
 */
const defaultLimit = 25;

/** The 400 body the rest of /api/v1 answers to a malformed request. */
class InvalidRequestError extends InvalidError {
  readonly code = "invalid_request";
}

function auditFilter(query: z.output<typeof exportQuery>): AuditFilter {
  if (query.from && query.to && query.from.getTime() >= query.to.getTime()) throw new InvalidRequestError("from must be earlier than to", "query");
  return {
    ...(query.actor !== undefined ? { actorId: query.actor } : {}),
    ...(query.target !== undefined ? { targetId: query.target } : {}),
    ...(query.action !== undefined ? { action: query.action } : {}),
    ...(query.source !== undefined ? { source: query.source } : {}),
    ...(query.from ? { from: query.from } : {}),
    ...(query.to ? { to: query.to } : {}),
  };
}

function cursorPosition(cursor: string): AuditPosition {
  try {
    return decodeAuditCursor(cursor);
  } catch (error) {
    if (error instanceof InvalidError) throw new InvalidRequestError(error.message, "query");
    throw error;
  }
}

/** One event as `GET /api/v1/audit` answers it: exactly these fields, whatever the stored document holds. */
function presentAuditEvent(event: AuditEvent): z.input<typeof AuditEventSchema> {
  return {
    id: event.id,
    at: event.at.toISOString(),
    actor: { type: event.actor.type, id: event.actor.id, name: event.actor.name },
    source: event.source,
    action: event.action,
    target: { type: event.target.type, id: event.target.id, ...(event.target.display !== undefined ? { display: event.target.display } : {}) },
    ...(event.before !== undefined ? { before: event.before } : {}),
    ...(event.after !== undefined ? { after: event.after } : {}),
    ...(event.reason !== undefined ? { reason: event.reason } : {}),
    ...(event.cause !== undefined
      ? {
          cause: {
            action: event.cause.action,
            eventId: event.cause.eventId,
            target: { type: event.cause.target.type, id: event.cause.target.id, ...(event.cause.target.display !== undefined ? { display: event.cause.target.display } : {}) },
            ...(event.cause.effectiveAt !== undefined ? { effectiveAt: new Date(event.cause.effectiveAt).toISOString() } : {}),
          },
        }
      : {}),
    requestId: event.requestId,
  };
}

const auditColumns = ["at", "actor_type", "actor_id", "actor_name", "source", "action", "target_type", "target_id", "target_display", "reason", "request_id", "before", "after"];

function auditRecord(event: AuditEvent): string {
  const json = (value: unknown) => (value === undefined ? undefined : JSON.stringify(value));
  return csvRecord([
    event.at.toISOString(),
    event.actor.type,
    event.actor.id,
    event.actor.name,
    event.source,
    event.action,
    event.target.type,
    event.target.id,
    event.target.display,
    event.reason,
    event.requestId,
    json(event.before),
    json(event.after),
  ]);
}


function presentReviewedUser(user: ReviewedUser, lastReviewed: LastReview | undefined): z.input<typeof ReviewedUserSchema> {
  return {
    id: user.id,
    userName: user.userName,
    displayName: user.displayName ?? null,
    active: user.active,
    managedBy: user.managedBy,
    ...(user.managedVia ? { managedVia: user.managedVia } : {}),
    created: user.created.toISOString(),
    role: user.role ?? null,
    ...(user.denial ? { denial: user.denial } : {}),
    roleSources: user.roleSources.map((source) => presentSource(source, "organization")),
    allProjects: user.allProjects,
    projects: user.projects.map((p) => ({
      id: p.projectId,
      name: p.projectName ?? null,
      role: p.role,
      sources: p.sources.map((source) => presentSource(source, "project")),
    })),
    lastLogin: user.lastLogin?.toISOString() ?? null,
    flags: [...user.flags],
    lastReviewed: lastReviewed
      ? { at: lastReviewed.at.toISOString(), completionId: lastReviewed.completionId, reviewer: { ...lastReviewed.reviewer }, scope: lastReviewed.scope }
      : null,
  };
}

function presentAccessReview(report: AccessReviewReport, lastReviews: ReadonlyMap<string, LastReview>): z.input<typeof AccessReviewSchema> {
  return {
    generatedAt: report.generatedAt.toISOString(),
    organizationId: report.organizationId,
    ownerUserId: report.ownerUserId ?? null,
    vacantOwnership: report.vacantOwnership,
    organizationFlags: [...report.organizationFlags],
    expiringSamlCertificates: report.expiringSamlCertificates.map((c) => ({ subject: c.subject, validTo: c.validTo.toISOString() })),
    users: report.users.map((user) => presentReviewedUser(user, lastReviews.get(user.id))),
  };
}

/** A source as a reviewer reads it in a spreadsheet cell: `admin from mapping 7c9e… (group "Analytics Admins")`. */
function describeSource(source: AccessSource): string {
  switch (source.kind) {
    case "owner":
      return `${source.role} from ownership`;
    case "local":
      return `${source.role} from local assignment`;
    case "default":
      return `${source.role} from organization default`;
    case "temporary":
      return `${source.role} from temporary grant ${source.grantId ?? ""}${source.until ? ` until ${source.until.toISOString()}` : ""}`;
    case "mapping": {
      const via = source.groupId ? ` (group "${source.groupName ?? source.groupId}")` : source.appRole ? ` (app role "${source.appRole}")` : "";
      return `${source.role} from mapping ${source.mappingId ?? ""}${via}`;
    }
  }
}

function everyProjectLabel(catalog: AccessCatalog): string {
  return `all ${catalog.definition.project.plural}: ${catalog.definition.everyProject?.actsAs ?? ""}`;
}

const accessReviewColumns = ["user_id", "user_name", "display_name", "active", "managed_by", "role", "role_sources", "projects", "last_login", "flags", "last_reviewed"];

/** `everyProject`: how the catalog says "every project as Editor" (`all projects: editor` in the shipped one). */
function accessReviewRecord(user: ReviewedUser, everyProject: string, lastReviewed: LastReview | undefined): string {
  const projects = [
    ...(user.allProjects ? [everyProject] : []),
    ...user.projects.map((p) => `${p.projectName ?? p.projectId}: ${p.role} (${p.sources.map(describeSource).join(", ")})`),
  ];
  return csvRecord([
    user.id,
    user.userName,
    user.displayName,
    user.active,
    user.managedBy,
    user.role,
    user.roleSources.map(describeSource).join("; "),
    projects.join("; "),
    user.lastLogin?.toISOString(),
    user.flags.join("; "),
    lastReviewed ? `${lastReviewed.at.toISOString()} by ${lastReviewed.reviewer.name} (${lastReviewed.scope})` : undefined,
  ]);
}

/**
 * The access review as CSV, one row per member. Findings about the organization come first, one row
 * each (empty user_id, the finding in `display_name`, its flag in `flags`: `vacant_ownership`,
 * `saml_certificate_expires_soon`) rather than `#` comment lines: comments are not part of RFC
 * 4180, and a line before the header would make spreadsheets and CSV libraries misread the
 * columns, whereas a row keeps the file valid and is the first thing a reviewer sees.
 */
function accessReviewCsv(report: AccessReviewReport, everyProject: string, lastReviews: ReadonlyMap<string, LastReview>): string {
  const organizationRow = (finding: string, flag: OrganizationFlag): string => csvRecord(["", "", finding, "", "", "", "", "", "", flag, ""]);
  const findings = report.organizationFlags.map((flag) => {
    switch (flag) {
      case "vacant_ownership":
        return organizationRow("(no owner: the organization's ownership is vacant)", flag);
      case "saml_certificate_expires_soon": {
        const certificates = report.expiringSamlCertificates.map((c) => `${c.subject} ${c.validTo.getTime() <= report.generatedAt.getTime() ? "expired" : "expires"} ${c.validTo.toISOString()}`);
        return organizationRow(`(SAML signing certificate: ${certificates.join("; ")})`, flag);
      }
    }
  });
  return [csvRecord(accessReviewColumns), ...findings, ...report.users.map((user) => accessReviewRecord(user, everyProject, lastReviews.get(user.id)))].join("");
}

/** `2025-01-31`: the UTC day, for file names. */
const day = (date: Date) => date.toISOString().slice(0, 10);

/** Writes a chunk and, when the socket's buffer is full, waits until it drains (or the client leaves). */
function write(res: Response, chunk: string): Promise<void> {
  if (res.destroyed) return Promise.reject(new Error("The client closed the connection during the export"));
  if (res.write(chunk)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const drained = () => {
      res.off("close", closed);
      resolve();
    };
    const closed = () => {
      res.off("drain", drained);
      reject(new Error("The client closed the connection during the export"));
    };
    res.once("drain", drained);
    res.once("close", closed);
  });
}

// --- Answers and operations -------------------------------------------------------------------------

const AuditEventSchema = named(
  "AuditEvent",
  z.object({
    id: z.string(),
    at: z.iso.datetime(),
    actor: z.object({ type: z.enum(["scim_token", "saml_connection", "user", "operator", "system"]), id: z.string(), name: z.string() }),
    source: ChangeSource,
    action: z.string().describe("e.g. `user.provisioned`, `user.access_changed`, `mapping.created`."),
    target: z.object({ type: z.string(), id: z.string(), display: z.string().optional() }),
    before: z.unknown().optional().describe("The target before the change (any JSON value), when the action has one."),
    after: z.unknown().optional().describe("The target after the change (any JSON value), when the action has one."),
    reason: z.string().optional().describe("The reason given with the change, if any."),
    cause: z
      .object({
        action: z.string().describe("The causing change's action, e.g. `group.members_changed`, `mapping.changed`."),
        eventId: z.string().describe("The id of the causing change's own event."),
        target: z.object({ type: z.string(), id: z.string(), display: z.string().optional() }),
        effectiveAt: z.iso.datetime().optional().describe("When the access changed, where that was before the event was recorded (a temporary grant that ran out)."),
      })
      .optional()
      .describe("Only on `user.access_changed`: the change that changed the member's effective access (the README's \"Effective access changes in the audit trail\")."),
    requestId: z.string(),
  }),
);

const ReviewedUserSchema = named(
  "ReviewedUser",
  z.object({
    id: z.string(),
    userName: z.string(),
    displayName: z.string().nullable(),
    active: z.boolean(),
    managedBy: ManagedBy,
    managedVia: z.string().optional(),
    created: z.iso.datetime(),
    role: OrganizationRole.nullable().describe("The effective organization role; null when the member has no access (`denial` says why)."),
    denial: z.string().optional(),
    roleSources: z.array(OrganizationRoleSource).describe("Every source that gave an organization role, strongest first."),
    allProjects: z.boolean(),
    projects: z.array(
      z.object({
        id: z.string().describe("The project's id."),
        name: z.string().nullable().describe("The project's name; null when the project was deleted but an assignment still names it."),
        role: ProjectRole,
        sources: z.array(ProjectRoleSource).describe("Every source that assigned a role in the project, strongest first."),
      }),
    ),
    lastLogin: z.iso.datetime().nullable().describe("The last SAML sign-in; null before the first."),
    flags: z
      .array(z.enum(["inactive_90_days", "elevated", "temporary_grant", "suspended"]))
      .describe(
        "`inactive_90_days`: no login (or, never logged in, created) more than 90 days ago; `elevated`: admin or owner; `temporary_grant`: some access is temporary.",
      ),
    lastReviewed: z
      .object({
        at: z.iso.datetime().describe("When the review that covered the member was completed."),
        completionId: z.string().describe("The `access_review.completed` audit event."),
        reviewer: z.object({ id: z.string(), name: z.string() }).describe("Who signed it off."),
        scope: z.enum(["organization", "project"]).describe("An organization-wide review, or one project's."),
      })
      .nullable()
      .describe("The last completed review that covered this member (`POST /access-review/completions`); null when none has."),
  }),
);

const AccessReviewSchema = named(
  "AccessReview",
  z.object({
    generatedAt: z.iso.datetime(),
    organizationId: z.string(),
    ownerUserId: z.string().nullable(),
    vacantOwnership: z.boolean().describe("Nobody holds ownership: the organization has no Owner, or the Owner's user was deleted."),
    organizationFlags: z
      .array(z.enum(["vacant_ownership", "saml_certificate_expires_soon"]))
      .describe(
        "Findings about the organization rather than a member: `vacant_ownership` (as `vacantOwnership`); `saml_certificate_expires_soon`: a signing certificate of the SAML connection expires within 30 days or has expired.",
      ),
    expiringSamlCertificates: z
      .array(z.object({ subject: z.string(), validTo: z.iso.datetime().describe("When the certificate expires (or expired).") }))
      .describe("The SAML signing certificates behind `saml_certificate_expires_soon`; empty without it."),
    users: z.array(ReviewedUserSchema).describe("Every member, ordered by userName."),
  }),
  "Who has access today, how much, and why.",
);

const accessReviewers = "Admin and Owner only.";
const noQuery = z.object({}).strict();

export const searchAudit = operation({
  method: "get",
  path: "/audit",
  operationId: "searchAudit",
  tag: "Audit",
  summary: "Search the audit trail",
  description: `${accessReviewers} Newest first, a page at a time. Each parameter at most once; unknown parameters are refused.`,
  security: "personal",
  authorize: requireAccessReviewer,
  query: searchQuery,
  responses: {
    200: {
      description: "A page of events.",
      schema: named(
        "AuditEventPage",
        z.object({
          events: z.array(AuditEventSchema).describe("Newest first."),
          nextCursor: z.string().optional().describe("Pass as `cursor` for the next page; absent on the last page."),
        }),
      ),
    },
  },
  errors: { 400: ["invalid_request"] },
});

export const exportAudit = operation({
  method: "get",
  path: "/audit/export.csv",
  operationId: "exportAudit",
  tag: "Audit",
  summary: "Export the audit trail as CSV",
  description: `${accessReviewers} Every matching event, newest first, streamed; a failure after the first rows cuts the connection rather than end a partial file cleanly. Each parameter at most once; unknown parameters are refused.`,
  security: "personal",
  authorize: requireAccessReviewer,
  query: exportQuery,
  responses: { 200: { description: "The events.", csv: auditColumns } },
  errors: { 400: ["invalid_request"] },
});

export const getAccessReview = operation({
  method: "get",
  path: "/access-review",
  operationId: "getAccessReview",
  tag: "Audit",
  summary: "Access review",
  description: `${accessReviewers} Every member's role and where it came from, projects, last login and flags. Takes no parameters.`,
  security: "personal",
  authorize: requireAccessReviewer,
  query: noQuery,
  responses: { 200: { description: "The review.", schema: AccessReviewSchema } },
  errors: { 400: ["invalid_request"] },
  badRequest: "A query parameter was given.",
});

export const exportAccessReview = operation({
  method: "get",
  path: "/access-review.csv",
  operationId: "exportAccessReview",
  tag: "Audit",
  summary: "Access review as CSV",
  description: `${accessReviewers} One row per member, after one row per finding about the organization (empty \`user_id\`, the finding in \`display_name\`, flags \`vacant_ownership\` or \`saml_certificate_expires_soon\`). Takes no parameters.`,
  security: "personal",
  authorize: requireAccessReviewer,
  query: noQuery,
  responses: { 200: { description: "The review.", csv: accessReviewColumns } },
  errors: { 400: ["invalid_request"] },
  badRequest: "A query parameter was given.",
});

export const auditOperations = [searchAudit, exportAudit, getAccessReview, exportAccessReview];

export function auditRoutes(services: Services, logger?: Logger): Router {
  const router = express.Router();
  const organizationOf = (req: Request) => req.apiOrganizationId!;

  mount(router, searchAudit, async ({ query }, req) => {
    const { limit = defaultLimit, cursor, ...filters } = query;
    const page = await services.audit.search(organizationOf(req), auditFilter(filters), { limit, ...(cursor ? { after: cursorPosition(cursor) } : {}) });
    return { events: page.events.map(presentAuditEvent), ...(page.next ? { nextCursor: encodeAuditCursor(page.next) } : {}) };
  });

  /**
   * Every matching event, streamed page by page. The first page is read before anything is sent,
   * so a bad request or an unreachable database still answers with a JSON error; a failure after
   * that aborts the response, because a truncated file that ends cleanly would pass for complete.
   */
  mount(router, exportAudit, async ({ query }, req, res) => {
    const pages = services.audit.searchAll(organizationOf(req), auditFilter(query));
    let page = await pages.next();
    try {
      res.status(200).set(csvAttachment(`audit-${organizationOf(req)}-${day(new Date())}.csv`));
      await write(res, csvRecord(auditColumns));
      while (!page.done) {
        await write(res, page.value.map(auditRecord).join(""));
        page = await pages.next();
      }
      res.end();
    } catch (error) {
      if (!res.headersSent) throw error;
      logger?.error({ err: error, requestId: req.id }, "audit export failed midway; the connection was cut so no partial file passes as complete");
      res.destroy(error instanceof Error ? error : undefined);
    }
  });

  /** The review and, for each member, the last completed review that covered them. */
  const reviewOf = async (req: Request) => {
    const scope = { organizationId: organizationOf(req) };
    const [report, completions] = await Promise.all([services.accessReview.review(scope), services.reviewCompletions.history(scope)]);
    return { report, lastReviews: ReviewCompletions.lastReviews(completions, report.users) };
  };

  mount(router, getAccessReview, async (_input, req) => {
    const { report, lastReviews } = await reviewOf(req);
    return presentAccessReview(report, lastReviews);
  });

  mount(router, exportAccessReview, async (_input, req, res) => {
    const { report, lastReviews } = await reviewOf(req);
    res.status(200).set(csvAttachment(`access-review-${report.organizationId}-${day(report.generatedAt)}.csv`)).send(accessReviewCsv(report, everyProjectLabel(services.access.catalog), lastReviews));
  });

  return router;
}

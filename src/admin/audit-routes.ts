import type { Logger } from "../http/logger";
import { presentSource } from "./presenters";
import express, { type NextFunction, type Request, type Response, type Router } from "express";
import { z } from "zod";
import { decodeAuditCursor, encodeAuditCursor, type AuditFilter, type AuditPosition } from "../audit/audit-query";
import type { AccessSource } from "../domain/access";
import type { AuditEvent } from "../domain/audit";
import { InvalidError } from "../errors";
import type { Services } from "../services";
import { requireAccessReviewer, type AccessReviewReport, type OrganizationFlag, type ReviewedUser } from "../services/access-review";
import { csvAttachment, csvRecord } from "./csv";

/**
 * The audit trail and access reviews (mounted under /api/v1 after authentication): what an
 * identity administrator shows an auditor — who changed what, when, through which channel — and
 * who has access today and why. Admin and Owner only, always within the caller's organization.
 */

const sources = ["scim", "saml", "admin", "cli", "system"] as const;

/** An ISO 8601 time with a zone (`2025-01-31T12:00:00Z`, `…+02:00`) or a UTC date; local times would be ambiguous. */
const isoTime = z
  .union([z.iso.datetime({ offset: true }), z.iso.date()])
  .transform((text) => new Date(text))
  .refine((date) => !Number.isNaN(date.getTime()), "not a valid time");

/**
 * Query parameters, each at most once and each a plain string: express parses `actor[$ne]=x` into
 * an object, which is refused here rather than reaching the database as an operator. Unknown
 * parameters are refused too — a misspelt filter (`actorId=`) silently widening an audit search
 * would be worse than an error.
 */
const filterParameters = {
  actor: z.string().min(1).optional(),
  target: z.string().min(1).optional(),
  action: z.string().min(1).optional(),
  source: z.enum(sources).optional(),
  from: isoTime.optional(),
  to: isoTime.optional(),
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
      .optional(),
    cursor: z.string().min(1).max(1000).optional(),
  })
  .strict();

const defaultLimit = 100;

/** The 400 body the rest of /api/v1 answers to a malformed request. */
class InvalidRequestError extends InvalidError {
  readonly code = "invalid_request";
}

function parseQuery<T extends z.ZodType>(schema: T, query: unknown): z.output<T> {
  const parsed = schema.safeParse(query);
  if (!parsed.success) throw new InvalidRequestError(parsed.error.issues.map((i) => `${i.path.join(".") || "query"}: ${i.message}`).join("; "), "query");
  return parsed.data;
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
function presentAuditEvent(event: AuditEvent) {
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


function presentReviewedUser(user: ReviewedUser) {
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
    roleSources: user.roleSources.map(presentSource),
    allProjects: user.allProjects,
    projects: user.projects.map((p) => ({ id: p.projectId, name: p.projectName ?? null, role: p.role, sources: p.sources.map(presentSource) })),
    lastLogin: user.lastLogin?.toISOString() ?? null,
    flags: user.flags,
  };
}

function presentAccessReview(report: AccessReviewReport) {
  return {
    generatedAt: report.generatedAt.toISOString(),
    organizationId: report.organizationId,
    ownerUserId: report.ownerUserId ?? null,
    vacantOwnership: report.vacantOwnership,
    organizationFlags: report.organizationFlags,
    expiringSamlCertificates: report.expiringSamlCertificates.map((c) => ({ subject: c.subject, validTo: c.validTo.toISOString() })),
    users: report.users.map(presentReviewedUser),
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

const accessReviewColumns = ["user_id", "user_name", "display_name", "active", "managed_by", "role", "role_sources", "projects", "last_login", "flags"];

function accessReviewRecord(user: ReviewedUser): string {
  const projects = [
    ...(user.allProjects ? ["all projects: editor"] : []),
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
  ]);
}

/**
 * The access review as CSV, one row per member. Findings about the organization come first, one row
 * each (empty user_id, the finding in `display_name`, its flag in `flags`: `vacant_ownership`,
 * `saml_certificate_expires_soon`) rather than `#` comment lines: comments are not part of RFC
 * 4180, and a line before the header would make spreadsheets and CSV libraries misread the
 * columns, whereas a row keeps the file valid and is the first thing a reviewer sees.
 */
function accessReviewCsv(report: AccessReviewReport): string {
  const organizationRow = (finding: string, flag: OrganizationFlag): string => csvRecord(["", "", finding, "", "", "", "", "", "", flag]);
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
  return [csvRecord(accessReviewColumns), ...findings, ...report.users.map(accessReviewRecord)].join("");
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

export function auditRoutes(services: Services, logger?: Logger): Router {
  const router = express.Router();
  const organizationOf = (req: Request) => req.apiOrganizationId!;

  router.get("/audit", async (req: Request, res: Response, next: NextFunction) => {
    try {
      requireAccessReviewer(req.apiActor!);
      const query = parseQuery(searchQuery, req.query);
      const { limit = defaultLimit, cursor, ...filters } = query;
      const page = await services.audit.search(organizationOf(req), auditFilter(filters), { limit, ...(cursor ? { after: cursorPosition(cursor) } : {}) });
      res.json({ events: page.events.map(presentAuditEvent), ...(page.next ? { nextCursor: encodeAuditCursor(page.next) } : {}) });
    } catch (error) {
      next(error);
    }
  });

  /**
   * Every matching event, streamed page by page. The first page is read before anything is sent,
   * so a bad request or an unreachable database still answers with a JSON error; a failure after
   * that aborts the response, because a truncated file that ends cleanly would pass for complete.
   */
  router.get("/audit/export.csv", async (req: Request, res: Response, next: NextFunction) => {
    try {
      requireAccessReviewer(req.apiActor!);
      const filter = auditFilter(parseQuery(exportQuery, req.query));
      const pages = services.audit.searchAll(organizationOf(req), filter);
      let page = await pages.next();
      res.status(200).set(csvAttachment(`audit-${organizationOf(req)}-${day(new Date())}.csv`));
      await write(res, csvRecord(auditColumns));
      while (!page.done) {
        await write(res, page.value.map(auditRecord).join(""));
        page = await pages.next();
      }
      res.end();
    } catch (error) {
      if (!res.headersSent) return next(error);
      logger?.error({ err: error, requestId: req.id }, "audit export failed midway; the connection was cut so no partial file passes as complete");
      res.destroy(error instanceof Error ? error : undefined);
    }
  });

  router.get("/access-review", async (req: Request, res: Response, next: NextFunction) => {
    try {
      requireAccessReviewer(req.apiActor!);
      parseQuery(z.object({}).strict(), req.query);
      res.json(presentAccessReview(await services.accessReview.review({ organizationId: organizationOf(req) })));
    } catch (error) {
      next(error);
    }
  });

  router.get("/access-review.csv", async (req: Request, res: Response, next: NextFunction) => {
    try {
      requireAccessReviewer(req.apiActor!);
      parseQuery(z.object({}).strict(), req.query);
      const report = await services.accessReview.review({ organizationId: organizationOf(req) });
      res.status(200).set(csvAttachment(`access-review-${report.organizationId}-${day(report.generatedAt)}.csv`)).send(accessReviewCsv(report));
    } catch (error) {
      next(error);
    }
  });

  return router;
}

import express, { type NextFunction, type Request, type Response, type Router } from "express";
import { z } from "zod";
import { NotFoundError, UnauthenticatedError } from "../errors";
import type { Logger } from "../http/logger";
import type { Services } from "../services";
import { ScimTokens } from "../services/scim-tokens";
import { scopesOf, type TokenScope } from "../domain/token-scopes";
import { isValidCsrfToken } from "../services/sessions";
import type { Config } from "../config";
import type { Session } from "../domain/session";
import type { User } from "../domain/user";
import { clearSessionCookie, readSessionCookie } from "../http/session-cookie";
import { sessionOperations, sessionRoutes } from "./session-routes";
import type { ApiActor } from "../services/members";
import { auditOperations, auditRoutes } from "./audit-routes";
import { offboardingOperations, offboardingRoutes } from "./offboarding-routes";
import { mappingOperations, mappingRoutes } from "./mapping-routes";
import { eventOperations, eventRoutes } from "./event-routes";
import { serviceTokenOperations, serviceTokenRoutes } from "./service-token-routes";
import { webhookOperations, webhookRoutes } from "./webhook-routes";
import { openApiDocumentOf, withCatalogEnums, type OpenApiDocument } from "./openapi";
import type { AccessCatalog } from "../domain/catalog";
import { SHIPPED_CATALOG } from "../domain/permissions";
import { contextOf, scopeOf, sendError } from "./http";
import { mount, operation } from "./operation";
import { Access, catalogEnums, components, named, GrantableRole, Member, OrganizationRole, Permission, ProjectItem, ProjectRole, ReasonRequest, TemporaryGrant, toAssignment } from "./schemas";
import { organizationOperations, organizationRoutes } from "./organization-routes";
import { samlConnectionOperations, samlConnectionRoutes } from "./saml-routes";
import { presentAccess, presentGrant, presentMember } from "./presenters";
import { jsonBody } from "../http/json-body";
import { errorAnswerOf, setErrorHeaders } from "../http/error-handler";
import { METADATA_MEDIA_TYPES } from "./saml-routes";
import { signInDiscoveryRoutes, signInOperations, signInRoutes } from "./sign-in-routes";
import { groupOperations, groupRoutes } from "./group-routes";
import { provisioningOperations, provisioningRoutes } from "./provisioning-routes";
import { samlTestOperations, samlTestRoutes } from "./saml-test-routes";
import { meOperations, meRoutes } from "./me-routes";
import { reviewOperations, reviewRoutes } from "./review-routes";
import { erasureOperations, erasureRoutes } from "./erasure-routes";
import { projectAccessOperations, projectAccessRoutes } from "./project-access-routes";

/**
 * The JSON API for the product at /api/v1: authorization answers for the product's back end
 * (organization service tokens, `gatehouse service-token create`) and the local admin API for
 * people (personal API tokens, `gatehouse user-token create`, or the browser session that SAML
 * sign-in starts; see admin/session-routes.ts).
 */



export const describeApi = operation({
  method: "get",
  path: "/openapi.json",
  operationId: "getOpenApiDocument",
  tag: "Meta",
  summary: "This description of the API",
  description: "Needs no token.",
  security: "none",
  responses: {
    200: {
      description: "The OpenAPI 3.1 document.",
      schema: z.looseObject({ openapi: z.string().regex(/^3\.1\.\d+$/), info: z.looseObject({}), paths: z.looseObject({}) }),
    },
  },
});

// --- The operations on one member (the organization-wide ones are in organization-routes.ts) -----

const userIdParams = z.object({ id: z.string().min(1).describe("The user's id (the SCIM id).") });

export const getUserAccess = operation({
  method: "get",
  path: "/users/:id/access",
  operationId: "getUserAccess",
  tag: "Access",
  summary: "A member's effective access",
  description: "The role, what it allows, and where each grant came from. Service tokens, admins, the Owner, and members about themselves.",
  security: "personalOrService",
  params: userIdParams,
  responses: { 200: { description: "The member's access.", schema: Access } },
  errors: { 404: "No such user in the organization" },
});

export const getUser = operation({
  method: "get",
  path: "/users/:id",
  operationId: "getUser",
  tag: "Members",
  summary: "One member",
  description: "Admins, the Owner, service tokens, and members about themselves.",
  security: "personalOrService",
  params: userIdParams,
  responses: { 200: { description: "The member.", schema: Member } },
  errors: { 404: "No such user in the organization" },
});

export const changeUserAccess = operation({
  method: "put",
  path: "/users/:id",
  operationId: "changeUserAccess",
  tag: "Members",
  summary: "Change a local member's role and projects",
  description:
    "Admin and Owner only. Give `role`, `projects`, or both: a body with neither is answered `400 invalid`. On a member an identity provider manages, the grants made here (kept when a local member was linked to the provider, or a former Owner's role) can be lowered or removed, never raised (`409 managed_by_identity_provider`): their access comes from the provider's groups.",
  security: "personal",
  params: userIdParams,
  body: named(
    "ChangeAccessRequest",
    z
      .object({
        role: OrganizationRole.nullable()
          .optional()
          .describe(
            "The member's local role. `owner` is refused (`owner_protected`): ownership moves only by transfer. `null` removes the local role (the member keeps what groups or the default role give).",
          ),
        projects: z.array(ProjectItem).optional().describe("Replaces the member's local project assignments."),
        reason: z.string().max(1000).optional().describe("Recorded in the audit trail."),
      })
      .strict(),
  ),
  responses: { 200: { description: "The member after the change.", schema: Member } },
  errors: { 400: ["invalid"], 403: ["owner_protected", "no_self_elevation"], 404: "No such user in the organization", 409: ["managed_by_identity_provider"] },
});

export const suspendUser = operation({
  method: "post",
  path: "/users/:id/suspend",
  operationId: "suspendUser",
  tag: "Members",
  summary: "Suspend a member",
  description:
    "Admin and Owner only; managed users too. A suspended member is denied everywhere, whatever the identity provider says, and their personal tokens are revoked.",
  security: "personal",
  params: userIdParams,
  body: named("SuspensionRequest", z.object({ reason: z.string().max(1000).optional().describe("Recorded in the audit trail.") }).strict()),
  bodyRequired: false,
  responses: { 200: { description: "The member, now suspended (`role` null).", schema: Member } },
  errors: { 403: ["owner_protected"], 404: "No such user in the organization" },
});

export const unsuspendUser = operation({
  ...suspendUser,
  path: "/users/:id/unsuspend",
  operationId: "unsuspendUser",
  summary: "Lift a suspension",
  description: "Admin and Owner only. Revoked personal tokens stay revoked.",
  responses: { 200: { description: "The member.", schema: Member } },
});

export const signUserOutEverywhere = operation({
  method: "post",
  path: "/users/:id/sign-out-everywhere",
  operationId: "signUserOutEverywhere",
  tag: "Members",
  summary: "End every session of a member",
  description:
    "Admin and Owner only (an Admin never for the Owner); managed users too. Every browser session of the member ends at once, on every instance; they sign in again. Personal API tokens are not affected. Audited as `user.signed_out_everywhere`.",
  security: "personal",
  params: userIdParams,
  body: ReasonRequest,
  bodyRequired: false,
  responses: { 204: { description: "Signed out everywhere." } },
  errors: { 403: ["owner_protected"], 404: "No such user in the organization" },
});

export const grantTemporaryAccess = operation({
  method: "post",
  path: "/users/:id/temporary-access",
  operationId: "grantTemporaryAccess",
  tag: "Members",
  summary: "Grant temporary access",
  description:
    "Admin and Owner only, never to themselves; managed users too. Ends by itself at `until`, which is at most the organization's `temporaryAccessMaximumDays` away (GET /settings; 7 days unless changed, never above 90): a later `until` is `400 invalid`. Give `role`, or `projectId` with `projectRole`, or both: a body with neither is answered `400 invalid`. A grant that would give the member nothing they do not already hold (Read-Only to an Admin, a project role they hold or exceed there) is refused, `409 conflict`.",
  security: "personal",
  params: userIdParams,
  body: named(
    "TemporaryAccessRequest",
    z
      .object({
        role: GrantableRole.optional(),
        projectId: z.string().min(1).optional().describe("A project of the organization."),
        projectRole: ProjectRole.optional(),
        until: z.iso
          .datetime({ offset: true })
          .describe("When the grant ends; in the future, and at most the organization's `temporaryAccessMaximumDays` away. A time with a zone (`Z` or an offset)."),
        reason: z.string().min(1).max(1000),
      })
      .strict(),
  ),
  responses: { 201: { description: "The grant.", schema: TemporaryGrant } },
  errors: { 400: ["invalid"], 403: ["owner_protected", "no_self_elevation"], 404: "No such user in the organization", 409: ["conflict"] },
});

export const endTemporaryAccess = operation({
  method: "delete",
  path: "/users/:id/temporary-access/:grantId",
  operationId: "endTemporaryAccess",
  tag: "Members",
  summary: "End a temporary grant early",
  description: "Admin and Owner only.",
  security: "personal",
  params: userIdParams.extend({ grantId: z.string().min(1).describe("The grant's id.") }),
  responses: { 204: { description: "Ended." } },
  errors: { 403: ["owner_protected", "no_self_elevation"], 404: "No such user, or no live grant with that id" },
});

export const authorize = operation({
  method: "post",
  path: "/authorize",
  operationId: "authorize",
  tag: "Access",
  summary: "May this member do this?",
  description:
    "With a `projectId`, project permissions are decided in that project; otherwise (and for organization-wide permissions) the organization role decides. An unknown project is a refusal, not an error. Service tokens, admins, the Owner, and members about themselves.",
  security: "personalOrService",
  body: named(
    "AuthorizeRequest",
    z.object({
      userId: z.string().min(1),
      action: Permission,
      projectId: z.string().min(1).optional().describe("Decide a project permission (reports, dashboards, comments …) in this project."),
      ownResource: z.boolean().optional().describe("Whether the resource is the user's own (for permissions granted only on own resources)."),
    }),
    "Other properties are ignored.",
  ),
  responses: {
    200: {
      description: "The decision.",
      schema: named(
        "AuthorizeDecision",
        z.object({ allowed: z.boolean(), reason: z.string().describe("Written for the administrator reading a refusal or an access review.") }),
      ),
    },
  },
  errors: { 404: "No such user in the organization" },
});

export const memberOperations = [getUserAccess, getUser, changeUserAccess, suspendUser, unsuspendUser, signUserOutEverywhere, grantTemporaryAccess, endTemporaryAccess, authorize];

/**
 * The description of /api/v1 for an access catalog, derived from the declaration of every
 * operation the routers mount, with the catalog's role and permission names as enums.
 */
export function openApiDocumentFor(catalog: AccessCatalog): OpenApiDocument {
  const operations = [describeApi, ...memberOperations, ...sessionOperations, ...organizationOperations, ...samlConnectionOperations, ...auditOperations, ...signInOperations, ...groupOperations, ...provisioningOperations, ...samlTestOperations, ...offboardingOperations, ...mappingOperations, ...eventOperations, ...serviceTokenOperations, ...webhookOperations, ...meOperations, ...reviewOperations, ...erasureOperations, ...projectAccessOperations];
  return withCatalogEnums(openApiDocumentOf(operations, components), catalogEnums(catalog), ["OrganizationRole", "GrantableRole", "DefaultRole"]);
}

/** The description of /api/v1 under the shipped access catalog. */
export const openApiDocument = openApiDocumentFor(SHIPPED_CATALOG);

declare module "express-serve-static-core" {
  interface Request {
    apiOrganizationId?: string;
    apiActor?: ApiActor;
    /** Set when a bearer token authenticated the request. */
    apiToken?: { purpose: "personal" | "service"; userId?: string; scopes?: readonly TokenScope[] };
    /** Set when the session cookie authenticated the request (no Authorization header). */
    apiSession?: { session: Session; user: User; cookieValue: string };
  }
}

/** The largest JSON body the API accepts: its requests are a few hundred bytes, metadata XML tens of kilobytes. */
export const maxAdminBodyBytes = 100 * 1024;

/** Methods that change nothing (RFC 9110 §9.2.1): no CSRF check. */
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export function apiRouter(services: Services, logger: Logger, config: Pick<Config, "publicBaseUrl" | "corsAllowedOrigins">): Router {
  const router = express.Router();
  // JSON bodies up to 100 KiB, UTF-8, nested at most http/json-body.ts's maxJsonDepth, valid Unicode.
  // Any other media type is 415, except the metadata XML that PUT /saml-connection also takes.
  router.use(jsonBody({ type: "application/json", limit: maxAdminBodyBytes, passThrough: METADATA_MEDIA_TYPES }));
  // The description of this API needs no token: clients and tooling read it first.
  const document = services.access.catalog === SHIPPED_CATALOG ? openApiDocument : openApiDocumentFor(services.access.catalog);
  mount(router, describeApi, async () => ({ ...document }));
  // Sign-in discovery needs no token either: a person who is not signed in asks where to sign in.
  router.use(signInDiscoveryRoutes(services));

  // Who is calling: a bearer token when an Authorization header is present (it always wins), else
  // the browser's session cookie. The acting person is resolved further down, after the session's
  // own routes, so someone without access to the organization can still see and end their session.
  router.use(async (req: Request, res: Response, next: NextFunction) => {
    const authorization = req.header("authorization");
    if (authorization !== undefined) {
      const [scheme, bearer] = authorization.split(/\s+/, 2);
      if (scheme?.toLowerCase() !== "bearer" || !bearer) throw new UnauthenticatedError("A bearer token is required");
      const purpose = ScimTokens.purposeOf(bearer) === "personal" ? "personal" : "service";
      const token = await services.scimTokens.authenticate(bearer, purpose);
      // Under requireSso a personal token works for the Owner only (services/sign-in-policy.ts).
      if (purpose === "personal") await services.signInPolicy.requireAdmitted(token, token.userId!, "personal_token");
      req.apiOrganizationId = token.organizationId;
      req.organizationId = token.organizationId;
      req.apiToken = { purpose, ...(token.userId ? { userId: token.userId } : {}), ...(purpose === "service" ? { scopes: scopesOf(token) } : {}) };
      return next();
    }
    const cookieValue = readSessionCookie(req, config);
    if (!cookieValue) throw new UnauthenticatedError("A bearer token or a session is required");
    const { session, user } = await (async () => {
      const authenticated = await services.sessions.authenticate(cookieValue);
      // Under requireSso a break-glass session admits the Owner only (services/sign-in-policy.ts).
      if (authenticated.session.via === "sign_in_link") await services.signInPolicy.requireAdmitted(authenticated.session, authenticated.user.id, "sign_in_link");
      return authenticated;
    })().catch((error: unknown) => {
      // A dead session's cookie is of no more use: the browser drops it.
      if (error instanceof UnauthenticatedError) clearSessionCookie(res, config);
      throw error;
    });
    req.apiSession = { session, user, cookieValue };
    req.apiOrganizationId = session.organizationId;
    req.organizationId = session.organizationId;
    next();
  });

  // Cross-site request forgery (OWASP CSRF Prevention Cheat Sheet): a browser attaches the cookie
  // to requests other sites make, so a change authenticated by the session also needs the session's
  // CSRF token in a header (which another site can neither read nor set without a CORS grant),
  // and, when the browser names the page's origin, one this deployment trusts. Bearer tokens are
  // never sent by a browser on its own: they are unaffected.
  const trustedOrigins = new Set([new URL(config.publicBaseUrl).origin, ...config.corsAllowedOrigins]);
  router.use((req: Request, res: Response, next: NextFunction) => {
    if (!req.apiSession || SAFE_METHODS.has(req.method)) return next();
    const origin = req.header("origin");
    if (origin !== undefined && !trustedOrigins.has(origin)) {
      return sendError(res, 403, "csrf", `A page on ${origin} may not make changes with this session: the origin is neither Gatehouse's nor in CORS_ALLOWED_ORIGINS`);
    }
    if (!isValidCsrfToken(req.apiSession.cookieValue, req.header("x-csrf-token"))) {
      return sendError(res, 403, "csrf", "A change made with a session needs the header X-CSRF-Token: the csrfToken of GET /api/v1/session");
    }
    next();
  });

  router.use(sessionRoutes(services, config));

  const { members, access } = services;

  router.use(async (req: Request, _res: Response, next: NextFunction) => {
    const organization = { organizationId: req.apiOrganizationId! };
    const acting = async (): Promise<ApiActor> => {
      if (req.apiSession) return members.actingUser(organization, req.apiSession.user);
      if (req.apiToken?.purpose === "personal") return members.actingUser(organization, req.apiToken.userId!);
      return { kind: "service", ...(req.apiToken?.scopes ? { scopes: req.apiToken.scopes } : {}) };
    };
    req.apiActor = await acting().catch((error: unknown) => {
      throw error instanceof NotFoundError ? new UnauthenticatedError(req.apiSession ? "The session's user no longer exists" : "The token's user no longer exists") : error;
    });
    next();
  });

  const scope = scopeOf;
  const context = contextOf;

  mount(router, getUserAccess, async ({ params }, req) => {
    members.mayRead(req.apiActor!, params.id);
    return presentAccess(await access.accessOf(scope(req), params.id));
  });

  mount(router, getUser, async ({ params }, req) => presentMember(await members.view(scope(req), req.apiActor!, params.id)));

  mount(router, changeUserAccess, async ({ params, body: { role, projects, reason } }, req) => {
    const view = await members.changeAccess(context(req), req.apiActor!, params.id, {
      ...(role !== undefined ? { role } : {}),
      ...(projects ? { projects: projects.map(toAssignment(access.catalog)) } : {}),
      ...(reason ? { reason } : {}),
    });
    return presentMember(view);
  });

  for (const [spec, suspended] of [[suspendUser, true], [unsuspendUser, false]] as const) {
    mount(router, spec, async ({ params, body }, req) => presentMember(await members.setSuspended(context(req), req.apiActor!, params.id, suspended, body.reason)));
  }

  // Ends every session of a member at once (a security overlay, like suspension: managed users too).
  mount(router, signUserOutEverywhere, async ({ params, body }, req, res) => {
    await members.signOutEverywhere(context(req), req.apiActor!, params.id, body.reason);
    if (req.apiSession?.user.id === params.id) clearSessionCookie(res, config);
  });

  mount(router, grantTemporaryAccess, async ({ params, body: { role, projectId, projectRole, until, reason } }, req) => {
    const grant = await members.grantTemporaryAccess(context(req), req.apiActor!, params.id, {
      ...(role ? { organizationRole: role } : {}),
      ...(projectId ? { projectId } : {}),
      ...(projectRole ? { projectRole } : {}),
      until: new Date(until),
      reason,
    });
    return presentGrant(grant);
  });

  mount(router, endTemporaryAccess, async ({ params }, req) => {
    await members.endTemporaryAccess(context(req), req.apiActor!, params.id, params.grantId);
  });

  mount(router, authorize, async ({ body }, req) => {
    members.mayRead(req.apiActor!, body.userId);
    return await access.authorize(scope(req), body);
  });

  router.use(meRoutes(services, config));
  router.use(reviewRoutes(services));
  router.use(erasureRoutes(services));
  router.use(projectAccessRoutes(services));
  router.use(organizationRoutes(services));
  router.use(samlConnectionRoutes(services));
  router.use(auditRoutes(services, logger));
  router.use(offboardingRoutes(services));
  router.use(signInRoutes(services));
  router.use(groupRoutes(services));
  router.use(provisioningRoutes(services));
  router.use(samlTestRoutes(services));
  router.use(mappingRoutes(services));
  router.use(eventRoutes(services));
  router.use(serviceTokenRoutes(services));
  router.use(webhookRoutes(services));

  router.use((_req: Request, res: Response) => sendError(res, 404, "not_found", "No such endpoint"));
  // Every error of the API, answered once: the status from the shared translation
  // (http/error-handler.ts errorAnswerOf), the body `{"error": {"code", "message"}}`.
  router.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const answer = errorAnswerOf(error);
    if (answer.internal) logger.error({ err: error, requestId: req.id }, "API request failed");
    if (res.headersSent) return;
    setErrorHeaders(res, answer);
    // RFC 6750 §3: a 401 names the scheme and realm the client must authenticate with.
    if (answer.status === 401) res.setHeader("WWW-Authenticate", 'Bearer realm="Gatehouse API"');
    sendError(res, answer.status, answer.code, answer.message);
  });
  return router;
}

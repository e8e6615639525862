import express, { type NextFunction, type Request, type Response, type Router } from "express";
import { z } from "zod";
import { PERMISSIONS } from "../domain/permissions";
import { DomainError, NotFoundError, UnauthenticatedError } from "../errors";
import type { Logger } from "../http/logger";
import type { Services } from "../services";
import { ScimTokens } from "../services/scim-tokens";
import { isValidCsrfToken } from "../services/sessions";
import type { Config } from "../config";
import type { Session } from "../domain/session";
import type { User } from "../domain/user";
import { clearSessionCookie, readSessionCookie } from "../http/session-cookie";
import { jsonBody } from "../http/json-body";
import { clientErrorOf } from "../http/request-errors";
import { sessionRoutes } from "./session-routes";
import type { ApiActor } from "../services/members";
import { auditRoutes } from "./audit-routes";
import { openApiDocument } from "./openapi";
import { contextOf, invalidRequest, scopeOf, sendError } from "./http";
import { organizationRoutes } from "./organization-routes";
import { METADATA_MEDIA_TYPES, samlConnectionRoutes } from "./saml-routes";
import { presentAccess, presentMember } from "./presenters";

/**
 * The JSON API for the product at /api/v1: authorization answers for the product's back end
 * (organization service tokens, `gatehouse service-token create`) and the local admin API for
 * people (personal API tokens, `gatehouse user-token create`, or the browser session that SAML
 * sign-in starts; see admin/session-routes.ts).
 */

const statusOf: Record<DomainError["kind"], number> = {
  not_found: 404,
  conflict: 409,
  invalid: 400,
  forbidden: 403,
  unavailable: 503,
  version_mismatch: 412,
  unauthenticated: 401,
  too_many_requests: 429,
};


const changeAccessRequest = z
  .object({
    role: z.enum(["owner", "admin", "user", "read_only"]).optional(),
    // A project item is an id (meaning Editor) or {id, role}.
    projects: z
      .array(z.union([z.string().min(1), z.object({ id: z.string().min(1), role: z.enum(["editor", "viewer"]) })]))
      .optional(),
    reason: z.string().max(1000).optional(),
  })
  .strict();

const suspensionRequest = z.object({ reason: z.string().max(1000).optional() }).strict();
const signOutEverywhereRequest = suspensionRequest;

const temporaryAccessRequest = z
  .object({
    role: z.enum(["admin", "user", "read_only"]).optional(),
    projectId: z.string().min(1).optional(),
    projectRole: z.enum(["editor", "viewer"]).optional(),
    until: z.iso.datetime({ offset: true }),
    reason: z.string().min(1).max(1000),
  })
  .strict();

const authorizeRequest = z.object({
  userId: z.string().min(1),
  action: z.enum(PERMISSIONS),
  projectId: z.string().min(1).optional(),
  ownResource: z.boolean().optional(),
});

declare module "express-serve-static-core" {
  interface Request {
    apiOrganizationId?: string;
    apiActor?: ApiActor;
    /** Set when a bearer token authenticated the request. */
    apiToken?: { purpose: "personal" | "service"; userId?: string };
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
  router.get("/openapi.json", (_req: Request, res: Response) => {
    res.json(openApiDocument);
  });

  // Who is calling: a bearer token when an Authorization header is present (it always wins), else
  // the browser's session cookie. The acting person is resolved further down, after the session's
  // own routes, so someone without access to the organization can still see and end their session.
  router.use(async (req: Request, res: Response, next: NextFunction) => {
    try {
      const authorization = req.header("authorization");
      if (authorization !== undefined) {
        const [scheme, bearer] = authorization.split(/\s+/, 2);
        if (scheme?.toLowerCase() !== "bearer" || !bearer) throw new UnauthenticatedError("A bearer token is required");
        const purpose = ScimTokens.purposeOf(bearer) === "personal" ? "personal" : "service";
        const token = await services.scimTokens.authenticate(bearer, purpose);
        req.apiOrganizationId = token.organizationId;
        req.organizationId = token.organizationId;
        req.apiToken = { purpose, ...(token.userId ? { userId: token.userId } : {}) };
        return next();
      }
      const cookieValue = readSessionCookie(req, config);
      if (!cookieValue) throw new UnauthenticatedError("A bearer token or a session is required");
      try {
        const { session, user } = await services.sessions.authenticate(cookieValue);
        req.apiSession = { session, user, cookieValue };
        req.apiOrganizationId = session.organizationId;
        req.organizationId = session.organizationId;
      } catch (error) {
        // A dead session's cookie is of no more use: the browser drops it.
        if (error instanceof UnauthenticatedError) clearSessionCookie(res, config);
        throw error;
      }
      next();
    } catch (error) {
      next(error);
    }
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

  router.use(async (req: Request, _res: Response, next: NextFunction) => {
    try {
      const organization = { organizationId: req.apiOrganizationId! };
      if (req.apiSession) req.apiActor = await services.members.actingUser(organization, req.apiSession.user);
      else if (req.apiToken?.purpose === "personal") req.apiActor = await services.members.actingUser(organization, req.apiToken.userId!);
      else req.apiActor = { kind: "service" };
      next();
    } catch (error) {
      next(error instanceof NotFoundError ? new UnauthenticatedError(req.apiSession ? "The session's user no longer exists" : "The token's user no longer exists") : error);
    }
  });

  const scope = scopeOf;
  const context = contextOf;

  router.get("/users/:id/access", async (req: Request, res: Response, next: NextFunction) => {
    try {
      services.members.mayRead(req.apiActor!, req.params.id);
      res.json(presentAccess(await services.access.accessOf(scope(req), req.params.id)));
    } catch (error) {
      next(error);
    }
  });

  router.get("/users/:id", async (req: Request, res: Response, next: NextFunction) => {
    try {
      res.json(presentMember(await services.members.view(scope(req), req.apiActor!, req.params.id)));
    } catch (error) {
      next(error);
    }
  });

  router.put("/users/:id", async (req: Request, res: Response, next: NextFunction) => {
    const parsed = changeAccessRequest.safeParse(req.body);
    if (!parsed.success) return invalidRequest(res, parsed.error.issues);
    try {
      const { role, projects, reason } = parsed.data;
      const view = await services.members.changeAccess(context(req), req.apiActor!, req.params.id, {
        ...(role ? { role } : {}),
        ...(projects ? { projects: projects.map((p) => (typeof p === "string" ? { projectId: p, role: "editor" as const } : { projectId: p.id, role: p.role })) } : {}),
        ...(reason ? { reason } : {}),
      });
      res.json(presentMember(view));
    } catch (error) {
      next(error);
    }
  });

  for (const [path, suspended] of [["suspend", true], ["unsuspend", false]] as const) {
    router.post(`/users/:id/${path}`, async (req: Request, res: Response, next: NextFunction) => {
      const parsed = suspensionRequest.safeParse(req.body ?? {});
      if (!parsed.success) return invalidRequest(res, parsed.error.issues);
      try {
        res.json(presentMember(await services.members.setSuspended(context(req), req.apiActor!, req.params.id, suspended, parsed.data.reason)));
      } catch (error) {
        next(error);
      }
    });
  }

  // Ends every session of a member at once (a security overlay, like suspension: managed users too).
  router.post("/users/:id/sign-out-everywhere", async (req: Request, res: Response, next: NextFunction) => {
    const parsed = signOutEverywhereRequest.safeParse(req.body ?? {});
    if (!parsed.success) return invalidRequest(res, parsed.error.issues);
    try {
      await services.members.signOutEverywhere(context(req), req.apiActor!, req.params.id, parsed.data.reason);
      if (req.apiSession?.user.id === req.params.id) clearSessionCookie(res, config);
      res.status(204).end();
    } catch (error) {
      next(error);
    }
  });

  router.post("/users/:id/temporary-access", async (req: Request, res: Response, next: NextFunction) => {
    const parsed = temporaryAccessRequest.safeParse(req.body);
    if (!parsed.success) return invalidRequest(res, parsed.error.issues);
    try {
      const { role, projectId, projectRole, until, reason } = parsed.data;
      const grant = await services.members.grantTemporaryAccess(context(req), req.apiActor!, req.params.id, {
        ...(role ? { organizationRole: role } : {}),
        ...(projectId ? { projectId } : {}),
        ...(projectRole ? { projectRole } : {}),
        until: new Date(until),
        reason,
      });
      res.status(201).json({ ...grant, until: grant.until.toISOString() });
    } catch (error) {
      next(error);
    }
  });

  router.delete("/users/:id/temporary-access/:grantId", async (req: Request, res: Response, next: NextFunction) => {
    try {
      await services.members.endTemporaryAccess(context(req), req.apiActor!, req.params.id, req.params.grantId);
      res.status(204).end();
    } catch (error) {
      next(error);
    }
  });

  router.post("/authorize", async (req: Request, res: Response, next: NextFunction) => {
    const parsed = authorizeRequest.safeParse(req.body);
    if (!parsed.success) return invalidRequest(res, parsed.error.issues);
    try {
      services.members.mayRead(req.apiActor!, parsed.data.userId);
      res.json(await services.access.authorize(scope(req), parsed.data));
    } catch (error) {
      next(error);
    }
  });

  router.use(organizationRoutes(services));
  router.use(samlConnectionRoutes(services));
  router.use(auditRoutes(services, logger));

  router.use((_req: Request, res: Response) => sendError(res, 404, "not_found", "No such endpoint"));
  router.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (error instanceof UnauthenticatedError) res.setHeader("WWW-Authenticate", 'Bearer realm="Gatehouse API"');
    if (error instanceof DomainError) return sendError(res, statusOf[error.kind], (error as { code?: string }).code ?? error.kind, error.message);
    // Body-parser refusals happen before authentication: each is the client's error, never a 500.
    const refused = clientErrorOf(error);
    if (refused) return sendError(res, refused.status, refused.code, refused.message);
    logger.error({ err: error, requestId: req.id }, "API request failed");
    sendError(res, 500, "internal", "Internal server error");
  });
  return router;
}

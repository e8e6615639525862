import express, { type NextFunction, type Request, type Response, type Router } from "express";
import { z } from "zod";
import { PERMISSIONS } from "../domain/permissions";
import { DomainError, NotFoundError, UnauthenticatedError } from "../errors";
import type { Logger } from "../http/logger";
import type { Services } from "../services";
import { ScimTokens } from "../services/scim-tokens";
import type { ApiActor } from "../services/members";
import { auditRoutes } from "./audit-routes";
import { openApiDocument } from "./openapi";
import { contextOf, invalidRequest, scopeOf, sendError } from "./http";
import { organizationRoutes } from "./organization-routes";
import { samlConnectionRoutes } from "./saml-routes";
import { presentAccess, presentMember } from "./presenters";

/**
 * The JSON API for the product at /api/v1: authorization answers for the product's back end
 * (organization service tokens, `gatehouse service-token create`) and the local admin API for
 * people (personal API tokens, `gatehouse user-token create`). SAML sessions join later.
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
  }
}


export function apiRouter(services: Services, logger: Logger): Router {
  const router = express.Router();
  router.use(express.json({ limit: "100kb" }));
  // The description of this API needs no token: clients and tooling read it first.
  router.get("/openapi.json", (_req: Request, res: Response) => {
    res.json(openApiDocument);
  });

  router.use(async (req: Request, res: Response, next: NextFunction) => {
    try {
      const [scheme, bearer] = (req.header("authorization") ?? "").split(/\s+/, 2);
      if (scheme?.toLowerCase() !== "bearer" || !bearer) throw new UnauthenticatedError("A bearer token is required");
      const purpose = ScimTokens.purposeOf(bearer) === "personal" ? "personal" : "service";
      const token = await services.scimTokens.authenticate(bearer, purpose);
      req.apiOrganizationId = token.organizationId;
      req.organizationId = token.organizationId;
      req.apiActor = purpose === "service" ? { kind: "service" } : await services.members.actingUser({ organizationId: token.organizationId }, token.userId!);
      next();
    } catch (caught) {
      let error = caught;
      if (error instanceof NotFoundError) error = new UnauthenticatedError("The token's user no longer exists");
      if (error instanceof UnauthenticatedError) {
        res.setHeader("WWW-Authenticate", 'Bearer realm="Gatehouse API"');
        return sendError(res, 401, "unauthenticated", error.message);
      }
      next(error);
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
    if (error instanceof DomainError) return sendError(res, statusOf[error.kind], (error as { code?: string }).code ?? error.kind, error.message);
    // Body-parser refusals happen before authentication: each is the client's error, never a 500.
    switch ((error as { type?: string }).type) {
      case "entity.parse.failed":
        return sendError(res, 400, "invalid_json", "The request body is not valid JSON");
      case "entity.too.large":
        return sendError(res, 413, "payload_too_large", "The request body is larger than 100 kB");
      case "charset.unsupported":
      case "encoding.unsupported":
        return sendError(res, 415, "unsupported_media_type", "Send JSON as UTF-8, without an unknown Content-Encoding");
    }
    logger.error({ err: error, requestId: req.id }, "API request failed");
    sendError(res, 500, "internal", "Internal server error");
  });
  return router;
}

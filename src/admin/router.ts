import express, { type NextFunction, type Request, type Response, type Router } from "express";
import { z } from "zod";
import { PERMISSIONS } from "../domain/permissions";
import { DomainError, UnauthenticatedError } from "../errors";
import type { Logger } from "../http/logger";
import type { Services } from "../services";
import { presentAccess } from "./presenters";

/**
 * The JSON API for the product at /api/v1. For now it serves authorization answers to the
 * product's back end, authenticated by organization service tokens (`gatehouse service-token
 * create`); personal API tokens and SAML sessions join with the local admin API.
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

function sendError(res: Response, status: number, code: string, message: string): void {
  res.status(status).json({ error: { code, message } });
}

const authorizeRequest = z.object({
  userId: z.string().min(1),
  action: z.enum(PERMISSIONS),
  projectId: z.string().min(1).optional(),
  ownResource: z.boolean().optional(),
});

declare module "express-serve-static-core" {
  interface Request {
    apiOrganizationId?: string;
  }
}

export function apiRouter(services: Services, logger: Logger): Router {
  const router = express.Router();
  router.use(express.json({ limit: "100kb" }));

  router.use(async (req: Request, res: Response, next: NextFunction) => {
    try {
      const [scheme, bearer] = (req.header("authorization") ?? "").split(/\s+/, 2);
      if (scheme?.toLowerCase() !== "bearer" || !bearer) throw new UnauthenticatedError("A bearer token is required");
      const token = await services.scimTokens.authenticate(bearer, "service");
      req.apiOrganizationId = token.organizationId;
      req.organizationId = token.organizationId;
      next();
    } catch (error) {
      if (error instanceof UnauthenticatedError) {
        res.setHeader("WWW-Authenticate", 'Bearer realm="Gatehouse API"');
        return sendError(res, 401, "unauthenticated", error.message);
      }
      next(error);
    }
  });

  router.get("/users/:id/access", async (req: Request, res: Response, next: NextFunction) => {
    try {
      res.json(presentAccess(await services.access.accessOf({ organizationId: req.apiOrganizationId! }, req.params.id)));
    } catch (error) {
      next(error);
    }
  });

  router.post("/authorize", async (req: Request, res: Response, next: NextFunction) => {
    const parsed = authorizeRequest.safeParse(req.body);
    if (!parsed.success) {
      return sendError(res, 400, "invalid_request", parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; "));
    }
    try {
      res.json(await services.access.authorize({ organizationId: req.apiOrganizationId! }, parsed.data));
    } catch (error) {
      next(error);
    }
  });

  router.use((_req: Request, res: Response) => sendError(res, 404, "not_found", "No such endpoint"));
  router.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (error instanceof DomainError) return sendError(res, statusOf[error.kind], error.kind, error.message);
    if ((error as { type?: string }).type === "entity.parse.failed") return sendError(res, 400, "invalid_json", "The request body is not valid JSON");
    logger.error({ err: error, requestId: req.id }, "API request failed");
    sendError(res, 500, "internal", "Internal server error");
  });
  return router;
}

import express, { type NextFunction, type Request, type Response, type Router } from "express";
import type { Config } from "../config";
import { UnauthenticatedError } from "../errors";
import { clearSessionCookie } from "../http/session-cookie";
import type { Services } from "../services";
import { csrfTokenOf } from "../services/sessions";
import { contextOf } from "./http";

/**
 * The caller's own browser session: what it is (with the CSRF token the page sends back on
 * changes), signing it out, and signing out everywhere. Session authentication only; mounted
 * before the acting person is resolved, so someone whose access is gone can still sign out.
 */

type Handler = (req: Request, res: Response) => Promise<void>;
const route = (handler: Handler) => (req: Request, res: Response, next: NextFunction) => handler(req, res).catch(next);

function sessionOf(req: Request): NonNullable<Request["apiSession"]> {
  if (!req.apiSession) throw new UnauthenticatedError("This needs a browser session (single sign-on); bearer tokens have none");
  return req.apiSession;
}

export function sessionRoutes(services: Services, config: Pick<Config, "publicBaseUrl">): Router {
  const router = express.Router();

  router.get("/session", route(async (req, res) => {
    const { session, user, cookieValue } = sessionOf(req);
    res.json({
      user: { id: user.id, userName: user.userName, ...(user.displayName ? { displayName: user.displayName } : {}) },
      organizationId: session.organizationId,
      via: session.via,
      createdAt: session.createdAt.toISOString(),
      expiresAt: session.absoluteExpiresAt.toISOString(),
      csrfToken: csrfTokenOf(cookieValue),
    });
  }));

  router.post("/session/sign-out", route(async (req, res) => {
    const { session } = sessionOf(req);
    await services.sessions.end(contextOf(req), session.id);
    clearSessionCookie(res, config);
    res.status(204).end();
  }));

  router.post("/session/sign-out-everywhere", route(async (req, res) => {
    const { user } = sessionOf(req);
    await services.sessions.signOutEverywhere(contextOf(req), user.id);
    clearSessionCookie(res, config);
    res.status(204).end();
  }));

  return router;
}

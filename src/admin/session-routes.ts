import express, { type Request, type Router } from "express";
import { z } from "zod";
import type { Config } from "../config";
import { UnauthenticatedError } from "../errors";
import { clearSessionCookie } from "../http/session-cookie";
import type { Services } from "../services";
import { csrfTokenOf } from "../services/sessions";
import { contextOf } from "./http";
import { mount, operation } from "./operation";
import { named } from "./schemas";

/**
 * The caller's own browser session: what it is (with the CSRF token the page sends back on
 * changes), signing it out, and signing out everywhere. Session authentication only; mounted
 * before the acting person is resolved, so someone whose access is gone can still sign out.
 */

export const getSession = operation({
  method: "get",
  path: "/session",
  operationId: "getSession",
  tag: "Session",
  summary: "The caller's session",
  description: "Who is signed in, until when, and the CSRF token for changes.",
  security: "session",
  responses: {
    200: {
      description: "The session.",
      schema: named(
        "Session",
        z.object({
          user: z.object({ id: z.string(), userName: z.string(), displayName: z.string().min(1).optional().describe("Present when the user has one.") }),
          organizationId: z.string(),
          via: z.enum(["saml", "sign_in_link"]).describe("How the session began: SAML sign-in, or a break-glass sign-in link (`gatehouse sign-in-link`)."),
          createdAt: z.iso.datetime().describe("When the person signed in."),
          expiresAt: z.iso
            .datetime()
            .describe("The absolute expiry (SESSION_ABSOLUTE_TIMEOUT_HOURS after sign-in); the session ends earlier after SESSION_IDLE_TIMEOUT_MINUTES without a request."),
          csrfToken: z
            .string()
            .regex(/^[A-Za-z0-9_-]{43}$/)
            .describe("Send it as `X-CSRF-Token` with every POST, PUT, PATCH and DELETE made with this session. It is the same for the whole session."),
        }),
      ),
    },
  },
});

export const signOut = operation({
  method: "post",
  path: "/session/sign-out",
  operationId: "signOut",
  tag: "Session",
  summary: "Sign out",
  description: "Ends this session (audited as `session.ended`) and clears its cookie.",
  security: "session",
  responses: { 204: { description: "Signed out; the response clears the cookie." } },
});

export const signOutEverywhere = operation({
  method: "post",
  path: "/session/sign-out-everywhere",
  operationId: "signOutEverywhere",
  tag: "Session",
  summary: "Sign out everywhere",
  description:
    "Ends every session of the caller, this one included, on every browser and instance (audited as `user.signed_out_everywhere`), and clears this session's cookie.",
  security: "session",
  responses: { 204: { description: "Signed out everywhere; the response clears the cookie." } },
});

export const sessionOperations = [getSession, signOut, signOutEverywhere];

function sessionOf(req: Request): NonNullable<Request["apiSession"]> {
  if (!req.apiSession) throw new UnauthenticatedError("This needs a browser session (single sign-on); bearer tokens have none");
  return req.apiSession;
}

export function sessionRoutes(services: Services, config: Pick<Config, "publicBaseUrl">): Router {
  const router = express.Router();

  mount(router, getSession, async (_input, req) => {
    const { session, user, cookieValue } = sessionOf(req);
    const csrfToken = csrfTokenOf(cookieValue);
    // A session authenticated by its cookie has a token; a cookie of another shape never gets this far.
    if (!csrfToken) throw new UnauthenticatedError("The session cookie is malformed");
    return {
        user: { id: user.id, userName: user.userName, ...(user.displayName ? { displayName: user.displayName } : {}) },
        organizationId: session.organizationId,
        via: session.via,
        createdAt: session.createdAt.toISOString(),
        expiresAt: session.absoluteExpiresAt.toISOString(),
        csrfToken,
      };
  });

  mount(router, signOut, async (_input, req, res) => {
    const { session } = sessionOf(req);
    await services.sessions.end(contextOf(req), session.id);
    clearSessionCookie(res, config);
  });

  mount(router, signOutEverywhere, async (_input, req, res) => {
    const { user } = sessionOf(req);
    await services.sessions.signOutEverywhere(contextOf(req), user.id);
    clearSessionCookie(res, config);
  });

  return router;
}

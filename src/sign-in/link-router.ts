import express, { type Request, type Response, type Router } from "express";
import type { Config } from "../config";
import type { Logger } from "../http/logger";
import { setSessionCookie } from "../http/session-cookie";
import { escapeHtml, page } from "../saml/pages";
import type { Services } from "../services";
import { SignInLinkRefusal } from "../services/sign-in-links";

/**
 * The break-glass sign-in link's pages, under /auth/sign-in-link/{id}.{secret}
 * (services/sign-in-links.ts). Opening the link shows who it signs in and a button; only pressing
 * it (a POST to the same address) uses the link, sets the session cookie and lands in the console
 * at `/`. Two steps, because link previews (chat apps, mail scanners) open links on their own and
 * would otherwise spend the single use. A refused link is answered with a page saying why and
 * leading to the console's sign-in page: 404 for a link that is not one, 410 for a used or expired
 * one, 403 when its member may not sign in.
 */

const STATUS: Record<SignInLinkRefusal["reason"], number> = { not_found: 404, used: 410, expired: 410, refused: 403 };

export function signInLinkRouter(services: Services, config: Pick<Config, "publicBaseUrl">, logger: Logger): Router {
  const router = express.Router();

  const refuse = (req: Request, res: Response, error: unknown): void => {
    if (!(error instanceof SignInLinkRefusal)) throw error;
    logger.warn({ reason: error.reason, requestId: req.id }, "sign-in link refused");
    // The way left: the console's sign-in page (single sign-on by work email).
    res
      .status(STATUS[error.reason])
      .type("html")
      .send(
        page(
          "Sign-in link refused",
          `<h1>Sign-in link refused</h1>\n<p>${escapeHtml(error.message)}</p>\n<p><a href="/">Go to the sign-in page</a></p>\n<p class="ref">Reference: ${escapeHtml(req.id)}</p>`,
        ),
      );
  };

  router.get("/:token", async (req: Request, res: Response) => {
    try {
      const { user, expires } = await services.signInLinks.inspect(String(req.params.token));
      const minutes = Math.max(1, Math.ceil((expires.getTime() - Date.now()) / 60_000));
      res
        .status(200)
        .type("html")
        .send(
          page(
            "Sign in",
            `<h1>Sign in as ${escapeHtml(user.userName)}</h1>\n<p>This link signs you in once, within the next ${minutes} minute${minutes === 1 ? "" : "s"}.</p>\n` +
              `<form method="post"><button type="submit">Sign in</button></form>\n<p class="ref">Reference: ${escapeHtml(req.id)}</p>`,
          ),
        );
    } catch (error) {
      refuse(req, res, error);
    }
  });

  router.post("/:token", async (req: Request, res: Response) => {
    try {
      const { session } = await services.signInLinks.use(String(req.params.token), {
        requestId: req.id,
        ...(req.ip ? { ip: req.ip } : {}),
        ...(req.get("user-agent") ? { userAgent: req.get("user-agent")! } : {}),
      });
      setSessionCookie(res, session.cookieValue, session.expiresAt, config);
      res.redirect(303, "/");
    } catch (error) {
      refuse(req, res, error);
    }
  });

  return router;
}

import type { NextFunction, Request, Response } from "express";

const allowedMethods = "GET, POST, PUT, PATCH, DELETE";
const allowedHeaders = "Authorization, Content-Type, X-CSRF-Token";
/** How long a browser may reuse a preflight answer (seconds). */
const preflightMaxAge = "600";

/**
 * CORS for /api/v1 (Fetch standard, "CORS protocol"): the product's pages on the origins the
 * operator lists (CORS_ALLOWED_ORIGINS, exact matches) may call the API with the user's session
 * cookie; any other origin gets no CORS header at all, so the browser keeps the answer from its
 * script, and its preflight is refused. A dozen lines of our own rather than the `cors` package:
 * one exact-match list, credentials always, nothing to configure per route.
 *
 * CORS only governs what a browser lets a page read; the CSRF check (admin/router.ts) is what
 * keeps other sites from making session-authenticated changes.
 */
export function apiCors(allowedOrigins: readonly string[]) {
  const allowed = new Set(allowedOrigins);
  return (req: Request, res: Response, next: NextFunction): void => {
    const origin = req.header("origin");
    const preflight = req.method === "OPTIONS" && req.header("access-control-request-method") !== undefined;
    if (allowed.size) res.vary("Origin");
    if (origin === undefined || !allowed.has(origin)) {
      if (preflight) {
        res.status(403).json({ error: { code: "forbidden", message: "This origin may not call the Gatehouse API (CORS_ALLOWED_ORIGINS)" } });
        return;
      }
      return next();
    }
    res.setHeader("Access-Control-Allow-Origin", origin);
    res.setHeader("Access-Control-Allow-Credentials", "true");
    if (preflight) {
      res.setHeader("Access-Control-Allow-Methods", allowedMethods);
      res.setHeader("Access-Control-Allow-Headers", allowedHeaders);
      res.setHeader("Access-Control-Max-Age", preflightMaxAge);
      res.status(204).end();
      return;
    }
    next();
  };
}

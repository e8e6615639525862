import express, { type NextFunction, type Request, type Response, type Router } from "express";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import type { Config } from "../config";

/**
 * The web console (console/, a Vite build) served at `/`: its files, and its index page for every
 * other GET a browser makes for a page (client-side routes such as /members), so a reload or a
 * bookmark lands on the console. The API (/api/v1), SCIM (/scim/v2), SAML (/auth/saml) and the
 * health checks are mounted before this router and answer for themselves.
 *
 * Every answer carries the pages' security headers: a Content-Security-Policy that allows scripts
 * from this origin only (the build has no inline script), no framing (`frame-ancestors 'none'`,
 * clickjacking), no referrer leaving the site, and HSTS when Gatehouse is served over https.
 * Styles come from this origin too, plus the two small <style> elements react-aria injects
 * (touch-action for pressable elements, overscroll while a dialog is open): the index page carries
 * a fresh nonce per answer in `<meta name="csp-nonce" nonce>`, where react-aria looks for it, and
 * the policy allows styles with that nonce. Scripts never get a nonce.
 */

/** Where `npm run build` writes the console (vite.config.ts `outDir`), from src/http or dist/http alike. */
export const CONSOLE_BUILD_DIR = path.resolve(__dirname, "../../console/dist");

/** The pages' Content-Security-Policy; with `styleNonce`, styles carrying that nonce are allowed too. */
export const consoleContentSecurityPolicy = (styleNonce?: string) => [
  "default-src 'self'",
  "script-src 'self'",
  styleNonce ? `style-src 'self' 'nonce-${styleNonce}'` : "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

/** Paths that belong to the server, never to the console's client-side routes. */
const SERVER_PATHS = /^\/(api|scim|auth|healthz|readyz)(\/|$)/;

function pageHeaders(config: Pick<Config, "publicBaseUrl">) {
  const https = config.publicBaseUrl.startsWith("https:");
  return (_req: Request, res: Response, next: NextFunction, styleNonce?: string) => {
    res.setHeader("Content-Security-Policy", consoleContentSecurityPolicy(styleNonce));
    res.setHeader("Referrer-Policy", "no-referrer");
    res.setHeader("X-Content-Type-Options", "nosniff");
    res.setHeader("X-Frame-Options", "DENY");
    // RFC 6797: only over https; over plain http (development) the header would be ignored anyway.
    if (https) res.setHeader("Strict-Transport-Security", "max-age=31536000");
    next();
  };
}

/**
 * The console's router, or undefined when the console has not been built (`npm run build`
 * builds it; a server started from `tsc` alone answers `/` with the API's JSON 404 as before).
 */
export function consoleRouter(config: Pick<Config, "publicBaseUrl">, buildDir = CONSOLE_BUILD_DIR): Router | undefined {
  const indexFile = path.join(buildDir, "index.html");
  if (!existsSync(indexFile)) return undefined;
  const router = express.Router();
  const headers = pageHeaders(config);
  const index = readFileSync(indexFile, "utf8");
  if (!index.includes("<head>")) throw new Error(`${indexFile} has no <head>`);
  // Hashed file names (assets/index-3f2a….js) never change content: cached for a year.
  const fileHeaders = (req: Request, res: Response, next: NextFunction) => headers(req, res, next);
  router.use("/assets", fileHeaders, express.static(path.join(buildDir, "assets"), { immutable: true, maxAge: "365d", index: false }));
  router.use(fileHeaders, express.static(buildDir, { index: false, maxAge: 0 }));
  router.get(/.*/, (req: Request, res: Response, next: NextFunction) => {
    if (SERVER_PATHS.test(req.path) || !req.accepts("html")) return next();
    const styleNonce = randomBytes(16).toString("base64");
    headers(
      req,
      res,
      () => {
        // The index page names this build's assets: always fetched afresh.
        res.setHeader("Cache-Control", "no-cache");
        res.type("html").send(index.replace("<head>", `<head>\n    <meta name="csp-nonce" nonce="${styleNonce}">`));
      },
      styleNonce,
    );
  });
  return router;
}

import express, { type NextFunction, type Request, type Response, type Router } from "express";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { consoleContentSecurityPolicy } from "./security-headers";

/**
 * The web console (console/, a Vite build) served at `/`: its files, and its index page for every
 * other GET a browser makes for a page (client-side routes such as /members), so a reload or a
 * bookmark lands on the console. The API (/api/v1), SCIM (/scim/v2), SAML (/auth/saml) and the
 * health checks are mounted before this router and answer for themselves.
 *
 * Every answer carries the security headers of http/security-headers.ts, with the console's
 * Content-Security-Policy (declared there) over the default: it allows scripts
 * from this origin only (the build has no inline script), no framing (`frame-ancestors 'none'`,
 * clickjacking), no referrer leaving the site, and HSTS when Gatehouse is served over https.
 * Styles come from this origin too, plus the two small <style> elements react-aria injects
 * (touch-action for pressable elements, overscroll while a dialog is open): the index page carries
 * a fresh nonce per answer in `<meta name="csp-nonce" nonce>`, where react-aria looks for it, and
 * the policy allows styles with that nonce. Scripts never get a nonce.
 */

/** Where `npm run build` writes the console (vite.config.ts `outDir`), from src/http or dist/http alike. */
export const CONSOLE_BUILD_DIR = path.resolve(__dirname, "../../console/dist");

/** Paths that belong to the server, never to the console's client-side routes. */
const SERVER_PATHS = /^\/(api|scim|auth|healthz|readyz)(\/|$)/;

/** The console's policy over the one every answer gets (http/security-headers.ts sets the other headers). */
function pageHeaders() {
  return (_req: Request, res: Response, next: NextFunction, styleNonce?: string) => {
    res.setHeader("Content-Security-Policy", consoleContentSecurityPolicy(styleNonce));
    next();
  };
}

/**
 * The console's router, or undefined when the console has not been built (`npm run build`
 * builds it; a server started from `tsc` alone answers `/` with the API's JSON 404 as before).
 */
export function consoleRouter(buildDir = CONSOLE_BUILD_DIR): Router | undefined {
  const indexFile = path.join(buildDir, "index.html");
  if (!existsSync(indexFile)) return undefined;
  const router = express.Router();
  const headers = pageHeaders();
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

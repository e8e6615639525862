import { createHash } from "node:crypto";
import type { NextFunction, Request, Response } from "express";
import type { Config } from "../config";

/**
 * Security headers for everything Gatehouse serves (OWASP Secure Headers Project):
 * - `Content-Security-Policy`: Gatehouse's own pages (SAML refusals, sign-out, sign-in links) carry
 *   no script at all and one inline stylesheet, allowed by its SHA-256 hash — never
 *   `'unsafe-inline'`; anything else (JSON answers) gets `default-src 'none'`. Every policy has
 *   `frame-ancestors 'none'` (no clickjacking) and `base-uri 'none'`; `form-action 'self'` keeps a
 *   page's form (the sign-in link's button) from posting elsewhere. The console's pages set their
 *   own, `consoleContentSecurityPolicy`, over this one.
 * - `Referrer-Policy: no-referrer`: a sign-in link's secret is in its path and must not leave in a
 *   Referer header; nothing Gatehouse links to needs to know where the person came from.
 * - `Strict-Transport-Security` when PUBLIC_BASE_URL is https: the address people and identity
 *   providers use is https, whatever the hop to Gatehouse behind a TLS-terminating proxy is
 *   (RFC 6797). One year, without `includeSubDomains`: sibling hosts are not Gatehouse's to decide.
 * - `X-Content-Type-Options: nosniff`, and `X-Frame-Options: DENY` for browsers without
 *   `frame-ancestors`.
 */

/** `'sha256-…'`: a CSP source allowing exactly this inline `<style>` (or script) content. */
export function cspHash(content: string): string {
  return `'sha256-${createHash("sha256").update(content, "utf8").digest("base64")}'`;
}

/** The policy of Gatehouse's own HTML pages: no script, only the stylesheets whose contents are given. */
export function pageContentSecurityPolicy(inlineStyles: readonly string[]): string {
  return [
    "default-src 'none'",
    `style-src ${inlineStyles.length ? inlineStyles.map(cspHash).join(" ") : "'none'"}`,
    "img-src 'self'",
    "form-action 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/**
 * The policy for the console's pages (a single-page application served from this origin): scripts
 * and styles from files, never inline — except, with `styleNonce`, the two small `<style>` elements
 * react-aria injects, which carry the page's per-answer nonce (http/console-pages.ts).
 */
export const consoleContentSecurityPolicy = (styleNonce?: string) =>
  [
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

/** HSTS: one year (RFC 6797 §6.1.1). */
export const strictTransportSecurity = "max-age=31536000";

/**
 * Middleware setting the headers above on every response. `inlineStyles`: the exact contents of the
 * `<style>` elements of Gatehouse's pages (saml/pages.ts), hashed once here.
 */
export function securityHeaders(config: Pick<Config, "publicBaseUrl">, inlineStyles: readonly string[]) {
  const policy = pageContentSecurityPolicy(inlineStyles);
  const https = config.publicBaseUrl.startsWith("https:");
  return (_req: Request, res: Response, next: NextFunction) => {
    res.setHeader("Content-Security-Policy", policy);
    res.setHeader("Referrer-Policy", "no-referrer");
    res.setHeader("X-Content-Type-Options", "nosniff");
    res.setHeader("X-Frame-Options", "DENY");
    if (https) res.setHeader("Strict-Transport-Security", strictTransportSecurity);
    next();
  };
}

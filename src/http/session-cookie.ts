import type { CookieOptions, Request, Response } from "express";
import type { Config } from "../config";

/**
 * The session cookie. Over https it is `__Host-gatehouse_session`: the prefix makes browsers
 * accept it only with Secure, Path=/ and no Domain, so neither plain http nor a sibling subdomain
 * can plant or overwrite it (cookie tossing). Over http (development on localhost) a prefixed
 * cookie would be refused, so it is `gatehouse_session` there. Always HttpOnly (scripts never see
 * it) and SameSite=Lax (other sites' forms and scripts do not send it; top-level navigation
 * does, which is how the browser lands back here after single sign-on).
 *
 * The value is `<session id>.<secret>` (services/sessions.ts): a credential, never logged.
 */
export const SECURE_SESSION_COOKIE = "__Host-gatehouse_session";
export const PLAIN_SESSION_COOKIE = "gatehouse_session";

type CookieConfig = Pick<Config, "publicBaseUrl">;

const isHttps = (config: CookieConfig) => config.publicBaseUrl.startsWith("https:");

/** The cookie's name under this configuration. */
export function sessionCookieName(config: CookieConfig): string {
  return isHttps(config) ? SECURE_SESSION_COOKIE : PLAIN_SESSION_COOKIE;
}

function attributes(config: CookieConfig): CookieOptions {
  return { httpOnly: true, sameSite: "lax", path: "/", secure: isHttps(config) };
}

/** Sets the session cookie; it lives until the session's absolute expiry, not longer. */
export function setSessionCookie(res: Response, cookieValue: string, expiresAt: Date, config: CookieConfig): void {
  const maxAge = Math.max(0, expiresAt.getTime() - Date.now());
  // express writes Max-Age (in seconds) and the matching Expires for older browsers.
  res.cookie(sessionCookieName(config), cookieValue, { ...attributes(config), maxAge });
}

/** Removes the session cookie from the browser (same name and attributes, expired). */
export function clearSessionCookie(res: Response, config: CookieConfig): void {
  res.clearCookie(sessionCookieName(config), attributes(config));
}

/**
 * The session cookie's value from the request's Cookie header (RFC 6265 §5.4), or undefined. With
 * `config`, only the cookie of that configuration counts (pass it whenever it is at hand: over
 * https a plain `gatehouse_session` could have been planted by a sibling subdomain); without, the
 * `__Host-` cookie is preferred.
 */
export function readSessionCookie(req: Request, config?: CookieConfig): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  const names = config ? [sessionCookieName(config)] : [SECURE_SESSION_COOKIE, PLAIN_SESSION_COOKIE];
  for (const name of names) {
    for (const pair of header.split(";")) {
      const separator = pair.indexOf("=");
      if (separator < 0 || pair.slice(0, separator).trim() !== name) continue;
      let value = pair.slice(separator + 1).trim();
      if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
      // The first one wins: browsers send the cookie with the most specific path first.
      if (value) return value;
    }
  }
  return undefined;
}

import { createHash } from "node:crypto";
import type { CookieOptions, Request, Response } from "express";
import type { Config } from "../config";

/**
 * Binds an SP-initiated sign-in to the browser that started it (login CSRF: without it, an
 * attacker starts a sign-in, obtains their own valid answer and makes a victim's browser post it,
 * and the victim then works inside the attacker's account).
 *
 * `/login` sets a short-lived cookie holding the SHA-256 of the AuthnRequest id it sent — never the
 * id itself — and the assertion consumer accepts an answer `InResponseTo` a request only when its
 * hash is in the cookie of the browser posting it, then forgets that hash. The answer comes back
 * as a cross-site POST from the identity provider, so the cookie must be `SameSite=None` (Lax and
 * Strict cookies are not sent with it), hence `Secure`; `HttpOnly` keeps scripts away from it; the
 * `__Host-` prefix (over https) makes browsers refuse it from a sibling subdomain or plain http, so
 * nobody can plant their own hash in the victim's browser (cookie tossing). Over http (development
 * on localhost, which browsers treat as secure for cookies) it is `gatehouse_saml_request`.
 *
 * Several sign-ins may be under way in one browser (tabs): the cookie keeps the last few hashes.
 * An answer without InResponseTo (IdP-initiated) cannot be bound to anything: see the connection's
 * `idpInitiated` switch.
 */
export const SECURE_REQUEST_COOKIE = "__Host-gatehouse_saml_request";
export const PLAIN_REQUEST_COOKIE = "gatehouse_saml_request";
/** Sign-ins kept per browser; the oldest is forgotten first. */
const MAX_PENDING = 4;

type CookieConfig = Pick<Config, "publicBaseUrl">;

export function requestCookieName(config: CookieConfig): string {
  return config.publicBaseUrl.startsWith("https:") ? SECURE_REQUEST_COOKIE : PLAIN_REQUEST_COOKIE;
}

function attributes(): CookieOptions {
  return { httpOnly: true, secure: true, sameSite: "none", path: "/" };
}

/** What the cookie keeps of an AuthnRequest: SHA-256 of the organization and the id, base64url. */
export function requestHash(organizationId: string, requestId: string): string {
  return createHash("sha256").update(`${organizationId}/${requestId}`, "utf8").digest("base64url");
}

/** The hashes in this request's cookie (RFC 6265 §5.4), the newest last; malformed entries are dropped. */
export function pendingSignIns(req: Request, config: CookieConfig): string[] {
  const name = requestCookieName(config);
  for (const pair of (req.headers.cookie ?? "").split(";")) {
    const separator = pair.indexOf("=");
    if (separator < 0 || pair.slice(0, separator).trim() !== name) continue;
    return pair
      .slice(separator + 1)
      .trim()
      .split(".")
      .filter((hash) => /^[A-Za-z0-9_-]{43}$/.test(hash))
      .slice(-MAX_PENDING);
  }
  return [];
}

function write(res: Response, config: CookieConfig, hashes: string[], lifetimeMs: number): void {
  if (hashes.length) res.cookie(requestCookieName(config), hashes.join("."), { ...attributes(), maxAge: lifetimeMs });
  else res.clearCookie(requestCookieName(config), attributes());
}

/** At `/login`: remembers the AuthnRequest in this browser for as long as its answer is awaited. */
export function rememberSignIn(req: Request, res: Response, config: CookieConfig, organizationId: string, requestId: string, lifetimeMs: number): void {
  write(res, config, [...pendingSignIns(req, config), requestHash(organizationId, requestId)].slice(-MAX_PENDING), lifetimeMs);
}

/**
 * At the assertion consumer: whether this browser started the sign-in answered, and forgets it
 * either way (an answer is taken once; the cookie goes when nothing is left in it).
 */
export function takeSignIn(req: Request, res: Response, config: CookieConfig, organizationId: string, requestId: string, lifetimeMs: number): boolean {
  const pending = pendingSignIns(req, config);
  const hash = requestHash(organizationId, requestId);
  const rest = pending.filter((h) => h !== hash);
  if (pending.length) write(res, config, rest, lifetimeMs);
  return rest.length !== pending.length;
}

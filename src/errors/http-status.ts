import type { DomainError } from "./index";

/** What went wrong, in the domain's words: the `kind` of a DomainError. */
export type ErrorKind = DomainError["kind"];

/**
 * The one mapping from a domain error's kind to its HTTP status, shared by every edge (SCIM,
 * admin API, SAML pages): each edge decides only the shape of its answer (RFC 7644 §3.12 error
 * body, `{"error": {"code", "message"}}`, the refusal page), never the status.
 * 412 is RFC 9110 §15.5.13 (If-Match, RFC 7644 §3.14), 429 RFC 6585 §4, 503 RFC 9110 §15.6.4.
 */
export const httpStatusOf: Readonly<Record<ErrorKind, number>> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  version_mismatch: 412,
  too_many_requests: 429,
  unavailable: 503,
};

/** How long a client is told to wait before retrying when the database is unreachable (seconds). */
export const unavailableRetryAfterSeconds = 5;

/**
 * The Retry-After an answer to this error carries (RFC 9110 §10.2.3), in seconds: a fixed short
 * wait for an unreachable database, the rate limit's own for too many requests, none otherwise.
 */
export function retryAfterOf(error: DomainError): number | undefined {
  if (error.kind === "unavailable") return unavailableRetryAfterSeconds;
  if (error.kind === "too_many_requests") return (error as DomainError & { retryAfterSeconds?: number }).retryAfterSeconds;
  return undefined;
}

/**
 * Domain errors. Services throw these; each edge (SCIM, admin API, CLI) translates them once into
 * its own wire format. Anything else escaping a service is a bug and is reported as a 500.
 */
export abstract class DomainError extends Error {
  abstract readonly kind: "not_found" | "conflict" | "invalid" | "forbidden" | "unavailable" | "version_mismatch" | "unauthenticated" | "too_many_requests";
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

export class NotFoundError extends DomainError {
  readonly kind = "not_found";
}

/** A uniqueness rule was broken (RFC 7644 §3.12 "uniqueness"). */
export class ConflictError extends DomainError {
  readonly kind = "conflict";
  constructor(message: string, readonly attribute?: string) {
    super(message);
  }
}

/** The request is understood but its content is not acceptable (RFC 7644 §3.12 "invalidValue"). */
export class InvalidError extends DomainError {
  readonly kind = "invalid";
  /** "query" when what is wrong is a search condition rather than data to store. */
  constructor(message: string, readonly subject: "value" | "query" = "value") {
    super(message);
  }
}

/**
 * A role or permission name the access catalog in force does not declare: the request does not
 * match the API's description (whose enums are the catalog's names), so it is a 400 invalid_request.
 */
export class UnknownCatalogNameError extends InvalidError {
  readonly code = "invalid_request";
}

export class ForbiddenError extends DomainError {
  readonly kind = "forbidden";
}

export class UnauthenticatedError extends DomainError {
  readonly kind = "unauthenticated";
}

export class TooManyRequestsError extends DomainError {
  readonly kind = "too_many_requests";
  constructor(message: string, readonly retryAfterSeconds: number) {
    super(message);
  }
}

/** The database cannot be reached or did not answer in time. */
export class UnavailableError extends DomainError {
  readonly kind = "unavailable";
}

/**
 * Other writes of the same resource kept coming first: a write without If-Match was recomputed
 * several times and never won (services/users.ts). 409 Conflict (RFC 7231 §6.5.8), not a
 * uniqueness clash; the client may simply retry.
 */
export class ConcurrentChangeError extends ConflictError {}

/** A conditional write named a version that is no longer current (RFC 7644 §3.14, If-Match). */
export class VersionMismatchError extends DomainError {
  readonly kind = "version_mismatch";
}

/**
 * A rule of the local admin API refused the change; `code` names the rule for API clients
 * (`managed_by_identity_provider`, `owner_protected`, `no_self_elevation`, `forbidden`).
 * A user managed by an identity provider is a conflict (409), the rest are forbidden (403).
 */
export class PolicyRefusedError extends DomainError {
  readonly kind: "conflict" | "forbidden";
  constructor(readonly code: string, message: string) {
    super(message);
    this.kind = code === "managed_by_identity_provider" ? "conflict" : "forbidden";
  }
}

/** An organization with a seat limit is full: no further active user until one leaves. */
export class SeatLimitReachedError extends ForbiddenError {
  readonly code = "seat_limit_reached";
  constructor(readonly limit: number) {
    super(`The organization has reached its seat limit of ${limit} active users; deactivate someone or raise the limit`);
  }
}

export { httpStatusOf, retryAfterOf, unavailableRetryAfterSeconds, type ErrorKind } from "./http-status";

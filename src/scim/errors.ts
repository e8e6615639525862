import SCIMMY from "scimmy";
import { ConcurrentChangeError, DomainError } from "../errors";

export const errorSchema = "urn:ietf:params:scim:api:messages:2.0:Error";

/**
 * scimmy's error message class refuses status codes outside its list (503, 429). Such errors are
 * raised as a 500 scimmy error carrying the real status, and the response interceptor
 * (scim/responses.ts) sends the real one.
 */
export class ScimStatusError extends SCIMMY.Types.Error {
  constructor(readonly httpStatus: number, message: string, readonly retryAfterSeconds?: number) {
    super(500, null as unknown as string, message);
  }
}

/**
 * Domain error → SCIM error (RFC 7644 §3.12). Anything unknown is a bug: it becomes a 500 —
 * never the 404 scimmy would make of it, which would tell an identity provider a user is gone.
 */
export function toScimError(error: unknown): InstanceType<typeof SCIMMY.Types.Error> {
  if (error instanceof SCIMMY.Types.Error) return error;
  if (error instanceof DomainError) {
    switch (error.kind) {
      case "not_found":
        return new SCIMMY.Types.Error(404, null as unknown as string, error.message);
      case "conflict":
        return new SCIMMY.Types.Error(409, (error instanceof ConcurrentChangeError ? null : "uniqueness") as string, error.message);
      case "invalid":
        return new SCIMMY.Types.Error(400, (error as { subject?: string }).subject === "query" ? "invalidFilter" : "invalidValue", error.message);
      case "forbidden":
        return new SCIMMY.Types.Error(403, null as unknown as string, error.message);
      case "version_mismatch":
        return new SCIMMY.Types.Error(412, null as unknown as string, error.message);
      case "unauthenticated":
        return new SCIMMY.Types.Error(401, null as unknown as string, error.message);
      case "unavailable":
        return new ScimStatusError(503, "The service is temporarily unavailable; retry later", 5);
      case "too_many_requests":
        return new ScimStatusError(429, error.message, (error as { retryAfterSeconds?: number }).retryAfterSeconds);
    }
  }
  const failure = new ScimStatusError(500, "Internal server error");
  (failure as { cause?: unknown }).cause = error;
  return failure;
}

/** A SCIM error body (RFC 7644 §3.12) for responses Gatehouse sends itself. */
export function scimErrorBody(status: number, detail: string, scimType?: string) {
  return { schemas: [errorSchema], status: String(status), ...(scimType ? { scimType } : {}), detail };
}

import SCIMMY from "scimmy";
import { ConcurrentChangeError, DomainError } from "../errors";
import { errorAnswerOf, unavailableMessage } from "../http/error-handler";

export const errorSchema = "urn:ietf:params:scim:api:messages:2.0:Error";

/**
 * A SCIM error (RFC 7644 §3.12) with its real HTTP status — 429 and 503 included — and the
 * Retry-After that goes with them. scimmy's own Types.Error takes any status; only its
 * ErrorResponse message refuses those outside RFC 7644's table, and Gatehouse never builds one
 * from an error (scim/router.ts answers every error of the edge itself).
 */
export class ScimError extends SCIMMY.Types.Error {
  constructor(status: number, scimType: string | undefined, message: string, readonly retryAfterSeconds?: number) {
    super(status, (scimType ?? null) as string, message);
  }
}

/** What the SCIM edge answers with: an HTTP status, the body's `scimType` and `detail`, and Retry-After. */
export interface ScimAnswer {
  status: number;
  scimType?: string;
  detail: string;
  retryAfterSeconds?: number;
  /** Gatehouse's own failure: logged with its cause. */
  internal?: true;
}

/** The scimType RFC 7644 §3.12 (Table 9) gives a domain error, where one fits. */
function scimTypeOf(error: DomainError): string | undefined {
  if (error.kind === "conflict") return error instanceof ConcurrentChangeError ? undefined : "uniqueness";
  if (error.kind === "invalid") return (error as { subject?: string }).subject === "query" ? "invalidFilter" : "invalidValue";
  return undefined;
}

/**
 * Any error → the SCIM answer. scimmy's own errors keep their status and scimType; everything
 * else takes its status from the shared translation (http/error-handler.ts errorAnswerOf, whose
 * statuses are errors/http-status.ts): a domain error its kind's, a body refusal its 4xx, and
 * anything unknown a 500 — never the 404 scimmy would make of it, which would tell an identity
 * provider a user is gone.
 */
export function scimAnswerOf(error: unknown): ScimAnswer {
  if (error instanceof SCIMMY.Types.Error) {
    const { status, scimType, message } = error as InstanceType<typeof SCIMMY.Types.Error> & { scimType?: string };
    const retryAfterSeconds = error instanceof ScimError ? error.retryAfterSeconds : undefined;
    return { status: Number(status), ...(scimType ? { scimType } : {}), detail: message, ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}) };
  }
  const answer = errorAnswerOf(error);
  const scimType = error instanceof DomainError ? scimTypeOf(error) : answer.scimType;
  return {
    status: answer.status,
    ...(scimType ? { scimType } : {}),
    detail: answer.status === 503 ? unavailableMessage : answer.message,
    ...(answer.retryAfterSeconds !== undefined ? { retryAfterSeconds: answer.retryAfterSeconds } : {}),
    ...(answer.internal ? { internal: true as const } : {}),
  };
}

/**
 * Inside every scimmy handler: the error as a scimmy error, which scimmy passes on untouched
 * (anything else it would report as 404 or 400).
 */
export function toScimError(error: unknown): InstanceType<typeof SCIMMY.Types.Error> {
  if (error instanceof SCIMMY.Types.Error) return error;
  const answer = scimAnswerOf(error);
  const scimError = new ScimError(answer.status, answer.scimType, answer.detail, answer.retryAfterSeconds);
  if (answer.internal) (scimError as { cause?: unknown }).cause = error;
  return scimError;
}

/** A SCIM error body (RFC 7644 §3.12) for responses Gatehouse sends itself. */
export function scimErrorBody(status: number, detail: string, scimType?: string) {
  return { schemas: [errorSchema], status: String(status), ...(scimType ? { scimType } : {}), detail };
}

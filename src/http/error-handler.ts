import type { NextFunction, Request, Response } from "express";
import { DomainError } from "../errors";
import type { Logger } from "./logger";
import { clientErrorOf } from "./request-errors";

/** What the final error handler answers, before an edge puts it in its own format. */
export interface ErrorAnswer {
  status: number;
  code: string;
  message: string;
  /** RFC 7644 §3.12's scimType, for the SCIM edge. */
  scimType?: string;
}

/** Writes an error answer in one edge's format (SCIM error body, SAML refusal page, …). */
export type ErrorWriter = (req: Request, res: Response, answer: ErrorAnswer) => void;

const statusOfKind: Record<DomainError["kind"], number> = {
  not_found: 404,
  conflict: 409,
  invalid: 400,
  forbidden: 403,
  unavailable: 503,
  version_mismatch: 412,
  unauthenticated: 401,
  too_many_requests: 429,
};

/** The generic JSON error shape (the admin API's too): `{"error": {"code", "message"}}`. */
export const jsonErrorWriter: ErrorWriter = (_req, res, answer) => {
  res.status(answer.status).json({ error: { code: answer.code, message: answer.message } });
};

/**
 * The last error handler, for whatever an edge's own handler did not answer: a refusal express or
 * a body parser attached a 4xx to keeps that status (413, 415, 400 — never a 500); a domain error
 * keeps its meaning (an unreachable database is 503 with Retry-After); only anything else is a
 * 500, logged with its stack under the request id. The answer takes the format of the edge the
 * path belongs to (`edges`, by path prefix), else the generic JSON error.
 */
export function finalErrorHandler(logger: Logger, edges: readonly { prefix: string; write: ErrorWriter }[]) {
  return (error: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const refused = clientErrorOf(error);
    let answer: ErrorAnswer;
    if (refused) {
      answer = { status: refused.status, code: refused.code, message: refused.message, ...(refused.scimType ? { scimType: refused.scimType } : {}) };
    } else if (error instanceof DomainError) {
      answer = { status: statusOfKind[error.kind], code: (error as { code?: string }).code ?? error.kind, message: error.message };
      if (error.kind === "unavailable") {
        logger.warn({ err: error, requestId: req.id }, "database unavailable");
        answer.message = "The service is temporarily unavailable; retry later";
      }
    } else {
      logger.error({ err: error, requestId: req.id }, "request failed");
      answer = { status: 500, code: "internal", message: "Internal server error" };
    }
    if (res.headersSent) return;
    if (answer.status === 503) res.setHeader("Retry-After", "5");
    const retryAfter = (error as { retryAfterSeconds?: unknown } | null)?.retryAfterSeconds;
    if (answer.status === 429 && typeof retryAfter === "number") res.setHeader("Retry-After", String(retryAfter));
    const path = req.originalUrl.split("?")[0]!;
    const edge = edges.find(({ prefix }) => path === prefix || path.startsWith(`${prefix}/`));
    (edge?.write ?? jsonErrorWriter)(req, res, answer);
  };
}

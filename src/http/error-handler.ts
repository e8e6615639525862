import type { NextFunction, Request, Response } from "express";
import { DomainError, httpStatusOf, retryAfterOf } from "../errors";
import type { Logger } from "./logger";
import { clientErrorOf } from "./request-errors";

/**
 * What any error is answered with, before an edge puts it in its own format: the one translation
 * of Gatehouse's error vocabulary (errors/) into HTTP that the SCIM edge, the admin API, the SAML
 * pages and the final handler share. Each edge decides only the body.
 */
export interface ErrorAnswer {
  status: number;
  code: string;
  message: string;
  /** RFC 7644 §3.12's scimType, where the refusal itself names one (body parsing). */
  scimType?: string;
  /** Seconds for Retry-After (RFC 9110 §10.2.3): an unreachable database, a rate limit. */
  retryAfterSeconds?: number;
  /** Gatehouse's own failure (500), to be logged with its stack: a bug, never the client's doing. */
  internal?: true;
}

/**
 * The answer to an error: a refusal express or a body parser attached a 4xx to keeps that status
 * (413, 415, 400 — never a 500); a domain error gets its kind's status (errors/http-status.ts)
 * and its own message and code; anything else is a 500 that tells nothing of its cause.
 */
export function errorAnswerOf(error: unknown): ErrorAnswer {
  const refused = clientErrorOf(error);
  if (refused) return { status: refused.status, code: refused.code, message: refused.message, ...(refused.scimType ? { scimType: refused.scimType } : {}) };
  if (error instanceof DomainError) {
    const retryAfterSeconds = retryAfterOf(error);
    return {
      status: httpStatusOf[error.kind],
      code: (error as { code?: string }).code ?? error.kind,
      message: error.message,
      ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
    };
  }
  return { status: 500, code: "internal", message: "Internal server error", internal: true };
}

/** The headers an error answer carries whatever its format: Retry-After on 503 and 429. */
export function setErrorHeaders(res: Response, answer: Pick<ErrorAnswer, "retryAfterSeconds">): void {
  if (answer.retryAfterSeconds !== undefined) res.setHeader("Retry-After", String(answer.retryAfterSeconds));
}

/** What a person or client is told when the database is unreachable: nothing about the database. */
export const unavailableMessage = "The service is temporarily unavailable; retry later";

/** Writes an error answer in one edge's format (SCIM error body, SAML refusal page, …). */
export type ErrorWriter = (req: Request, res: Response, answer: ErrorAnswer) => void;

/** The generic JSON error shape (the admin API's too): `{"error": {"code", "message"}}`. */
export const jsonErrorWriter: ErrorWriter = (_req, res, answer) => {
  res.status(answer.status).json({ error: { code: answer.code, message: answer.message } });
};

/**
 * The last error handler, for whatever an edge's own handler did not answer (errorAnswerOf; an
 * unreachable database is 503 with Retry-After and a message that does not name it). Gatehouse's
 * own failures are logged with their stack under the request id. The answer takes the format of
 * the edge the path belongs to (`edges`, by path prefix), else the generic JSON error.
 */
export function finalErrorHandler(logger: Logger, edges: readonly { prefix: string; write: ErrorWriter }[]) {
  return (error: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const answer = errorAnswerOf(error);
    if (answer.internal) logger.error({ err: error, requestId: req.id }, "request failed");
    if (answer.status === 503) {
      logger.warn({ err: error, requestId: req.id }, "database unavailable");
      answer.message = unavailableMessage;
    }
    if (res.headersSent) return;
    setErrorHeaders(res, answer);
    const path = req.originalUrl.split("?")[0]!;
    const edge = edges.find(({ prefix }) => path === prefix || path.startsWith(`${prefix}/`));
    (edge?.write ?? jsonErrorWriter)(req, res, answer);
  };
}

import type { Request, Response } from "express";
import type { z } from "zod";
import type { RequestContext } from "../domain/context";

/** The admin API's error shape: `{ "error": { "code", "message" } }`. */
export function sendError(res: Response, status: number, code: string, message: string): void {
  res.status(status).json({ error: { code, message } });
}

/** 400 invalid_request naming each problem by its path (or by where it is: `body`, `query`). */
export function invalidRequest(res: Response, issues: z.core.$ZodIssue[], where: "body" | "query" | "params" = "body"): void {
  sendError(res, 400, "invalid_request", issues.map((i) => `${i.path.join(".") || where}: ${i.message}`).join("; "));
}

export const scopeOf = (req: Request) => ({ organizationId: req.apiOrganizationId! });

/** Who did it, for the audit trail: the person behind a personal token or a session, or the service token. */
export function contextOf(req: Request): RequestContext {
  const person = req.apiActor?.kind === "user" ? req.apiActor.user : req.apiSession?.user;
  return {
    organizationId: req.apiOrganizationId!,
    actor: person ? { type: "user", id: person.id, name: person.userName } : { type: "system", id: "service-token", name: "service token" },
    source: "admin",
    requestId: req.id,
  };
}

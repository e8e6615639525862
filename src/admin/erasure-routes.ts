import express, { type Router } from "express";
import { z } from "zod";
import type { Services } from "../services";
import { ForbiddenError } from "../errors";
import type { ApiActor } from "../services/members";
import { contextOf, scopeOf } from "./http";
import { mount, operation } from "./operation";
import { named } from "./schemas";

/**
 * Personal data erasure of a deleted member (issue 13 §3), for the Owner; the operator has
 * `gatehouse erase-personal-data`. The use-case and its rules are services/personal-data-erasure.ts.
 */

const personOnly = (actor: ApiActor): void => {
  if (actor.kind !== "user") throw new ForbiddenError("This needs a person's token or session, not a service token");
};

export const erasePersonalData = operation({
  method: "post",
  path: "/personal-data-erasures",
  operationId: "erasePersonalData",
  tag: "Audit",
  summary: "Erase a deleted member's personal data",
  description:
    "The Owner only. Irreversible. Replaces the member's names, emails, userName and id in every audit event of the organization (actor, target, before, after, reason) with a stable pseudonym (`erased-…`), keeping each event's time, action and source; renames their personal tokens and deletes their remaining sessions. Only for a member who no longer exists (`409 conflict` otherwise: delete them first); `404` when the trail holds nothing about the id. The request must repeat the member's userName in `confirm`. Audited as `user.personal_data_erased`, naming only the pseudonym. On the embedded database the whole trail is read once (about 0.3 ms per event).",
  security: "personal",
  authorize: personOnly,
  body: named(
    "ErasureRequest",
    z
      .object({
        userId: z.string().min(1).describe("The deleted member's id (the SCIM id, as the audit trail shows it)."),
        confirm: z.string().min(1).max(1000).describe("The deleted member's userName, as the audit trail records it: the erasure cannot be undone."),
      })
      .strict(),
  ),
  responses: {
    200: {
      description: "Erased.",
      schema: named(
        "ErasureReport",
        z.object({
          pseudonym: z.string().regex(/^erased-[0-9a-f]{16}$/).describe("What the member is called in the trail from now on."),
          eventsScanned: z.number().int().min(0).describe("The organization's events read."),
          eventsRewritten: z.number().int().min(0).describe("Events that held the member's personal data."),
          personalTokens: z.number().int().min(0).describe("Personal API tokens renamed."),
          sessions: z.number().int().min(0).describe("Sessions deleted."),
          ms: z.number().int().min(0).describe("How long it took."),
        }),
      ),
    },
  },
  errors: { 400: ["invalid"], 404: "The audit trail holds nothing about that user id", 409: ["conflict"] },
});

export const erasureOperations = [erasePersonalData];

export function erasureRoutes(services: Services): Router {
  const router = express.Router();
  mount(router, erasePersonalData, async ({ body }, req) => {
    await services.personalDataErasure.mayErase(scopeOf(req), req.apiActor!);
    return { ...(await services.personalDataErasure.erase(contextOf(req), body.userId, body.confirm)) };
  });
  return router;
}

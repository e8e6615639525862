import express, { type Router } from "express";
import { z } from "zod";
import type { MemberReference, Offboarding as OffboardingRecord } from "../domain/offboarding";
import { InvalidError } from "../errors";
import type { Services } from "../services";
import { mayOffboard, OFFBOARDING_SCOPE } from "../services/offboardings";
import { contextOf, scopeOf } from "./http";
import { mount, operation } from "./operation";
import { named, ReasonRequest } from "./schemas";

/**
 * HR offboarding (issue 15 §3), mounted under /api/v1 after authentication: an HR system, Okta
 * Workflows or an Entra ID lifecycle workflow (a service token with the `offboarding` scope), or an
 * administrator (the permission suspension needs), ends a member's access now or on a date.
 */

const dateTime = (description: string) => z.iso.datetime().describe(description);

const OffboardingStatus = z
  .enum(["scheduled", "carried_out", "completed", "cancelled"])
  .describe(
    "`scheduled`: waiting for `effectiveAt`; `carried_out`: the member is held (suspended, sessions and personal tokens ended); `completed`: the identity provider has since deactivated or deleted the member too; `cancelled`: cancelled before it fell due.",
  );

export const Offboarding = named(
  "Offboarding",
  z.object({
    id: z.string().describe("Derived from the organization and the idempotency key: the same key answers the same offboarding."),
    status: OffboardingStatus,
    member: z.object({ id: z.string(), userName: z.string().describe("When the offboarding was requested.") }),
    memberReference: z.object({ by: z.enum(["id", "userName", "email", "externalId"]), value: z.string() }).describe("How the request named the member."),
    effectiveAt: dateTime("When access ends (ended)."),
    reason: z.string(),
    requestedBy: z.object({ type: z.string(), id: z.string(), name: z.string() }),
    created: dateTime("When it was requested."),
    reminderSentAt: dateTime("When the `offboarding.reminder` event went out, a day before.").optional(),
    carriedOutAt: dateTime("When the hold was placed.").optional(),
    completedAt: dateTime("When it was completed.").optional(),
    completedBecause: z.string().optional(),
    cancelledAt: dateTime("When it was cancelled.").optional(),
    cancelledBecause: z.string().optional(),
    conflict: z
      .object({ at: dateTime("When the identity provider reactivated the member."), detail: z.string() })
      .optional()
      .describe("The identity provider reactivated the member after HR offboarded them: the hold stays until an administrator lifts it (`POST /users/{id}/unsuspend`)."),
    revokedTokens: z.array(z.string()).optional().describe("Ids of the personal API tokens revoked when it was carried out."),
  }),
  "An HR offboarding.",
);

export function presentOffboarding(o: OffboardingRecord): z.input<typeof Offboarding> {
  const time = <K extends string>(key: K, at: Date | undefined) => (at ? ({ [key]: at.toISOString() } as Record<K, string>) : {});
  return {
    id: o.id,
    status: o.status,
    member: { id: o.userId, userName: o.userName },
    memberReference: { by: o.memberReference.by, value: o.memberReference.value },
    effectiveAt: o.effectiveAt.toISOString(),
    reason: o.reason,
    requestedBy: { type: o.requestedBy.type, id: o.requestedBy.id, name: o.requestedBy.name },
    created: o.created.toISOString(),
    ...time("reminderSentAt", o.reminderSentAt),
    ...time("carriedOutAt", o.carriedOutAt),
    ...time("completedAt", o.completedAt),
    ...(o.completedBecause ? { completedBecause: o.completedBecause } : {}),
    ...time("cancelledAt", o.cancelledAt),
    ...(o.cancelledBecause ? { cancelledBecause: o.cancelledBecause } : {}),
    ...(o.conflict ? { conflict: { at: o.conflict.at.toISOString(), detail: o.conflict.detail } } : {}),
    ...(o.revokedTokens?.length ? { revokedTokens: [...o.revokedTokens] } : {}),
  };
}

const IdempotencyKey = z.string().min(1).max(255);

export const requestOffboarding = operation({
  method: "post",
  path: "/offboardings",
  operationId: "requestOffboarding",
  tag: "Offboarding",
  summary: "Offboard a member, now or on a date",
  description:
    "For service tokens with the `offboarding` scope and for administrators (the permission suspension needs). Name the member by exactly one of `userId`, `userName`, `email`, `externalId`. " +
    "Effective now (no `effectiveAt`, or one in the past): before this answers, the member is suspended by an HR hold the identity provider cannot lift (SCIM `active: true` leaves it), every browser session ends on every instance and every personal API token is revoked; `offboarding.carried_out` is audited. " +
    "Later: the offboarding is `scheduled` (`offboarding.scheduled`), an `offboarding.reminder` event goes out a day before, and it is carried out within a minute of `effectiveAt` by one instance. " +
    "Idempotent: the same `Idempotency-Key` header (or `idempotencyKey` field) answers the same offboarding, with the header `Idempotent-Replayed: true`; the key with another member is 409.",
  security: "personalOrService",
  scope: OFFBOARDING_SCOPE,
  authorize: mayOffboard,
  body: named(
    "OffboardingRequest",
    z
      .object({
        userId: z.string().min(1).optional().describe("The member's id (the SCIM id)."),
        userName: z.string().min(1).optional(),
        email: z.string().min(1).optional().describe("A work email of the member (usually their userName)."),
        externalId: z.string().min(1).optional().describe("The identity provider's or HR system's id for the member (SCIM externalId)."),
        effectiveAt: z.iso.datetime({ offset: true }).optional().describe("When access ends: a time with a zone. Now when left out or in the past; at most two years ahead."),
        reason: z.string().min(1).max(1000).describe("Recorded with the offboarding and in the audit trail."),
        idempotencyKey: IdempotencyKey.optional().describe("Instead of the `Idempotency-Key` header (the two must agree)."),
      })
      .strict(),
  ),
  responses: { 201: { description: "The offboarding (carried out already when effective now).", schema: Offboarding } },
  errors: { 400: ["invalid"], 403: ["owner_protected"], 404: "No such member in the organization", 409: ["conflict"] },
});

const idParams = z.object({ id: z.string().min(1).max(100).describe("The offboarding's id.") });

export const listOffboardings = operation({
  method: "get",
  path: "/offboardings",
  operationId: "listOffboardings",
  tag: "Offboarding",
  summary: "Offboardings, newest first",
  description: "For service tokens with the `offboarding` scope and for administrators.",
  security: "personalOrService",
  scope: OFFBOARDING_SCOPE,
  authorize: mayOffboard,
  query: z
    .object({
      status: OffboardingStatus.optional().describe("Only offboardings in this state (e.g. `scheduled`: what is still to come)."),
      limit: z.string().regex(/^\d+$/, "must be a whole number").transform(Number).pipe(z.number().int().min(1).max(500)).optional().describe("At most this many (1–500, default 100)."),
    })
    .strict(),
  responses: { 200: { description: "The offboardings.", schema: named("OffboardingList", z.object({ offboardings: z.array(Offboarding) })) } },
});

export const getOffboarding = operation({
  method: "get",
  path: "/offboardings/:id",
  operationId: "getOffboarding",
  tag: "Offboarding",
  summary: "One offboarding",
  description: "For service tokens with the `offboarding` scope and for administrators.",
  security: "personalOrService",
  scope: OFFBOARDING_SCOPE,
  authorize: mayOffboard,
  params: idParams,
  responses: { 200: { description: "The offboarding.", schema: Offboarding } },
  errors: { 404: "No such offboarding in the organization" },
});

export const cancelOffboarding = operation({
  method: "post",
  path: "/offboardings/:id/cancel",
  operationId: "cancelOffboarding",
  tag: "Offboarding",
  summary: "Cancel a scheduled offboarding",
  description:
    "For service tokens with the `offboarding` scope and for administrators. Only a `scheduled` offboarding can be cancelled (cancelling a cancelled one changes nothing); one already carried out is 409 — an administrator lifts the hold with `POST /users/{id}/unsuspend`. Audited as `offboarding.cancelled`.",
  security: "personalOrService",
  scope: OFFBOARDING_SCOPE,
  authorize: mayOffboard,
  params: idParams,
  body: ReasonRequest,
  bodyRequired: false,
  responses: { 200: { description: "The offboarding, cancelled.", schema: Offboarding } },
  errors: { 404: "No such offboarding in the organization", 409: ["conflict"] },
});

export const deleteOffboarding = operation({
  ...cancelOffboarding,
  method: "delete",
  path: "/offboardings/:id",
  operationId: "deleteOffboarding",
  summary: "Cancel a scheduled offboarding (the same as POST …/cancel)",
  body: undefined,
  bodyRequired: undefined,
});

export const offboardingOperations = [requestOffboarding, listOffboardings, getOffboarding, cancelOffboarding, deleteOffboarding];

/** The member reference of a request: exactly one of the four ways to name a member. */
function memberReferenceOf(body: { userId?: string | undefined; userName?: string | undefined; email?: string | undefined; externalId?: string | undefined }): MemberReference {
  const given = (
    [
      ["id", body.userId],
      ["userName", body.userName],
      ["email", body.email],
      ["externalId", body.externalId],
    ] as const
  ).filter(([, value]) => value !== undefined);
  if (given.length !== 1) throw new InvalidError("Name the member by exactly one of userId, userName, email, externalId");
  const [by, value] = given[0]!;
  return { by, value: value! } as MemberReference;
}

export function offboardingRoutes(services: Services): Router {
  const router = express.Router();
  const { offboardings } = services;

  mount(router, requestOffboarding, async ({ body }, req, res) => {
    const header = req.header("idempotency-key");
    if (header !== undefined && !IdempotencyKey.safeParse(header).success) throw new InvalidError("The Idempotency-Key header must be 1 to 255 characters");
    if (header !== undefined && body.idempotencyKey !== undefined && header !== body.idempotencyKey) {
      throw new InvalidError("The Idempotency-Key header and the idempotencyKey field differ");
    }
    const idempotencyKey = header ?? body.idempotencyKey;
    const { offboarding, created } = await offboardings.request(contextOf(req), req.apiActor!, {
      member: memberReferenceOf(body),
      ...(body.effectiveAt ? { effectiveAt: new Date(body.effectiveAt) } : {}),
      reason: body.reason,
      ...(idempotencyKey !== undefined ? { idempotencyKey } : {}),
    });
    if (!created) res.setHeader("Idempotent-Replayed", "true");
    return presentOffboarding(offboarding);
  });

  mount(router, listOffboardings, async ({ query }, req) => ({
    offboardings: (await offboardings.list(scopeOf(req), req.apiActor!, { ...(query.status ? { status: query.status } : {}), limit: query.limit ?? 100 })).map(presentOffboarding),
  }));

  mount(router, getOffboarding, async ({ params }, req) => presentOffboarding(await offboardings.get(scopeOf(req), req.apiActor!, params.id)));

  mount(router, cancelOffboarding, async ({ params, body }, req) => presentOffboarding(await offboardings.cancel(contextOf(req), req.apiActor!, params.id, body.reason)));

  mount(router, deleteOffboarding, async ({ params }, req) => presentOffboarding(await offboardings.cancel(contextOf(req), req.apiActor!, params.id)));

  return router;
}

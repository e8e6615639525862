import { createHash } from "node:crypto";

/**
 * HR offboarding (issue 15 §3): HR's decision that a member leaves, now or on their last working
 * day. Carried out, it is a hold on the member — the `suspended` overlay the identity provider
 * cannot lift (a SCIM `active: true` leaves it in place) — marked as HR's by `User.offboarding`,
 * so an administrator, and only an administrator, lifts it, and a later reactivation by the
 * identity provider is seen as the conflict it is.
 *
 * - `scheduled`: waiting for `effectiveAt` (the scheduler carries it out within a minute of it);
 * - `carried_out`: the member is held; every session and personal token has ended;
 * - `completed`: the identity provider has since deactivated or deleted the member too (or the
 *   member was already gone when it fell due) — HR and the identity provider agree;
 * - `cancelled`: cancelled before it fell due (or superseded by an offboarding effective now).
 */
export type OffboardingStatus = "scheduled" | "carried_out" | "completed" | "cancelled";

/** How the caller named the member: exactly one of these. */
export type MemberReference = { by: "id"; value: string } | { by: "userName"; value: string } | { by: "email"; value: string } | { by: "externalId"; value: string };

/** The identity provider turned the member back on after HR offboarded them: HR wins, the hold stays. */
export interface OffboardingConflict {
  readonly at: Date;
  readonly detail: string;
}

export interface Offboarding {
  /** Derived from the organization and the idempotency key (offboardingIdOf): the same key is the same offboarding. */
  readonly id: string;
  readonly organizationId: string;
  readonly userId: string;
  /** The member's userName when the offboarding was requested (for lists and messages). */
  readonly userName: string;
  readonly memberReference: MemberReference;
  readonly effectiveAt: Date;
  readonly reason: string;
  readonly status: OffboardingStatus;
  /** Who asked: the service token or the administrator. */
  readonly requestedBy: { readonly type: string; readonly id: string; readonly name: string };
  readonly created: Date;
  readonly reminderSentAt?: Date;
  readonly carriedOutAt?: Date;
  readonly completedAt?: Date;
  readonly completedBecause?: string;
  readonly cancelledAt?: Date;
  readonly cancelledBecause?: string;
  readonly conflict?: OffboardingConflict;
  /** Personal tokens revoked when it was carried out. */
  readonly revokedTokens?: readonly string[];
  /** Increases with every change: writes are compare-and-set on it. */
  readonly version: number;
}

/**
 * What the member carries while HR's hold is on them (User.offboarding): which offboarding, its
 * state, and a conflict when the identity provider reactivated them afterwards. Written in the
 * same single-document write as the suspension; cleared when an administrator lifts it.
 */
export interface OffboardingHold {
  readonly offboardingId: string;
  readonly status: "carried_out" | "completed";
  readonly since: Date;
  readonly conflict?: OffboardingConflict;
}

/** How long before `effectiveAt` the reminder event goes out. */
export const reminderLeadMs = 24 * 60 * 60_000;

/**
 * The offboarding's id: the organization and the caller's idempotency key, hashed. Stored as the
 * document's `_id`, so two requests with one key — on any instance, on MongoDB and FerretDB alike —
 * make one offboarding: the second insert fails on the unique `_id`. Keys of different
 * organizations never meet.
 */
export function offboardingIdOf(organizationId: string, idempotencyKey: string): string {
  return `off_${createHash("sha256").update(`${organizationId}\u0000${idempotencyKey}`).digest("base64url").slice(0, 32)}`;
}

/**
 * When the scheduler next has something to do for an offboarding: the reminder a day before (when
 * one is owed and not yet sent), else the time itself; nothing once it is no longer scheduled.
 */
export function nextWakeOf(offboarding: Pick<Offboarding, "status" | "effectiveAt" | "reminderSentAt" | "created">): Date | undefined {
  if (offboarding.status !== "scheduled") return undefined;
  if (owesReminder(offboarding)) return new Date(offboarding.effectiveAt.getTime() - reminderLeadMs);
  return offboarding.effectiveAt;
}

/** Scheduled more than a day ahead and not yet reminded (one scheduled for sooner needs no reminder: HR knows it is imminent). */
function owesReminder(offboarding: Pick<Offboarding, "effectiveAt" | "reminderSentAt" | "created">): boolean {
  return !offboarding.reminderSentAt && offboarding.effectiveAt.getTime() - offboarding.created.getTime() > reminderLeadMs;
}

/** Whether a reminder is still worth sending: the time is ahead and no reminder went out. */
export function reminderDue(offboarding: Pick<Offboarding, "status" | "effectiveAt" | "reminderSentAt" | "created">, now: Date): boolean {
  return (
    offboarding.status === "scheduled" &&
    owesReminder(offboarding) &&
    now.getTime() < offboarding.effectiveAt.getTime() &&
    now.getTime() >= offboarding.effectiveAt.getTime() - reminderLeadMs
  );
}

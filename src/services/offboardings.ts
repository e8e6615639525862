import { randomUUID } from "node:crypto";
import type { AuditTrail } from "../audit/audit-trail";
import type { RequestContext } from "../domain/context";
import { nextWakeOf, offboardingIdOf, reminderDue, type MemberReference, type Offboarding } from "../domain/offboarding";
import type { User } from "../domain/user";
import type { TokenScope } from "../domain/token-scopes";
import { ConflictError, ForbiddenError, InvalidError, NotFoundError, PolicyRefusedError } from "../errors";
import type { OffboardingStore } from "../storage/offboardings";
import type { AccessDirectory } from "./access";
import { requirePermission, type ApiActor } from "./members";
import type { UserDirectory } from "./users";

/** The scope a service token needs to offboard (issue 15 §1: tokens get scopes). */
export const OFFBOARDING_SCOPE: TokenScope = "offboarding";

/**
 * Who may offboard: a service token with the `offboarding` scope (an HR system, Okta Workflows,
 * an Entra ID lifecycle workflow), or a person whose role may suspend members (the catalog's
 * `changeMemberAccess` permission, the one suspension needs). Pure: a table-driven test reads it.
 */
export function mayOffboard(actor: ApiActor): void {
  if (actor.kind === "service") {
    if (!actor.scopes?.includes(OFFBOARDING_SCOPE)) throw new ForbiddenError(`This service token lacks the "${OFFBOARDING_SCOPE}" scope`);
    return;
  }
  requirePermission(actor, actor.catalog.definition.administration.changeMemberAccess);
}

export interface OffboardingRequest {
  member: MemberReference;
  /** When access ends; now when absent (or in the past). */
  effectiveAt?: Date;
  reason: string;
  /** The same key twice is one offboarding; a fresh one per request when absent. */
  idempotencyKey?: string;
}

/** What the scheduler did in one pass (for its log line and the tests). */
export interface SchedulerPass {
  reminded: string[];
  carriedOut: string[];
}

/** How many agenda entries one pass looks at; the rest wait for the next pass (seconds later). */
const passSize = 50;
/** A claim older than this belongs to an instance that died mid-step: its step is taken up again. */
const claimLeaseMs = 5 * 60_000;
/**
 * An offboarding effective now is carried out inside its request; it also goes on the agenda this
 * long ahead, so that one whose request died half-way is finished by the scheduler.
 */
const immediateSafetyNetMs = 30_000;
/** How far ahead an offboarding may be scheduled. */
const maxLeadMs = 2 * 366 * 24 * 60 * 60_000;

/**
 * HR offboarding (issue 15 §3): one call ends a member's access now or on their last working day.
 * Carrying it out is the instant deprovisioning a SCIM deactivation runs — here through
 * UserDirectory.placeOffboardingHold: suspended with HR's mark, every session ended in that same
 * write (the session epoch; every instance reads the user on each request), personal tokens
 * revoked — before the answer. The identity provider's later changes are handled by
 * OffboardingOutcomes (HR wins).
 */
export class Offboardings {
  constructor(
    private readonly store: OffboardingStore,
    private readonly users: UserDirectory,
    private readonly access: AccessDirectory,
    private readonly audit: AuditTrail,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /**
   * Offboards a member, now or at `effectiveAt`. The same idempotency key again answers the same
   * offboarding (`created` false) — and finishes carrying it out if its first request died half-way;
   * the key with another member is a 409.
   */
  async request(ctx: RequestContext, actor: ApiActor, request: OffboardingRequest): Promise<{ offboarding: Offboarding; created: boolean }> {
    mayOffboard(actor);
    const reason = request.reason.trim();
    if (!reason) throw new InvalidError("An offboarding needs a reason");
    const now = this.now();
    const effectiveAt = request.effectiveAt && request.effectiveAt > now ? request.effectiveAt : now;
    if (effectiveAt.getTime() - now.getTime() > maxLeadMs) throw new InvalidError("effectiveAt is more than two years ahead");
    const id = offboardingIdOf(ctx.organizationId, request.idempotencyKey ?? randomUUID());

    const existing = await this.store.findById(id);
    if (existing) return { offboarding: await this.repeated(ctx, existing, request), created: false };

    const user = await this.resolve(ctx, request.member);
    if ((await this.access.ownerOf(ctx)) === user.id) {
      throw new PolicyRefusedError("owner_protected", "the Owner cannot be offboarded: transfer ownership first");
    }
    const offboarding: Offboarding = {
      id,
      organizationId: ctx.organizationId,
      userId: user.id,
      userName: user.userName,
      memberReference: request.member,
      effectiveAt,
      reason,
      status: "scheduled",
      requestedBy: { ...ctx.actor },
      created: now,
      version: 1,
    };
    const immediate = effectiveAt.getTime() <= now.getTime();
    // On the agenda first: an offboarding never exists that the scheduler could not find.
    await this.store.wakeAt(id, immediate ? new Date(now.getTime() + immediateSafetyNetMs) : nextWakeOf(offboarding)!);
    const scheduled = immediate
      ? []
      : [this.audit.event(ctx, { action: "offboarding.scheduled", target: memberTarget(offboarding), after: summary(offboarding), reason })];
    if (!(await this.store.insert(offboarding, scheduled))) {
      // The same key, at the same moment, on another request: that one made it.
      const winner = await this.store.findById(id);
      if (!winner) throw new ConflictError("The offboarding is being created by another request; retry");
      return { offboarding: await this.repeated(ctx, winner, request), created: false };
    }
    if (!immediate) return { offboarding, created: true };
    return { offboarding: await this.carryOut(ctx, offboarding), created: true };
  }

  /** A request with a key already used: the same member (or 409), and a due offboarding finished now. */
  private async repeated(ctx: RequestContext, existing: Offboarding, request: OffboardingRequest): Promise<Offboarding> {
    if (existing.organizationId !== ctx.organizationId) throw new ConflictError("This idempotency key is taken");
    const same = existing.memberReference.by === request.member.by && existing.memberReference.value === request.member.value;
    if (!same) throw new ConflictError(`This idempotency key was used for another offboarding (${existing.id}, of ${existing.userName})`);
    if (existing.status === "scheduled" && existing.effectiveAt.getTime() <= this.now().getTime()) return this.carryOut(ctx, existing);
    return existing;
  }

  /** The member a reference names; 404 when none, 409 when an email or externalId names several. */
  private async resolve(ctx: RequestContext, member: MemberReference): Promise<User> {
    const one = (found: readonly User[], what: string): User => {
      if (found.length > 1) throw new ConflictError(`${found.length} members have ${what}: name the member by id`);
      if (!found[0]) throw new NotFoundError(`No member with ${what} in this organization`);
      return found[0];
    };
    switch (member.by) {
      case "id":
        return this.users.get(ctx, member.value);
      case "userName": {
        const user = await this.users.findByUserName(ctx, member.value);
        return one(user ? [user] : [], `userName "${member.value}"`);
      }
      case "externalId":
        return one(await this.users.findByExternalId(ctx, member.value), `externalId "${member.value}"`);
      case "email": {
        // Usually the userName is the work email: one `_id` lookup. Otherwise a query on the emails.
        const byUserName = await this.users.findByUserName(ctx, member.value);
        const lower = member.value.toLowerCase();
        if (byUserName?.emails?.some((e) => e.value?.toLowerCase() === lower)) return byUserName;
        const { users } = await this.users.list(ctx, {
          criteria: { kind: "compare", path: "emails.value", op: "eq", value: member.value, type: "string", caseExact: false },
          startIndex: 1,
          count: 2,
        });
        return one(users, `email "${member.value}"`);
      }
    }
  }

  /**
   * Carries an offboarding out (from its request, or the scheduler): the hold on the member with
   * the whole deprovisioning cascade, then the offboarding's state with its `offboarding.carried_out`
   * event, compare-and-set — of two carrying it out at once, one writes the state and the event,
   * and the cascade, idempotent, does nothing more the second time. A member already gone completes it.
   */
  private async carryOut(requestCtx: RequestContext, offboarding: Offboarding): Promise<Offboarding> {
    const ctx: RequestContext = { ...requestCtx, organizationId: offboarding.organizationId };
    const user = await this.users.get(ctx, offboarding.userId).catch((error: unknown) => {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    });
    const at = this.now();
    let after: Offboarding;
    let event;
    const heldByAnother = user?.suspended && user.offboarding && user.offboarding.offboardingId !== offboarding.id ? user.offboarding.offboardingId : undefined;
    if (!user || heldByAnother) {
      const because = user ? `the member is already held by offboarding ${heldByAnother}` : "the member no longer exists";
      after = { ...offboarding, status: "completed", completedAt: at, completedBecause: because, version: offboarding.version + 1 };
      event = this.audit.event(ctx, { action: "offboarding.completed", target: memberTarget(offboarding), after: summary(after), reason: because });
    } else {
      const status = user.active ? "carried_out" : "completed";
      const { revokedTokens } = await this.users.placeOffboardingHold(ctx, user.id, { offboardingId: offboarding.id, status, since: at }, `offboarding ${offboarding.id}: ${offboarding.reason}`);
      after = {
        ...offboarding,
        status,
        carriedOutAt: at,
        revokedTokens: [...(offboarding.revokedTokens ?? []), ...revokedTokens],
        ...(status === "completed" ? { completedAt: at, completedBecause: "the identity provider had already deactivated the member" } : {}),
        version: offboarding.version + 1,
      };
      event = this.audit.event(ctx, {
        action: "offboarding.carried_out",
        target: memberTarget(offboarding),
        after: { ...summary(after), sessions: "all ended", personalTokens: revokedTokens },
        reason: offboarding.reason,
      });
    }
    const written = await this.store.replace(offboarding, after, [event]);
    await this.store.dropFromAgenda(offboarding.id);
    if (written) return after;
    return (await this.store.findById(offboarding.id)) ?? after;
  }

  async get(ctx: Pick<RequestContext, "organizationId">, actor: ApiActor, id: string): Promise<Offboarding> {
    mayOffboard(actor);
    const offboarding = await this.store.findById(id);
    if (!offboarding || offboarding.organizationId !== ctx.organizationId) throw new NotFoundError(`No offboarding ${id}`);
    return offboarding;
  }

  async list(ctx: Pick<RequestContext, "organizationId">, actor: ApiActor, options: { status?: Offboarding["status"]; limit: number }): Promise<Offboarding[]> {
    mayOffboard(actor);
    return this.store.list(ctx.organizationId, options);
  }

  /** Cancels a scheduled offboarding; one already carried out is a 409 (an administrator lifts the hold instead). */
  async cancel(ctx: RequestContext, actor: ApiActor, id: string, reason?: string): Promise<Offboarding> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await this.get(ctx, actor, id);
      if (current.status === "cancelled") return current;
      if (current.status !== "scheduled") {
        throw new ConflictError(`Offboarding ${id} was already carried out: an administrator lifts the hold with POST /api/v1/users/${current.userId}/unsuspend`);
      }
      const after: Offboarding = { ...current, status: "cancelled", cancelledAt: this.now(), ...(reason ? { cancelledBecause: reason } : {}), version: current.version + 1 };
      const event = this.audit.event(ctx, { action: "offboarding.cancelled", target: memberTarget(current), before: summary(current), after: summary(after), ...(reason ? { reason } : {}) });
      if (await this.store.replace(current, after, [event])) {
        await this.store.dropFromAgenda(id);
        return after;
      }
    }
    throw new ConflictError(`Offboarding ${id} is being changed by other requests at the same time; retry`);
  }

  /**
   * One pass of the scheduler (services/offboarding-scheduler.ts), on any number of instances at
   * once: each offboarding on the agenda whose time has come gets its reminder a day before, and is
   * carried out at its time — each step by the one instance whose claim (a unique `_id`) succeeds.
   */
  async runDue(now: Date = this.now()): Promise<SchedulerPass> {
    const pass: SchedulerPass = { reminded: [], carriedOut: [] };
    await this.store.sweepClaims(new Date(now.getTime() - claimLeaseMs));
    for (const id of await this.store.dueIds(now, passSize)) {
      const offboarding = await this.store.findById(id);
      if (!offboarding || offboarding.status !== "scheduled") {
        // Done, or never stored (its insert failed after the agenda entry was written): nothing
        // more to wake for. An entry is always written ahead of its offboarding's time, so one
        // whose insert is still under way is not due yet.
        await this.store.dropFromAgenda(id);
        continue;
      }
      const ctx = systemContext(offboarding.organizationId);
      if (now.getTime() >= offboarding.effectiveAt.getTime()) {
        if (!(await this.store.claim(`${id}/carry-out`, now))) continue;
        const after = await this.carryOut(ctx, offboarding);
        if (after.status !== "scheduled") pass.carriedOut.push(id);
      } else if (reminderDue(offboarding, now)) {
        if (!(await this.store.claim(`${id}/reminder`, now))) continue;
        const after: Offboarding = { ...offboarding, reminderSentAt: now, version: offboarding.version + 1 };
        const event = this.audit.event(ctx, { action: "offboarding.reminder", target: memberTarget(offboarding), after: summary(after), reason: `carried out at ${offboarding.effectiveAt.toISOString()}` });
        if (await this.store.replace(offboarding, after, [event])) pass.reminded.push(id);
        await this.store.wakeAt(id, after.effectiveAt);
      } else {
        await this.store.wakeAt(id, nextWakeOf(offboarding) ?? offboarding.effectiveAt);
      }
    }
    return pass;
  }
}

function systemContext(organizationId: string): RequestContext {
  return { organizationId, actor: { type: "system", id: "offboarding-scheduler", name: "Gatehouse offboarding scheduler" }, source: "system", requestId: `offboarding-${randomUUID()}` };
}

function memberTarget(offboarding: Offboarding) {
  return { type: "user", id: offboarding.userId, display: offboarding.userName };
}

/** What an offboarding's events record of it. */
function summary(offboarding: Offboarding) {
  return { offboardingId: offboarding.id, status: offboarding.status, effectiveAt: offboarding.effectiveAt.toISOString() };
}

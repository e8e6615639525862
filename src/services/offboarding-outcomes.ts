import type { AuditTrail } from "../audit/audit-trail";
import type { RequestContext } from "../domain/context";
import type { Offboarding } from "../domain/offboarding";
import type { User } from "../domain/user";
import type { OffboardingStore } from "../storage/offboardings";
import type { UserStore } from "../storage/users";

/**
 * HR wins (issue 15 §3): what the identity provider's later changes mean for a member HR has
 * offboarded. Run by Deprovisioning (services/deprovisioning.ts) for members carrying an
 * offboarding hold, so nothing is read for anyone else.
 *
 * - The identity provider deactivates or deletes the member: it agrees with HR — the offboarding
 *   is `completed` (the hold stays on a deactivated member: a later reactivation must not let them in).
 * - It reactivates them: the hold stays until an administrator lifts it, and the conflict is
 *   flagged — an `offboarding.conflict_flagged` event, and `conflict` on the offboarding and on the member.
 */
export class OffboardingOutcomes {
  constructor(
    private readonly offboardings: OffboardingStore,
    private readonly users: UserStore,
    private readonly audit: AuditTrail,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async identityProviderDeprovisioned(ctx: RequestContext, user: User, why: "deactivated" | "deleted"): Promise<void> {
    const hold = user.offboarding!;
    const because = `the identity provider ${why} the member`;
    const event = this.audit.event(ctx, { action: "offboarding.completed", target: userTarget(user), after: { offboardingId: hold.offboardingId, status: "completed" }, reason: because });
    const changed = await this.change(hold.offboardingId, (current) =>
      current.status === "carried_out" ? { ...current, status: "completed", completedAt: this.now(), completedBecause: because } : undefined,
      event,
    );
    // A deleted member has no document left to mark.
    if (why === "deactivated" && hold.status !== "completed") await this.users.markOffboardingHold(user.id, { ...hold, status: "completed" }, changed ? undefined : event);
  }

  async identityProviderReactivated(ctx: RequestContext, user: User): Promise<void> {
    const hold = user.offboarding!;
    if (!user.suspended) return;
    const conflict = { at: this.now(), detail: `${ctx.actor.name} reactivated the member after HR offboarded them; the hold stays until an administrator lifts it` };
    const event = this.audit.event(ctx, {
      action: "offboarding.conflict_flagged",
      target: userTarget(user),
      after: { offboardingId: hold.offboardingId, conflict: conflict.detail },
      reason: "HR's offboarding wins over the identity provider's reactivation",
    });
    await this.users.markOffboardingHold(user.id, { ...hold, conflict }, event);
    await this.change(hold.offboardingId, (current) => ({ ...current, conflict }));
  }

  /** One compare-and-set change of an offboarding, recomputed on a lost race; false when there was nothing to change. */
  private async change(id: string, plan: (current: Offboarding) => Offboarding | undefined, event?: ReturnType<AuditTrail["event"]>): Promise<boolean> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await this.offboardings.findById(id);
      const next = current && plan(current);
      if (!current || !next) return false;
      if (await this.offboardings.replace(current, { ...next, version: current.version + 1 }, event ? [event] : [])) return true;
    }
    return false;
  }
}

function userTarget(user: User) {
  return { type: "user", id: user.id, display: user.userName };
}

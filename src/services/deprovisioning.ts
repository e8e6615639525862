import type { AuditTrail, Change } from "../audit/audit-trail";
import type { AuditEvent } from "../domain/audit";
import type { RequestContext } from "../domain/context";
import type { User } from "../domain/user";
import type { OrganizationStore } from "../storage/organizations";
import type { UserStore } from "../storage/users";
import type { AccessDirectory } from "./access";
import type { ScimTokens } from "./scim-tokens";
import type { OffboardingOutcomes } from "./offboarding-outcomes";

/**
 * Why a user lost access: deactivated (`active: false`, RFC 7643 §4.1.1) or deleted (RFC 7644
 * §3.6) by the identity provider, suspended in Gatehouse, offboarded by HR (services/offboardings.ts),
 * or — where the organization requires a mapped group — removed from the last group that granted
 * access (by a membership change or by the group's deletion).
 */
export type DeprovisionReason = "deactivated" | "deleted" | "suspended" | "offboarded" | "unmapped";

/**
 * Deprovisioning: HR offboarding cuts every way in at once, before the answer to the request that
 * did it. This is the one command every path runs — UserDirectory's deactivation, deletion and
 * suspension, GroupDirectory's membership changes and deletions — so the cascade is read here and
 * nowhere else, and no path can skip it by a missing piece of wiring.
 *
 * What it cuts:
 * - sessions: deactivation, deletion and suspension end them in the user's own write (the
 *   User.sessionEpoch raise travels with the change, atomically); leaving the last mapped group
 *   changes nothing on the user, so `deprovision` ends them itself for that reason;
 * - personal API tokens: revoked (each revocation audited);
 * - ownership: an identity provider may deprovision the Owner — security first, ownership becomes
 *   vacant (flagged in the audit trail and the access review) until the operator's break-glass.
 * Reactivation revives none of it. One summary event, `user.access_revoked`, says what was revoked.
 */
export class Deprovisioning {
  constructor(
    private readonly organizations: OrganizationStore,
    private readonly users: UserStore,
    private readonly access: AccessDirectory,
    private readonly tokens: ScimTokens,
    private readonly audit: AuditTrail,
    /** HR wins (services/offboarding-outcomes.ts): what the identity provider's later changes mean for an offboarding. */
    private readonly offboardingOutcomes?: OffboardingOutcomes,
  ) {}

  /**
   * Cuts every way in `user` had (the user as written by the change that took their access);
   * answers the personal tokens revoked. `summaryWritten`: the change's own write already carried
   * the summary `summaryWithChange` gave — nothing was left to cut when it was planned — so only
   * what came in since (a personal token issued, the ownership given, in the moment between) is
   * cut here, with a summary of its own; usually that is nothing and nothing is written.
   */
  async deprovision(ctx: RequestContext, user: User, reason: DeprovisionReason, detail?: string, options: { summaryWritten?: boolean } = {}): Promise<string[]> {
    if (reason === "unmapped") await this.endSessions(ctx, user, detail);
    const vacates = (reason === "deactivated" || reason === "deleted" || reason === "offboarded") && (await this.access.ownerOf(ctx)) === user.id;
    if (vacates) await this.vacateOwnership(ctx, user.id, reason);
    const revoked = await this.tokens.revokeAllOf(ctx, user.id);
    if (!options.summaryWritten || vacates || revoked.length) await this.audit.record(ctx, this.summary(user, reason, revoked));
    // The identity provider agrees with an HR offboarding: it is completed.
    if ((reason === "deactivated" || reason === "deleted") && user.offboarding) await this.offboardingOutcomes?.identityProviderDeprovisioned(ctx, user, reason);
    return revoked;
  }

  /**
   * A member about to be created (`userId` is new) has nothing to cut but what they will be given:
   * what deprovisioning would read about their personal tokens is known now (none), which spares
   * their first deactivation a read on the embedded database.
   */
  newMember(ctx: Pick<RequestContext, "organizationId">, userId: string): void {
    this.tokens.newMember(ctx, userId);
  }

  /**
   * The summary `user.access_revoked` to write together with the change that takes `user`'s access
   * (deactivation, suspension), in the same single-document write — when that write is all the
   * deprovisioning needs: the member holds no live personal token and is not the Owner (their
   * sessions end in that write, User.sessionEpoch). Then the summary costs no write of its own and
   * is as crash-safe as the change (the audit outbox). Undefined when more must be cut: `deprovision`
   * does it and records the summary after. Read from memory on the embedded database (the Owner
   * from the resident organization, the tokens from their resident lookup key).
   */
  async summaryWithChange(ctx: RequestContext, user: User, reason: "deactivated" | "suspended"): Promise<AuditEvent | undefined> {
    if (reason === "deactivated" && (await this.access.ownerOf(ctx)) === user.id) return undefined;
    if ((await this.tokens.personalTokensOf(ctx, user.id)).some((token) => !token.revoked)) return undefined;
    return this.audit.event(ctx, this.summary(user, reason, []));
  }

  private summary(user: User, reason: DeprovisionReason, revoked: readonly string[]): Change {
    return { action: "user.access_revoked", target: { type: "user", id: user.id, display: user.userName }, after: { why: reason, sessions: "all ended", personalTokens: [...revoked] } };
  }

  /**
   * The identity provider reactivated `user`. Reactivation revives nothing of a deprovisioning; an
   * HR offboarding hold stays on until an administrator lifts it, and the conflict is flagged
   * (services/offboarding-outcomes.ts). Costs nothing for a member HR never offboarded.
   */
  async reactivated(ctx: RequestContext, user: User): Promise<void> {
    if (user.offboarding) await this.offboardingOutcomes?.identityProviderReactivated(ctx, user);
  }

  /**
   * Members left groups (a membership change removed them, or their group was deleted). Where
   * access requires a mapped group, a member left with no organization role has lost access: that
   * is a deprovisioning too. The ids are fetched only when the rule applies (after a deletion
   * that is a query).
   */
  async membersLeftGroups(ctx: RequestContext, userIds: () => Promise<readonly string[]>): Promise<void> {
    if (!(await this.access.settings(ctx)).requireMappingForAccess) return;
    for (const userId of await userIds()) {
      const user = await this.users.findById(ctx.organizationId, userId).catch(() => undefined);
      if (!user) continue;
      const now = await this.access.accessOf(ctx, user).catch(() => undefined);
      if (now && !now.organizationRole) {
        await this.deprovision(ctx, user, "unmapped", "removed from the last group that granted access, where a mapped group is required");
      }
    }
  }

  /** Raises the user's session epoch (see User.sessionEpoch): every session ends on its next request. */
  private async endSessions(ctx: RequestContext, user: User, reason?: string): Promise<void> {
    await this.users.endSessions(user.id, this.audit.event(ctx, { action: "user.sessions_ended", target: { type: "user", id: user.id, display: user.userName }, ...(reason ? { reason } : {}) }));
  }

  /** The Owner was deprovisioned by the identity provider: the organization has no Owner now. */
  private async vacateOwnership(ctx: RequestContext, formerOwnerId: string, why: DeprovisionReason): Promise<void> {
    await this.organizations.setOwner(
      ctx.organizationId,
      undefined,
      this.audit.event(ctx, {
        action: "organization.ownership_vacated",
        target: { type: "organization", id: ctx.organizationId },
        before: { ownerUserId: formerOwnerId },
        after: { ownerUserId: null },
        reason: why === "offboarded" ? `the Owner was offboarded by HR; the operator restores an Owner with gatehouse org set-owner --org ${ctx.organizationId} --email <userName>` : `the Owner was ${why} by the identity provider; the operator restores an Owner with gatehouse org set-owner --org ${ctx.organizationId} --email <userName>`,
      }),
    );
  }
}

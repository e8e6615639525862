import { isDeepStrictEqual } from "node:util";
import { randomUUID } from "node:crypto";
import type { AuditTrail } from "../audit/audit-trail";
import type { RequestContext } from "../domain/context";
import { profileOf, resolveActive, type MemberStatus, withProfile, type LocalAccess, type TemporaryAccess, type ProfileInput, type User, type UserManagement, type UserProfile } from "../domain/user";
import { ConcurrentChangeError, ConflictError, InvalidError, NotFoundError, SeatLimitReachedError, VersionMismatchError } from "../errors";
import type { AuditEvent } from "../domain/audit";
import type { DirectoryListing } from "../domain/criteria";
import type { MemberPage, UserPart, UserStore } from "../storage/users";
import type { Deprovisioning } from "./deprovisioning";
import type { OffboardingHold } from "../domain/offboarding";

/** The organization's seat limit, when it has one (AccessDirectory answers it). */
export interface SeatLimits {
  seatLimit(ctx: Pick<RequestContext, "organizationId">): Promise<number | undefined>;
}

export interface WriteOptions {
  /** Optimistic concurrency: the version the client last saw (RFC 7644 §3.14 If-Match). */
  expectedVersion?: number;
}

/**
 * Provisioning and deprovisioning of users: the use-cases SCIM (and later SAML and the admin API)
 * call. Each write takes the request context and carries its audit event in the same
 * single-document write (storage/outbox.ts).
 */
export class UserDirectory {
  constructor(
    private readonly store: UserStore,
    private readonly audit: AuditTrail,
    /** Every loss of access here (deactivation, deletion, suspension) runs this use-case. */
    private readonly deprovisioning: Deprovisioning,
    /** Where the organization's seat limit is read (AccessDirectory). */
    private readonly seats: SeatLimits,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Refuses a new active user (create, reactivation, invitation) when the organization is full. */
  private async checkSeat(ctx: Pick<RequestContext, "organizationId">): Promise<void> {
    const limit = await this.seats.seatLimit(ctx);
    if (limit !== undefined && (await this.store.countActive(ctx.organizationId)) >= limit) throw new SeatLimitReachedError(limit);
  }

  async get(ctx: Pick<RequestContext, "organizationId">, id: string): Promise<User> {
    const user = await this.store.findById(ctx.organizationId, id);
    if (!user) throw new NotFoundError(`User ${id} not found`);
    return user;
  }

  async findByUserName(ctx: Pick<RequestContext, "organizationId">, userName: string): Promise<User | undefined> {
    return this.store.findByUserName(ctx.organizationId, userName);
  }

  /** Every member with this externalId (exact; RFC 7643 §3.1 caseExact). */
  async findByExternalId(ctx: Pick<RequestContext, "organizationId">, externalId: string): Promise<User[]> {
    return this.store.findByExternalId(ctx.organizationId, externalId);
  }

  list(ctx: Pick<RequestContext, "organizationId">, listing: DirectoryListing): Promise<{ total: number; users: User[] }> {
    return this.store.list(ctx.organizationId, listing);
  }

  /** Members by userName, narrowed by a search, from a position or after a userName (UserStore.memberPage). */
  memberPage(ctx: Pick<RequestContext, "organizationId">, options: { search?: string; status?: MemberStatus; after?: string; startIndex: number; count: number }): Promise<MemberPage> {
    return this.store.memberPage(ctx.organizationId, options);
  }

  /**
   * Creates a user; absent `active` means active (RFC 7643 §4.1.1, as both IdPs assume). When an
   * identity provider brings a userName a local user of the organization already has, that user is
   * linked instead: same id, now managed by the provider — unless `mayLink` says no for that user
   * (SAML links only the member its subject key found; the conflict is then thrown).
   */
  async provision(ctx: RequestContext, input: ProfileInput, managedBy: UserManagement, localAccess?: LocalAccess, mayLink: (local: User) => boolean = () => true): Promise<User> {
    const profile: UserProfile = { ...input, active: input.active ?? true };
    validateProfile(profile);
    const at = this.now();
    const user: User = {
      ...profile,
      id: randomUUID(),
      organizationId: ctx.organizationId,
      managedBy,
      ...(managedBy !== "local" ? { managedVia: ctx.actor.name } : {}),
      ...(localAccess ? { localAccess } : {}),
      created: at,
      lastModified: at,
      version: 1,
      groupIds: [],
    };
    if (user.active) await this.checkSeat(ctx);
    this.deprovisioning.newMember(ctx, user.id);
    try {
      await this.store.insert(user, this.audit.event(ctx, { action: "user.provisioned", target: userTarget(user), after: profileOf(user) }));
    } catch (error) {
      const local = error instanceof ConflictError && managedBy !== "local" ? await this.store.findByUserName(ctx.organizationId, user.userName) : undefined;
      if (!local || local.managedBy !== "local" || !mayLink(local)) throw error;
      return this.link(ctx, local, profile, managedBy);
    }
    return user;
  }

  /**
   * Replaces what the identity provider owns of a user. An identical profile is not a change: the
   * version stays and nothing is written, so repeated syncs are cheap and quiet. A replacement
   * that leaves `active` out keeps the current state: it never reactivates a deactivated user.
   */
  replace(ctx: RequestContext, id: string, input: ProfileInput, options: WriteOptions = {}): Promise<User> {
    return this.update(ctx, id, async () => input, options);
  }

  /**
   * Changes what the identity provider owns of a user, computed from the user as stored: `change`
   * gets the current user and answers the new profile (undefined: nothing to change). A SCIM PATCH
   * (RFC 7644 §3.5.2) is such a change. If another write comes in between, the write is not made
   * and `change` runs again on the newer user — so every change answered as made is in the stored
   * user — unless the client named the version it changes (If-Match): then the answer is 412.
   */
  async update(ctx: RequestContext, id: string, change: (current: User) => Promise<ProfileInput | undefined>, options: WriteOptions = {}): Promise<User> {
    const { after, action, summary } = await this.modify(ctx, id, options, async (before) => {
      const input = await change(before);
      if (!input) return undefined;
      const { active: _active, ...attributes } = input;
      const profile: UserProfile = { ...attributes, ...resolveActive(input, before) };
      validateProfile(profile);
      if (isDeepStrictEqual(stripUndefined(profileOf(before)), stripUndefined(profile))) return undefined;
      if (!before.active && profile.active) await this.checkSeat(ctx);
      const managedByProvider = ctx.source === "scim" || ctx.source === "saml";
      const deactivated = before.active && !profile.active;
      const after: User = {
        ...withProfile(before, profile),
        // An identity provider that replaces a user manages them from then on.
        ...(managedByProvider ? { managedBy: ctx.source as UserManagement, managedVia: ctx.actor.name } : {}),
        // Deactivation ends every session in this very write (see User.sessionEpoch).
        ...(deactivated ? { sessionEpoch: (before.sessionEpoch ?? 0) + 1 } : {}),
        lastModified: this.now(),
        version: before.version + 1,
      };
      const action = deactivated ? "user.deactivated" : !before.active && after.active ? "user.reactivated" : "user.updated";
      // A deactivation's summary travels in this write when nothing else is left to cut (Deprovisioning.summaryWithChange).
      const summary = deactivated ? await this.deprovisioning.summaryWithChange(ctx, after, "deactivated") : undefined;
      return { after, action, event: this.audit.event(ctx, { action, target: userTarget(after), before: profileOf(before), after: profileOf(after) }), ...(summary ? { summary } : {}), endSessions: deactivated };
    });
    if (action === "user.deactivated") await this.deprovisioning.deprovision(ctx, after, "deactivated", undefined, { summaryWritten: summary !== undefined });
    if (action === "user.reactivated") await this.deprovisioning.reactivated(ctx, after);
    return after;
  }

  /**
   * One version-conditioned write of a user: read, check If-Match, compute, compare-and-set
   * (UserStore.replace). A lost race without If-Match is retried on a fresh read, a few times with
   * a short random pause; with If-Match it is 412 (RFC 7644 §3.14). Retries that never win — other
   * writers of the same user keep coming first — end in 409 (ConcurrentChangeError).
   */
  private async modify(
    ctx: Pick<RequestContext, "organizationId">,
    id: string,
    options: WriteOptions,
    plan: (before: User) => Promise<{ after: User; event: AuditEvent; summary?: AuditEvent; action?: string; part?: UserPart; endSessions?: boolean } | undefined>,
  ): Promise<{ before: User; after: User; action?: string; summary?: AuditEvent }> {
    for (let attempt = 1; ; attempt++) {
      const before = await this.get(ctx, id);
      checkVersion(before, options);
      const planned = await plan(before);
      if (!planned) return { before, after: before };
      const { after, event, summary, action, ...write } = planned;
      // The summary of what the change ends (a deprovisioning's user.access_revoked) follows the change's own event.
      if (await this.store.replace(before, after, summary ? [event, summary] : [event], write)) return { before, after, action, ...(summary ? { summary } : {}) };
      if (options.expectedVersion !== undefined) {
        throw new VersionMismatchError(`User ${id} has changed: another write came first, its version is no longer ${options.expectedVersion}`);
      }
      if (attempt >= maxWriteAttempts) throw new ConcurrentChangeError(`User ${id} is being changed by other requests at the same time; retry`);
      await pause(attempt);
    }
  }

  /**
   * A local user taken over by an identity provider: keeps their id, loses local edits of the
   * profile. Their local grants (role, projects) are kept as explicit *local grants*, beside what
   * the provider's groups give: administrators may lower or remove them, never raise them
   * (domain/user-policy.ts lowersLocalGrants). The `user.linked` event says which were kept.
   */
  private async link(ctx: RequestContext, local: User, profile: UserProfile, managedBy: UserManagement): Promise<User> {
    const { after } = await this.modify(ctx, local.id, {}, async (current) => {
      if (current.managedBy !== "local") throw new ConflictError(`A user with userName "${profile.userName}" already exists`);
      const linked: User = { ...withProfile(current, profile), managedBy, managedVia: ctx.actor.name, lastModified: this.now(), version: current.version + 1 };
      const localGrants = current.localAccess ?? {};
      const kept = Boolean(localGrants.role || localGrants.projects?.length);
      const event = this.audit.event(ctx, {
        action: "user.linked",
        target: userTarget(linked),
        before: { ...profileOf(current), managedBy: current.managedBy, localAccess: localGrants },
        after: { ...profileOf(linked), managedBy, localAccess: localGrants },
        ...(kept ? { reason: "local grants kept as explicit local grants: administrators may lower or remove them, never raise them" } : {}),
      });
      return { after: linked, event };
    });
    return after;
  }

  /** Access assigned in Gatehouse (local role and projects); the caller has checked the policy. */
  async setLocalAccess(ctx: RequestContext, id: string, access: LocalAccess, reason?: string): Promise<User> {
    const { after } = await this.modify(ctx, id, {}, async (before) => {
      const after: User = { ...before, localAccess: access, lastModified: this.now(), version: before.version + 1 };
      // The effective access that follows is derived from this event (`user.access_changed`, services/access-changes.ts).
      const event = this.audit.event(ctx, { action: "user.local_access_changed", target: userTarget(after), before: before.localAccess ?? {}, after: access, ...(reason ? { reason } : {}) });
      return { after, event, part: "localAccess" };
    });
    return after;
  }

  /**
   * Suspends or lifts a suspension (a local overlay the identity provider cannot lift). Lifting it
   * lifts an HR offboarding hold too (User.offboarding): that is the administrator's decision the
   * hold waits for; the event keeps what was lifted.
   */
  async setSuspended(ctx: RequestContext, id: string, suspended: boolean, reason?: string): Promise<User> {
    const { after, action, summary } = await this.modify(ctx, id, {}, async (before) => {
      if (Boolean(before.suspended) === suspended) return undefined;
      const after: User = {
        ...before,
        suspended,
        ...(suspended ? { suspension: { since: this.now(), by: { type: ctx.actor.type, id: ctx.actor.id, name: ctx.actor.name }, ...(reason ? { reason } : {}) } } : {}),
        ...(suspended ? { sessionEpoch: (before.sessionEpoch ?? 0) + 1 } : {}),
        lastModified: this.now(),
        version: before.version + 1,
      };
      if (!suspended) {
        delete (after as { suspended?: boolean }).suspended;
        delete (after as { suspension?: unknown }).suspension;
      }
      const liftsHold = !suspended && before.offboarding !== undefined;
      if (liftsHold) delete (after as { offboarding?: unknown }).offboarding;
      const action = suspended ? "user.suspended" : "user.unsuspended";
      const summary = suspended ? await this.deprovisioning.summaryWithChange(ctx, after, "suspended") : undefined;
      const event = this.audit.event(ctx, {
        action,
        target: userTarget(after),
        before: { suspended: Boolean(before.suspended), ...(liftsHold ? { offboarding: before.offboarding } : {}) },
        after: { suspended },
        ...(reason ? { reason } : {}),
      });
      return { after, event, ...(summary ? { summary } : {}), action, part: liftsHold ? "offboarding" : "suspended", endSessions: suspended };
    });
    if (action === "user.suspended") await this.deprovisioning.deprovision(ctx, after, "suspended", undefined, { summaryWritten: summary !== undefined });
    return after;
  }

  /**
   * HR's offboarding hold (domain/offboarding.ts): the member is suspended, marked as held by the
   * offboarding, and every session ends — all in one version-conditioned write of the user — then
   * the rest of the deprovisioning cascade runs (personal tokens revoked). Placing the hold of the
   * same offboarding again writes nothing but still runs the cascade (a retry after a crash).
   * Answers the member and the tokens revoked now.
   */
  async placeOffboardingHold(ctx: RequestContext, id: string, hold: OffboardingHold, reason: string): Promise<{ user: User; revokedTokens: string[] }> {
    const { after } = await this.modify(ctx, id, {}, async (before) => {
      if (before.suspended && before.offboarding?.offboardingId === hold.offboardingId) return undefined;
      const suspension = before.suspended && before.suspension ? before.suspension : { since: this.now(), by: { type: ctx.actor.type, id: ctx.actor.id, name: ctx.actor.name }, reason };
      const after: User = { ...before, suspended: true, suspension, offboarding: hold, sessionEpoch: (before.sessionEpoch ?? 0) + 1, lastModified: this.now(), version: before.version + 1 };
      const event = this.audit.event(ctx, {
        action: "user.suspended",
        target: userTarget(after),
        before: { suspended: Boolean(before.suspended) },
        after: { suspended: true, offboarding: hold },
        reason,
      });
      return { after, event, action: "user.suspended", part: "offboarding", endSessions: true };
    });
    const revokedTokens = await this.deprovisioning.deprovision(ctx, after, "offboarded", reason);
    return { user: after, revokedTokens };
  }

  /** Ends every session of the user at once ("sign out everywhere"); they sign in again. */
  signOutEverywhere(ctx: RequestContext, id: string, reason?: string): Promise<User> {
    return this.endAllSessions(ctx, id, "user.signed_out_everywhere", reason);
  }

  /** Raises the user's session epoch (see User.sessionEpoch), audited as `action`. */
  private async endAllSessions(ctx: RequestContext, id: string, action: string, reason?: string): Promise<User> {
    const before = await this.get(ctx, id);
    const after: User = { ...before, sessionEpoch: (before.sessionEpoch ?? 0) + 1 };
    await this.store.endSessions(id, this.audit.event(ctx, { action, target: userTarget(after), ...(reason ? { reason } : {}) }));
    return after;
  }

  /**
   * Records a sign-in of a user just read: when, and (with SAML group sync) the groups the
   * assertion named. Not a change of the user's profile: the version stays.
   */
  async recordSignIn(ctx: RequestContext, before: User, details: { samlGroups?: readonly string[]; via: string }): Promise<User> {
    const after: User = { ...before, lastLogin: this.now(), ...(details.samlGroups ? { samlGroups: [...details.samlGroups] } : {}) };
    const groupsChanged = details.samlGroups !== undefined && JSON.stringify(before.samlGroups ?? []) !== JSON.stringify(details.samlGroups);
    await this.store.recordSignIn(
      before.id,
      after.lastLogin!,
      details.samlGroups,
      this.audit.event(ctx, {
        action: "user.signed_in",
        target: userTarget(after),
        after: { via: details.via, ...(details.samlGroups ? { groups: details.samlGroups } : {}) },
        ...(groupsChanged ? { before: { groups: before.samlGroups ?? [] } } : {}),
      }),
    );
    return after;
  }

  async grantTemporaryAccess(ctx: RequestContext, id: string, grant: Omit<TemporaryAccess, "id" | "endRecorded">): Promise<TemporaryAccess> {
    const stored: TemporaryAccess = { ...grant, id: randomUUID() };
    await this.modify(ctx, id, {}, async (before) => {
      const after: User = { ...before, temporaryGrants: [...(before.temporaryGrants ?? []).filter((g) => !g.endRecorded), stored], version: before.version + 1 };
      return { after, event: this.audit.event(ctx, { action: "user.temporary_access_granted", target: userTarget(after), after: stored, reason: grant.reason }), part: "temporaryGrants" };
    });
    return stored;
  }

  /** Ends a grant early (an administrator), or records its end once its time has passed (the sweep). */
  async endTemporaryAccess(ctx: RequestContext, id: string, grantId: string, how: "revoked" | "expired"): Promise<void> {
    await this.modify(ctx, id, {}, async (before) => {
      const grant = before.temporaryGrants?.find((g) => g.id === grantId);
      if (!grant || grant.endRecorded) throw new NotFoundError(`No temporary grant ${grantId}`);
      const ended: TemporaryAccess = { ...grant, endRecorded: true, ...(how === "revoked" ? { until: this.now() } : {}) };
      const after: User = { ...before, temporaryGrants: before.temporaryGrants!.map((g) => (g.id === grantId ? ended : g)), version: before.version + 1 };
      return { after, event: this.audit.event(ctx, { action: `user.temporary_access_${how}`, target: userTarget(after), before: grant, after: ended }), part: "temporaryGrants" };
    });
  }

  /** Writes the end of every temporary grant whose time has passed; safe to run anywhere, repeatedly. */
  async recordEndedGrants(ctx: Omit<RequestContext, "organizationId">): Promise<number> {
    let recorded = 0;
    for (const user of await this.store.withEndedGrants(this.now())) {
      for (const grant of user.temporaryGrants ?? []) {
        if (grant.endRecorded || grant.until > this.now()) continue;
        await this.endTemporaryAccess({ ...ctx, organizationId: user.organizationId }, user.id, grant.id, "expired").catch(() => undefined);
        recorded++;
      }
    }
    return recorded;
  }

  /**
   * Puts the userName lookup keys back in agreement with the stored users (UserStore's repair):
   * run at start-up; an operator may run it for one organization. Answers the keys it changed.
   */
  repairUserNameKeys(organizationId?: string): Promise<{ restored: string[]; removed: string[] }> {
    return this.store.repairUserNameKeys(organizationId);
  }

  /** Gives member search's terms to the organization's users stored before search kept them (storage/users.ts); run at start-up. */
  backfillSearchTerms(organizationId: string): Promise<number> {
    return this.store.backfillSearchTerms(organizationId);
  }

  /** Deletes the user; the audit trail keeps what they were. */
  async remove(ctx: RequestContext, id: string, options: WriteOptions = {}, reason?: string): Promise<void> {
    const user = await this.get(ctx, id);
    checkVersion(user, options);
    const event = this.audit.event(ctx, { action: "user.deleted", target: userTarget(user), before: profileOf(user), ...(reason ? { reason } : {}) });
    if (!(await this.store.delete(user, this.now(), event, { onlyVersion: options.expectedVersion }))) {
      throw new VersionMismatchError(`User ${id} has changed: another write came first, its version is no longer ${options.expectedVersion}`);
    }
    await this.deprovisioning.deprovision(ctx, user, "deleted");
  }
}

/**
 * How often a write that lost a race is recomputed before answering 409: each loss means another
 * write of the same user was made, so a handful of attempts covers every burst an identity
 * provider sends (Okta and Entra send a few requests per user at once, not dozens).
 */
const maxWriteAttempts = 8;

/** A short random pause before recomputing, so writers that collided do not collide again in step. */
function pause(attempt: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt));
}

function userTarget(user: User) {
  return { type: "user", id: user.id, display: user.userName };
}

function checkVersion(user: User, options: WriteOptions): void {
  if (options.expectedVersion !== undefined && options.expectedVersion !== user.version) {
    throw new VersionMismatchError(`User ${user.id} has changed: its version is ${user.version}, not ${options.expectedVersion}`);
  }
}

function validateProfile(profile: UserProfile): void {
  if (typeof profile.userName !== "string" || !profile.userName.trim()) throw new InvalidError("userName is required and must not be empty");
  if (typeof profile.active !== "boolean") throw new InvalidError("active must be a boolean");
}

function stripUndefined(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value));
}

import { setImmediate as yieldToRequests } from "node:timers/promises";
import type { AuditTrail } from "../audit/audit-trail";
import type { GroupMapping, IdentityGroup } from "../domain/access";
import { sameAccess, summarizeAccess, type AccessSummary } from "../domain/access-change";
import { derivedEventId, type AuditEvent } from "../domain/audit";
import type { AccessPolicy } from "../domain/organization";
import type { AccessSettings } from "../domain/access";
import type { Group } from "../domain/group";
import type { LocalAccess, TemporaryAccess, User } from "../domain/user";
import type { AuditEventDocument } from "../storage/models";
import { auditDocument, type OutboxFollower } from "../storage/outbox";
import type { GroupStore } from "../storage/groups";
import type { UserStore } from "../storage/users";
import { identityGroupOf, type AccessDirectory } from "./access";

/** One member whose effective access a change changes (or would change: the mapping preview). */
export interface MemberAccessChange {
  readonly user: Pick<User, "id" | "userName">;
  readonly before: AccessSummary;
  readonly after: AccessSummary;
}

/** A member under two states of the world: before the change and after it. */
interface Scenario {
  readonly user: User;
  readonly before: { policy: AccessPolicy; user: User; groups: readonly IdentityGroup[]; now?: Date };
  readonly after: { policy: AccessPolicy; user: User; groups: readonly IdentityGroup[]; now?: Date };
}

/** The changes a cause makes, and, for a grant that ran out, when access actually changed. */
interface Derivation {
  readonly scenarios: AsyncIterable<Scenario[]>;
  readonly effectiveAt?: Date;
}

/** The action of the events this use-case writes. */
export const accessChangedAction = "user.access_changed";

/** How many members are evaluated (and their events written) while the request waits; the rest after it answers. */
const inlineMembers = 1000;
/** Members evaluated between two pauses that let other requests run. */
const evaluationSlice = 1000;

/**
 * `user.access_changed`: every change of a member's effective access, with the access before and
 * after (domain/access-change.ts) and its cause. Derived from the cause's own audit event, after
 * the fact, as the audit outbox delivers it (storage/outbox.ts, `OutboxFollower`):
 *
 * - the cause (a membership change, a mapping, the default role, a temporary grant, a local edit …)
 *   is written together with its event in one single-document write, as every change is;
 * - before that event leaves its document's outbox, the members the cause concerns are evaluated
 *   twice — in the world without the change and in the world with it — by the one evaluation the
 *   authorization answers use (AccessDirectory.evaluate), and an event is written for each member
 *   whose access differs, none for the others;
 * - derived events have ids computed from the cause's event id and the member's id, so writing
 *   them again is a no-op; a crash before they are all written leaves the cause's event in its
 *   document, where outbox recovery (start-up, every five minutes, and seconds after a failure)
 *   finds it and runs the derivation again. No change of access is lost, none is recorded twice.
 *
 * Scale: the members are read from memory (resident directory) or by one query per group, never one
 * round trip per member; events are written in batches of 1,000 (AuditTrail.appendDerived). The
 * request waits for the first 1,000 members: evaluated before the cause's event is moved, their
 * events are written with it, in the same two round trips (its directory event and its audit event:
 * storage/outbox.ts), so a deactivation costs no round trip of its own here. A larger change's other
 * members are evaluated and their events written right after it answers (the cause's event stays
 * in its outbox until they are all in the trail).
 */
export class AccessChanges implements OutboxFollower {
  private readonly derivations = new Set<Promise<unknown>>();

  constructor(
    private readonly access: AccessDirectory,
    private readonly users: UserStore,
    private readonly groups: GroupStore,
    private readonly audit: AuditTrail,
  ) {}

  /**
   * Called by the outbox for each batch of delivered events (see the class comment): `first` is
   * each cause's events for its first 1,000 members (evaluated, not written: the outbox writes
   * them with the cause, in the same round trips); `rest()` evaluates and writes the others.
   */
  follow(events: readonly AuditEventDocument[]): { first: Promise<AuditEventDocument[][]>; rest(): Promise<void> } {
    const continuations: { cause: AuditEvent; derivation: Derivation; slices: AsyncIterator<Scenario[]> }[] = [];
    const first = this.tracked(
      (async () => {
        const derived: AuditEventDocument[][] = [];
        for (const document of events) {
          const { _id, ...rest } = document as AuditEventDocument & { _id: string };
          const cause = { ...(rest as unknown as Omit<AuditEvent, "id">), id: _id };
          const derivation = await this.derive(cause);
          const changes: AuditEventDocument[] = [];
          if (derivation) {
            const slices = derivation.scenarios[Symbol.asyncIterator]();
            let evaluated = 0;
            let done = false;
            while (!done && evaluated < inlineMembers) {
              const slice = await slices.next();
              if (slice.done) done = true;
              else {
                evaluated += slice.value.length;
                for (const change of this.evaluate(slice.value)) changes.push(auditDocument(accessChangedEvent(cause, change, derivation.effectiveAt)));
              }
            }
            if (!done) continuations.push({ cause, derivation, slices });
          }
          derived.push(changes);
        }
        return derived;
      })(),
    );
    const rest = () =>
      this.tracked(
        (async () => {
          await first;
          // Past the first 1,000 members, each slice's events are written as it is evaluated, after the answer.
          for (const { cause, derivation, slices } of continuations) {
            for (let slice = await slices.next(); !slice.done; slice = await slices.next()) {
              await yieldToRequests();
              await this.audit.appendDerived(this.evaluate(slice.value).map((change) => accessChangedEvent(cause, change, derivation.effectiveAt)));
            }
          }
        })(),
      );
    return { first, rest };
  }

  /** Keeps `work` until it settles, for `settle`. */
  private tracked<T>(work: Promise<T>): Promise<T> {
    const settled: Promise<unknown> = work.catch(() => undefined).finally(() => this.derivations.delete(settled));
    this.derivations.add(settled);
    return work;
  }

  /** Waits for derivations still writing (tests, shutdown). */
  async settle(): Promise<void> {
    while (this.derivations.size) await Promise.allSettled([...this.derivations]);
  }

  /** The members whose access differs between the two states, with both. */
  private evaluate(scenarios: readonly Scenario[]): MemberAccessChange[] {
    const changes: MemberAccessChange[] = [];
    for (const { user, before, after } of scenarios) {
      const was = summarizeAccess(this.access.evaluate(before.policy, before.user, before.groups, before.now ? { now: before.now } : {}));
      const is = summarizeAccess(this.access.evaluate(after.policy, after.user, after.groups, after.now ? { now: after.now } : {}));
      if (!sameAccess(was, is)) changes.push({ user: { id: user.id, userName: user.userName }, before: was, after: is });
    }
    return changes;
  }

  /**
   * Who gains and who loses which access if the mapping `mappingId` became `proposed` (undefined:
   * deleted; no `mappingId`: created) — the same derivation the saved change's events come from.
   * Ordered by userName.
   */
  async previewMapping(organizationId: string, mappingId: string | undefined, proposed: GroupMapping | undefined): Promise<MemberAccessChange[]> {
    const policy = await this.access.policyFor({ organizationId });
    const current = mappingId === undefined ? undefined : policy.mappings.find((m) => m.id === mappingId);
    const id = mappingId ?? proposed?.id ?? "proposed";
    const changes: MemberAccessChange[] = [];
    for await (const scenarios of this.mappingScenarios(organizationId, policy, id, current, proposed && { ...proposed, id })) {
      changes.push(...this.evaluate(scenarios));
      await yieldToRequests();
    }
    return changes.sort((a, b) => (a.user.userName.toLowerCase() < b.user.userName.toLowerCase() ? -1 : a.user.userName.toLowerCase() > b.user.userName.toLowerCase() ? 1 : 0));
  }

  /** The two states a cause's event describes, for the members it concerns; undefined when it cannot change access. */
  private async derive(cause: AuditEvent): Promise<Derivation | undefined> {
    const organizationId = cause.organizationId;
    const before = cause.before as Record<string, unknown> | undefined;
    const after = cause.after as Record<string, unknown> | undefined;
    switch (cause.action) {
      case "group.created":
      case "group.members_changed":
      case "group.updated":
      case "group.deleted":
        return this.groupScenarios(cause);
      case "mapping.created":
      case "mapping.changed":
      case "mapping.deleted": {
        const policy = await this.access.policyFor({ organizationId });
        return { scenarios: this.mappingScenarios(organizationId, policy, cause.target.id, before as GroupMapping | undefined, after as GroupMapping | undefined) };
      }
      case "project.deleted": {
        // Everyone may have held it (a mapping, a local or temporary grant): each member with the
        // project and the mappings as they were, and as they are.
        const policy = await this.access.policyFor({ organizationId });
        const { mappings, ...project } = (before ?? {}) as unknown as { mappings?: AccessPolicy["mappings"] } & AccessPolicy["projects"][number];
        if (!project.id || !Array.isArray(mappings)) return undefined;
        const was: AccessPolicy = { ...policy, projects: [...policy.projects.filter((p) => p.id !== project.id), project], mappings };
        return { scenarios: this.scenariosOf(organizationId, this.users.everyMember(organizationId), (user, groups) => ({ before: { policy: was, user, groups }, after: { policy, user, groups } })) };
      }
      case "organization.access_settings_changed": {
        const policy = await this.access.policyFor({ organizationId });
        const was = { ...policy, settings: { ...policy.settings, ...(before as Partial<AccessSettings>) } };
        const is = { ...policy, settings: { ...policy.settings, ...(after as Partial<AccessSettings>) } };
        return { scenarios: this.scenariosOf(organizationId, this.users.everyMember(organizationId), (user, groups) => ({ before: { policy: was, user, groups }, after: { policy: is, user, groups } })) };
      }
      case "organization.ownership_transferred": {
        const policy = await this.access.policyFor({ organizationId });
        const owner = (id: unknown): AccessPolicy => {
          const { ownerUserId: _owner, ...rest } = policy;
          return typeof id === "string" ? { ...rest, ownerUserId: id } : rest;
        };
        const ids = [before?.ownerUserId, after?.ownerUserId].filter((id): id is string => typeof id === "string");
        return { scenarios: this.scenariosOf(organizationId, this.usersById(organizationId, ids), (user, groups) => ({ before: { policy: owner(before?.ownerUserId), user, groups }, after: { policy: owner(after?.ownerUserId), user, groups } })) };
      }
      default:
        return this.userScenarios(cause);
    }
  }

  /** A change of one member's own state: each side is the member with that state swapped in. */
  private async userScenarios(cause: AuditEvent): Promise<Derivation | undefined> {
    const swap = userStates(cause);
    if (!swap) return undefined;
    const organizationId = cause.organizationId;
    const policy = await this.access.policyFor({ organizationId });
    return {
      ...(swap.effectiveAt ? { effectiveAt: swap.effectiveAt } : {}),
      scenarios: this.scenariosOf(organizationId, this.usersById(organizationId, [cause.target.id]), (user, groups) => ({
        before: { policy, user: swap.before(user), groups, now: swap.beforeAt },
        after: { policy, user: swap.after(user), groups, now: swap.afterAt },
      })),
    };
  }

  /** A group's members gain it, lose it, or see it renamed (which display-name and externalId mappings notice). */
  private async groupScenarios(cause: AuditEvent): Promise<Derivation | undefined> {
    const organizationId = cause.organizationId;
    const groupId = cause.target.id;
    const before = (cause.before ?? {}) as { displayName?: string; externalId?: string };
    const after = (cause.after ?? {}) as { displayName?: string; externalId?: string; members?: string[]; added?: string[]; removed?: string[] };
    const policy = await this.access.policyFor({ organizationId });
    // Without mappings, membership gives nothing (the common case of a plain SCIM sync): nothing to read.
    if (!policy.mappings.length) return undefined;
    const stored = await this.groups.findById(organizationId, groupId);
    // The group as the event's snapshot has it (a snapshot holds externalId exactly when the group had one).
    const asGroup = (snapshot: { displayName?: string; externalId?: string } | undefined): IdentityGroup =>
      identityGroupOf({ id: groupId, displayName: snapshot?.displayName ?? cause.target.display ?? groupId, ...(snapshot?.externalId !== undefined ? { externalId: snapshot.externalId } : {}) });
    const without = (groups: readonly IdentityGroup[]) => groups.filter((g) => g.id !== groupId);
    const same = (user: User, was: readonly IdentityGroup[], is: readonly IdentityGroup[]) => ({ before: { policy, user, groups: was }, after: { policy, user, groups: is } });
    switch (cause.action) {
      case "group.created": {
        const group = asGroup(after);
        return { scenarios: this.scenariosOf(organizationId, this.usersById(organizationId, after.members ?? []), (user, groups) => same(user, without(groups), [...without(groups), group])) };
      }
      case "group.members_changed": {
        const group = asGroup(stored);
        const added = new Set(after.added ?? []);
        return {
          scenarios: this.scenariosOf(organizationId, this.usersById(organizationId, [...(after.added ?? []), ...(after.removed ?? [])]), (user, groups) =>
            added.has(user.id) ? same(user, without(groups), [...without(groups), group]) : same(user, [...without(groups), group], without(groups)),
          ),
        };
      }
      case "group.updated": {
        // Only mappings by display name or externalId follow a group's attributes.
        if (!policy.mappings.some((m) => m.match.kind === "display_name" || m.match.kind === "external_id")) return undefined;
        const [was, is] = [asGroup(before), asGroup(after)];
        return { scenarios: this.scenariosOf(organizationId, this.users.membersWithGroup(organizationId, groupId), (user, groups) => same(user, [...without(groups), was], [...without(groups), is])) };
      }
      case "group.deleted": {
        // Memberships stay on the members until the sweep: they are found as the group's members.
        const was = asGroup(before);
        return { scenarios: this.scenariosOf(organizationId, this.users.membersWithGroup(organizationId, groupId), (user, groups) => same(user, [...without(groups), was], without(groups))) };
      }
      default:
        return undefined;
    }
  }

  /**
   * A mapping created (`before` undefined), edited, or deleted (`after` undefined): the members of
   * the groups either version matches — or everyone, where app roles or SAML-asserted groups may
   * match (they are on the members, not in groups) — under the policy with each version.
   */
  private mappingScenarios(organizationId: string, policy: AccessPolicy, mappingId: string, before: GroupMapping | undefined, after: GroupMapping | undefined): AsyncIterable<Scenario[]> {
    const withMapping = (mapping: GroupMapping | undefined): AccessPolicy => {
      const others = policy.mappings.filter((m) => m.id !== mappingId);
      const at = policy.mappings.findIndex((m) => m.id === mappingId);
      if (!mapping) return { ...policy, mappings: others };
      const stored = { ...mapping, id: mappingId, created: (mapping as { created?: Date }).created ?? new Date(0) };
      return { ...policy, mappings: at < 0 ? [...others, stored] : [...others.slice(0, at), stored, ...others.slice(at)] };
    };
    const [was, is] = [withMapping(before), withMapping(after)];
    return this.scenariosOf(organizationId, this.mappedMembers(organizationId, policy, [before, after].filter((m): m is GroupMapping => m !== undefined)), (user, groups) => ({
      before: { policy: was, user, groups },
      after: { policy: is, user, groups },
    }));
  }

  /** The members a mapping may apply to. */
  private async mappedMembers(organizationId: string, policy: AccessPolicy, mappings: readonly GroupMapping[]): Promise<User[]> {
    if (policy.samlGroupSync || mappings.some((m) => m.match.kind === "app_role")) return this.users.everyMember(organizationId);
    const groupIds = new Set<string>();
    for (const { match } of mappings) {
      if (match.kind === "group_id") groupIds.add(match.value);
      if (match.kind === "external_id") for (const group of await this.groups.findByExternalId(organizationId, match.value)) groupIds.add(group.id);
      if (match.kind === "display_name") {
        const group = await this.groups.findByDisplayName(organizationId, match.value);
        if (group) groupIds.add(group.id);
      }
    }
    const members = new Map<string, User>();
    for (const groupId of groupIds) for (const user of await this.users.membersWithGroup(organizationId, groupId)) members.set(user.id, user);
    return [...members.values()];
  }

  /** The members of these ids that exist, read by `_id` a few dozen at a time (a cause names few). */
  private async usersById(organizationId: string, ids: readonly string[]): Promise<User[]> {
    const found: User[] = [];
    const unique = [...new Set(ids)];
    for (let from = 0; from < unique.length; from += 64) {
      const users = await Promise.all(unique.slice(from, from + 64).map((id) => this.users.findById(organizationId, id)));
      found.push(...users.filter((u): u is User => u !== undefined));
    }
    return found;
  }

  /**
   * The scenarios of `members`, a slice at a time, each member with the groups it is in (read once
   * per distinct group, shared by all members).
   */
  private async *scenariosOf(
    organizationId: string,
    members: Promise<User[]>,
    states: (user: User, groups: readonly IdentityGroup[]) => Omit<Scenario, "user">,
  ): AsyncIterable<Scenario[]> {
    const users = await members;
    const cache = new Map<string, Promise<Group | undefined>>();
    for (let from = 0; from < users.length; from += evaluationSlice) {
      yield await Promise.all(
        users.slice(from, from + evaluationSlice).map(async (user) => {
          const groups = (await this.groups.findEachById(organizationId, user.groupIds, cache)).map(identityGroupOf);
          return { user, ...states(user, groups) };
        }),
      );
    }
  }
}

/**
 * For a change of one member's own state, the member before and after it (and the clock each side
 * is evaluated at); undefined for an action that does not change access.
 */
function userStates(cause: AuditEvent): { before: (u: User) => User; after: (u: User) => User; beforeAt?: Date; afterAt?: Date; effectiveAt?: Date } | undefined {
  const before = cause.before as Record<string, unknown> | undefined;
  const after = cause.after as Record<string, unknown> | undefined;
  const grantsWithout = (user: User, id: string) => (user.temporaryGrants ?? []).filter((g) => g.id !== id && !g.endRecorded);
  const live = (grant: unknown): TemporaryAccess => {
    const g = grant as TemporaryAccess;
    const { endRecorded: _ended, ...rest } = g;
    return { ...rest, until: new Date(g.until) };
  };
  switch (cause.action) {
    case "user.local_access_changed":
      return { before: (u) => ({ ...u, localAccess: (before ?? {}) as LocalAccess }), after: (u) => ({ ...u, localAccess: (after ?? {}) as LocalAccess }) };
    case "user.temporary_access_granted": {
      const grant = live(after);
      return { before: (u) => ({ ...u, temporaryGrants: grantsWithout(u, grant.id) }), after: (u) => ({ ...u, temporaryGrants: [...grantsWithout(u, grant.id), grant] }), beforeAt: cause.at, afterAt: cause.at };
    }
    case "user.temporary_access_revoked": {
      const grant = live(before);
      return { before: (u) => ({ ...u, temporaryGrants: [...grantsWithout(u, grant.id), grant] }), after: (u) => ({ ...u, temporaryGrants: grantsWithout(u, grant.id) }), beforeAt: cause.at, afterAt: cause.at };
    }
    case "user.temporary_access_expired": {
      // Access changed at `until`, not when the maintenance timer noticed: both sides are evaluated there.
      const grant = live(before);
      return {
        before: (u) => ({ ...u, temporaryGrants: [...grantsWithout(u, grant.id), grant] }),
        after: (u) => ({ ...u, temporaryGrants: grantsWithout(u, grant.id) }),
        beforeAt: new Date(grant.until.getTime() - 1),
        afterAt: grant.until,
        effectiveAt: grant.until,
      };
    }
    case "user.suspended":
    case "user.unsuspended": {
      const suspended = cause.action === "user.suspended";
      return { before: (u) => ({ ...u, suspended: !suspended }), after: (u) => ({ ...u, suspended }) };
    }
    case "user.deactivated":
    case "user.reactivated": {
      const active = cause.action === "user.reactivated";
      return { before: (u) => ({ ...u, active: !active }), after: (u) => ({ ...u, active }) };
    }
    case "user.updated":
    case "user.linked": {
      // Entra ID app roles arrive in the profile's `roles`; other profile changes leave access as it was.
      if (JSON.stringify(before?.roles ?? null) === JSON.stringify(after?.roles ?? null)) return undefined;
      const rolesOf = (profile: Record<string, unknown> | undefined) => (Array.isArray(profile?.roles) ? (profile.roles as User["roles"]) : undefined);
      return { before: (u) => ({ ...u, roles: rolesOf(before) }) as User, after: (u) => ({ ...u, roles: rolesOf(after) }) as User };
    }
    case "user.signed_in": {
      // SAML group sync: the assertion named other groups than the last one (`before.groups` is there only then).
      if (!Array.isArray(before?.groups) || !Array.isArray(after?.groups)) return undefined;
      return { before: (u) => ({ ...u, samlGroups: before.groups as string[] }), after: (u) => ({ ...u, samlGroups: after.groups as string[] }) };
    }
    default:
      return undefined;
  }
}

/**
 * A derived event's id: the same for the same cause and member, so a derivation run twice (a crash,
 * recovery on two instances) writes each event once. A UUID-shaped digest, like every other event id.
 */
export function accessChangedEventId(causeEventId: string, userId: string): string {
  return derivedEventId(accessChangedAction, causeEventId, userId);
}

/**
 * The event: the cause's actor, source, request id, time and reason; the member as target; the
 * effective access before and after; and the cause itself (`cause`).
 */
function accessChangedEvent(cause: AuditEvent, change: MemberAccessChange, effectiveAt: Date | undefined): AuditEvent {
  return {
    id: accessChangedEventId(cause.id, change.user.id),
    organizationId: cause.organizationId,
    at: new Date(cause.at),
    actor: { ...cause.actor },
    source: cause.source,
    action: accessChangedAction,
    target: { type: "user", id: change.user.id, display: change.user.userName },
    before: change.before,
    after: change.after,
    requestId: cause.requestId,
    ...(cause.reason !== undefined ? { reason: cause.reason } : {}),
    cause: { action: cause.action, eventId: cause.id, target: { ...cause.target }, ...(effectiveAt ? { effectiveAt } : {}) },
  };
}

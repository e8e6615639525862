import { randomUUID } from "node:crypto";
import type { AuditTrail } from "../audit/audit-trail";
import type { RequestContext } from "../domain/context";
import type { Criteria } from "../domain/criteria";
import { emptyGroupChange, type Group, type GroupChange, type GroupMember } from "../domain/group";
import type { User } from "../domain/user";
import { ConcurrentChangeError, InvalidError, NotFoundError, VersionMismatchError } from "../errors";
import type { DirectoryListing } from "../domain/criteria";
import type { GroupStore } from "../storage/groups";
import type { UserStore } from "../storage/users";
import type { WriteOptions } from "./users";
import type { Deprovisioning } from "./deprovisioning";

type Scope = Pick<RequestContext, "organizationId">;

export interface GroupAttributes {
  displayName: string;
  externalId?: string;
  members: string[];
}

/** How often a change of a group's attributes that lost a race is recomputed before answering 409. */
const maxWriteAttempts = 8;

/** How many member documents are written at once: bounded, so a 1,000-member PATCH stays gentle. */
const writeConcurrency = 16;

async function forEachLimited<T>(items: Iterable<T>, limit: number, work: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  const workers = Array.from({ length: Math.min(limit, queue.length) }, async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item);
  });
  await Promise.all(workers);
}

/**
 * Groups and their memberships, as identity providers push them. A membership change touches
 * only the members it names (one document each, by _id), never the whole member list, so its cost
 * does not depend on the size of the group.
 */
export class GroupDirectory {
  constructor(
    private readonly groups: GroupStore,
    private readonly users: UserStore,
    private readonly audit: AuditTrail,
    /** Members who leave groups may lose access (where a mapped group is required): its rule runs there. */
    private readonly deprovisioning: Deprovisioning,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async get(ctx: Scope, id: string): Promise<Group> {
    const group = await this.groups.findById(ctx.organizationId, id);
    if (!group) throw new NotFoundError(`Group ${id} not found`);
    return group;
  }

  async members(ctx: Scope, groupId: string): Promise<GroupMember[]> {
    const members = await this.users.membersOf(ctx.organizationId, groupId);
    return members.map((m) => ({ userId: m.id, display: m.displayName ?? m.userName }));
  }

  /** The groups a user is a direct member of that still exist (RFC 7643 §4.1.2 `groups`). */
  async groupsOf(ctx: Scope, user: User, cache = new Map<string, Promise<Group | undefined>>()): Promise<Group[]> {
    return this.groups.findEachById(ctx.organizationId, user.groupIds, cache);
  }

  async list(ctx: Scope, listing: DirectoryListing): Promise<{ total: number; groups: Group[] }> {
    const criteria = listing.criteria && (await this.resolveMemberCriteria(ctx, listing.criteria));
    return this.groups.list(ctx.organizationId, { ...listing, criteria });
  }

  /** Creates a group with its first members; returns them too, so nobody has to list them again. */
  async create(ctx: RequestContext, attributes: GroupAttributes): Promise<{ group: Group; members: GroupMember[] }> {
    const displayName = requireDisplayName(attributes.displayName);
    const members = await this.validateNewMembers(ctx, new Set(attributes.members));
    const at = this.now();
    const group: Group = {
      id: randomUUID(),
      organizationId: ctx.organizationId,
      displayName,
      ...(attributes.externalId ? { externalId: attributes.externalId } : {}),
      created: at,
      lastModified: at,
      version: 1,
    };
    const event = this.audit.event(ctx, { action: "group.created", target: groupTarget(group), after: { ...snapshot(group), members: members.map((m) => m.id) } });
    await this.groups.insert(group, event);
    // The members' writes follow the group's (and its event): each is idempotent, and the
    // identity provider, which got no answer if we die here, retries with a PATCH or PUT.
    await forEachLimited(members, writeConcurrency, (user) => this.users.addToGroup(user.id, group.id));
    return { group, members: members.map((m) => ({ userId: m.id, display: m.displayName ?? m.userName })) };
  }

  /** PUT: the group's attributes and complete member list, applied as a difference. */
  replace(ctx: RequestContext, id: string, attributes: GroupAttributes, options: WriteOptions = {}): Promise<Group> {
    return this.change(
      ctx,
      id,
      {
        ...emptyGroupChange(),
        displayName: attributes.displayName,
        externalId: attributes.externalId ?? null,
        replaceMembers: new Set(attributes.members),
      },
      options,
    );
  }

  /**
   * Applies one PATCH or PUT. Everything is validated before the first write; each write is
   * idempotent ($addToSet/$pull, $set), so if the process dies midway the identity provider's retry
   * of the same request completes it.
   *
   * The group's own write is version-conditioned: a change of its attributes is written only on
   * the version it was computed from, and recomputed on a fresh read if another write came first
   * (412 under If-Match, RFC 7644 §3.14). A change of members only needs no recomputation — the
   * members' writes are on the members — so it raises the version with `$inc`: each concurrent
   * change gets a version of its own, and only If-Match makes it conditional.
   */
  async change(ctx: RequestContext, id: string, change: GroupChange, options: WriteOptions = {}): Promise<Group> {
    for (let attempt = 1; ; attempt++) {
      const applied = await this.applyChange(ctx, id, change, options);
      if (applied) return applied;
      if (options.expectedVersion !== undefined) {
        throw new VersionMismatchError(`Group ${id} has changed: another write came first, its version is no longer ${options.expectedVersion}`);
      }
      if (attempt >= maxWriteAttempts) throw new ConcurrentChangeError(`Group ${id} is being changed by other requests at the same time; retry`);
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt));
    }
  }

  /** One attempt of `change`: undefined when the group's conditional write lost a race. */
  private async applyChange(ctx: RequestContext, id: string, change: GroupChange, options: WriteOptions): Promise<Group | undefined> {
    // Reads first, side by side: the group, today's members (only for a full replacement), and
    // the users to be added.
    const [before, current] = await Promise.all([
      this.get(ctx, id),
      change.replaceMembers ? this.users.membersOf(ctx.organizationId, id).then((ms) => new Set(ms.map((m) => m.id))) : undefined,
    ]);
    if (options.expectedVersion !== undefined && options.expectedVersion !== before.version) {
      throw new VersionMismatchError(`Group ${id} has changed: its version is ${before.version}, not ${options.expectedVersion}`);
    }
    const displayName = change.displayName === undefined ? before.displayName : requireDisplayName(change.displayName);
    const externalId = change.externalId === undefined ? before.externalId : (change.externalId ?? undefined);

    let toAdd = new Set(change.addMembers);
    let toRemove = new Set(change.removeMembers);
    if (change.replaceMembers && current) {
      const wanted = new Set([...change.replaceMembers, ...change.addMembers].filter((m) => !change.removeMembers.has(m)));
      toAdd = new Set([...wanted].filter((m) => !current.has(m)));
      toRemove = new Set([...current].filter((m) => !wanted.has(m)));
    }
    const adding = (await this.validateNewMembers(ctx, toAdd)).filter((user) => !user.groupIds.includes(id));

    const attributesChanged = displayName !== before.displayName || externalId !== before.externalId;
    const membersChanged = adding.length > 0 || toRemove.size > 0;
    const at = this.now();
    let after: Group = {
      id: before.id,
      organizationId: before.organizationId,
      displayName,
      ...(externalId !== undefined ? { externalId } : {}),
      created: before.created,
      lastModified: attributesChanged || membersChanged ? at : before.lastModified,
      version: attributesChanged || membersChanged ? before.version + 1 : before.version,
    };

    // The group's own write carries the events and comes first; the members' writes follow. Each
    // is idempotent, so a retry of the same request completes a change cut short.
    const membersEvent = membersChanged
      ? this.audit.event(ctx, { action: "group.members_changed", target: groupTarget(after), after: { added: adding.map((u) => u.id), removed: [...toRemove] } })
      : undefined;
    if (attributesChanged) {
      const events = [this.audit.event(ctx, { action: "group.updated", target: groupTarget(after), before: snapshot(before), after: snapshot(after) })];
      if (!(await this.groups.update(before, after, membersEvent ? [...events, membersEvent] : events))) return undefined;
    } else if (membersEvent) {
      const touched = await this.groups.touch(id, at, membersEvent, options.expectedVersion);
      if (!touched) {
        if (options.expectedVersion !== undefined) return undefined;
        throw new NotFoundError(`Group ${id} not found`);
      }
      after = touched;
    }
    if (membersChanged) {
      await Promise.all([
        forEachLimited(adding, writeConcurrency, (user) => this.users.addToGroup(user.id, id)),
        forEachLimited(toRemove, writeConcurrency, (userId) => this.users.removeFromGroup(userId, id)),
      ]);
      if (toRemove.size) await this.deprovisioning.membersLeftGroups(ctx, async () => [...toRemove]);
    }
    return after;
  }

  /** Deletes a group at once: it no longer appears or grants anything; memberships are swept after. */
  async remove(ctx: RequestContext, id: string, options: WriteOptions = {}): Promise<void> {
    const group = await this.get(ctx, id);
    if (options.expectedVersion !== undefined && options.expectedVersion !== group.version) {
      throw new VersionMismatchError(`Group ${id} has changed: its version is ${group.version}, not ${options.expectedVersion}`);
    }
    if (!(await this.groups.delete(group, this.now(), this.audit.event(ctx, { action: "group.deleted", target: groupTarget(group), before: snapshot(group) }), { onlyVersion: options.expectedVersion }))) {
      throw new VersionMismatchError(`Group ${id} has changed: another write came first, its version is no longer ${options.expectedVersion}`);
    }
    // Memberships stay on the members until the sweep, so the former members can still be found.
    await this.deprovisioning.membersLeftGroups(ctx, async () => (await this.users.membersOf(ctx.organizationId, id)).map((m) => m.id));
    void this.sweep().catch(() => undefined);
  }

  /** Clears the memberships of deleted groups; safe to run repeatedly and on every instance. */
  async sweep(): Promise<number> {
    let swept = 0;
    for (const pending of await this.groups.pendingSweeps()) {
      await this.users.clearGroup(pending.organizationId, pending._id);
      await this.groups.finishSweep(pending._id);
      swept++;
    }
    return swept;
  }

  /** Users to be added must exist in this organization; groups cannot be members. */
  private async validateNewMembers(ctx: Scope, ids: Set<string>): Promise<User[]> {
    const found = await Promise.all([...ids].map(async (id) => [id, await this.users.findById(ctx.organizationId, id)] as const));
    const missing = found.filter(([, user]) => !user).map(([id]) => id);
    if (missing.length) {
      const nested = await this.groups.findById(ctx.organizationId, missing[0]);
      if (nested) throw new InvalidError(`Group ${missing[0]} cannot be a member: nested groups are not supported`);
      throw new InvalidError(`No user ${missing[0]} in this organization${missing.length > 1 ? ` (and ${missing.length - 1} more unknown members)` : ""}`);
    }
    return found.map(([, user]) => user!);
  }

  /**
   * `members[value eq "<user id>"]` becomes "id is one of that user's groups": answered from the
   * user's own document instead of scanning memberships. `members pr` becomes "id is one of the
   * groups that have a member" (RFC 7644 §3.4.2.2: pr on every attribute). Other conditions on
   * members are refused.
   */
  private async resolveMemberCriteria(ctx: Scope, criteria: Criteria): Promise<Criteria> {
    const memberValue = (c: Criteria): string | undefined => {
      if (c.kind === "compare" && c.path === "members.value" && c.op === "eq" && typeof c.value === "string") return c.value;
      if (c.kind === "element" && c.path === "members") {
        const inner = c.criteria;
        if (inner.kind === "compare" && inner.path === "value" && inner.op === "eq" && typeof inner.value === "string") return inner.value;
      }
      return undefined;
    };
    const mentionsMembers = (c: Criteria): boolean => {
      switch (c.kind) {
        case "and":
          return c.all.some(mentionsMembers);
        case "or":
          return c.any.some(mentionsMembers);
        case "not":
          return mentionsMembers(c.criteria);
        default:
          return c.path === "members" || c.path.startsWith("members.");
      }
    };
    const idIn = (ids: readonly string[]): Criteria => {
      const idIs = (id: string): Criteria => ({ kind: "compare", path: "id", op: "eq", value: id, type: "string", caseExact: true });
      return ids.length > 1 ? { kind: "or", any: ids.map(idIs) } : idIs(ids[0] ?? "\u0000no group");
    };
    const resolve = async (c: Criteria): Promise<Criteria> => {
      const presentMembers =
        (c.kind === "present" && (c.path === "members" || c.path === "members.value")) ||
        (c.kind === "element" && c.path === "members" && c.criteria.kind === "present" && c.criteria.path === "value");
      if (presentMembers) {
        return idIn(await this.users.groupsWithMembers(ctx.organizationId));
      }
      const userId = memberValue(c);
      if (userId !== undefined) {
        const user = await this.users.findById(ctx.organizationId, userId);
        const ids = user?.groupIds ?? [];
        const idIs = (id: string): Criteria => ({ kind: "compare", path: "id", op: "eq", value: id, type: "string", caseExact: true });
        return ids.length ? { kind: "or", any: ids.map(idIs) } : idIs("\u0000no group");
      }
      switch (c.kind) {
        case "and":
          return { kind: "and", all: await Promise.all(c.all.map(resolve)) };
        case "or":
          return { kind: "or", any: await Promise.all(c.any.map(resolve)) };
        case "not":
          return { kind: "not", criteria: await resolve(c.criteria) };
        default:
          if (mentionsMembers(c)) throw new InvalidError('Only members[value eq "<user id>"] can be filtered on', "query");
          return c;
      }
    };
    return resolve(criteria);
  }
}

function requireDisplayName(displayName: unknown): string {
  if (typeof displayName !== "string" || !displayName.trim()) throw new InvalidError("displayName is required and must not be empty");
  return displayName;
}

function groupTarget(group: Group) {
  return { type: "group", id: group.id, display: group.displayName };
}

function snapshot(group: Group) {
  return { displayName: group.displayName, ...(group.externalId !== undefined ? { externalId: group.externalId } : {}) };
}

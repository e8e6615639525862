import type { Criteria } from "../domain/criteria";
import { type User, userNameKey } from "../domain/user";
import { criteriaToMongoQuery, type FieldMapping } from "./criteria-query";
import { guarded } from "./database-errors";
import { readById } from "./read-by-id";
import { LookupKeys } from "./lookup-keys";
import { profileAttributes, type AuditEventDocument, type Models, type UserDocument } from "./models";
import type { Outbox } from "./outbox";

/** How a listing is ordered and cut (RFC 7644 §3.4.2.3–4), in domain attribute paths. */
export interface UserListing {
  criteria?: Criteria;
  sortBy?: string;
  descending?: boolean;
  /** 1-based, as in SCIM. */
  startIndex: number;
  /** 0 asks for the total only. */
  count: number;
}

export interface UserPage {
  total: number;
  users: User[];
}

const fieldMapping: Record<string, FieldMapping> = {
  id: { field: "_id" },
  userName: { lowerCaseField: "userNameLower" },
  "groups.value": { field: "groups" },
};

export const userNameKeyKind = "user.userName";
export const externalIdKeyKind = "user.externalId";

export function toUser(doc: UserDocument): User {
  const user: Record<string, unknown> = {
    id: doc._id,
    organizationId: doc.organizationId,
    managedBy: doc.managedBy,
    ...(doc.managedVia ? { managedVia: doc.managedVia } : {}),
    ...(doc.localAccess ? { localAccess: doc.localAccess } : {}),
    ...(doc.suspended ? { suspended: true } : {}),
    ...(doc.temporaryGrants?.length ? { temporaryGrants: doc.temporaryGrants.map((g) => ({ ...g, until: new Date(g.until) })) } : {}),
    userName: doc.userName,
    active: doc.active,
    created: doc.created,
    lastModified: doc.lastModified,
    version: doc.version,
    groupIds: doc.groups ?? [],
    ...(doc.sessionEpoch ? { sessionEpoch: doc.sessionEpoch } : {}),
    ...(doc.samlGroups ? { samlGroups: doc.samlGroups } : {}),
    ...(doc.lastLogin ? { lastLogin: doc.lastLogin } : {}),
  };
  if (doc.externalId !== undefined && doc.externalId !== null) user.externalId = doc.externalId;
  for (const attribute of profileAttributes) {
    if (doc[attribute] !== undefined && doc[attribute] !== null) user[attribute] = doc[attribute];
  }
  return user as unknown as User;
}

function toDocument(user: User): UserDocument {
  const doc: UserDocument = {
    _id: user.id,
    organizationId: user.organizationId,
    userName: user.userName,
    userNameLower: userNameKey(user.userName),
    active: user.active,
    managedBy: user.managedBy,
    ...(user.managedVia ? { managedVia: user.managedVia } : {}),
    ...(user.localAccess ? { localAccess: JSON.parse(JSON.stringify(user.localAccess)) } : {}),
    ...(user.suspended ? { suspended: true } : {}),
    ...(user.temporaryGrants?.length ? { temporaryGrants: user.temporaryGrants.map((g) => ({ ...g })) } : {}),
    created: user.created,
    lastModified: user.lastModified,
    version: user.version,
  };
  if (user.externalId !== undefined) doc.externalId = user.externalId;
  for (const attribute of profileAttributes) {
    const value = (user as unknown as Record<string, unknown>)[attribute];
    if (value !== undefined) doc[attribute] = value;
  }
  if (user.groupIds.length) doc.groups = [...user.groupIds];
  // sessionEpoch, lastLogin and samlGroups are never written from a whole-user snapshot: each has
  // its own targeted update (endSessions, recordSignIn), so a write from a stale read can neither
  // lower the epoch (reviving sessions) nor undo a sign-in's record.
  return doc;
}

/** The parts of a user written separately (UserStore.replace). */
export type UserPart = "profile" | "localAccess" | "suspended" | "temporaryGrants";

/** What the identity provider owns of a user, and how it is managed. */
const profileFields = ["userName", "userNameLower", "externalId", "active", "managedBy", "managedVia", ...profileAttributes];
const requiredFields = new Set(["userName", "userNameLower", "active", "managedBy"]);

/**
 * Users in MongoDB. Reads and writes by id are `_id` operations; the lookups identity providers
 * send before every write (`userName eq`, `externalId eq`) go through lookup keys, so none of the
 * hot paths scans a collection, on MongoDB or on FerretDB.
 */
export class UserStore {
  private readonly keys: LookupKeys;

  constructor(
    private readonly models: Models,
    private readonly outbox: Outbox,
  ) {
    this.keys = new LookupKeys(models);
  }

  private get collection() {
    return this.models.User.collection;
  }

  userNameKey(organizationId: string, userName: string): string {
    return LookupKeys.key(organizationId, userNameKeyKind, userNameKey(userName));
  }

  externalIdKey(organizationId: string, externalId: string): string {
    return LookupKeys.key(organizationId, externalIdKeyKind, externalId);
  }

  async findById(organizationId: string, id: string): Promise<User | undefined> {
    const doc = await guarded(() => readById<UserDocument>(this.models.User, id));
    // The organization (and a deletion under way) is checked here, not in the filter: only an
    // exact {_id} filter is served by FerretDB's SQLite backend without a scan.
    return doc && doc.organizationId === organizationId && !doc.deletedAt ? toUser(doc) : undefined;
  }

  async findByUserName(organizationId: string, userName: string): Promise<User | undefined> {
    const [owner] = await this.keys.owners(this.userNameKey(organizationId, userName));
    if (!owner) return undefined;
    const user = await this.findById(organizationId, owner);
    return user && userNameKey(user.userName) === userNameKey(userName) ? user : undefined;
  }

  async findByExternalId(organizationId: string, externalId: string): Promise<User[]> {
    const owners = await this.keys.owners(this.externalIdKey(organizationId, externalId));
    const users = await Promise.all(owners.map((id) => this.findById(organizationId, id)));
    return users.filter((u): u is User => u !== undefined && u.externalId === externalId);
  }

  /** Claims the userName for `id`; ConflictError when a live user of the organization holds it. */
  async claimUserName(organizationId: string, userName: string, id: string): Promise<void> {
    await this.keys.claim(this.userNameKey(organizationId, userName), id, this.userNameIsStale(organizationId, userName), `A user with userName "${userName}" already exists`);
  }

  /** A userName key is stale when its owner is gone or no longer has that userName (a crash mid-rename). */
  private userNameIsStale(organizationId: string, userName: string) {
    return async (owner: string) => {
      const holder = await this.findById(organizationId, owner);
      return !holder || userNameKey(holder.userName) !== userNameKey(userName);
    };
  }

  async releaseUserName(organizationId: string, userName: string, id: string): Promise<void> {
    await this.keys.release(this.userNameKey(organizationId, userName), id);
  }

  /**
   * Stores a new user, carrying the event of its creation: the userName claim, the user document
   * and the externalId key are written at once rather than one after another (three round trips
   * become one). If any of them fails, the others are undone; a crash in between leaves at most a
   * stale claim or key, which lookups ignore and the next claimant takes over.
   */
  async insert(user: User, event: AuditEventDocument): Promise<void> {
    const conflict = `A user with userName "${user.userName}" already exists`;
    const userNameClaim = { key: this.userNameKey(user.organizationId, user.userName), owner: user.id, conflictMessage: conflict, isStale: this.userNameIsStale(user.organizationId, user.userName) };
    const externalIdKey = user.externalId !== undefined ? this.externalIdKey(user.organizationId, user.externalId) : undefined;
    const [keys, document] = await Promise.allSettled([
      externalIdKey
        ? this.keys.claimAndIndex(userNameClaim, { key: externalIdKey, owner: user.id })
        : this.keys.claim(userNameClaim.key, user.id, userNameClaim.isStale, conflict),
      guarded(() => this.collection.insertOne({ ...toDocument(user), outbox: [event] } as never), conflict),
    ]);
    if (keys.status === "fulfilled" && document.status === "fulfilled") return this.outbox.deliver(this.collection, user.id, [event]);
    await Promise.allSettled([
      this.releaseUserName(user.organizationId, user.userName, user.id),
      document.status === "fulfilled" ? guarded(() => this.models.User.deleteOne({ _id: user.id })) : undefined,
      externalIdKey ? this.keys.removeFromIndex(externalIdKey, user.id) : undefined,
    ]);
    throw keys.status === "rejected" ? keys.reason : (document as PromiseRejectedResult).reason;
  }

  /**
   * Writes one part of a user's stored state together with the event that records it, and keeps
   * the keys in step. `part` says which: "profile" is what the identity provider owns (a PUT, the
   * result of a PATCH, a link); the others are Gatehouse's local overlays, each written alone. So
   * a write computed from a read taken before another part changed cannot undo that change: a
   * SCIM PUT racing a suspension never lifts it. Group memberships, the session epoch and the
   * sign-in record have their own targeted updates and are never part of it.
   */
  async replace(before: User, after: User, event: AuditEventDocument, options: { part?: UserPart; endSessions?: boolean } = {}): Promise<void> {
    const { _id, groups: _groups, ...all } = toDocument(after);
    const part = options.part ?? "profile";
    const owned = part === "profile" ? [...profileFields] : [part];
    const fields = Object.fromEntries(Object.entries(all).filter(([field]) => owned.includes(field) || field === "lastModified" || field === "version"));
    const absent = owned.filter((field) => fields[field] === undefined && !requiredFields.has(field));
    await this.outbox.update(
      this.collection,
      _id,
      {
        $set: fields,
        ...(absent.length ? { $unset: Object.fromEntries(absent.map((field) => [field, ""])) } : {}),
        ...(options.endSessions ? { $inc: { sessionEpoch: 1 } } : {}),
      },
      [event],
      `A user with userName "${after.userName}" already exists`,
    );
    if (before.externalId !== after.externalId) {
      if (after.externalId !== undefined) await this.keys.addToIndex(this.externalIdKey(after.organizationId, after.externalId), after.id);
      if (before.externalId !== undefined) await this.keys.removeFromIndex(this.externalIdKey(before.organizationId, before.externalId), before.id);
    }
  }

  /** Ends every session of the user: the epoch only ever goes up ($inc, never a snapshot). */
  async endSessions(id: string, event: AuditEventDocument): Promise<void> {
    await this.outbox.update(this.collection, id, { $inc: { sessionEpoch: 1 } }, [event]);
  }

  /** A sign-in's record: its time and, with SAML group sync, the asserted groups. */
  async recordSignIn(id: string, at: Date, samlGroups: readonly string[] | undefined, event: AuditEventDocument): Promise<void> {
    await this.outbox.update(this.collection, id, { $set: { lastLogin: at, ...(samlGroups ? { samlGroups: [...samlGroups] } : {}) } }, [event]);
  }

  /**
   * Deletes a user: a tombstone carrying the event first (the user is gone for every reader from
   * that write on), then the keys, then the document. `recoverOutbox` finishes a deletion a crash
   * interrupted.
   */
  async delete(user: User, at: Date, event: AuditEventDocument): Promise<void> {
    await this.outbox.tombstone(this.collection, user.id, at, [event], { userNameLower: `\u0000deleted/${user.id}` });
    await this.finishDeletion(user);
  }

  private async finishDeletion(user: Pick<User, "id" | "organizationId" | "userName" | "externalId">): Promise<void> {
    await this.releaseUserName(user.organizationId, user.userName, user.id);
    if (user.externalId !== undefined) await this.keys.removeFromIndex(this.externalIdKey(user.organizationId, user.externalId), user.id);
    await guarded(() => this.collection.deleteOne({ _id: user.id } as never));
  }

  /** Moves audit events a crash left on users into the trail and finishes interrupted deletions. */
  recoverOutbox(): Promise<number> {
    return this.outbox.recover<UserDocument>(this.collection, (doc) => this.finishDeletion(toUser(doc)));
  }

  /**
   * Active users of an organization, for seat limits: counted only for organizations that have one
   * (an index on MongoDB, a scan on FerretDB).
   */
  async countActive(organizationId: string): Promise<number> {
    return guarded(() => this.models.User.countDocuments({ organizationId, active: true, deletedAt: { $exists: false } }));
  }

  /** Makes the user a direct member of a group: one idempotent write to one document, by _id. */
  async addToGroup(userId: string, groupId: string): Promise<void> {
    await guarded(() => this.models.User.updateOne({ _id: userId }, { $addToSet: { groups: groupId } }));
  }

  async removeFromGroup(userId: string, groupId: string): Promise<void> {
    await guarded(() => this.models.User.updateOne({ _id: userId }, { $pull: { groups: groupId } }));
  }

  /** Direct members of a group, for presenting it (an index on MongoDB; a scan on FerretDB). */
  async membersOf(organizationId: string, groupId: string): Promise<Pick<User, "id" | "userName" | "displayName">[]> {
    const docs = await guarded(() =>
      this.models.User.find({ organizationId, groups: groupId, deletedAt: { $exists: false } }).select({ _id: 1, userName: 1, displayName: 1 }).sort({ _id: 1 }).lean<UserDocument[]>(),
    );
    return docs.map((d) => ({ id: d._id, userName: d.userName, ...(typeof d.displayName === "string" ? { displayName: d.displayName } : {}) }));
  }

  /**
   * Ids of the organization's groups that have at least one member (`members pr` on Groups):
   * one `distinct` over the members' `groups` (the {organizationId, groups} index on MongoDB).
   */
  async groupsWithMembers(organizationId: string): Promise<string[]> {
    const ids = await guarded(() => this.collection.distinct("groups", { organizationId, deletedAt: { $exists: false } } as never));
    return (ids as unknown[]).filter((id): id is string => typeof id === "string");
  }

  /** Users with temporary grants whose end is not yet in the audit trail (a small set; indexed on MongoDB). */
  async withEndedGrants(now: Date): Promise<User[]> {
    const docs = await guarded(() =>
      this.models.User.find({ "temporaryGrants.until": { $lte: now } }).limit(500).lean<UserDocument[]>(),
    );
    // (FerretDB cannot match several conditions on one array element: filter the rest here.)
    return docs.map(toUser).filter((u) => u.temporaryGrants?.some((g) => g.until <= now && !g.endRecorded));
  }

  /** Clears a deleted group from every former member; safe to repeat. */
  async clearGroup(organizationId: string, groupId: string): Promise<void> {
    await guarded(() => this.models.User.updateMany({ organizationId, groups: groupId }, { $pull: { groups: groupId } }));
  }

  /**
   * A filtered, sorted page. `id`, `userName` and `externalId` equality (what identity providers
   * send) are answered through `_id` reads; other filters are MongoDB queries, served by indexes
   * on MongoDB (FerretDB evaluates them by scanning).
   */
  async list(organizationId: string, listing: UserListing): Promise<UserPage> {
    const direct = await this.directLookup(organizationId, listing.criteria);
    if (direct) {
      const sorted = listing.sortBy ? sortInMemory(direct, listing.sortBy, listing.descending) : direct;
      return { total: sorted.length, users: listing.count === 0 ? [] : sorted.slice(listing.startIndex - 1, listing.startIndex - 1 + listing.count) };
    }

    const filter = {
      organizationId,
      deletedAt: { $exists: false },
      ...(listing.criteria ? criteriaToMongoQuery(listing.criteria, fieldMapping) : {}),
    };
    // The driver's collection, not the model: mongoose would cast the criteria's values to the
    // schema's types (`externalId pr` compares with [] and {}, a CastError on a String path;
    // `active pr` would have "" cast to false). The criteria are well-typed already.
    const total = await guarded(() => this.collection.countDocuments(filter as never));
    if (listing.count === 0 || listing.startIndex > total) return { total, users: [] };

    const direction = listing.descending ? -1 : 1;
    const sortField = listing.sortBy ? storedField(listing.sortBy) : "created";
    const sort: Record<string, 1 | -1> = { [sortField]: direction };
    if (sortField !== "_id") sort._id = direction;
    const docs = await guarded(() =>
      this.collection.find(filter as never).sort(sort).skip(listing.startIndex - 1).limit(listing.count).toArray(),
    );
    return { total, users: (docs as unknown as UserDocument[]).map(toUser) };
  }

  private async directLookup(organizationId: string, criteria: Criteria | undefined): Promise<User[] | undefined> {
    if (!criteria || criteria.kind !== "compare" || criteria.op !== "eq" || typeof criteria.value !== "string") return undefined;
    switch (criteria.path) {
      case "id": {
        const user = await this.findById(organizationId, criteria.value);
        return user ? [user] : [];
      }
      case "userName": {
        const user = await this.findByUserName(organizationId, criteria.value);
        return user ? [user] : [];
      }
      case "externalId":
        return this.findByExternalId(organizationId, criteria.value);
      default:
        return undefined;
    }
  }
}

function storedField(domainPath: string): string {
  const mapping = fieldMapping[domainPath];
  return mapping?.lowerCaseField ?? mapping?.field ?? domainPath;
}

function sortInMemory(users: User[], path: string, descending = false): User[] {
  const valueOf = (user: User) => path.split(".").reduce<unknown>((v, key) => (v as Record<string, unknown> | undefined)?.[key], user);
  return [...users].sort((a, b) => {
    const [x, y] = [valueOf(a), valueOf(b)];
    const order = x === y ? 0 : x === undefined ? 1 : y === undefined ? -1 : String(x) < String(y) ? -1 : 1;
    return descending ? -order : order;
  });
}


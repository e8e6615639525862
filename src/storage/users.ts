import type { AuditEvent } from "../domain/audit";
import { UnavailableError } from "../errors";
import type { DirectoryListing } from "../domain/criteria";
import { memberStatusOf, type MemberStatus, type User, userNameKey } from "../domain/user";
import type { OffboardingHold } from "../domain/offboarding";
import { plainData } from "./plain";
import { escapeRegex, type FieldMapping } from "./criteria-query";
import { DirectoryStore } from "./directory-store";
import { guarded } from "./database-errors";
import { LookupKeys } from "./lookup-keys";
import { profileAttributes, type LookupKeyDocument, type Models, type UserDocument } from "./models";
import { auditDocument, type Outbox } from "./outbox";
import { WriteQueue, writeQueueOf } from "./write-queue";
import { type ChangeJournal, noOtherWriters } from "./change-journal";
import { ResidentDirectory } from "./resident-directory";

/** How a listing of users is filtered, ordered and cut (the same as for groups). */
export type UserListing = DirectoryListing;

export interface UserPage {
  total: number;
  users: User[];
}

/** A page of members (UserStore.memberPage). */
export interface MemberPage extends UserPage {
  /** The 1-based position of the page's first member among all that match. */
  startIndex: number;
  /** Whether members follow this page. */
  more: boolean;
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
    ...(doc.offboarding ? { offboarding: holdOf(doc.offboarding) } : {}),
    ...(doc.suspended && doc.suspension ? { suspension: { ...doc.suspension, since: new Date(doc.suspension.since) } } : {}),
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

/** The stored hold with its times as dates (a resident copy may hold them as stored). */
function holdOf(stored: NonNullable<UserDocument["offboarding"]>): OffboardingHold {
  return {
    offboardingId: stored.offboardingId,
    status: stored.status,
    since: new Date(stored.since),
    ...(stored.conflict ? { conflict: { at: new Date(stored.conflict.at), detail: stored.conflict.detail } } : {}),
  };
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
    ...(user.offboarding ? { offboarding: { ...user.offboarding } } : {}),
    ...(user.suspended && user.suspension
      ? { suspension: { since: user.suspension.since, by: { ...user.suspension.by }, ...(user.suspension.reason ? { reason: user.suspension.reason } : {}) } }
      : {}),
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
  const terms = searchTermsOf(user);
  if (terms.length) doc.searchTerms = terms;
  // sessionEpoch, lastLogin and samlGroups are never written from a whole-user snapshot: each has
  // its own targeted update (endSessions, recordSignIn), so a write from a stale read can neither
  // lower the epoch (reviving sessions) nor undo a sign-in's record.
  return doc;
}

/**
 * A user as stored, with the lookup keys that make it found by userName and externalId — the
 * documents a create writes, without its audit event. For the benchmark's seeding only (it writes
 * 100,000 users in minutes, before the server starts), never for a live directory.
 */
export function storedUserDocuments(user: User): { user: UserDocument; keys: LookupKeyDocument[] } {
  const keys = [{ _id: LookupKeys.key(user.organizationId, userNameKeyKind, userNameKey(user.userName)), owners: [user.id] }];
  if (user.externalId !== undefined) keys.push({ _id: LookupKeys.key(user.organizationId, externalIdKeyKind, user.externalId), owners: [user.id] });
  return { user: toDocument(user), keys };
}

/** The values member search looks in (the admin API's `q`): userName, names, displayName, emails. */
export function searchableValuesOf(user: Pick<User, "userName"> & { name?: unknown; displayName?: unknown; emails?: unknown }): string[] {
  const name = (user.name ?? {}) as { givenName?: unknown; familyName?: unknown; formatted?: unknown };
  const emails = Array.isArray(user.emails) ? user.emails.map((e: { value?: unknown }) => e?.value) : [];
  return [user.userName, name.givenName, name.familyName, name.formatted, user.displayName, ...emails].filter((v): v is string => typeof v === "string" && v !== "").map((v) => v.toLowerCase());
}

/** What separates the words of a searchable value (and of a search, on MongoDB). */
const wordSeparators = /[\s@._+\-,;()'"]+/;

/** The stored search terms (UserDocument.searchTerms): each searchable value whole and its words. */
function searchTermsOf(user: Parameters<typeof searchableValuesOf>[0]): string[] {
  const terms = new Set<string>();
  for (const value of searchableValuesOf(user)) {
    terms.add(value);
    for (const word of value.split(wordSeparators)) if (word) terms.add(word);
  }
  return [...terms];
}

/**
 * A member status as a filter (domain/user.ts memberStatusOf), each served by an index in userName
 * order: {organizationId, active, userNameLower} for active and deactivated members (the few
 * suspended ones among the active are filtered out of that index's range), {organizationId,
 * suspended, userNameLower} for suspended ones. `suspended` is stored only when true.
 */
const statusFilter: Record<MemberStatus, Record<string, unknown>> = {
  active: { active: true, suspended: { $ne: true } },
  suspended: { suspended: true, active: true },
  deactivated: { active: false },
};

/** The parts of a user written separately (UserStore.replace). */
export type UserPart = "profile" | "localAccess" | "suspended" | "temporaryGrants" | "offboarding";

/** The stored fields each part writes: an offboarding hold is the suspension and its marker, together. */
const fieldsOfPart = (part: UserPart): string[] =>
  part === "profile" ? [...profileFields] : part === "offboarding" ? ["suspended", "suspension", "offboarding"] : part === "suspended" ? ["suspended", "suspension"] : [part];

/** What the identity provider owns of a user, and how it is managed. */
const profileFields = ["userName", "userNameLower", "externalId", "active", "managedBy", "managedVia", "searchTerms", ...profileAttributes];
const requiredFields = new Set(["userName", "userNameLower", "active", "managedBy"]);

/**
 * Users in MongoDB. Reads and writes by id are `_id` operations; the lookups identity providers
 * send before every write (`userName eq`, `externalId eq`) go through lookup keys, so none of the
 * hot paths scans a collection, on MongoDB or on FerretDB.
 */
export class UserStore extends DirectoryStore<User, UserDocument> {
  private readonly keys: LookupKeys;
  private readonly writes: WriteQueue;
  protected readonly namePath = "userName";

  constructor(
    private readonly models: Models,
    private readonly outbox: Outbox,
    /** Resident mode (storage/resident-directory.ts): the embedded database's one server process. */
    options: { resident?: boolean; journal?: ChangeJournal } = {},
  ) {
    super(
      models.User,
      fieldMapping,
      toUser,
      options.resident
        ? new ResidentDirectory<UserDocument>(
            models.User.collection,
            {
              collectionName: models.User.collection.collectionName,
              nameLowerOf: (doc) => doc.userNameLower,
              externalIdOf: (doc) => doc.externalId ?? undefined,
              groupsOf: (doc) => doc.groups ?? [],
              searchableValuesOf: (doc) => searchableValuesOf(doc),
              notHeld: ["searchTerms"],
              sharedValues: ["managedBy", "managedVia", "type"],
            },
            options.journal ?? noOtherWriters,
          )
        : undefined,
    );
    this.keys = new LookupKeys(models);
    this.writes = writeQueueOf(models);
  }

  /** One rename of a user at a time in this process, on either database (see `replace`). */
  private readonly renames = new WriteQueue(true);

  userNameKey(organizationId: string, userName: string): string {
    return LookupKeys.key(organizationId, userNameKeyKind, userNameKey(userName));
  }

  externalIdKey(organizationId: string, externalId: string): string {
    return LookupKeys.key(organizationId, externalIdKeyKind, externalId);
  }

  findByName(organizationId: string, userName: string): Promise<User | undefined> {
    return this.findByUserName(organizationId, userName);
  }

  async findByUserName(organizationId: string, userName: string): Promise<User | undefined> {
    if (this.resident) {
      await this.resident.ready();
      const doc = this.resident.byName(organizationId, userNameKey(userName));
      return doc ? toUser(doc) : undefined;
    }
    const [owner] = await this.keys.owners(this.userNameKey(organizationId, userName));
    if (!owner) return undefined;
    const user = await this.findById(organizationId, owner);
    return user && userNameKey(user.userName) === userNameKey(userName) ? user : undefined;
  }

  async findByExternalId(organizationId: string, externalId: string): Promise<User[]> {
    if (this.resident) {
      await this.resident.ready();
      return this.resident.byExternalId(organizationId, externalId).map(toUser);
    }
    const owners = await this.keys.owners(this.externalIdKey(organizationId, externalId));
    const users = await Promise.all(owners.map((id) => this.findById(organizationId, id)));
    return users.filter((u): u is User => u !== undefined && u.externalId === externalId);
  }

  /** Claims the userName for `id`; ConflictError when a live user of the organization holds it. */
  private async claimUserName(organizationId: string, userName: string, id: string): Promise<void> {
    await this.keys.claim(this.userNameKey(organizationId, userName), id, this.userNameIsStale(organizationId, userName), `A user with userName "${userName}" already exists`);
  }

  /** A userName key is stale when its owner is gone or no longer has that userName (a crash mid-rename). */
  private userNameIsStale(organizationId: string, userName: string) {
    return async (owner: string) => {
      const holder = await this.findStoredById(organizationId, owner);
      return !holder || userNameKey(holder.userName) !== userNameKey(userName);
    };
  }

  private async releaseUserName(organizationId: string, userName: string, id: string): Promise<void> {
    await this.keys.release(this.userNameKey(organizationId, userName), id);
  }

  /**
   * Stores a new user, carrying the event of its creation: the userName claim, the user document
   * and the externalId key are written at once rather than one after another (three round trips
   * become one). If any of them fails, the others are undone; a crash in between leaves at most a
   * stale claim or key, which lookups ignore and the next claimant takes over.
   */
  async insert(user: User, change: AuditEvent): Promise<void> {
    const event = auditDocument(change);
    const conflict = `A user with userName "${user.userName}" already exists`;
    const userNameClaim = { key: this.userNameKey(user.organizationId, user.userName), owner: user.id, conflictMessage: conflict, isStale: this.userNameIsStale(user.organizationId, user.userName) };
    const externalIdKey = user.externalId !== undefined ? this.externalIdKey(user.organizationId, user.externalId) : undefined;
    const [keys, document] = await Promise.allSettled([
      externalIdKey
        ? this.keys.claimAndIndex(userNameClaim, { key: externalIdKey, owner: user.id })
        : this.keys.claim(userNameClaim.key, user.id, userNameClaim.isStale, conflict),
      guarded(() => this.collection.insertOne({ ...toDocument(user), outbox: [event] } as never), conflict),
    ]);
    if (keys.status === "fulfilled" && document.status === "fulfilled") {
      this.resident?.put(toDocument(user));
      return this.outbox.deliver(this.collection, user.id, [event]);
    }
    // Whatever happened, the resident copy re-reads this user before its next answer.
    this.resident?.markStale([user.id]);
    // An insert that failed because the database went away may still have been applied: the user
    // may exist. Its keys then stay (released, they would leave a user no lookup finds and no
    // retry can create); if it does not exist they are stale, and the next claimant takes them
    // over. Outbox recovery moves the event of an applied insert into the trail.
    const documentUncertain = document.status === "rejected" && document.reason instanceof UnavailableError;
    if (keys.status === "fulfilled" && documentUncertain) throw document.reason;
    await Promise.allSettled([
      this.releaseUserName(user.organizationId, user.userName, user.id),
      document.status === "fulfilled" || documentUncertain ? guarded(() => this.models.User.deleteOne({ _id: user.id })) : undefined,
      externalIdKey ? this.keys.removeFromIndex(externalIdKey, user.id) : undefined,
    ]);
    throw keys.status === "rejected" ? keys.reason : (document as PromiseRejectedResult).reason;
  }

  /**
   * Writes one part of a user's stored state together with the events that record it (its own, and the summary of what it ends), and keeps
   * the keys in step — if, and only if, the stored user is still the version `before` was read at
   * (compare-and-set, see Outbox.updateIf). Answers false, with nothing written, when another write
   * came in between: the caller reads again and recomputes, or answers 412 (RFC 7644 §3.14).
   *
   * `part` says which part: "profile" is what the identity provider owns (a PUT, the result of a
   * PATCH, a link); the others are Gatehouse's local overlays, each written alone. Group
   * memberships, the session epoch and the sign-in record have their own targeted updates and are
   * never part of it.
   *
   * A rename keeps the userName key and the stored userName in agreement whatever the interleaving:
   * the new key is claimed before the user changes and the old one released only after, all inside
   * one in-process queue per user (so this process never runs two renames of one user at once);
   * the version check stops a write computed from an older read from restoring an old userName;
   * a failed write gives back the new key unless the user holds that name after all. What a crash
   * or another instance may still leave behind, `repairUserNameKeys` puts right.
   */
  async replace(before: User, after: User, events: readonly AuditEvent[], options: { part?: UserPart; endSessions?: boolean } = {}): Promise<boolean> {
    if (userNameKey(before.userName) === userNameKey(after.userName)) return this.write(before, after, events, options);
    return this.renames.document("users", after.id, async () => {
      await this.claimUserName(after.organizationId, after.userName, after.id);
      let written = false;
      try {
        written = await this.write(before, after, events, options);
      } finally {
        if (written) await this.releaseUserName(before.organizationId, before.userName, before.id);
        else await this.giveBackUnlessHeld(after).catch(() => undefined);
      }
      return written;
    });
  }

  /** After a rename that was not written: the new key goes back, unless the stored user has that name. */
  private async giveBackUnlessHeld(after: User): Promise<void> {
    const stored = await this.findStoredById(after.organizationId, after.id);
    if (!stored || userNameKey(stored.userName) !== userNameKey(after.userName)) await this.releaseUserName(after.organizationId, after.userName, after.id);
  }

  private async write(before: User, after: User, events: readonly AuditEvent[], options: { part?: UserPart; endSessions?: boolean }): Promise<boolean> {
    const { _id, groups: _groups, ...all } = toDocument(after);
    const part = options.part ?? "profile";
    const owned = fieldsOfPart(part);
    const fields = Object.fromEntries(Object.entries(all).filter(([field]) => owned.includes(field) || field === "lastModified" || field === "version"));
    const absent = owned.filter((field) => fields[field] === undefined && !requiredFields.has(field));
    const written = await this.outbox.updateIf(
      this.collection,
      _id,
      before.version,
      {
        $set: fields,
        ...(absent.length ? { $unset: Object.fromEntries(absent.map((field) => [field, ""])) } : {}),
        ...(options.endSessions ? { $inc: { sessionEpoch: 1 } } : {}),
      },
      events,
      `A user with userName "${after.userName}" already exists`,
      this.resident,
    );
    if (written && before.externalId !== after.externalId) {
      if (after.externalId !== undefined) await this.keys.addToIndex(this.externalIdKey(after.organizationId, after.externalId), after.id);
      if (before.externalId !== undefined) await this.keys.removeFromIndex(this.externalIdKey(before.organizationId, before.externalId), before.id);
    }
    return written;
  }

  /**
   * Puts the userName keys of an organization (or of all) back in agreement with the stored users:
   * a user whose key is missing or names someone else gets it; a key whose owner is gone or has
   * another userName is removed. Each user is checked inside its rename queue, so a rename under way
   * in this process is never "repaired" half-done. Safe to run at any time and repeatedly; answers
   * what it changed. A scan of users and keys: run at start-up and by operators, not per request.
   */
  /**
   * Users stored before member search kept `searchTerms` are not found by the word-prefix search
   * (MongoDB's path) until next written: this gives them their terms. One query of the
   * organization's users without terms ({organizationId, searchTerms} index: they are its null
   * entries), then one conditional `_id` update each, in the user's place in the write queue — a
   * profile write in between stored its own terms, and this one then changes nothing. The
   * resident directory searches its documents' values directly and needs none. Answers how many
   * users got terms.
   */
  async backfillSearchTerms(organizationId: string): Promise<number> {
    if (this.resident) return 0;
    const missing = await guarded(() =>
      this.models.User.find({ organizationId, searchTerms: { $exists: false } })
        .select({ _id: 1, userName: 1, name: 1, displayName: 1, emails: 1 })
        .lean<Pick<UserDocument, "_id" | "userName" | "name" | "displayName" | "emails">[]>(),
    );
    let filled = 0;
    for (const doc of missing) {
      const searchTerms = searchTermsOf(doc);
      const { modifiedCount } = await this.writes.document(this.collection.collectionName, doc._id, () =>
        guarded(() => this.collection.updateOne({ _id: doc._id, searchTerms: { $exists: false } } as never, { $set: { searchTerms } })),
      );
      filled += modifiedCount;
    }
    return filled;
  }

  async repairUserNameKeys(organizationId?: string): Promise<{ restored: string[]; removed: string[] }> {
    const restored: string[] = [];
    const removed: string[] = [];
    // Two scans compared as they stream: every user's key as it should be, then the keys as they
    // are, each read in batches. Only a disagreement costs reads, re-checked under the user's lock.
    // (Holding both scans whole — 100,000 users and their keys — took ~60 MB at start-up.)
    const expected = new Map<string, string>();
    const toRestore: { key: string; id: string }[] = [];
    const toRelease: { key: string; owner: string }[] = [];
    await guarded(async () => {
      const users = this.models.User.find({ ...(organizationId ? { organizationId } : {}), deletedAt: { $exists: false } })
        .select({ _id: 1, organizationId: 1, userName: 1 })
        .lean<Pick<UserDocument, "_id" | "organizationId" | "userName">>()
        .cursor({ batchSize: 1000 });
      for await (const { _id: id, organizationId: org, userName } of users) {
        const key = this.userNameKey(org, userName);
        // Two users under one key (a race the claim should have stopped): the second is looked at under its lock.
        if (expected.has(key)) toRestore.push({ key, id });
        else expected.set(key, id);
      }
    });
    const prefix = organizationId ? `${organizationId}/${userNameKeyKind}/` : undefined;
    await this.keys.eachOfKind(userNameKeyKind, prefix, (key, owners) => {
      const id = expected.get(key);
      expected.delete(key);
      if (id !== undefined && owners.length === 1 && owners[0] === id) return;
      // Held by someone else too (or instead): the user whose name it is gets it back, the others let go.
      if (id !== undefined) toRestore.push({ key, id });
      for (const owner of owners) if (owner !== id) toRelease.push({ key, owner });
    });
    // A user whose key was not among the stored keys at all.
    for (const [key, id] of expected) toRestore.push({ key, id });
    expected.clear();

    const organizationOf = (key: string) => key.slice(0, key.indexOf(`/${userNameKeyKind}/`));
    for (const { key: expectedKey, id } of toRestore) {
      const org = organizationOf(expectedKey);
      await this.renames.document("users", id, async () => {
        const user = await this.findById(org, id);
        if (!user) return;
        const key = this.userNameKey(org, user.userName);
        const current = await this.keys.owners(key);
        if (current.length === 1 && current[0] === id) return;
        await this.keys.assign(key, id);
        restored.push(key);
      });
    }
    for (const { key, owner } of toRelease) {
      await this.renames.document("users", owner, async () => {
        const organization = organizationOf(key);
        const holder = await this.findById(organization, owner);
        if (holder && this.userNameKey(organization, holder.userName) === key) return;
        await this.keys.release(key, owner);
        removed.push(key);
      });
    }
    return { restored, removed };
  }

  /** Ends every session of the user: the epoch only ever goes up ($inc, never a snapshot). */
  async endSessions(id: string, event: AuditEvent): Promise<void> {
    await this.outbox.update(this.collection, id, { $inc: { sessionEpoch: 1 } }, [event], undefined, this.resident);
  }

  /**
   * Changes the offboarding hold's marker alone (completed, a conflict flagged): a targeted write
   * that leaves the version and the suspension as they are, with its event.
   */
  async markOffboardingHold(id: string, hold: OffboardingHold, event?: AuditEvent): Promise<void> {
    await this.outbox.update(this.collection, id, { $set: { offboarding: plainData(hold) } }, event ? [event] : [], undefined, this.resident);
  }

  /** A sign-in's record: its time and, with SAML group sync, the asserted groups. */
  async recordSignIn(id: string, at: Date, samlGroups: readonly string[] | undefined, event: AuditEvent): Promise<void> {
    await this.outbox.update(this.collection, id, { $set: { lastLogin: at, ...(samlGroups ? { samlGroups: [...samlGroups] } : {}) } }, [event], undefined, this.resident);
  }

  /**
   * Deletes a user: a tombstone carrying the event first (the user is gone for every reader from
   * that write on), then the keys, then the document. `recoverOutbox` finishes a deletion a crash
   * interrupted. With `onlyVersion` (If-Match) the user is deleted only while still at that
   * version; false when it is not.
   */
  async delete(user: User, at: Date, event: AuditEvent, options: { onlyVersion?: number } = {}): Promise<boolean> {
    if (!(await this.outbox.tombstone(this.collection, user.id, at, [event], { userNameLower: `\u0000deleted/${user.id}` }, options.onlyVersion, this.resident))) return false;
    await this.finishDeletion(user);
    return true;
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
    if (this.resident) {
      await this.resident.ready();
      return this.resident.all(organizationId).filter((doc) => doc.active === true).length;
    }
    return guarded(() => this.models.User.countDocuments({ organizationId, active: true, deletedAt: { $exists: false } }));
  }

  /** Makes the user a direct member of a group: one idempotent write to one document, by _id. */
  async addToGroup(userId: string, groupId: string): Promise<void> {
    await this.membershipWrite(userId, { $addToSet: { groups: groupId } });
  }

  async removeFromGroup(userId: string, groupId: string): Promise<void> {
    await this.membershipWrite(userId, { $pull: { groups: groupId } });
  }

  /** One membership write by _id, applied to the resident copy inside the write queue. */
  private async membershipWrite(userId: string, update: { $addToSet: { groups: string } } | { $pull: { groups: string } }): Promise<void> {
    const resident = this.resident;
    await guarded(() =>
      this.writes.document("users", userId, () =>
        resident
          ? resident.written([userId], () => this.models.User.updateOne({ _id: userId }, update), (result) => {
              if (result.matchedCount) resident.applied(userId, update);
            })
          : this.models.User.updateOne({ _id: userId }, update),
      ),
    );
  }

  /** Direct members of a group, for presenting it (an index on MongoDB; a scan on FerretDB). */
  async membersOf(organizationId: string, groupId: string): Promise<Pick<User, "id" | "userName" | "displayName">[]> {
    if (this.resident) {
      await this.resident.ready();
      const resident = this.resident;
      return resident
        .memberIds(organizationId, groupId)
        .map((id) => resident.get(id)!)
        .map((d) => ({ id: d._id, userName: d.userName, ...(typeof d.displayName === "string" ? { displayName: d.displayName } : {}) }));
    }
    const docs = await guarded(() =>
      this.models.User.find({ organizationId, groups: groupId, deletedAt: { $exists: false } }).select({ _id: 1, userName: 1, displayName: 1 }).sort({ _id: 1 }).lean<UserDocument[]>(),
    );
    return docs.map((d) => ({ id: d._id, userName: d.userName, ...(typeof d.displayName === "string" ? { displayName: d.displayName } : {}) }));
  }

  /** How many direct members a group has: from memory in resident mode, else a count the {organizationId, groups, _id} index serves on MongoDB. */
  async memberCount(organizationId: string, groupId: string): Promise<number> {
    if (this.resident) {
      await this.resident.ready();
      return this.resident.memberIds(organizationId, groupId).length;
    }
    return guarded(() => this.collection.countDocuments({ organizationId, groups: groupId, deletedAt: { $exists: false } } as never));
  }

  /**
   * A page of a group's direct members in id order, after the member `after` (keyset: a group of
   * 500,000 is never read whole): from memory in resident mode, else the {organizationId, groups, _id}
   * index on MongoDB. `more` tells whether another page follows.
   */
  async memberPageOf(organizationId: string, groupId: string, page: { after?: string; count: number }): Promise<{ members: Pick<User, "id" | "userName" | "displayName">[]; more: boolean }> {
    const present = (d: Pick<UserDocument, "_id" | "userName" | "displayName">) => ({ id: d._id, userName: d.userName, ...(typeof d.displayName === "string" ? { displayName: d.displayName } : {}) });
    if (this.resident) {
      await this.resident.ready();
      const resident = this.resident;
      const ids = resident.memberIds(organizationId, groupId).filter((id) => page.after === undefined || id > page.after);
      return { members: ids.slice(0, page.count).map((id) => present(resident.get(id)!)), more: ids.length > page.count };
    }
    const docs = await guarded(() =>
      this.models.User.find({ organizationId, groups: groupId, deletedAt: { $exists: false }, ...(page.after !== undefined ? { _id: { $gt: page.after } } : {}) })
        .select({ _id: 1, userName: 1, displayName: 1 })
        .sort({ _id: 1 })
        .limit(page.count + 1)
        .lean<UserDocument[]>(),
    );
    return { members: docs.slice(0, page.count).map(present), more: docs.length > page.count };
  }

  /**
   * Direct members of a group, whole, for working out their access (services/access-changes.ts):
   * from memory in resident mode, else one query (the {organizationId, groups} index on MongoDB;
   * a scan on FerretDB) read in the driver's batches — never one round trip per member.
   */
  async membersWithGroup(organizationId: string, groupId: string): Promise<User[]> {
    if (this.resident) {
      await this.resident.ready();
      const resident = this.resident;
      return resident.memberIds(organizationId, groupId).map((id) => toUser(resident.get(id)!));
    }
    const docs = await guarded(() => this.collection.find({ organizationId, groups: groupId, deletedAt: { $exists: false } } as never).toArray());
    return (docs as unknown as UserDocument[]).map(toUser);
  }

  /**
   * Every member of the organization, whole: for changes that concern everyone (the default role,
   * an app-role mapping). From memory in resident mode, else one query read in batches.
   */
  async everyMember(organizationId: string): Promise<User[]> {
    if (this.resident) {
      await this.resident.ready();
      return this.resident.all(organizationId).filter((doc) => !doc.deletedAt).map(toUser);
    }
    const docs = await guarded(() => this.collection.find({ organizationId, deletedAt: { $exists: false } } as never).toArray());
    return (docs as unknown as UserDocument[]).map(toUser);
  }

  /**
   * Ids of the organization's groups that have at least one member (`members pr` on Groups):
   * one `distinct` over the members' `groups` (the {organizationId, groups} index on MongoDB).
   */
  async groupsWithMembers(organizationId: string): Promise<string[]> {
    if (this.resident) {
      await this.resident.ready();
      return this.resident.groupsWithMembers(organizationId);
    }
    const ids = await guarded(() => this.collection.distinct("groups", { organizationId, deletedAt: { $exists: false } } as never));
    return (ids as unknown[]).filter((id): id is string => typeof id === "string");
  }

  /** Users with temporary grants whose end is not yet in the audit trail (a small set; indexed on MongoDB). */
  async withEndedGrants(now: Date): Promise<User[]> {
    if (this.resident) {
      await this.resident.ready();
      const ended: User[] = [];
      for (const organizationId of this.resident.organizationIds()) {
        for (const doc of this.resident.all(organizationId)) {
          if (doc.temporaryGrants?.some((g) => new Date(g.until) <= now && !g.endRecorded)) ended.push(toUser(doc));
          if (ended.length === 500) return ended;
        }
      }
      return ended;
    }
    const docs = await guarded(() =>
      this.models.User.find({ "temporaryGrants.until": { $lte: now } }).limit(500).lean<UserDocument[]>(),
    );
    // (FerretDB cannot match several conditions on one array element: filter the rest here.)
    return docs.map(toUser).filter((u) => u.temporaryGrants?.some((g) => g.until <= now && !g.endRecorded));
  }

  /** Clears a deleted group from every former member; safe to repeat. */
  async clearGroup(organizationId: string, groupId: string): Promise<void> {
    const resident = this.resident;
    const update = { $pull: { groups: groupId } };
    await guarded(() =>
      this.writes.exclusive("users", async () => {
        const members = resident ? resident.memberIds(organizationId, groupId) : [];
        return resident
          ? resident.written(members, () => this.models.User.updateMany({ organizationId, groups: groupId }, update), () => {
              for (const id of members) resident.applied(id, update);
            })
          : this.models.User.updateMany({ organizationId, groups: groupId }, update);
      }),
    );
  }

  /**
   * A page of the organization's members for the admin API, ordered by userName (case-insensitive,
   * unique in an organization), optionally narrowed by `search`: every word of it must occur in the
   * userName, a name, the displayName or an email. Either from a position (`startIndex`, 1-based)
   * or after the member whose lower-cased userName is `after` (keyset paging: a page stays right
   * while members come and go). Answers the page, the total that match, the 1-based position of
   * the page's first member, and whether more follow.
   *
   * Resident mode matches substrings in memory. On MongoDB each word must begin one of the stored
   * `searchTerms` (an anchored regular expression, served by the {organizationId, searchTerms}
   * index), and the order and the keyset are the {organizationId, userNameLower} index.
   */
  async memberPage(organizationId: string, options: { search?: string; status?: MemberStatus; after?: string; startIndex: number; count: number }): Promise<MemberPage> {
    const words = (options.search ?? "").toLowerCase().split(/\s+/).filter(Boolean);
    const status = options.status;
    if (this.resident) {
      await this.resident.ready();
      const resident = this.resident;
      const ordered = resident.ordered(organizationId, "userNameLower", false);
      const ids =
        words.length || status
          ? ordered.filter((id) => (!status || memberStatusOf(resident.get(id)!) === status) && (!words.length || resident.containsEvery(id, words)))
          : ordered;
      let first = options.startIndex - 1;
      if (options.after !== undefined) {
        const after = options.after;
        let [low, high] = [0, ids.length];
        while (low < high) {
          const middle = (low + high) >>> 1;
          if (resident.get(ids[middle]!)!.userNameLower <= after) low = middle + 1;
          else high = middle;
        }
        first = low;
      }
      const page = ids.slice(first, first + options.count).map((id) => toUser(resident.get(id)!));
      return { total: ids.length, users: page, startIndex: first + 1, more: first + options.count < ids.length };
    }
    // Each word of the search split as the stored values were (`example.com` → example, com).
    const prefixes = words.flatMap((word) => word.split(wordSeparators)).filter(Boolean);
    const filter: Record<string, unknown> = {
      organizationId,
      deletedAt: { $exists: false },
      ...(status ? statusFilter[status] : {}),
      ...(prefixes.length ? { $and: prefixes.map((prefix) => ({ searchTerms: { $regex: `^${escapeRegex(prefix)}` } })) } : {}),
    };
    const [total, before] = await Promise.all([
      guarded(() => this.collection.countDocuments(filter as never)),
      options.after !== undefined ? guarded(() => this.collection.countDocuments({ ...filter, userNameLower: { $lte: options.after } } as never)) : Promise.resolve(options.startIndex - 1),
    ]);
    const docs = await guarded(() =>
      this.collection
        .find((options.after !== undefined ? { ...filter, userNameLower: { $gt: options.after } } : filter) as never)
        .sort({ userNameLower: 1 })
        .skip(options.after !== undefined ? 0 : options.startIndex - 1)
        .limit(options.count + 1)
        .toArray(),
    );
    const users = (docs as unknown as UserDocument[]).slice(0, options.count).map(toUser);
    return { total, users, startIndex: before + 1, more: docs.length > options.count };
  }

  /**
   * A filtered, sorted page. `id`, `userName` and `externalId` equality (what identity providers
   * send) are answered through `_id` reads; other filters are MongoDB queries, served by indexes
   * on MongoDB (FerretDB evaluates them by scanning).
   */
  async list(organizationId: string, listing: UserListing): Promise<UserPage> {
    const { total, items } = await this.page(organizationId, listing);
    return { total, users: items };
  }
}

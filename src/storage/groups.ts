import type { AuditEvent } from "../domain/audit";
import type { DirectoryListing } from "../domain/criteria";
import { displayNameKey, type Group } from "../domain/group";
import type { FieldMapping } from "./criteria-query";
import { DirectoryStore } from "./directory-store";
import { guarded } from "./database-errors";
import { readById } from "./read-by-id";
import { WriteQueue, writeQueueOf } from "./write-queue";
import { LookupKeys } from "./lookup-keys";
import type { GroupDocument, GroupSweepDocument, Models } from "./models";
import type { Outbox } from "./outbox";
import { type ChangeJournal, noOtherWriters } from "./change-journal";
import { ResidentDirectory } from "./resident-directory";

/** How a listing of groups is filtered, ordered and cut (the same as for users). */
export type GroupListing = DirectoryListing;

const fieldMapping: Record<string, FieldMapping> = {
  id: { field: "_id" },
  displayName: { lowerCaseField: "displayNameLower" },
};

export const displayNameKeyKind = "group.displayName";
export const groupExternalIdKeyKind = "group.externalId";

function toGroup(doc: GroupDocument): Group {
  return {
    id: doc._id,
    organizationId: doc.organizationId,
    displayName: doc.displayName,
    ...(doc.externalId !== undefined && doc.externalId !== null ? { externalId: doc.externalId } : {}),
    created: doc.created,
    lastModified: doc.lastModified,
    version: doc.version,
  };
}

function toDocument(group: Group): GroupDocument {
  return {
    _id: group.id,
    organizationId: group.organizationId,
    displayName: group.displayName,
    displayNameLower: displayNameKey(group.displayName),
    ...(group.externalId !== undefined ? { externalId: group.externalId } : {}),
    created: group.created,
    lastModified: group.lastModified,
    version: group.version,
  };
}

/**
 * Groups in MongoDB. Like users, reads and writes by id and the lookups identity providers send
 * (`displayName eq`, `externalId eq`) are `_id` operations; memberships live on the members
 * (UserStore), so nothing here grows with a group's size.
 */
export class GroupStore extends DirectoryStore<Group, GroupDocument> {
  private readonly keys: LookupKeys;
  protected readonly namePath = "displayName";

  constructor(
    private readonly models: Models,
    private readonly outbox: Outbox,
    /** Resident mode (storage/resident-directory.ts): the embedded database's one server process. */
    options: { resident?: boolean; journal?: ChangeJournal } = {},
  ) {
    super(
      models.Group,
      fieldMapping,
      toGroup,
      options.resident
        ? new ResidentDirectory<GroupDocument>(
            models.Group.collection,
            { collectionName: models.Group.collection.collectionName, nameLowerOf: (doc) => doc.displayNameLower, externalIdOf: (doc) => doc.externalId ?? undefined },
            options.journal ?? noOtherWriters,
          )
        : undefined,
    );
    this.keys = new LookupKeys(models);
  }

  /** One rename of a group at a time in this process (see `update`). */
  private readonly renames = new WriteQueue(true);

  private displayNameKey(organizationId: string, displayName: string): string {
    return LookupKeys.key(organizationId, displayNameKeyKind, displayNameKey(displayName));
  }

  private externalIdKey(organizationId: string, externalId: string): string {
    return LookupKeys.key(organizationId, groupExternalIdKeyKind, externalId);
  }

  findByName(organizationId: string, displayName: string): Promise<Group | undefined> {
    return this.findByDisplayName(organizationId, displayName);
  }

  /** The groups of these ids that still exist, in their order (one read by _id each, shared through `cache`). */
  async findEachById(organizationId: string, ids: readonly string[], cache = new Map<string, Promise<Group | undefined>>()): Promise<Group[]> {
    const groups = await Promise.all(
      ids.map((id) => {
        if (!cache.has(id)) cache.set(id, this.findById(organizationId, id));
        return cache.get(id)!;
      }),
    );
    return groups.filter((g): g is Group => g !== undefined);
  }

  async findByDisplayName(organizationId: string, displayName: string): Promise<Group | undefined> {
    if (this.resident) {
      await this.resident.ready();
      const doc = this.resident.byName(organizationId, displayNameKey(displayName));
      return doc ? toGroup(doc) : undefined;
    }
    const [owner] = await this.keys.owners(this.displayNameKey(organizationId, displayName));
    if (!owner) return undefined;
    const group = await this.findById(organizationId, owner);
    return group && displayNameKey(group.displayName) === displayNameKey(displayName) ? group : undefined;
  }

  async findByExternalId(organizationId: string, externalId: string): Promise<Group[]> {
    if (this.resident) {
      await this.resident.ready();
      return this.resident.byExternalId(organizationId, externalId).map(toGroup);
    }
    const owners = await this.keys.owners(this.externalIdKey(organizationId, externalId));
    const groups = await Promise.all(owners.map((id) => this.findById(organizationId, id)));
    return groups.filter((g): g is Group => g !== undefined && g.externalId === externalId);
  }

  private async claimDisplayName(organizationId: string, displayName: string, id: string): Promise<void> {
    await this.keys.claim(
      this.displayNameKey(organizationId, displayName),
      id,
      async (owner) => {
        const holder = await this.findStoredById(organizationId, owner);
        return !holder || displayNameKey(holder.displayName) !== displayNameKey(displayName);
      },
      `A group with displayName "${displayName}" already exists`,
    );
  }

  private async releaseDisplayName(organizationId: string, displayName: string, id: string): Promise<void> {
    await this.keys.release(this.displayNameKey(organizationId, displayName), id);
  }

  /**
   * Stores a new group carrying the event of its creation. The displayName is claimed first
   * (ConflictError when a live group of the organization holds it, RFC 7644 §3.3 uniqueness) and
   * given back if the group's write fails; the uniqueness protocol stays inside this store.
   */
  async insert(group: Group, event: AuditEvent): Promise<void> {
    await this.claimDisplayName(group.organizationId, group.displayName, group.id);
    try {
      await this.outbox.insert(this.collection, toDocument(group), [event], `A group with displayName "${group.displayName}" already exists`, this.resident);
    } catch (error) {
      await this.releaseDisplayName(group.organizationId, group.displayName, group.id).catch(() => undefined);
      throw error;
    }
    if (group.externalId !== undefined) await this.keys.addToIndex(this.externalIdKey(group.organizationId, group.externalId), group.id);
  }

  /**
   * Writes a group's own attributes, version and lastModified together with the events of the
   * change (its attributes and, when members change too, that), and keeps its keys in step — only
   * while the stored group is still the version `before` was read at (compare-and-set, see
   * Outbox.updateIf); false, with nothing written, when another write came in between. A rename
   * claims the new displayName key before the write and releases the old one only after it, one
   * rename of a group at a time in this process (as UserStore.replace does for userNames).
   */
  async update(before: Group, after: Group, events: AuditEvent[]): Promise<boolean> {
    if (displayNameKey(before.displayName) === displayNameKey(after.displayName)) return this.write(before, after, events);
    return this.renames.document("groups", after.id, async () => {
      await this.claimDisplayName(after.organizationId, after.displayName, after.id);
      let written = false;
      try {
        written = await this.write(before, after, events);
      } finally {
        if (written) await this.releaseDisplayName(before.organizationId, before.displayName, before.id);
        else {
          const stored = await this.findStoredById(after.organizationId, after.id).catch(() => undefined);
          if (!stored || displayNameKey(stored.displayName) !== displayNameKey(after.displayName)) {
            await this.releaseDisplayName(after.organizationId, after.displayName, after.id).catch(() => undefined);
          }
        }
      }
      return written;
    });
  }

  private async write(before: Group, after: Group, events: AuditEvent[]): Promise<boolean> {
    const { _id, ...fields } = toDocument(after);
    const written = await this.outbox.updateIf(
      this.collection,
      _id,
      before.version,
      { $set: fields, ...(after.externalId === undefined ? { $unset: { externalId: "" } } : {}) },
      events,
      `A group with displayName "${after.displayName}" already exists`,
      this.resident,
    );
    if (written && before.externalId !== after.externalId) {
      if (after.externalId !== undefined) await this.keys.addToIndex(this.externalIdKey(after.organizationId, after.externalId), after.id);
      if (before.externalId !== undefined) await this.keys.removeFromIndex(this.externalIdKey(before.organizationId, before.externalId), before.id);
    }
    return written;
  }

  /**
   * Marks a membership change on the group itself (meta.version and lastModified) together with
   * its event. This write comes before the members' own writes: if the process dies between them,
   * the event tells of a change the identity provider's retry completes. Without `expectedVersion`
   * the version is `$inc`ed — every concurrent change gets a version of its own, answered from the
   * write itself; with it (If-Match) the write is made only on that version, else undefined.
   */
  async touch(id: string, at: Date, event: AuditEvent, expectedVersion?: number): Promise<Group | undefined> {
    if (expectedVersion !== undefined) {
      const written = await this.outbox.updateIf(this.collection, id, expectedVersion, { $set: { version: expectedVersion + 1, lastModified: at } }, [event], undefined, this.resident);
      if (!written) return undefined;
      const doc = this.resident ? this.resident.get(id) : await guarded(() => readById<GroupDocument>(this.models.Group, id));
      return doc ? { ...toGroup(doc), version: expectedVersion + 1, lastModified: at } : undefined;
    }
    const doc = await this.outbox.updateAndRead<GroupDocument>(this.collection, id, { $inc: { version: 1 }, $set: { lastModified: at } }, [event], this.resident);
    return doc && !doc.deletedAt ? toGroup(doc) : undefined;
  }

  /**
   * Deletes a group at once: a tombstone carrying the event (the group is gone for every reader
   * from that write on), the membership sweep, the keys, then the document. The sweep is recorded
   * before the document goes, so a crash leaves work to finish, never a group that silently keeps
   * members; `recoverOutbox` finishes a deletion a crash interrupted. With `onlyVersion` (If-Match)
   * the group is deleted only while still at that version; false when it is not.
   */
  async delete(group: Group, at: Date, event: AuditEvent, options: { onlyVersion?: number } = {}): Promise<boolean> {
    if (!(await this.outbox.tombstone(this.collection, group.id, at, [event], { displayNameLower: `\u0000deleted/${group.id}` }, options.onlyVersion, this.resident))) return false;
    await this.finishDeletion(group, at);
    return true;
  }

  private async finishDeletion(group: Pick<Group, "id" | "organizationId" | "displayName" | "externalId">, at: Date): Promise<void> {
    await guarded(() =>
      writeQueueOf(this.models).document("group_sweeps", group.id, () =>
        this.models.GroupSweep.updateOne({ _id: group.id }, { $setOnInsert: { organizationId: group.organizationId, requested: at } }, { upsert: true }),
      ),
    );
    await this.releaseDisplayName(group.organizationId, group.displayName, group.id);
    if (group.externalId !== undefined) await this.keys.removeFromIndex(this.externalIdKey(group.organizationId, group.externalId), group.id);
    await guarded(() => this.collection.deleteOne({ _id: group.id } as never));
  }

  /** Moves audit events a crash left on groups into the trail and finishes interrupted deletions. */
  recoverOutbox(): Promise<number> {
    return this.outbox.recover<GroupDocument>(this.collection, (doc) => this.finishDeletion(toGroup(doc), doc.deletedAt ?? new Date()));
  }

  async pendingSweeps(): Promise<GroupSweepDocument[]> {
    return guarded(() => this.models.GroupSweep.find().sort({ requested: 1 }).limit(100).lean<GroupSweepDocument[]>());
  }

  async finishSweep(groupId: string): Promise<void> {
    await guarded(() => this.models.GroupSweep.deleteOne({ _id: groupId }));
  }

  async list(organizationId: string, listing: GroupListing): Promise<{ total: number; groups: Group[] }> {
    const { total, items } = await this.page(organizationId, listing);
    return { total, groups: items };
  }
}

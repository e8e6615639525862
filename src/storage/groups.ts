import type { Criteria } from "../domain/criteria";
import { displayNameKey, type Group } from "../domain/group";
import { criteriaToMongoQuery, type FieldMapping } from "./criteria-query";
import { guarded } from "./database-errors";
import { readById } from "./read-by-id";
import { LookupKeys } from "./lookup-keys";
import type { GroupDocument, GroupSweepDocument, Models } from "./models";

export interface GroupListing {
  criteria?: Criteria;
  sortBy?: string;
  descending?: boolean;
  startIndex: number;
  count: number;
}

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
export class GroupStore {
  private readonly keys: LookupKeys;

  constructor(private readonly models: Models) {
    this.keys = new LookupKeys(models);
  }

  private displayNameKey(organizationId: string, displayName: string): string {
    return LookupKeys.key(organizationId, displayNameKeyKind, displayNameKey(displayName));
  }

  private externalIdKey(organizationId: string, externalId: string): string {
    return LookupKeys.key(organizationId, groupExternalIdKeyKind, externalId);
  }

  async findById(organizationId: string, id: string): Promise<Group | undefined> {
    const doc = await guarded(() => readById<GroupDocument>(this.models.Group, id));
    return doc && doc.organizationId === organizationId ? toGroup(doc) : undefined;
  }

  async findByDisplayName(organizationId: string, displayName: string): Promise<Group | undefined> {
    const [owner] = await this.keys.owners(this.displayNameKey(organizationId, displayName));
    if (!owner) return undefined;
    const group = await this.findById(organizationId, owner);
    return group && displayNameKey(group.displayName) === displayNameKey(displayName) ? group : undefined;
  }

  async findByExternalId(organizationId: string, externalId: string): Promise<Group[]> {
    const owners = await this.keys.owners(this.externalIdKey(organizationId, externalId));
    const groups = await Promise.all(owners.map((id) => this.findById(organizationId, id)));
    return groups.filter((g): g is Group => g !== undefined && g.externalId === externalId);
  }

  async claimDisplayName(organizationId: string, displayName: string, id: string): Promise<void> {
    await this.keys.claim(
      this.displayNameKey(organizationId, displayName),
      id,
      async (owner) => {
        const holder = await this.findById(organizationId, owner);
        return !holder || displayNameKey(holder.displayName) !== displayNameKey(displayName);
      },
      `A group with displayName "${displayName}" already exists`,
    );
  }

  async releaseDisplayName(organizationId: string, displayName: string, id: string): Promise<void> {
    await this.keys.release(this.displayNameKey(organizationId, displayName), id);
  }

  async insert(group: Group): Promise<void> {
    await guarded(() => this.models.Group.collection.insertOne(toDocument(group) as never), `A group with displayName "${group.displayName}" already exists`);
    if (group.externalId !== undefined) await this.keys.addToIndex(this.externalIdKey(group.organizationId, group.externalId), group.id);
  }

  /** Writes a group's own attributes (not its members) and keeps its keys in step. */
  async update(before: Group, after: Group): Promise<void> {
    const { _id, ...fields } = toDocument(after);
    await guarded(
      () =>
        this.models.Group.collection.updateOne({ _id } as never, {
          $set: fields,
          ...(after.externalId === undefined ? { $unset: { externalId: "" } } : {}),
        }),
      `A group with displayName "${after.displayName}" already exists`,
    );
    if (before.externalId !== after.externalId) {
      if (after.externalId !== undefined) await this.keys.addToIndex(this.externalIdKey(after.organizationId, after.externalId), after.id);
      if (before.externalId !== undefined) await this.keys.removeFromIndex(this.externalIdKey(before.organizationId, before.externalId), before.id);
    }
  }

  /** Marks a membership change on the group itself (meta.version and lastModified). */
  async touch(id: string, at: Date): Promise<void> {
    await guarded(() => this.models.Group.updateOne({ _id: id }, { $inc: { version: 1 }, $set: { lastModified: at } }));
  }

  /**
   * Deletes a group at once; its memberships are cleared afterwards by a sweep (see GroupSweeps).
   * The sweep is recorded first, so a crash between the two writes leaves work to finish, never a
   * group that silently keeps members.
   */
  async delete(group: Group, at: Date): Promise<void> {
    await guarded(() =>
      this.models.GroupSweep.updateOne({ _id: group.id }, { $setOnInsert: { organizationId: group.organizationId, requested: at } }, { upsert: true }),
    );
    await guarded(() => this.models.Group.deleteOne({ _id: group.id }));
    await this.releaseDisplayName(group.organizationId, group.displayName, group.id);
    if (group.externalId !== undefined) await this.keys.removeFromIndex(this.externalIdKey(group.organizationId, group.externalId), group.id);
  }

  async pendingSweeps(): Promise<GroupSweepDocument[]> {
    return guarded(() => this.models.GroupSweep.find().sort({ requested: 1 }).limit(100).lean<GroupSweepDocument[]>());
  }

  async finishSweep(groupId: string): Promise<void> {
    await guarded(() => this.models.GroupSweep.deleteOne({ _id: groupId }));
  }

  async list(organizationId: string, listing: GroupListing): Promise<{ total: number; groups: Group[] }> {
    const direct = await this.directLookup(organizationId, listing.criteria);
    if (direct) {
      return { total: direct.length, groups: listing.count === 0 ? [] : direct.slice(listing.startIndex - 1, listing.startIndex - 1 + listing.count) };
    }
    const filter = { organizationId, ...(listing.criteria ? criteriaToMongoQuery(listing.criteria, fieldMapping) : {}) };
    const total = await guarded(() => this.models.Group.countDocuments(filter));
    if (listing.count === 0 || listing.startIndex > total) return { total, groups: [] };
    const direction = listing.descending ? -1 : 1;
    const mapping = listing.sortBy ? fieldMapping[listing.sortBy] : undefined;
    const sortField = listing.sortBy ? (mapping?.lowerCaseField ?? mapping?.field ?? listing.sortBy) : "created";
    const sort: Record<string, 1 | -1> = { [sortField]: direction };
    if (sortField !== "_id") sort._id = direction;
    const docs = await guarded(() => this.models.Group.find(filter).sort(sort).skip(listing.startIndex - 1).limit(listing.count).lean<GroupDocument[]>());
    return { total, groups: docs.map(toGroup) };
  }

  private async directLookup(organizationId: string, criteria: Criteria | undefined): Promise<Group[] | undefined> {
    if (!criteria || criteria.kind !== "compare" || criteria.op !== "eq" || typeof criteria.value !== "string") return undefined;
    switch (criteria.path) {
      case "id": {
        const group = await this.findById(organizationId, criteria.value);
        return group ? [group] : [];
      }
      case "displayName": {
        const group = await this.findByDisplayName(organizationId, criteria.value);
        return group ? [group] : [];
      }
      case "externalId":
        return this.findByExternalId(organizationId, criteria.value);
      default:
        return undefined;
    }
  }
}

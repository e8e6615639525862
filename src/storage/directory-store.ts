import type { Collection } from "mongoose";
import type { Criteria, DirectoryListing } from "../domain/criteria";
import { criteriaToMongoQuery, type FieldMapping } from "./criteria-query";
import { guarded } from "./database-errors";
import { readById } from "./read-by-id";
import type { ResidentDirectory } from "./resident-directory";
import { compareSortKeys, sortKey } from "./query-in-memory";

/** What users and groups have in common as stored: an id, an organization, a deletion under way. */
interface DirectoryDocument {
  _id: string;
  organizationId: string;
  created: Date;
  version: number;
  deletedAt?: Date;
}

/**
 * What UserStore and GroupStore share, written once so the two cannot drift apart again: the read
 * by id, the listing (RFC 7644 §3.4.2) with its direct lookups — `id eq`, the resource's unique
 * name `eq`, `externalId eq`, each served by `_id` operations and lookup keys rather than a query
 * — and one ordering for both ways of answering (a direct lookup honours `sortBy` as a query does).
 */
export abstract class DirectoryStore<R extends { id: string }, D extends DirectoryDocument> {
  protected constructor(
    private readonly model: { collection: Collection },
    /** Domain paths → stored fields, for filters and sorting. */
    private readonly fields: Record<string, FieldMapping>,
    private readonly toResource: (doc: D) => R,
    /**
     * In resident mode (the embedded database, one server process: storage/resident-directory.ts)
     * every live document is held in memory and reads, lookups and listings answer from there.
     */
    protected readonly resident?: ResidentDirectory<D>,
  ) {}

  /** Resident mode: reads the collection into memory; await before serving. Nothing otherwise. */
  async load(): Promise<void> {
    await this.resident?.load();
  }

  /** Whether this store answers from memory (resident mode). */
  get isResident(): boolean {
    return this.resident !== undefined;
  }

  /** The driver's collection, not the model: no casting of the criteria's values (see `page`). */
  protected get collection(): Collection {
    return this.model.collection;
  }

  /**
   * The resource with this id in this organization. The organization (and a deletion under way)
   * is checked here, not in the filter: only an exact {_id} filter is served by FerretDB's SQLite
   * backend without a scan.
   */
  async findById(organizationId: string, id: string): Promise<R | undefined> {
    const doc = this.resident ? await this.resident.ready().then(() => this.resident!.get(id)) : await guarded(() => readById<D>(this.model, id));
    return doc && doc.organizationId === organizationId && !doc.deletedAt ? this.toResource(doc) : undefined;
  }

  /**
   * The resource as stored, read from the database even in resident mode: what a uniqueness claim
   * judges a key's owner by. A create still in flight (its document written, memory not yet told)
   * must count as the owner, or a racing claimant would take its name.
   */
  protected async findStoredById(organizationId: string, id: string): Promise<R | undefined> {
    const doc = await guarded(() => readById<D>(this.model, id));
    return doc && doc.organizationId === organizationId && !doc.deletedAt ? this.toResource(doc) : undefined;
  }

  /** The resource whose unique name (userName, displayName) this is, case-insensitively. */
  abstract findByName(organizationId: string, name: string): Promise<R | undefined>;

  /** Every resource with this externalId (exact; RFC 7643 §3.1 caseExact). */
  abstract findByExternalId(organizationId: string, externalId: string): Promise<R[]>;

  /** The domain path of the unique name: `userName` or `displayName`. */
  protected abstract readonly namePath: string;

  /** One page of the organization's resources, with the total that match. */
  protected async page(organizationId: string, listing: DirectoryListing): Promise<{ total: number; items: R[] }> {
    if (this.resident) return this.residentPage(this.resident, organizationId, listing);
    const direct = await this.directLookup(organizationId, listing.criteria);
    if (direct) {
      const sorted = listing.sortBy ? sortInMemory(direct, listing.sortBy, listing.descending, this.fields[listing.sortBy]?.lowerCaseField !== undefined) : direct;
      return { total: sorted.length, items: listing.count === 0 ? [] : sorted.slice(listing.startIndex - 1, listing.startIndex - 1 + listing.count) };
    }
    const filter = { organizationId, deletedAt: { $exists: false }, ...(listing.criteria ? criteriaToMongoQuery(listing.criteria, this.fields) : {}) };
    // The driver's collection, not the model: mongoose would cast the criteria's values to the
    // schema's types (`externalId pr` compares with [] and {}, a CastError on a String path;
    // `active pr` would have "" cast to false). The criteria are well-typed already.
    const total = await guarded(() => this.collection.countDocuments(filter as never));
    if (listing.count === 0 || listing.startIndex > total) return { total, items: [] };
    const direction = listing.descending ? -1 : 1;
    const mapping = listing.sortBy ? this.fields[listing.sortBy] : undefined;
    const sortField = listing.sortBy ? (mapping?.lowerCaseField ?? mapping?.field ?? listing.sortBy) : "created";
    const sort: Record<string, 1 | -1> = { [sortField]: direction };
    if (sortField !== "_id") sort._id = direction;
    const docs = await guarded(() => this.collection.find(filter as never).sort(sort).skip(listing.startIndex - 1).limit(listing.count).toArray());
    return { total, items: (docs as unknown as D[]).map(this.toResource) };
  }

  /**
   * The page from memory: the same MongoDB query the database would run (criteriaToMongoQuery,
   * with its limits), evaluated on the resident documents as the database evaluates it, in the
   * same order (storage/query-in-memory.ts). `id eq`, `<name> eq` and `externalId eq` start from
   * the resident maps instead of the whole organization.
   */
  private async residentPage(resident: ResidentDirectory<D>, organizationId: string, listing: DirectoryListing): Promise<{ total: number; items: R[] }> {
    await resident.ready();
    const query = listing.criteria ? criteriaToMongoQuery(listing.criteria, this.fields) : undefined;
    const mapping = listing.sortBy ? this.fields[listing.sortBy] : undefined;
    const sortField = listing.sortBy ? (mapping?.lowerCaseField ?? mapping?.field ?? listing.sortBy) : "created";
    const candidates = this.residentCandidates(resident, organizationId, listing.criteria);
    const { total, items } = resident.page(organizationId, {
      ...(query ? { query } : {}),
      ...(candidates ? { candidates } : {}),
      sortField,
      descending: Boolean(listing.descending),
      startIndex: listing.startIndex,
      count: listing.count,
    });
    return { total, items: items.map(this.toResource) };
  }

  /** The few documents a direct lookup can match, from the resident maps; undefined for any other filter. */
  private residentCandidates(resident: ResidentDirectory<D>, organizationId: string, criteria: Criteria | undefined): D[] | undefined {
    if (!criteria || criteria.kind !== "compare" || criteria.op !== "eq" || typeof criteria.value !== "string") return undefined;
    const inOrganization = (doc: D | undefined) => (doc && doc.organizationId === organizationId ? [doc] : []);
    switch (criteria.path) {
      case "id":
        return inOrganization(resident.get(criteria.value));
      case this.namePath:
        return inOrganization(resident.byName(organizationId, criteria.value.toLowerCase()));
      case "externalId":
        return resident.byExternalId(organizationId, criteria.value);
      default:
        return undefined;
    }
  }

  /** `id eq`, `<name> eq` and `externalId eq` answered by reads by _id, not by a query. */
  private async directLookup(organizationId: string, criteria: Criteria | undefined): Promise<R[] | undefined> {
    if (!criteria || criteria.kind !== "compare" || criteria.op !== "eq" || typeof criteria.value !== "string") return undefined;
    switch (criteria.path) {
      case "id": {
        const found = await this.findById(organizationId, criteria.value);
        return found ? [found] : [];
      }
      case this.namePath: {
        const found = await this.findByName(organizationId, criteria.value);
        return found ? [found] : [];
      }
      case "externalId":
        return this.findByExternalId(organizationId, criteria.value);
      default:
        return undefined;
    }
  }
}

/**
 * A direct lookup's few results, ordered as the query would order them: by the stored field (the
 * lower-cased copy where there is one), missing values first ascending as the database sorts
 * (storage/query-in-memory.ts, sortKey), then by id in the same direction.
 */
function sortInMemory<R extends { id: string }>(items: R[], path: string, descending = false, lowerCase = false): R[] {
  const keyOf = (item: R) => {
    const key = sortKey(item as unknown as Record<string, unknown>, path, descending);
    return lowerCase && typeof key === "string" ? key.toLowerCase() : key;
  };
  const keys = new Map(items.map((item) => [item, keyOf(item)]));
  return [...items].sort((a, b) => {
    const order = compareSortKeys(keys.get(a), keys.get(b)) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
    return descending ? -order : order;
  });
}

import type { Collection, mongo } from "mongoose";
import { ConflictError } from "../errors";
import type { ChangedIds, ChangeJournal } from "./change-journal";
import { guarded } from "./database-errors";
import type { ResidentCopy } from "./outbox";
import { compareSortKeys, compileQuery, sortKey } from "./query-in-memory";
import type { MongoQuery } from "./criteria-query";

/** What users and groups have in common as stored (see DirectoryStore). */
export interface ResidentDocument {
  _id: string;
  organizationId: string;
  created: Date;
  version: number;
  deletedAt?: Date;
  outbox?: unknown;
}

/** How a collection's documents are looked up besides `_id`. */
export interface ResidentSpec<D> {
  /** The MongoDB collection name: what the change journal calls it. */
  collectionName: string;
  /** The lower-cased unique name (userNameLower, displayNameLower). */
  nameLowerOf(doc: D): string;
  externalIdOf(doc: D): string | undefined;
  /** Users only: the groups the user is a direct member of (memberships live on the member). */
  groupsOf?(doc: D): readonly string[];
  /** Users only: the lower-cased values member search looks in, computed once per write. */
  searchableValuesOf?(doc: D): string[];
  /**
   * Stored fields memory does without: users' `searchTerms` serve member search on MongoDB only
   * (here `searchableValuesOf` does), and are about a quarter of a resident user's memory.
   */
  notHeld?: readonly string[];
  /**
   * Fields, at any depth, whose values repeat across documents (users: managedBy, managedVia, the
   * `type` of emails, phone numbers and addresses): memory holds one string per distinct value.
   */
  sharedValues?: readonly string[];
}

/** One organization's documents, in the orders and maps the directory answers from. */
class OrganizationIndex {
  /** Ids in listing order: created, then _id (what a query without sortBy answers). */
  readonly listing: string[] = [];
  readonly byName = new Map<string, string>();
  /** One owner as its id, several (a conflict identity providers may create) as a set: most externalIds have one, and a Set per user costs memory at 100,000 users. */
  readonly byExternalId = new Map<string, string | Set<string>>();
  /** Group id → ids of its direct members (users only). */
  readonly members = new Map<string, Set<string>>();
  /** Sorted orders, built when first asked for and dropped at the organization's next change. */
  readonly sorted = new Map<string, string[]>();
}

/**
 * The resident directory: every live user (or group) of the embedded database, held in memory by
 * the one server process that owns that database, so that reads and listings need no query.
 *
 * Why: on FerretDB's SQLite backend only an exact `{_id}` filter reaches SQLite; every other
 * filter, sort, skip and count scans the collection in Go at ~0.3 ms per document
 * (../shared/MONGODB.md): a SCIM list page costs seconds at 20,000 users. The embedded database is
 * served by one server process by design (the write queue relies on it already), so that process
 * can hold the directory and answer from memory, with the database as the durable copy:
 *
 * - `load()` reads the collection once at start-up (one scan), before the server listens;
 * - every write the store makes is applied here after the database acknowledged it — inside the
 *   write queue where the write is queued (Outbox's ResidentCopy hook, the membership writes), so
 *   memory sees the writes of one document in the order the database applied them;
 * - a write whose outcome is unknown (the database unreachable or stalled: it may have been
 *   applied) marks its documents stale: the next read re-reads them by `_id` first, and fails with
 *   503 while that is impossible, rather than guess;
 * - other processes' writes (the CLI) reach memory through the change journal
 *   (storage/change-journal.ts): `ready()` catches up before every answer.
 *
 * MongoDB keeps its own path (queries served by indexes; several instances): resident mode is for
 * the embedded database only (composition's `residentDirectory`).
 */
export class ResidentDirectory<D extends ResidentDocument> implements ResidentCopy {
  private readonly documents = new Map<string, D>();
  /** Member search's text of each document: its searchable values, lower-cased, joined by NUL. */
  private readonly searchTexts = new Map<string, string>();
  private readonly organizations = new Map<string, OrganizationIndex>();
  private readonly organizationIdStrings = new Map<string, string>();
  /** One string per distinct value of the `sharedValues` fields. */
  private readonly sharedStrings = new Map<string, string>();
  private readonly sharedFields: ReadonlySet<string>;
  /** Documents whose stored state is not known for certain: re-read before the next answer. */
  private readonly stale = new Set<string>();
  private everythingStale = false;
  private loaded = false;
  /** The reload under way, if any (`load`). */
  private loading: Promise<void> | undefined;
  /** While a reload streams: the documents written through meanwhile (re-read once it is done). */
  private writtenWhileLoading: Set<string> | undefined;

  constructor(
    private readonly collection: Collection,
    private readonly spec: ResidentSpec<D>,
    private readonly journal: ChangeJournal,
  ) {
    journal.subscribe(spec.collectionName, (ids) => this.refresh(ids));
    this.sharedFields = new Set(spec.sharedValues ?? []);
  }

  /**
   * Reads the whole collection (a scan: at start-up, and when the journal cannot say what changed),
   * streamed in batches of `loadBatchSize` documents: only one batch is decoded at a time, and the
   * fields memory does without (the outbox, `notHeld`) are not read at all. The documents read are
   * held as they are, not copied (a copy of each doubled the start-up's peak). Listings are ordered
   * once at the end rather than by an insertion per document.
   *
   * A reload joins one already under way; answers wait for it (`ready`). A write applied to memory
   * while a reload streams may be overtaken by the older state the scan read: its documents are
   * re-read by `_id` before the next answer.
   */
  load(): Promise<void> {
    this.loading ??= this.scan().finally(() => (this.loading = undefined));
    return this.loading;
  }

  private async scan(): Promise<void> {
    // What was stale is read afresh by this scan; what becomes stale while it runs stays so.
    this.everythingStale = false;
    this.stale.clear();
    this.writtenWhileLoading = new Set();
    this.documents.clear();
    this.searchTexts.clear();
    this.organizations.clear();
    this.sharedStrings.clear();
    const projection = Object.fromEntries(["outbox", ...(this.spec.notHeld ?? [])].map((field) => [field, 0]));
    try {
      await guarded(async () => {
        const cursor = this.collection.find({}, { projection, batchSize: loadBatchSize });
        for await (const doc of cursor) this.put(doc as unknown as D, { owned: true, unordered: true });
      });
    } catch (error) {
      // Part of the collection is in memory: none of it is answered until a reload succeeds.
      this.everythingStale = true;
      throw error;
    } finally {
      // Listing order: created, then _id (each `put` above appended; a write meanwhile too).
      for (const index of this.organizations.values()) {
        const created = new Map(index.listing.map((id) => [id, this.documents.get(id)?.created.getTime() ?? 0]));
        index.listing.sort((a, b) => created.get(a)! - created.get(b)! || (a < b ? -1 : a > b ? 1 : 0));
        index.sorted.clear();
      }
      for (const id of this.writtenWhileLoading) this.stale.add(id);
      this.writtenWhileLoading = undefined;
    }
    this.loaded = true;
  }

  /**
   * Brings memory up to date before an answer: other processes' changes (the journal) and the
   * documents an uncertain write left stale. Throws (503) while the database cannot say.
   */
  async ready(): Promise<void> {
    if (this.loading) await this.loading;
    if (!this.loaded) throw new Error(`The resident ${this.spec.collectionName} were never loaded: await the store's load() before serving`);
    await this.journal.catchUp();
    if (this.everythingStale) await this.refresh("all");
    else if (this.stale.size) await this.refresh([...this.stale]);
  }

  /** Re-reads these documents by `_id` (or reloads everything): the journal's and uncertain writes' refresh. */
  async refresh(ids: ChangedIds): Promise<void> {
    if (ids === "all") return this.load();
    await Promise.all(
      ids.map(async (id) => {
        const doc = (await guarded(() => this.collection.findOne({ _id: id } as never))) as D | null;
        if (doc) this.put(doc, { owned: true });
        else this.remove(id);
        this.stale.delete(id);
      }),
    );
  }

  /** The documents' stored state is unknown (a write that may or may not have been applied). */
  markStale(ids: readonly string[] | "all"): void {
    if (ids === "all") this.everythingStale = true;
    else for (const id of ids) this.stale.add(id);
  }

  /**
   * Runs a database write and applies `apply` to memory once it succeeded. A failure other than a
   * conflict (a unique index refused it: nothing was written) leaves the outcome unknown, so the
   * documents are marked stale and re-read before the next answer.
   */
  async written<T>(ids: readonly string[] | "all", write: () => Promise<T>, apply: (result: T) => void = () => undefined): Promise<T> {
    let result: T;
    try {
      result = await write();
    } catch (error) {
      if (!(error instanceof ConflictError)) this.markStale(ids);
      throw error;
    }
    apply(result);
    return result;
  }

  // --- reads (after ready()) --------------------------------------------------------------------

  get(id: string): D | undefined {
    return this.documents.get(id);
  }

  byName(organizationId: string, nameLower: string): D | undefined {
    const id = this.organizations.get(organizationId)?.byName.get(nameLower);
    return id === undefined ? undefined : this.documents.get(id);
  }

  byExternalId(organizationId: string, externalId: string): D[] {
    const owners = this.organizations.get(organizationId)?.byExternalId.get(externalId);
    const ids = owners === undefined ? [] : typeof owners === "string" ? [owners] : [...owners];
    return ids.map((id) => this.documents.get(id)!).filter(Boolean);
  }

  /** Direct members of a group, by id order. */
  memberIds(organizationId: string, groupId: string): string[] {
    return [...(this.organizations.get(organizationId)?.members.get(groupId) ?? [])].sort();
  }

  groupsWithMembers(organizationId: string): string[] {
    const members = this.organizations.get(organizationId)?.members;
    return members ? [...members].filter(([, ids]) => ids.size > 0).map(([id]) => id) : [];
  }

  organizationIds(): string[] {
    return [...this.organizations.keys()];
  }

  /** Every live document of the organization, in listing order. */
  all(organizationId: string): D[] {
    return (this.organizations.get(organizationId)?.listing ?? []).map((id) => this.documents.get(id)!);
  }

  /**
   * Ids of the organization in the order `sortField` gives (then _id, in the same direction), as
   * the database sorts; kept until the organization's next change.
   */
  ordered(organizationId: string, sortField: string, descending: boolean): readonly string[] {
    const index = this.organizations.get(organizationId);
    if (!index) return [];
    if (sortField === "created" && !descending) return index.listing;
    const name = `${sortField}\u0000${descending ? "desc" : "asc"}`;
    let ids = index.sorted.get(name);
    if (!ids) {
      const keys = new Map(index.listing.map((id) => [id, sortKey(this.documents.get(id)! as unknown as Record<string, unknown>, sortField, descending)]));
      ids = [...index.listing].sort((a, b) => {
        const order = compareSortKeys(keys.get(a), keys.get(b)) || (a < b ? -1 : a > b ? 1 : 0);
        return descending ? -order : order;
      });
      index.sorted.set(name, ids);
    }
    return ids;
  }

  /**
   * One page of the organization's documents matching `query` (a MongoDB query, evaluated as the
   * database would, see query-in-memory.ts), in `sortField` order, with the total that match.
   * `candidates`, when given, are the only documents that can match (a direct lookup's few).
   */
  page(organizationId: string, options: { query?: MongoQuery; sortField: string; descending: boolean; startIndex: number; count: number; candidates?: D[] }): { total: number; items: D[] } {
    const { startIndex, count } = options;
    const matches = options.query ? compileQuery(options.query) : undefined;
    if (options.candidates) {
      const matching = options.candidates.filter((doc) => !matches || matches(doc as unknown as Record<string, unknown>));
      // A few documents: ordered by their keys, as `ordered` orders the whole organization.
      const keys = new Map(matching.map((doc) => [doc, sortKey(doc as unknown as Record<string, unknown>, options.sortField, options.descending)]));
      matching.sort((a, b) => {
        const order = compareSortKeys(keys.get(a), keys.get(b)) || (a._id < b._id ? -1 : a._id > b._id ? 1 : 0);
        return options.descending ? -order : order;
      });
      return { total: matching.length, items: count === 0 ? [] : matching.slice(startIndex - 1, startIndex - 1 + count) };
    }
    const ids = this.ordered(organizationId, options.sortField, options.descending);
    if (!matches) return { total: ids.length, items: count === 0 ? [] : ids.slice(startIndex - 1, startIndex - 1 + count).map((id) => this.documents.get(id)!) };
    let total = 0;
    const items: D[] = [];
    for (const id of ids) {
      const doc = this.documents.get(id)!;
      if (!matches(doc as unknown as Record<string, unknown>)) continue;
      total++;
      if (total >= startIndex && items.length < count) items.push(doc);
    }
    return { total, items };
  }

  // --- writes (write-through) --------------------------------------------------------------------

  /** Holds `doc` as stored (a new one, or a fresh read); a deleted one is dropped. */
  inserted(doc: mongo.Document): void {
    this.put(doc as D);
  }

  /**
   * Holds `doc`; `owned`: a document no one else has (a fresh read), held without a copy;
   * `unordered`: appended to its listing, which the load orders once at the end.
   */
  put(doc: D, options: { owned?: boolean; unordered?: boolean } = {}): void {
    if (!options.unordered) this.writtenWhileLoading?.add(doc._id);
    if (doc.deletedAt) {
      this.drop(doc._id);
      return;
    }
    const held = this.spec.notHeld ?? [];
    let copy: D;
    if (options.owned && !("outbox" in doc) && !held.some((field) => field in doc)) copy = doc;
    else {
      const { outbox: _outbox, ...rest } = doc;
      for (const field of held) delete (rest as Record<string, unknown>)[field];
      copy = (options.owned ? rest : copyOf(rest)) as D;
    }
    // One string per organization, not one per document.
    copy.organizationId = this.organizationIdOf(copy.organizationId);
    shareStrings(copy, new Map(), this.sharedStrings, this.sharedFields);
    const previous = this.documents.get(doc._id);
    if (previous) this.unindex(previous);
    this.documents.set(doc._id, copy);
    // (A value twice, such as an email equal to the userName, once: `containsEvery` answers the same.)
    if (this.spec.searchableValuesOf) this.searchTexts.set(doc._id, [...new Set(this.spec.searchableValuesOf(copy))].join("\u0000"));
    this.index(copy, previous, options.unordered);
  }

  remove(id: string): void {
    this.writtenWhileLoading?.add(id);
    this.drop(id);
  }

  private drop(id: string): void {
    const previous = this.documents.get(id);
    if (!previous) return;
    this.unindex(previous);
    const index = this.organizations.get(previous.organizationId);
    if (index) {
      const position = this.position(index.listing, previous);
      if (index.listing[position] === id) index.listing.splice(position, 1);
      else if (index.listing.includes(id)) index.listing.splice(index.listing.indexOf(id), 1);
    }
    this.documents.delete(id);
    this.searchTexts.delete(id);
  }

  /** Whether every word occurs in one of the document's searchable values (words hold no NUL). */
  containsEvery(id: string, words: readonly string[]): boolean {
    const text = this.searchTexts.get(id) ?? "";
    return words.every((word) => text.includes(word));
  }

  /**
   * The version this process knows `id` to be stored at, if it knows it for certain (Outbox.updateIf
   * then compares with it instead of reading the document): after other processes' changes are in.
   */
  async versionOf(id: string): Promise<{ version: number } | undefined> {
    if (this.loading) await this.loading;
    await this.journal.catchUp();
    if (this.stale.has(id) || this.everythingStale) return undefined;
    const doc = this.documents.get(id);
    return doc ? { version: doc.version } : undefined;
  }

  /**
   * Applies an update the database acknowledged (the operators the stores write: $set $unset $inc
   * $addToSet $pull $pullAll $push on top-level fields; the outbox is not kept). A document not
   * in memory, or an update it cannot apply, is re-read before the next answer instead.
   */
  applied(id: string, update: mongo.Document): void {
    const current = this.documents.get(id);
    if (!current) {
      this.markStale([id]);
      return;
    }
    const next = { ...current } as unknown as Record<string, unknown>;
    for (const [operator, fields] of Object.entries(update)) {
      for (const [field, value] of Object.entries(fields as Record<string, unknown>)) {
        if (field === "outbox" || this.spec.notHeld?.includes(field)) continue;
        if (field.includes(".")) {
          this.markStale([id]);
          return;
        }
        switch (operator) {
          case "$set":
            next[field] = copyOf(value);
            break;
          case "$unset":
            delete next[field];
            break;
          case "$inc":
            next[field] = ((next[field] as number | undefined) ?? 0) + (value as number);
            break;
          case "$addToSet": {
            const list = Array.isArray(next[field]) ? [...(next[field] as unknown[])] : [];
            const values = isEach(value) ? value.$each : [value];
            for (const v of values) if (!list.includes(v)) list.push(v);
            next[field] = list;
            break;
          }
          case "$pull":
          case "$pullAll": {
            const values = operator === "$pullAll" ? (value as unknown[]) : [value];
            if (Array.isArray(next[field])) next[field] = (next[field] as unknown[]).filter((v) => !values.includes(v));
            break;
          }
          default:
            this.markStale([id]);
            return;
        }
      }
    }
    this.put(next as D);
  }

  /** The organization's id as the one string memory holds for it. */
  private organizationIdOf(organizationId: string): string {
    const known = this.organizationIdStrings.get(organizationId);
    if (known !== undefined) return known;
    this.organizationIdStrings.set(organizationId, organizationId);
    return organizationId;
  }

  private index(doc: D, previous: D | undefined, unordered = false): void {
    let index = this.organizations.get(doc.organizationId);
    if (!index) this.organizations.set(doc.organizationId, (index = new OrganizationIndex()));
    if (index.sorted.size) index.sorted.clear();
    index.byName.set(this.spec.nameLowerOf(doc), doc._id);
    const externalId = this.spec.externalIdOf(doc);
    if (externalId !== undefined) {
      const owners = index.byExternalId.get(externalId);
      if (owners === undefined || owners === doc._id) index.byExternalId.set(externalId, doc._id);
      else if (typeof owners === "string") index.byExternalId.set(externalId, new Set([owners, doc._id]));
      else owners.add(doc._id);
    }
    for (const groupId of this.spec.groupsOf?.(doc) ?? []) {
      let members = index.members.get(groupId);
      if (!members) index.members.set(groupId, (members = new Set()));
      members.add(doc._id);
    }
    // Created never changes: a document already listed keeps its place.
    if (unordered && !previous) index.listing.push(doc._id);
    else if (!previous || previous.organizationId !== doc.organizationId) {
      const position = this.position(index.listing, doc);
      index.listing.splice(position, 0, doc._id);
    }
  }

  private unindex(doc: D): void {
    const index = this.organizations.get(doc.organizationId);
    if (!index) return;
    if (index.sorted.size) index.sorted.clear();
    const name = this.spec.nameLowerOf(doc);
    if (index.byName.get(name) === doc._id) index.byName.delete(name);
    const externalId = this.spec.externalIdOf(doc);
    if (externalId !== undefined) {
      const owners = index.byExternalId.get(externalId);
      if (owners === doc._id) index.byExternalId.delete(externalId);
      else if (typeof owners === "object") {
        owners.delete(doc._id);
        if (owners.size === 1) index.byExternalId.set(externalId, [...owners][0]!);
      }
    }
    for (const groupId of this.spec.groupsOf?.(doc) ?? []) {
      const members = index.members.get(groupId);
      members?.delete(doc._id);
      if (members && !members.size) index.members.delete(groupId);
    }
  }

  /** Where `doc` is (or would go) in the listing order: binary search on (created, _id). */
  private position(listing: string[], doc: D): number {
    let [low, high] = [0, listing.length];
    const at = doc.created.getTime();
    while (low < high) {
      const middle = (low + high) >>> 1;
      const other = this.documents.get(listing[middle]!);
      const otherAt = other ? other.created.getTime() : 0;
      const before = otherAt < at || (otherAt === at && listing[middle]! < doc._id);
      if (before) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}

/**
 * Makes the equal strings of a held document one string: a value equal to another of the same
 * document (userNameLower and userName, an email equal to the userName) and, for the
 * `sharedFields`, a value already held for another document. The driver decodes every string
 * afresh; at 100,000 users these copies were about 180 bytes of each user's ~1,300.
 */
function shareStrings(value: object, own: Map<string, string>, shared: Map<string, string>, sharedFields: ReadonlySet<string>): void {
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    const v = record[key];
    if (typeof v === "string") {
      const pool = sharedFields.has(key) ? shared : own;
      const known = pool.get(v);
      if (known === undefined) pool.set(v, v);
      else record[key] = known;
    } else if (Array.isArray(v) || isPlainObject(v)) shareStrings(v as object, own, shared, sharedFields);
  }
}

function isPlainObject(value: unknown): boolean {
  if (value === null || typeof value !== "object") return false;
  const prototype = Object.getPrototypeOf(value) as unknown;
  return prototype === Object.prototype || prototype === null;
}

/** Documents decoded at a time while loading: about 0.5 MB of users. */
export const loadBatchSize = 1000;

/** A deep copy of a stored value (Dates stay Dates): memory never shares objects with callers. */
function copyOf<T>(value: T): T {
  if (value === null || typeof value !== "object") return value;
  if (value instanceof Date) return new Date(value.getTime()) as T;
  if (Array.isArray(value)) return value.map(copyOf) as T;
  return Object.fromEntries(Object.entries(value).map(([key, v]) => [key, copyOf(v)])) as T;
}

function isEach(value: unknown): value is { $each: unknown[] } {
  return typeof value === "object" && value !== null && "$each" in value;
}

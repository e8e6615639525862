import type { ChangeJournal, ChangedIds } from "./change-journal";
import { noOtherWriters } from "./change-journal";
import { guarded } from "./database-errors";
import type { AuditEventDocument, Models } from "./models";
import { readById } from "./read-by-id";

/**
 * The resident audit index: on the embedded database, where one server process owns the data
 * (README "How it is built"), that process keeps in memory which events each organization has, in
 * time order, with the few fields an administrator filters by — and only those. A page of the audit
 * log is then chosen in memory and its documents read by `_id`, the one read FerretDB serves from
 * SQLite (/work/shared/MONGODB.md), instead of a count, sort and skip over the whole trail in
 * FerretDB's Go code (~0.3 ms per stored event, ~30 s at 100,000).
 *
 * Why this shape:
 * - **Compact columns, not documents.** Per event: its time (a float), its id (a string) and four
 *   dictionary codes (action, actor id, target id, source): about 90 bytes, ~10 MB at 100,000
 *   events. Before/after snapshots stay in the database; only a small LRU of recent full events is
 *   kept, so the newest pages (the ones looked at most) need no read at all.
 * - **Ascending arrays per organization.** Events almost always arrive in time order (an append);
 *   a late one (outbox recovery, a request that took long) is inserted at its place, a copy of the
 *   typed arrays that costs microseconds at this size.
 * - **A page is a walk backwards from the cursor's position** (found by binary search), so a deep
 *   page costs what a first page costs; the conditions are compared as integer codes.
 *
 * Off by default: tests and MongoDB (several instances, none of which sees the others' writes) use
 * the database path in audit/audit-trail.ts, served there by the indexes declared in models.ts.
 * Until `load` has finished, the trail keeps answering from the database, so a server starts at once
 * however long the trail is.
 */

/** The conditions the index answers: the same meaning as audit/audit-query.ts's AuditFilter. */
export interface AuditEventMatch {
  readonly actorId?: string;
  readonly targetId?: string;
  readonly action?: string;
  readonly source?: string;
  /** Inclusive. */
  readonly from?: Date;
  /** Exclusive. */
  readonly to?: Date;
}

/** Where the previous page stopped (newest first by `(at, _id)`). */
export interface AuditEventPosition {
  readonly at: Date;
  readonly id: string;
}

/** Strings that repeat across events (action names, actor and target ids), each stored once and compared as a number. */
class Dictionary {
  private readonly codes = new Map<string, number>();
  private readonly values: string[] = [];

  code(value: string): number {
    let code = this.codes.get(value);
    if (code === undefined) {
      code = this.codes.size;
      this.codes.set(value, code);
      this.values.push(value);
    }
    return code;
  }

  /** The value a code stands for. */
  valueOf(code: number): string {
    return this.values[code]!;
  }

  /** The code of a value seen before; undefined when no event has it (then nothing matches). */
  existing(value: string): number | undefined {
    return this.codes.get(value);
  }
}

/** What one event contributes to the index. */
interface IndexedEvent {
  at: number;
  id: string;
  action: number;
  actor: number;
  target: number;
  source: number;
}

/**
 * One organization's events in ascending `(at, _id)` order, as parallel columns. `_id`s compare as
 * JavaScript strings, which for the ASCII ids Gatehouse writes (UUIDs) is MongoDB's binary order.
 */
class OrganizationEvents {
  size = 0;
  at = new Float64Array(16);
  ids: string[] = [];
  action = new Uint32Array(16);
  actor = new Uint32Array(16);
  target = new Uint32Array(16);
  source = new Uint32Array(16);

  /** Negative, zero or positive as event `i` sorts before, with, or after `(at, id)`. */
  private compare(i: number, at: number, id: string): number {
    const byTime = this.at[i]! - at;
    if (byTime) return byTime;
    const other = this.ids[i]!;
    return other < id ? -1 : other > id ? 1 : 0;
  }

  /** The first index whose event sorts at or after `(at, id)`. */
  lowerBound(at: number, id: string): number {
    let low = 0;
    let high = this.size;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.compare(middle, at, id) < 0) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  private grow(): void {
    const capacity = Math.max(16, this.at.length * 2);
    const larger = <T extends Float64Array | Uint32Array>(column: T): T => {
      const next = new (column.constructor as new (length: number) => T)(capacity);
      next.set(column);
      return next;
    };
    this.at = larger(this.at);
    this.action = larger(this.action);
    this.actor = larger(this.actor);
    this.target = larger(this.target);
    this.source = larger(this.source);
  }

  private write(i: number, event: IndexedEvent): void {
    this.at[i] = event.at;
    this.ids[i] = event.id;
    this.action[i] = event.action;
    this.actor[i] = event.actor;
    this.target[i] = event.target;
    this.source[i] = event.source;
  }

  /** Adds an event at its place; false when it is already there (then its codes are refreshed: a repeated move changes nothing). */
  insert(event: IndexedEvent): boolean {
    if (this.size === this.at.length) this.grow();
    if (this.size === 0 || this.compare(this.size - 1, event.at, event.id) < 0) {
      this.write(this.size++, event);
      return true;
    }
    const place = this.lowerBound(event.at, event.id);
    if (place < this.size && this.compare(place, event.at, event.id) === 0) {
      // Already indexed: a rewritten event (personal data erasure) takes its new actor and target.
      this.write(place, event);
      return false;
    }
    for (const column of [this.at, this.action, this.actor, this.target, this.source]) column.copyWithin(place + 1, place, this.size);
    this.ids.splice(place, 0, event.id);
    this.write(place, event);
    this.size++;
    return true;
  }

  /** Appends without keeping the order (while loading); `sort` puts it right once at the end. */
  append(event: IndexedEvent): void {
    if (this.size === this.at.length) this.grow();
    this.write(this.size++, event);
  }

  /** Orders the columns by `(at, _id)` and drops repeats (an event both scanned and written during the load). */
  sort(): void {
    const order = Array.from({ length: this.size }, (_, i) => i).sort((a, b) => this.compare(a, this.at[b]!, this.ids[b]!));
    const previous = { at: this.at, ids: this.ids, action: this.action, actor: this.actor, target: this.target, source: this.source };
    this.at = new Float64Array(previous.at.length);
    this.action = new Uint32Array(previous.at.length);
    this.actor = new Uint32Array(previous.at.length);
    this.target = new Uint32Array(previous.at.length);
    this.source = new Uint32Array(previous.at.length);
    this.ids = [];
    this.size = 0;
    for (const i of order) {
      if (this.size && this.at[this.size - 1] === previous.at[i] && this.ids[this.size - 1] === previous.ids[i]) continue;
      this.write(this.size++, { at: previous.at[i]!, id: previous.ids[i]!, action: previous.action[i]!, actor: previous.actor[i]!, target: previous.target[i]!, source: previous.source[i]! });
    }
  }
}

/** The most recently written or read full events, so the newest pages need no database read. */
class RecentEvents {
  private readonly events = new Map<string, AuditEventDocument>();

  constructor(private readonly capacity: number) {}

  get(id: string): AuditEventDocument | undefined {
    const event = this.events.get(id);
    if (event) {
      this.events.delete(id);
      this.events.set(id, event);
    }
    return event;
  }

  remember(event: AuditEventDocument): void {
    if (this.capacity <= 0) return;
    this.events.delete(event._id);
    this.events.set(event._id, event);
    if (this.events.size > this.capacity) this.events.delete(this.events.keys().next().value!);
  }

  clear(): void {
    this.events.clear();
  }
}

/** The fields the load reads: everything the index holds, nothing more. */
const indexedFields = { organizationId: 1, at: 1, action: 1, source: 1, "actor.id": 1, "target.id": 1 } as const;
type IndexedFields = Pick<AuditEventDocument, "_id" | "organizationId" | "at" | "action" | "source"> & { actor?: { id?: string }; target?: { id?: string } };

export interface ResidentAuditIndexOptions {
  /** How other processes' writes to `audit_events` reach this one (the CLI next to the server). */
  journal?: ChangeJournal;
  /** Full events kept for the newest pages (2,000 when absent: ~4 MB). */
  recentEvents?: number;
  /** `_id` reads in flight for one page (16 when absent: FerretDB answers ~1 per ms from 8 on). */
  readConcurrency?: number;
}

export class ResidentAuditIndex {
  private organizations = new Map<string, OrganizationEvents>();
  private readonly actions = new Dictionary();
  private readonly actors = new Dictionary();
  private readonly targets = new Dictionary();
  private readonly sources = new Dictionary();
  private readonly recent: RecentEvents;
  private readonly journal: ChangeJournal;
  private readonly readConcurrency: number;
  private state: "unloaded" | "loading" | "ready" = "unloaded";
  private loading: Promise<{ events: number; ms: number }> | undefined;

  constructor(
    private readonly models: Models,
    options: ResidentAuditIndexOptions = {},
  ) {
    this.recent = new RecentEvents(options.recentEvents ?? 2_000);
    this.readConcurrency = options.readConcurrency ?? 16;
    this.journal = options.journal ?? noOtherWriters;
    this.journal.subscribe(models.AuditEvent.collection.collectionName, (ids) => this.refresh(ids));
  }

  /** True once loaded: until then the trail answers from the database. */
  get ready(): boolean {
    return this.state === "ready";
  }

  /**
   * Reads every event's indexed fields once (one scan: ~30 s at 100,000 events on the embedded
   * database). Events this process writes meanwhile are added as they come and merged at the end.
   * Calling it again while it runs joins the load under way.
   */
  load(): Promise<{ events: number; ms: number }> {
    this.loading ??= this.scan().finally(() => (this.loading = undefined));
    return this.loading;
  }

  private async scan(): Promise<{ events: number; ms: number }> {
    const began = performance.now();
    this.state = "loading";
    this.organizations = new Map();
    this.recent.clear();
    try {
      await guarded(async () => {
        // Batches of 500: the load's peak RSS was +59 MB with them, +108 MB with 2,000 (100,000 events).
        const cursor = this.models.AuditEvent.collection.find({}, { projection: indexedFields, batchSize: 500 });
        for await (const doc of cursor) this.put(doc as unknown as IndexedFields, false);
      });
    } catch (error) {
      this.state = "unloaded";
      throw error;
    }
    let events = 0;
    for (const organization of this.organizations.values()) {
      organization.sort();
      events += organization.size;
    }
    this.state = "ready";
    return { events, ms: Math.round(performance.now() - began) };
  }

  /**
   * An event this process just moved into the trail (or found already there): indexed at once, so
   * the request that wrote it and the next page both see it. Safe to repeat.
   */
  add(event: AuditEventDocument): void {
    if (this.state === "unloaded") return;
    this.put(event, this.state === "ready");
    this.recent.remember(event);
  }

  private put(doc: IndexedFields, ordered: boolean): void {
    const at = doc.at instanceof Date ? doc.at.getTime() : Number.NaN;
    if (Number.isNaN(at) || typeof doc.organizationId !== "string") return;
    let organization = this.organizations.get(doc.organizationId);
    if (!organization) this.organizations.set(doc.organizationId, (organization = new OrganizationEvents()));
    const event: IndexedEvent = {
      at,
      id: doc._id,
      action: this.actions.code(String(doc.action)),
      actor: this.actors.code(String(doc.actor?.id)),
      target: this.targets.code(String(doc.target?.id)),
      source: this.sources.code(String(doc.source)),
    };
    if (ordered) organization.insert(event);
    else organization.append(event);
  }

  /** Another process changed these events (the change journal): read them by `_id`, or everything again. */
  private async refresh(ids: ChangedIds): Promise<void> {
    if (ids === "all") {
      if (this.state !== "unloaded") await this.load();
      return;
    }
    const docs = await this.readAll(ids);
    for (const doc of docs) if (doc) this.add(doc);
  }

  /**
   * The ids of one page of an organization's events matching `match`, newest first, strictly after
   * `after`: `limit + 1` at most, the extra one telling the caller that another page follows.
   */
  select(organizationId: string, match: AuditEventMatch, limit: number, after?: AuditEventPosition): string[] {
    const events = this.organizations.get(organizationId);
    if (!events) return [];
    const wanted = (dictionary: Dictionary, value: string | undefined): number | null | undefined =>
      value === undefined ? undefined : (dictionary.existing(value) ?? null);
    const action = wanted(this.actions, match.action);
    const actor = wanted(this.actors, match.actorId);
    const target = wanted(this.targets, match.targetId);
    const source = wanted(this.sources, match.source);
    // A value no event has ever carried: nothing matches.
    if (action === null || actor === null || target === null || source === null) return [];

    let end = events.size;
    if (after) end = Math.min(end, events.lowerBound(after.at.getTime(), after.id));
    // Every id sorts after "", so this is the first event at or after `to`.
    if (match.to) end = Math.min(end, events.lowerBound(match.to.getTime(), ""));
    const from = match.from?.getTime() ?? -Infinity;
    const ids: string[] = [];
    for (let i = end - 1; i >= 0 && ids.length <= limit; i--) {
      if (events.at[i]! < from) break;
      if (action !== undefined && events.action[i] !== action) continue;
      if (actor !== undefined && events.actor[i] !== actor) continue;
      if (target !== undefined && events.target[i] !== target) continue;
      if (source !== undefined && events.source[i] !== source) continue;
      ids.push(events.ids[i]!);
    }
    return ids;
  }

  /**
   * Visits the organization's events from `from` on (inclusive) that came through `source`, oldest
   * first, with their time and action only — no document is read: tallies such as the provisioning
   * activity per day (services/provisioning-activity.ts). False while the index is not ready.
   */
  async tally(organizationId: string, source: string, from: Date, visit: (at: number, action: string) => void): Promise<boolean> {
    if (!this.ready) return false;
    await this.journal.catchUp();
    const events = this.organizations.get(organizationId);
    const code = this.sources.existing(source);
    if (!events || code === undefined) return true;
    for (let i = events.lowerBound(from.getTime(), ""); i < events.size; i++) {
      if (events.source[i] === code) visit(events.at[i]!, this.actions.valueOf(events.action[i]!));
    }
    return true;
  }

  /**
   * One page of an organization's events as stored documents, newest first: chosen in memory, read
   * by `_id` (recent ones from memory), `limit + 1` at most as in `select`. Other processes' writes
   * are caught up on first.
   */
  async page(organizationId: string, match: AuditEventMatch, limit: number, after?: AuditEventPosition): Promise<AuditEventDocument[]> {
    await this.journal.catchUp();
    const ids = this.select(organizationId, match, limit, after);
    const docs = await this.readAll(ids);
    // An `_id` read is checked against the organization in code (an `{_id, organizationId}` filter would scan).
    return docs.filter((doc): doc is AuditEventDocument => doc !== undefined && doc.organizationId === organizationId);
  }

  /** The events by `_id`, in the order asked, a bounded number of reads in flight. */
  private async readAll(ids: readonly string[]): Promise<(AuditEventDocument | undefined)[]> {
    const docs: (AuditEventDocument | undefined)[] = ids.map((id) => this.recent.get(id));
    const missing = ids.flatMap((_id, i) => (docs[i] ? [] : [i]));
    let next = 0;
    const reader = async () => {
      while (next < missing.length) {
        const i = missing[next++]!;
        const doc = await guarded(() => readById<AuditEventDocument>(this.models.AuditEvent, ids[i]!));
        if (doc) {
          docs[i] = doc;
          this.recent.remember(doc);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.readConcurrency, missing.length) }, reader));
    return docs;
  }
}

/**
 * The resident index of a database's trail, when the process keeps one. It belongs to the models
 * (like the write queue) so that every path that moves events into the trail — the outbox's
 * delivery and recovery, AuditTrail.record — keeps it current without each being told.
 */
const indexes = new WeakMap<Models, ResidentAuditIndex>();

export function attachResidentAuditIndex(models: Models, index: ResidentAuditIndex): void {
  indexes.set(models, index);
}

export function residentAuditIndexOf(models: Models): ResidentAuditIndex | undefined {
  return indexes.get(models);
}

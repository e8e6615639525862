import { directoryEventOf, type DirectoryEvent, type DirectoryEventType } from "../domain/directory-events";
import { guarded, isDuplicateKey } from "./database-errors";
import type { AuditEventDocument, DirectoryEventDocument, Models } from "./models";
import { readById } from "./read-by-id";
import { trailSettled } from "./trail-moves";

/**
 * The directory event log: each organization's directory events (domain/directory-events.ts) in
 * one gap-free sequence, every read and write an exact `_id` operation (../shared/MONGODB.md: the
 * only filter FerretDB's SQLite backend serves; MongoDB's `_id` index serves it as well).
 *
 * **Order.** Event `n` of an organization is stored under `_id` `<organizationId>/<n, 12 digits>`.
 * A publisher takes the next number by *inserting* that document: a unique `_id` insert is atomic
 * on MongoDB and on FerretDB, so two processes (or instances) never get the same number, and a
 * number is taken only after the one before it was seen taken — the sequence has no holes. A
 * reader therefore walks `n+1, n+2, …` by `_id` and stops at the first number not (yet) taken:
 * whatever is published later gets a higher number, so a cursor (the last `n` read) never skips
 * an event. The order is the order in which events reached the log, across all instances.
 *
 * **One source.** An event is published from its audit event as that event is moved into the
 * trail (storage/outbox.ts), *before* the audit event is inserted: an audit event in the trail has
 * been published. A process that dies in between leaves the audit event in its document's outbox;
 * recovery publishes it again and inserts it. So every change's event is published at least once;
 * in that rare case twice, under the same `id` (consumers and the webhook deliveries deduplicate by it).
 *
 * **Retention.** `sweep` empties an organization's oldest events, oldest first — the payload is
 * removed, a ~100-byte numbered stub stays so that no number is ever taken twice (a publisher with
 * an old idea of the end could otherwise reuse a deleted one) — and records how far it went in
 * `<organizationId>/floor`; a listing without a cursor, or with one older than the floor, starts
 * at the oldest event kept.
 */
export class DirectoryEventLog {
  /** The highest number this process knows to be taken, per organization (a hint: others publish too). */
  private readonly taken = new Map<string, number>();
  /**
   * One insert at a time per organization in this process (they would only collide): what is
   * published while one is under way waits here and goes in the next insert, all together.
   */
  private readonly waiting = new Map<string, { events: DirectoryEvent[]; done: { resolve(numbers: number[]): void; reject(error: unknown): void } }[]>();
  private readonly listeners = new Set<(organizationId: string) => void>();

  constructor(
    private readonly models: Models,
    private readonly readConcurrency = 16,
  ) {}

  private get collection() {
    return this.models.DirectoryEvent.collection;
  }

  static idOf(organizationId: string, sequence: number): string {
    return `${organizationId}/${String(sequence).padStart(12, "0")}`;
  }

  /** Told (in this process) whenever an event is published: the webhook dispatcher wakes at once. */
  onPublished(listener: (organizationId: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Publishes the directory event of an audit event, if its action has one; its sequence number, or undefined. */
  async publish(audit: AuditEventDocument): Promise<number | undefined> {
    return (await this.publishAll([audit]))[0];
  }

  /**
   * Publishes the directory events of several audit events (those whose action has one), in the
   * order given: an organization's events take the next numbers in one `insertMany` — one round
   * trip for a change's event and what follows from it, shared with the publications of concurrent
   * requests (`enqueue`) — rather than one insert each. Answers each audit event's sequence number
   * (undefined: no directory event).
   */
  async publishAll(audits: readonly AuditEventDocument[]): Promise<(number | undefined)[]> {
    const sequences: (number | undefined)[] = audits.map(() => undefined);
    const byOrganization = new Map<string, { at: number; event: DirectoryEvent }[]>();
    audits.forEach((audit, at) => {
      const event = directoryEventOf({ ...audit, id: audit._id, reason: audit.reason ?? undefined });
      if (!event) return;
      const list = byOrganization.get(event.organizationId) ?? [];
      if (!byOrganization.has(event.organizationId)) byOrganization.set(event.organizationId, list);
      list.push({ at, event });
    });
    await Promise.all(
      [...byOrganization].map(async ([organizationId, events]) => {
        const numbers = await this.enqueue(organizationId, events.map(({ event }) => event));
        events.forEach(({ at }, i) => (sequences[at] = numbers[i]));
      }),
    );
    return sequences;
  }

  /**
   * Publishes an organization's events after everything this process was asked to publish before
   * them (group commit): while an insert is under way, publications wait and then go together in
   * the next one — at 16 concurrent SCIM creates, one or two inserts in flight instead of a queue
   * of sixteen, each waiting for all before it. A failed insert fails every publication in it
   * (their audit events stay in their documents' outboxes; recovery publishes them).
   */
  private enqueue(organizationId: string, events: DirectoryEvent[]): Promise<number[]> {
    return new Promise<number[]>((resolve, reject) => {
      const queue = this.waiting.get(organizationId);
      if (queue) {
        queue.push({ events, done: { resolve, reject } });
        return;
      }
      this.waiting.set(organizationId, [{ events, done: { resolve, reject } }]);
      void this.flush(organizationId);
    });
  }

  private async flush(organizationId: string): Promise<void> {
    for (;;) {
      const batch = this.waiting.get(organizationId) ?? [];
      if (!batch.length) {
        this.waiting.delete(organizationId);
        return;
      }
      this.waiting.set(organizationId, []);
      try {
        const numbers = await this.append(organizationId, batch.flatMap(({ events }) => events));
        let from = 0;
        for (const { events, done } of batch) {
          done.resolve(numbers.slice(from, from + events.length));
          from += events.length;
        }
        for (const listener of this.listeners) listener(organizationId);
      } catch (error) {
        for (const { done } of batch) done.reject(error);
      }
    }
  }

  /**
   * Takes the next numbers for `events`, in order, by inserting them under those `_id`s in one
   * ordered `insertMany`. An ordered insert stops at the first number another process took
   * meanwhile: those before it are stored (consecutive, so the sequence keeps no hole), the end is
   * found again from the taken number, and the rest are inserted after it.
   */
  private async append(organizationId: string, events: readonly DirectoryEvent[]): Promise<number[]> {
    const numbers: number[] = [];
    let last = this.taken.get(organizationId) ?? (await this.endFrom(organizationId, 0));
    let rest = events;
    while (rest.length) {
      const docs: DirectoryEventDocument[] = rest.map((event, i) => ({ _id: DirectoryEventLog.idOf(organizationId, last + 1 + i), organizationId, sequence: last + 1 + i, event }));
      const inserted = await guarded(async () => {
        try {
          await this.collection.insertMany(docs as never[], { ordered: true });
          return docs.length;
        } catch (error) {
          const at = duplicateAt(error);
          if (at === undefined) throw error;
          return at;
        }
      });
      for (let i = 0; i < inserted; i++) numbers.push(last + 1 + i);
      if (inserted) this.taken.set(organizationId, last + inserted);
      rest = rest.slice(inserted);
      // Another process published meanwhile (number last + inserted + 1 is taken): find the end again from there.
      if (rest.length) last = await this.endFrom(organizationId, last + inserted + 1);
    }
    return numbers;
  }

  private async exists(organizationId: string, sequence: number): Promise<boolean> {
    return (await guarded(() => readById(this.models.DirectoryEvent, DirectoryEventLog.idOf(organizationId, sequence)))) !== null;
  }

  /** The number of the organization's newest event (0: none yet). */
  async end(organizationId: string): Promise<number> {
    await trailSettled(this.models);
    return this.endFrom(organizationId, this.taken.get(organizationId) ?? 0);
  }

  /** The highest taken number, given that `from` is taken (or 0): galloping, then a binary search — O(log n) `_id` reads. */
  private async endFrom(organizationId: string, from: number): Promise<number> {
    let low = from;
    let step = 1;
    while (await this.exists(organizationId, low + step)) {
      low += step;
      step *= 2;
    }
    let high = low + step; // not taken
    while (high - low > 1) {
      const middle = Math.floor((low + high) / 2);
      if (await this.exists(organizationId, middle)) low = middle;
      else high = middle;
    }
    return low;
  }

  /** The number of the last event the retention sweep removed (0: none). */
  async floor(organizationId: string): Promise<number> {
    const doc = await guarded(() => readById<DirectoryEventDocument>(this.models.DirectoryEvent, `${organizationId}/floor`));
    return doc?.sequence ?? 0;
  }

  /**
   * The events after number `after` (from the oldest kept when absent), of the given types (all
   * when absent), at most `limit`. `position` is where to continue: the last number examined,
   * which moves past events of other types too, so a filtered follower does not read them again.
   * At most `maxExamined` numbers are read per call.
   */
  async page(organizationId: string, options: { after?: number; types?: ReadonlySet<DirectoryEventType>; limit: number; maxExamined?: number }): Promise<{ events: DirectoryEvent[]; position: number; sequences: number[] }> {
    // The events of every change answered before this read are in it (storage/trail-moves.ts).
    await trailSettled(this.models);
    const floor = await this.floor(organizationId);
    let position = Math.max(options.after ?? 0, floor);
    const events: DirectoryEvent[] = [];
    const sequences: number[] = [];
    const budget = options.maxExamined ?? Math.max(options.limit * 10, 100);
    let examined = 0;
    const batch = Math.min(Math.max(options.limit, 1), 100);
    while (events.length < options.limit && examined < budget) {
      const numbers = Array.from({ length: Math.min(batch, budget - examined) }, (_, i) => position + 1 + i);
      const docs = await this.readAll(numbers.map((n) => DirectoryEventLog.idOf(organizationId, n)));
      examined += numbers.length;
      let reachedEnd = false;
      for (const doc of docs) {
        if (!doc) {
          reachedEnd = true;
          break;
        }
        position = doc.sequence;
        if (doc.event && (!options.types || options.types.has(doc.event.type))) {
          events.push(doc.event);
          sequences.push(doc.sequence);
          if (events.length === options.limit) break;
        }
      }
      if (reachedEnd) break;
    }
    return { events, position, sequences };
  }

  /** One event by its number, if it is (still) kept. */
  async at(organizationId: string, sequence: number): Promise<DirectoryEvent | undefined> {
    await trailSettled(this.models);
    const doc = await guarded(() => readById<DirectoryEventDocument>(this.models.DirectoryEvent, DirectoryEventLog.idOf(organizationId, sequence)));
    return doc?.event ?? undefined;
  }

  /** Reads by `_id` in the order asked, a bounded number in flight; a read after a missing one still happens (they run together). */
  private async readAll(ids: readonly string[]): Promise<(DirectoryEventDocument | null)[]> {
    const docs: (DirectoryEventDocument | null)[] = ids.map(() => null);
    let next = 0;
    const reader = async () => {
      while (next < ids.length) {
        const i = next++;
        docs[i] = await guarded(() => readById<DirectoryEventDocument>(this.models.DirectoryEvent, ids[i]!));
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.readConcurrency, ids.length) }, reader));
    return docs;
  }

  /**
   * Retention: empties the organization's events that occurred before `cutoff` (see the class
   * comment), oldest first, at most `limit` per call, and moves the floor past them. Returns how many.
   */
  async sweep(organizationId: string, cutoff: Date, limit = 1_000): Promise<number> {
    let floor = await this.floor(organizationId);
    let deleted = 0;
    while (deleted < limit) {
      const doc = await guarded(() => readById<DirectoryEventDocument>(this.models.DirectoryEvent, DirectoryEventLog.idOf(organizationId, floor + 1)));
      if (!doc?.event || new Date(doc.event.occurredAt) >= cutoff) break;
      floor++;
      await guarded(() => this.collection.updateOne({ _id: doc._id } as never, { $unset: { event: "" } }));
      await guarded(() => this.collection.updateOne({ _id: `${organizationId}/floor` } as never, { $set: { organizationId, sequence: floor } }, { upsert: true }));
      deleted++;
    }
    return deleted;
  }
}

/**
 * Where an ordered insert stopped on a number already taken: how many of its documents were
 * stored before it; undefined when it failed otherwise (the error is then the caller's).
 */
function duplicateAt(error: unknown): number | undefined {
  const writeErrors = (error as { writeErrors?: unknown }).writeErrors;
  const failures = (Array.isArray(writeErrors) ? writeErrors : writeErrors ? [writeErrors] : []) as { index?: unknown; code?: unknown; err?: { code?: unknown } }[];
  const first = failures[0];
  if (first && isDuplicateKey(Object.assign(new Error(String((first as { errmsg?: unknown }).errmsg ?? "")), { code: first.code ?? first.err?.code })) && typeof first.index === "number") return first.index;
  // A single-document insert may report the duplicate without the per-write list.
  if (!first && isDuplicateKey(error)) return 0;
  return undefined;
}

/** The log of a database's events: one per models (like the write queue), so every path that moves audit events publishes. */
const logs = new WeakMap<Models, DirectoryEventLog>();

export function directoryEventLogOf(models: Models): DirectoryEventLog {
  let log = logs.get(models);
  if (!log) logs.set(models, (log = new DirectoryEventLog(models)));
  return log;
}

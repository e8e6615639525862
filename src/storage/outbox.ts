import type { mongo } from "mongoose";
import { guarded, isDuplicateKey } from "./database-errors";
import type { AuditEvent } from "../domain/audit";
import type { AuditEventDocument, Models } from "./models";
import { writeQueueOf, type WriteQueue } from "./write-queue";
import { residentAuditIndexOf } from "./audit-index";
import { directoryEventLogOf } from "./directory-events";
import { readById } from "./read-by-id";
import { directoryEventTypeOf } from "../domain/directory-events";
import { attachPendingTrailMoves, PendingTrailMoves } from "./trail-moves";

/** A document that can carry the audit events of its own changes until they reach the trail. */
export interface OutboxCarrier {
  _id: string;
  outbox?: AuditEventDocument[];
  /** Set on a document whose deletion has begun: readers treat it as gone (see Outbox.tombstone). */
  deletedAt?: Date;
}

type Document = mongo.Document;

/**
 * The resident copy of a collection (storage/resident-directory.ts), kept in step with the writes
 * made here: each acknowledged write is applied to it inside the write queue, right where the
 * database applied it, so memory sees one document's writes in the database's order; a write that
 * failed leaves the document's state unknown (it may have been applied) and marks it stale.
 */
export interface ResidentCopy {
  /** The version `id` is stored at, when this process knows it for certain (else undefined: read it). */
  versionOf(id: string): Promise<{ version: number } | undefined>;
  inserted(document: Document): void;
  applied(id: string, update: Document): void;
  markStale(ids: readonly string[]): void;
}

/** Runs a write and keeps `resident` in step with it (see ResidentCopy). */
async function mirrored<T>(resident: ResidentCopy | undefined, id: string, write: () => Promise<T>, apply: (result: T) => void): Promise<T> {
  if (!resident) return write();
  let result: T;
  try {
    result = await write();
  } catch (error) {
    if (!isDuplicateKey(error)) resident.markStale([id]);
    throw error;
  }
  apply(result);
  return result;
}
type CarrierCollection = mongo.Collection<Document>;

/**
 * Work derived from delivered events that must be done before they leave their document — the
 * `user.access_changed` events (services/access-changes.ts). Idempotent: recovery runs it again for
 * events a crash left in a document. `first` answers, for each delivered event (same order), the
 * derived events to be written together with it — in the same round trips, right after it in the
 * directory event log — before the request answers; `rest()`, called once those are in the trail,
 * writes the others (a large change's members beyond the first batch) and resolves when everything
 * is done; only then is the event pulled from its document (or the tombstone deleted).
 */
export interface OutboxFollower {
  follow(events: readonly AuditEventDocument[]): { first: Promise<readonly (readonly AuditEventDocument[])[]>; rest(): Promise<void> };
}

/**
 * The audit outbox (../shared/MONGODB.md, "Scale without transactions"). Without transactions a
 * change and its audit event cannot be two writes: a process that dies between them would leave a
 * change nobody can account for. So the event is written inside the very update (or insert) that
 * makes the change — one document, atomic on MongoDB and FerretDB alike — and then moved into
 * `audit_events`:
 *
 * 1. the change and `$push: {outbox: event}` in one single-document write;
 * 2. the event inserted into `audit_events` under its own id (a duplicate means it was already
 *    moved: the move is idempotent), its directory event published just before. On MongoDB (and
 *    wherever this process is not the database's one server) the request awaits it, so the trail
 *    shows it when the request answers. On the embedded database's one server (`oneServer`) the
 *    request answers once step 1 is acknowledged and the move follows in the background; every
 *    reader of the trail in the process waits for the moves under way first (storage/trail-moves.ts),
 *    so the trail still shows the change to anyone who asks after the answer. There the move also
 *    lingers a moment (25 ms) for the changes answered right after it: they go into the trail
 *    together, one insert per collection instead of two per change — each a write of FerretDB's
 *    one writer that the next request's own write would queue behind. A reader does not wait for
 *    the linger: it starts the lingering moves at once;
 * 3. the event pulled from the document, in the background (a leftover is harmless: step 2 again
 *    is a no-op) — on the embedded database's one server, once the server is quiet (DeferredPulls).
 *
 * If step 2 or 3 never happens (a crash, the database gone for a moment), `recover` — run at
 * start-up and by the maintenance timer on every instance — finds the documents still carrying
 * events (a sparse index on `outbox._id` on MongoDB) and finishes the move.
 *
 * Deletions cannot carry an event in a document that no longer exists, so they go in two steps:
 * `tombstone` marks the document deleted and pushes the event in one write (readers treat it as
 * gone from then on), the event is moved, and only then is the document deleted. A tombstone left
 * by a crash is found by `recover` like any other carrier and its deletion finished.
 */
export class Outbox {
  private readonly clearing = new Set<Promise<void>>();
  private readonly writes: WriteQueue;
  private follower: OutboxFollower | undefined;
  /** The moves under way, when they follow the answer (`oneServer`); undefined: the request awaits its move. */
  private readonly pending: PendingTrailMoves | undefined;
  /** Resolves once the latest move has handed its directory events to the log (they are published in that order). */
  private handedIn: Promise<void> = Promise.resolve();
  private readonly pulls: DeferredPulls | undefined;
  /** The deliveries whose move waits for others to join it (`oneServer`). */
  private lingering: LingeringBatch | undefined;
  /** How long a move waits for others (`lingerMs`, 25 ms; 0: it starts at once), and how many events start it at once (500). */
  private readonly linger: { ms: number; maxEvents: number };

  /**
   * `oneServer`: this process is the embedded database's one server, the only reader and writer of
   * the trail (storage/trail-moves.ts). A change's request then answers once the change and its
   * events are in their document; the move into the trail follows in the background, behind the
   * read barrier every reader of the trail waits at, and the pull of the delivered events off their
   * document is deferred until the server is quiet (DeferredPulls). Off (MongoDB, several
   * instances, the CLI): the request awaits the move and the pull follows at once, as before.
   */
  constructor(
    private readonly models: Models,
    private readonly onDeliveryFailure: (error: unknown) => void = () => undefined,
    options: { oneServer?: boolean; pullIdleMs?: number; pullMaxDelayMs?: number; lingerMs?: number; lingerMaxEvents?: number } = {},
  ) {
    this.writes = writeQueueOf(models);
    this.linger = { ms: options.lingerMs ?? 25, maxEvents: options.lingerMaxEvents ?? 500 };
    if (options.oneServer) {
      this.pending = new PendingTrailMoves(() => this.startLingeringBatch());
      attachPendingTrailMoves(models, this.pending);
      this.pulls = new DeferredPulls((collection, id, events) => this.clear(collection, id, events), this.onDeliveryFailure, options.pullIdleMs, options.pullMaxDelayMs);
    }
  }

  /**
   * What must follow each delivery before its events leave their document (see OutboxFollower).
   * Set once by the composition (services/index.ts), after the use-cases the follower needs exist.
   */
  followWith(follower: OutboxFollower): void {
    this.follower = follower;
  }

  /**
   * The events together with what follows from them (the follower's first batch, each derived
   * event right after its cause), and the follower's remaining work. When the derivation fails,
   * `batch` is the events alone and `failure` says why: they still reach the trail, and stay in
   * their document for recovery to derive again.
   */
  private async withFollowers(events: readonly AuditEventDocument[]): Promise<{ batch: readonly AuditEventDocument[]; rest: () => Promise<void>; failure?: unknown }> {
    if (!this.follower || !events.length) return { batch: events, rest: async () => undefined };
    const followed = this.follower.follow(events);
    try {
      const first = await followed.first;
      return { batch: events.flatMap((event, i) => [event, ...(first[i] ?? [])]), rest: () => followed.rest() };
    } catch (failure) {
      return { batch: events, rest: () => Promise.reject(failure), failure };
    }
  }

  /** Adds the events to an update: `{...update, $push: {outbox: {$each: events}}}`. */
  static carrying(update: Document, events: readonly AuditEventDocument[]): Document {
    return events.length ? { ...update, $push: { ...(update.$push ?? {}), outbox: { $each: [...events] } } } : update;
  }

  /** Inserts a new document that carries the events of its own creation. */
  async insert(collection: CarrierCollection, document: Document, changes: readonly AuditEvent[], conflictMessage?: string, resident?: ResidentCopy): Promise<void> {
    const events = changes.map(auditDocument);
    await guarded(() => mirrored(resident, document._id as string, () => collection.insertOne({ ...document, outbox: [...events] }), () => resident?.inserted(document)), conflictMessage);
    await this.deliver(collection, document._id as string, events);
  }

  /** Updates one document by `_id` together with the events that record the update. */
  async update(collection: CarrierCollection, id: string, update: Document, changes: readonly AuditEvent[], conflictMessage?: string, resident?: ResidentCopy): Promise<void> {
    const events = changes.map(auditDocument);
    await guarded(
      () =>
        this.writes.document(collection.collectionName, id, () =>
          mirrored(resident, id, () => collection.updateOne({ _id: id } as never, Outbox.carrying(update, events)), (result) => {
            if (result.matchedCount) resident?.applied(id, update);
          }),
        ),
      conflictMessage,
    );
    await this.deliver(collection, id, events);
  }

  /**
   * `update`, answering the document as it is after the update (`$inc`ed counters included), or
   * undefined when there is no such document.
   */
  async updateAndRead<T>(collection: CarrierCollection, id: string, update: Document, changes: readonly AuditEvent[], resident?: ResidentCopy): Promise<T | undefined> {
    const events = changes.map(auditDocument);
    const doc = await guarded(() =>
      this.writes.document(collection.collectionName, id, () =>
        mirrored(resident, id, () => collection.findOneAndUpdate({ _id: id } as never, Outbox.carrying(update, events), { returnDocument: "after" }), (after) => {
          if (after) resident?.inserted(after);
        }),
      ),
    );
    if (doc) await this.deliver(collection, id, events);
    return (doc ?? undefined) as T | undefined;
  }

  /**
   * `update`, applied only while the document still has `version` (compare-and-set, RFC 7644 §3.14's
   * "the resource has changed"): false, with nothing written, when another write came in between
   * (or the document is gone or being deleted). On MongoDB the version is part of the filter and
   * the server decides atomically. On FerretDB a filter other than exactly `{_id}` is a scan, so the
   * document is read by `_id`, its version compared here and the update written by `_id` — all
   * inside the write queue, where no other write of this document can come in between.
   */
  async updateIf(
    collection: CarrierCollection,
    id: string,
    version: number,
    update: Document,
    changes: readonly AuditEvent[],
    conflictMessage?: string,
    resident?: ResidentCopy,
  ): Promise<boolean> {
    const events = changes.map(auditDocument);
    const written = await guarded(async () => {
      if (!this.writes.serialize) {
        const result = await mirrored(resident, id, () => collection.updateOne({ _id: id, version, deletedAt: { $exists: false } } as never, Outbox.carrying(update, events)), (result) => {
          if (result.matchedCount === 1) resident?.applied(id, update);
        });
        return result.matchedCount === 1;
      }
      return this.writes.document(collection.collectionName, id, async () => {
        // A resident copy (this process the only writer, storage/resident-directory.ts) knows the
        // stored version: the read by _id is saved. Otherwise the document is read.
        const known = await resident?.versionOf(id);
        const current = known ?? ((await collection.findOne({ _id: id } as never)) as { version?: number; deletedAt?: Date } | null);
        if (!current || ("deletedAt" in current && current.deletedAt) || current.version !== version) return false;
        await mirrored(resident, id, () => collection.updateOne({ _id: id } as never, Outbox.carrying(update, events)), () => resident?.applied(id, update));
        return true;
      });
    }, conflictMessage);
    if (written) await this.deliver(collection, id, events);
    return written;
  }

  /**
   * First step of a deletion: the document is marked deleted and carries the event, in one write
   * (`release` sets fields that would otherwise keep a unique index taken, so the name is free at once).
   * The events are moved to the trail (awaited) but stay on the tombstone: the caller deletes the
   * document once its own clean-up is done, and that deletion removes them.
   */
  async tombstone(collection: CarrierCollection, id: string, at: Date, changes: readonly AuditEvent[], release: Document = {}, version?: number, resident?: ResidentCopy): Promise<boolean> {
    const events = changes.map(auditDocument);
    const update = Outbox.carrying({ $set: { ...release, deletedAt: at } }, events);
    if (version !== undefined) {
      // A deletion under If-Match: made only on that version (see updateIf), or not at all.
      const written = await this.updateIf(collection, id, version, update, [], undefined, resident);
      if (!written) return false;
    } else {
      await guarded(() =>
        this.writes.document(collection.collectionName, id, () => mirrored(resident, id, () => collection.updateOne({ _id: id } as never, update), () => resident?.applied(id, update))),
      );
    }
    // After the moves still under way here (a deactivation answered just before): the deletion's
    // events follow them, and once it answers every event of the document is in the trail — where
    // another process (the CLI's erasure of a deleted member) reads it.
    await this.pending?.settled();
    const { batch, rest } = await this.withFollowers(events);
    await this.append(batch).catch(this.onDeliveryFailure);
    // The caller deletes the tombstone, and its events with it, right after: what follows from them
    // is finished first. A failure is thrown, so the tombstone stays for recovery to finish.
    await rest();
    return true;
  }

  /**
   * Moves events into the audit trail: safe to repeat, an event already there is left as it is.
   * Each event in the trail is added to this process's resident audit index, when it keeps one
   * (storage/audit-index.ts), before the request that wrote it answers. `recovering`: the events
   * come from a document's outbox and may be in the trail already (see `recover`).
   */
  async append(events: readonly AuditEventDocument[], recovering = false, order?: HandInOrder): Promise<void> {
    try {
      if (!events.length) return;
      // Their directory events first (storage/directory-events.ts), in one insert: an event in the
      // trail has been published. Recovery finds events that may already be in the trail: those are
      // not published again.
      const unpublished = recovering ? await this.notInTrail(events.filter((event) => directoryEventTypeOf(event))) : events;
      // Moves that follow their answers are handed to the log in the order of their changes'
      // writes (publishAll queues them synchronously), whatever each one's follower took.
      if (order) await order.after;
      const published = directoryEventLogOf(this.models).publishAll(unpublished);
      order?.handIn();
      await published;
      await insertIntoTrail(this.models, events);
    } finally {
      order?.handIn();
    }
  }

  /** The next place in the order of hand-ins (see append); undefined when requests await their moves. */
  private nextInOrder(): HandInOrder | undefined {
    if (!this.pending) return undefined;
    const after = this.handedIn;
    let handIn!: () => void;
    this.handedIn = new Promise<void>((resolve) => (handIn = resolve));
    return { after, handIn };
  }

  /** Those of `events` not in the trail yet (one `_id` read each, together). */
  private async notInTrail(events: readonly AuditEventDocument[]): Promise<AuditEventDocument[]> {
    const stored = await Promise.all(events.map((event) => guarded(() => readById(this.models.AuditEvent, event._id))));
    return events.filter((_, i) => !stored[i]);
  }

  /**
   * Steps 2 and 3 for a document's new events. A failure is reported, not thrown: the change is
   * made and its event is safe in the document, where `recover` will find it.
   */
  async deliver(collection: CarrierCollection, id: string, events: readonly AuditEventDocument[]): Promise<void> {
    if (!events.length) return;
    if (!this.pending) return this.move([{ collection, id, events }]);
    // The embedded database's one server: the events are durable in their document; the request
    // answers now, and every reader of the trail waits for this move (storage/trail-moves.ts). The
    // move lingers for the changes answered right after it, to go into the trail together.
    const batch = (this.lingering ??= this.openBatch());
    batch.deliveries.push({ collection, id, events });
    batch.events += events.length;
    this.pending.track(
      events.map((event) => event._id),
      batch.moved,
    );
    if (this.linger.ms <= 0 || batch.events >= this.linger.maxEvents) this.startLingeringBatch();
  }

  /**
   * A batch of deliveries that waits `linger.ms` for more before it moves (see `linger`): one insert
   * into `directory_events` and one into `audit_events` for all of them.
   */
  private openBatch(): LingeringBatch {
    let start!: () => void;
    const started = new Promise<void>((resolve) => (start = resolve));
    const batch: LingeringBatch = {
      deliveries: [],
      events: 0,
      start,
      // The order of hand-ins is taken when the batch starts: batches start in the order they opened.
      moved: started.then(() => this.move(batch.deliveries, this.nextInOrder())),
      timer: setTimeout(() => this.startLingeringBatch(), this.linger.ms),
    };
    batch.timer.unref();
    return batch;
  }

  /** Starts the lingering batch's move now (its time is up, it is full, or a reader of the trail waits). */
  private startLingeringBatch(): void {
    const batch = this.lingering;
    if (!batch) return;
    this.lingering = undefined;
    clearTimeout(batch.timer);
    batch.start();
  }

  /** Steps 2 and 3 for the deliveries, their events together (see deliver); reports its failures, never throws. */
  private async move(deliveries: readonly Delivery[], order?: HandInOrder): Promise<void> {
    const events = deliveries.length === 1 ? deliveries[0]!.events : deliveries.flatMap((delivery) => delivery.events);
    let followed: Awaited<ReturnType<Outbox["withFollowers"]>>;
    try {
      followed = await this.withFollowers(events);
    } catch (error) {
      // A follower that threw outright: the events stay for recovery, and the moves after this one go on.
      order?.handIn();
      this.onDeliveryFailure(error);
      return;
    }
    const { batch, rest, failure } = followed;
    try {
      await this.append(batch, false, order);
    } catch (error) {
      this.onDeliveryFailure(error);
      return;
    }
    if (failure !== undefined) {
      // The events stay in their documents: recovery appends them (a no-op) and follows them again.
      this.onDeliveryFailure(failure);
      return;
    }
    const pulls = this.pulls;
    const cleared: Promise<void> = rest()
      .then(() => Promise.all(deliveries.map(({ collection, id, events }) => (pulls ? pulls.add(collection, id, events) : this.clear(collection, id, events)))))
      .then(() => undefined)
      .catch(this.onDeliveryFailure)
      .finally(() => this.clearing.delete(cleared));
    this.clearing.add(cleared);
  }

  /**
   * Pulls delivered events off their document. FerretDB v1.24's $pull matches whole elements only
   * (no query conditions such as `{_id: …}`), so the events are removed by value with $pullAll —
   * exactly what was pushed (or read back), which MongoDB matches the same way.
   */
  private async clear(collection: CarrierCollection, id: string, events: readonly AuditEventDocument[]): Promise<void> {
    await this.writes.document(collection.collectionName, id, () => collection.updateOne({ _id: id } as never, { $pullAll: { outbox: [...events] } } as never));
  }

  /** Waits for the moves and clean-ups under way, deferred pulls included (shutdown, tests). */
  async settle(): Promise<void> {
    while (this.clearing.size || this.pending?.size || this.pulls?.size) {
      await this.pending?.settled();
      await Promise.allSettled([...this.clearing]);
      await this.pulls?.flush();
    }
  }

  /**
   * Finishes the moves that did not complete in one collection: every stranded event reaches the
   * trail once; a tombstone is handed to `finishDeletion` (which must delete it), any other
   * document is cleared. Returns how many documents were recovered. Safe on every instance at once.
   */
  async recover<T extends OutboxCarrier>(collection: CarrierCollection, finishDeletion: (tombstone: T) => Promise<void>, limit = 200): Promise<number> {
    // This process's own moves and pulls under way are not stranded: they finish by themselves.
    await this.pending?.settled();
    const found = (await guarded(() => collection.find({ "outbox._id": { $exists: true } }).limit(limit).toArray())) as unknown as T[];
    const stranded = found.filter((doc) => doc.deletedAt || !(doc.outbox ?? []).every((event) => this.pending?.moving(event._id) || this.pulls?.waiting(event._id)));
    for (const doc of stranded) {
      const events = doc.outbox ?? [];
      const { batch, rest } = await this.withFollowers(events);
      await this.append(batch, true);
      await rest();
      if (doc.deletedAt) await finishDeletion(doc);
      else await this.clear(collection, doc._id, events);
    }
    return stranded.length;
  }
}

/** A document's new events, to be moved into the trail. */
interface Delivery {
  collection: CarrierCollection;
  id: string;
  events: readonly AuditEventDocument[];
}

/** Deliveries waiting to move together (Outbox.deliver on the embedded database's one server). */
interface LingeringBatch {
  deliveries: Delivery[];
  events: number;
  start: () => void;
  /** Settles once the batch's move has (see Outbox.move: it never rejects). */
  moved: Promise<void>;
  timer: NodeJS.Timeout;
}

/** A move's place in the order in which moves hand their directory events to the log. */
interface HandInOrder {
  /** Resolves when the move before has handed its events in. */
  after: Promise<void>;
  /** This move has handed its events in (called once they are queued, or when it gives up). */
  handIn(): void;
}

/**
 * The pulls of delivered events off their documents, on the embedded database's one server. A pull
 * is another read and rewrite of the whole document by FerretDB, and it would compete with the next
 * request for FerretDB's one writer; it is housekeeping, so it waits until no change has been
 * delivered for `idleMs` (a quiet moment), or until the oldest has waited `maxDelayMs`, or until
 * `maxDocuments` wait. A document's delivered events wait together and leave in one pull. Until
 * then they stay in their document, where they are harmless: they are in the trail already, the
 * resident directory holds no outbox, and recovery (which leaves these to the pulls, `waiting`)
 * would only find them in the trail and clear them — which is also what happens to them after a
 * crash.
 */
class DeferredPulls {
  private readonly documents = new Map<string, { collection: CarrierCollection; id: string; events: AuditEventDocument[]; since: number }>();
  private readonly eventIds = new Set<string>();
  private lastDelivery = 0;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly pull: (collection: CarrierCollection, id: string, events: readonly AuditEventDocument[]) => Promise<void>,
    private readonly onFailure: (error: unknown) => void,
    private readonly idleMs = 200,
    private readonly maxDelayMs = 30_000,
    private readonly maxDocuments = 5_000,
  ) {}

  get size(): number {
    return this.documents.size;
  }

  waiting(eventId: string): boolean {
    return this.eventIds.has(eventId);
  }

  /**
   * Defers the pull of a document's delivered events — unless that document already waits for one:
   * a document changed again and again (a group under a stream of member changes) would otherwise
   * carry ever more events, and FerretDB rewrites all of them with every update of it. Its events
   * leave together now, so a document carries at most two changes' events.
   */
  async add(collection: CarrierCollection, id: string, events: readonly AuditEventDocument[]): Promise<void> {
    const key = `${collection.collectionName}/${id}`;
    this.lastDelivery = Date.now();
    const waiting = this.documents.get(key);
    if (waiting) {
      this.documents.delete(key);
      const all = [...waiting.events, ...events];
      try {
        await this.pull(collection, id, all);
      } finally {
        for (const event of waiting.events) this.eventIds.delete(event._id);
      }
      return;
    }
    this.documents.set(key, { collection, id, events: [...events], since: Date.now() });
    for (const event of events) this.eventIds.add(event._id);
    if (this.documents.size >= this.maxDocuments) void this.flush();
    else this.schedule(this.idleMs);
  }

  private schedule(ms: number): void {
    if (this.timer || this.flushing) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.whenQuiet();
    }, ms);
    this.timer.unref();
  }

  /** Pulls while the server is quiet (or the oldest has waited long enough); otherwise looks again later. */
  private async whenQuiet(): Promise<void> {
    const now = Date.now();
    const oldest = Math.min(...[...this.documents.values()].map((entry) => entry.since));
    if (now - this.lastDelivery < this.idleMs && now - oldest < this.maxDelayMs) {
      this.schedule(this.idleMs - (now - this.lastDelivery));
      return;
    }
    await this.flush(() => Date.now() - this.lastDelivery >= this.idleMs || Date.now() - oldest >= this.maxDelayMs);
  }

  /** Pulls what waits, one document at a time, as long as `go` allows (all of it when absent). */
  flush(go: () => boolean = () => true): Promise<void> {
    if (this.flushing) return this.flushing;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.flushing = (async () => {
      for (const [key, entry] of this.documents) {
        if (!go()) break;
        this.documents.delete(key);
        try {
          await this.pull(entry.collection, entry.id, entry.events);
        } catch (error) {
          this.onFailure(error);
        } finally {
          for (const event of entry.events) this.eventIds.delete(event._id);
        }
      }
    })().finally(() => {
      this.flushing = undefined;
      if (this.documents.size) this.schedule(this.idleMs);
    });
    return this.flushing;
  }
}

/**
 * When `recover` runs in a server process: at start-up, every `periodMs` (five minutes: an instance
 * that died leaves work for the others; on FerretDB recovery scans), and soon after anything may
 * have stranded an event in this process — a failed delivery, or a write that failed because the
 * database was unreachable or stalled (storage/database-errors.ts, `onUncertainOutcome`): such a
 * write may have been applied although the driver reported an error, and its event is then only in
 * its document.
 *
 * "Soon" is `soonMs` (5 s) after the request, retried every `soonMs` while the database is still
 * away, so the event reaches the trail within seconds of the database answering again — well inside
 * the minute the README promises. A requested recovery runs twice in a row successfully: a write
 * that a stalled database received before it froze is applied when it resumes, possibly just after
 * the first successful pass started.
 */
export class OutboxRecoverySchedule {
  private running = false;
  private dueRuns = 0;
  /** Bumped by each request: a pass that began before the latest request does not count for it. */
  private requests = 0;
  private soonTimer: NodeJS.Timeout | undefined;
  private periodTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly soonMs: number;
  private readonly periodMs: number;

  constructor(
    private readonly recover: () => Promise<number>,
    private readonly report: { recovered(count: number): void; failed(error: unknown): void },
    options: { soonMs?: number; periodMs?: number } = {},
  ) {
    this.soonMs = options.soonMs ?? 5_000;
    this.periodMs = options.periodMs ?? 5 * 60_000;
  }

  /** Recovers now and then every period. */
  start(): void {
    void this.run();
    this.periodTimer = setInterval(() => void this.run(), this.periodMs);
    this.periodTimer.unref();
  }

  /** Something may have stranded an event: recover within `soonMs`, twice, retrying while it fails. */
  requestSoon(): void {
    if (this.stopped) return;
    this.dueRuns = 2;
    this.requests++;
    this.scheduleSoon();
  }

  private scheduleSoon(): void {
    if (this.soonTimer || this.stopped) return;
    this.soonTimer = setTimeout(() => {
      this.soonTimer = undefined;
      void this.run();
    }, this.soonMs);
    this.soonTimer.unref();
  }

  /** One pass; a pass already under way is not doubled (the requested runs then follow it). */
  private async run(): Promise<void> {
    if (this.running) return;
    this.running = true;
    const requestsAtStart = this.requests;
    try {
      const recovered = await this.recover();
      if (this.dueRuns > 0 && this.requests === requestsAtStart) this.dueRuns--;
      if (recovered) this.report.recovered(recovered);
    } catch (error) {
      this.report.failed(error);
    } finally {
      this.running = false;
      if (this.dueRuns > 0) this.scheduleSoon();
    }
  }

  /** Waits for a pass under way and stops scheduling (shutdown, tests). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.soonTimer);
    clearInterval(this.periodTimer);
    while (this.running) await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Inserts events into the audit trail: safe to repeat, an event already there is left as it is (a
 * duplicate key is not an error here). Each is added to this process's resident audit index, when
 * it keeps one (storage/audit-index.ts). Resolves once they are stored.
 *
 * Group commit: one insert at a time per database in a process; whatever requests hand in while
 * one is under way goes together in the next (an unordered `insertMany`). At 16 concurrent SCIM
 * creates that is one or two inserts in flight instead of sixteen, each a transaction of FerretDB's
 * single SQLite writer. A failed insert fails every request in it (their events stay in their
 * documents' outboxes, where recovery finds them).
 */
export function insertIntoTrail(models: Models, documents: readonly AuditEventDocument[]): Promise<void> {
  if (!documents.length) return Promise.resolve();
  let writer = trailWriters.get(models);
  if (!writer) trailWriters.set(models, (writer = new TrailWriter(models)));
  return writer.write(documents);
}

const trailWriters = new WeakMap<Models, TrailWriter>();

class TrailWriter {
  private waiting: { documents: readonly AuditEventDocument[]; resolve(): void; reject(error: unknown): void }[] | undefined;

  constructor(private readonly models: Models) {}

  write(documents: readonly AuditEventDocument[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.waiting) {
        this.waiting.push({ documents, resolve, reject });
        return;
      }
      this.waiting = [{ documents, resolve, reject }];
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    for (;;) {
      const batch = this.waiting ?? [];
      if (!batch.length) {
        this.waiting = undefined;
        return;
      }
      this.waiting = [];
      try {
        await insertEvents(this.models, batch.flatMap(({ documents }) => documents));
        for (const { resolve } of batch) resolve();
      } catch (error) {
        for (const { reject } of batch) reject(error);
      }
    }
  }
}

/** One unordered `insertMany` of events into the trail, duplicates tolerated; then the resident index. */
async function insertEvents(models: Models, documents: readonly AuditEventDocument[]): Promise<void> {
  try {
    await models.AuditEvent.collection.insertMany(documents.map((document) => ({ ...document })) as never[], { ordered: false });
  } catch (error) {
    // Unordered: every event but the ones already stored was written; only another failure counts.
    const writeErrors = (error as { writeErrors?: unknown }).writeErrors;
    const failures = (Array.isArray(writeErrors) ? writeErrors : writeErrors ? [writeErrors] : []) as { code?: unknown; err?: { code?: unknown } }[];
    const onlyDuplicates = failures.length > 0 && failures.every((failure) => (failure.code ?? failure.err?.code) === 11000);
    if (!onlyDuplicates && !isDuplicateKey(error)) await guarded(() => Promise.reject(error));
    if (!onlyDuplicates && isDuplicateKey(error) && failures.length === 0) {
      // A duplicate without the per-write list: write them one by one instead.
      for (const document of documents) await models.AuditEvent.collection.insertOne({ ...document } as never).catch((e: unknown) => (isDuplicateKey(e) ? undefined : guarded(() => Promise.reject(e))));
    }
  }
  const index = residentAuditIndexOf(models);
  for (const document of documents) index?.add(document);
}

/**
 * The stored form of a domain audit event: the services hand events up as domain values
 * (domain/audit.ts) and only storage knows they are documents keyed by `_id`. Made once per write,
 * so what is pushed onto a document is exactly what is later pulled off it ($pullAll matches by value).
 */
export function auditDocument(event: AuditEvent): AuditEventDocument {
  const { id, actor, target, ...rest } = event;
  return { _id: id, ...rest, actor: { ...actor }, target: { ...target } } as AuditEventDocument;
}

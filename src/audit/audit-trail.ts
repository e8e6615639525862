import { randomUUID } from "node:crypto";
import type { AuditEvent } from "../domain/audit";
import type { RequestContext } from "../domain/context";
import { guarded } from "../storage/database-errors";
import { plainData } from "../storage/plain";
import type { AuditEventDocument, Models } from "../storage/models";
import { auditDocument, insertIntoTrail } from "../storage/outbox";
import { residentAuditIndexOf } from "../storage/audit-index";
import { directoryEventLogOf } from "../storage/directory-events";
import { readById } from "../storage/read-by-id";
import { trailSettled } from "../storage/trail-moves";
import { auditEventOrder, auditEventQuery, type AuditFilter, type AuditPosition } from "./audit-query";

export interface Change {
  action: string;
  target: AuditEvent["target"];
  before?: unknown;
  after?: unknown;
  reason?: string;
}

/**
 * The append-only audit trail. Nothing here updates or deletes an event. Callers pass snapshots
 * that hold no secrets (tokens appear by id and name, passwords never).
 */
export class AuditTrail {
  constructor(private readonly models: Models, private readonly now: () => Date = () => new Date()) {}

  /**
   * One change's event, as a domain value. Stores write it inside the same single-document update
   * as the change itself and move it here afterwards (storage/outbox.ts), so no change exists
   * without its event, whatever dies in between; how it is stored is storage's business.
   */
  event(ctx: RequestContext, change: Change): AuditEvent {
    return {
      id: randomUUID(),
      organizationId: ctx.organizationId,
      at: this.now(),
      actor: { ...ctx.actor },
      source: ctx.source,
      action: change.action,
      target: { ...change.target },
      requestId: ctx.requestId,
      ...(change.before !== undefined ? { before: plainData(change.before) } : {}),
      ...(change.after !== undefined ? { after: plainData(change.after) } : {}),
      ...(change.reason !== undefined ? { reason: change.reason } : {}),
    };
  }

  /**
   * Records an event that accompanies changes already recorded with their own events (a summary,
   * such as "the user's access was revoked" after each token's revocation), straight into the trail.
   */
  async record(ctx: RequestContext, change: Change): Promise<AuditEvent> {
    const event = this.event(ctx, change);
    const document = auditDocument(event);
    // After the changes this process is still moving (storage/trail-moves.ts): a summary follows
    // the change it summarises in the event log.
    await trailSettled(this.models);
    // Published before it enters the trail, as the outbox does (storage/directory-events.ts).
    await directoryEventLogOf(this.models).publish(document);
    await guarded(() => this.models.AuditEvent.collection.insertOne(document as never));
    residentAuditIndexOf(this.models)?.add(document);
    return event;
  }

  /**
   * Records derived events (derivedEventId) that are not in the trail yet: one `_id` read each, so
   * a watch that looks again and again (services/certificate-watch.ts) publishes each event once.
   * Two instances looking at the same moment may both publish it, under one id (at least once).
   */
  async appendAbsent(events: readonly AuditEvent[]): Promise<void> {
    const absent: AuditEvent[] = [];
    await trailSettled(this.models);
    for (const event of events) if (!(await guarded(() => readById(this.models.AuditEvent, event.id)))) absent.push(event);
    if (absent.length) await this.appendDerived(absent);
  }

  /**
   * Writes events derived from a change already in the trail (services/access-changes.ts), in
   * batches of `batchSize` — one round trip each, not one per event (plus one publication per
   * directory event). Safe to repeat: derived events
   * have ids computed from what they derive from, and an event already stored is left as it is
   * (a duplicate key is not an error here), so a derivation cut short by a crash is simply run again.
   */
  async appendDerived(events: readonly AuditEvent[], batchSize = 1000): Promise<void> {
    // In the trail's order (at, then id), so the resident index appends rather than inserts.
    const ordered = [...events].sort((a, b) => a.at.getTime() - b.at.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    for (let from = 0; from < ordered.length; from += batchSize) {
      const documents = ordered.slice(from, from + batchSize).map(auditDocument);
      // Their directory events first, as the outbox publishes (storage/directory-events.ts): an event
      // in the trail has been published. A derivation run again after a crash may publish an event
      // twice, under the same id (at least once; receivers deduplicate by id).
      await directoryEventLogOf(this.models).publishAll(documents);
      await insertIntoTrail(this.models, documents);
    }
  }

  /**
   * One page of an organization's events matching `filter`, newest first, continuing strictly after
   * `after`. `next` is set only when at least one more event matches (one extra is read to know),
   * so a client never fetches an empty last page.
   */
  async search(organizationId: string, filter: AuditFilter, page: { limit: number; after?: AuditPosition }): Promise<{ events: AuditEvent[]; next?: AuditPosition }> {
    // Every change answered before this read is in it (storage/trail-moves.ts: the embedded database's moves follow the answer).
    await trailSettled(this.models);
    const index = residentAuditIndexOf(this.models);
    const docs = index?.ready
      ? // The embedded database's one server process: chosen in memory, read by _id (storage/audit-index.ts).
        await index.page(organizationId, filter, page.limit, page.after)
      : // MongoDB, tests, or an index still loading: the query the declared indexes serve (storage/models.ts).
        await guarded(() => this.models.AuditEvent.find(auditEventQuery(organizationId, filter, page.after)).sort(auditEventOrder).limit(page.limit + 1).lean<AuditEventDocument[]>());
    const events = docs.slice(0, page.limit).map(({ _id, ...rest }) => ({ id: _id, ...rest }) as AuditEvent);
    const last = events[events.length - 1];
    return docs.length > page.limit && last ? { events, next: { at: last.at, id: last.id } } : { events };
  }

  /**
   * Visits the time and action of every event of `source` since `from` (in no promised order):
   * from the resident audit index's memory on the embedded database, else one query of two fields
   * per event, served by the `{organizationId, source, at, _id}` index on MongoDB.
   */
  async tally(organizationId: string, source: AuditEvent["source"], from: Date, visit: (at: number, action: string) => void): Promise<void> {
    await trailSettled(this.models);
    const index = residentAuditIndexOf(this.models);
    if (index && (await index.tally(organizationId, source, from, visit))) return;
    const cursor = this.models.AuditEvent.collection.find(auditEventQuery(organizationId, { source, from }), { projection: { at: 1, action: 1 }, sort: auditEventOrder, batchSize: 1000 });
    await guarded(async () => {
      for await (const doc of cursor) visit((doc.at as Date).getTime(), String(doc.action));
    });
  }

  /**
   * Every matching event, newest first, a page at a time: an export of a long trail never holds it
   * all in memory. An event recorded while the export runs sorts before the position already
   * reached and is left out (unless it lands in that very millisecond with a smaller id), so the
   * export is, in practice, the trail as it stood when it began.
   */
  async *searchAll(organizationId: string, filter: AuditFilter, pageSize = 500): AsyncGenerator<AuditEvent[]> {
    let after: AuditPosition | undefined;
    do {
      const page = await this.search(organizationId, filter, { limit: pageSize, ...(after ? { after } : {}) });
      if (page.events.length) yield page.events;
      after = page.next;
    } while (after);
  }
}


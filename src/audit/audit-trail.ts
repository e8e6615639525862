import { randomUUID } from "node:crypto";
import type { AuditEvent } from "../domain/audit";
import type { RequestContext } from "../domain/context";
import { guarded } from "../storage/database-errors";
import type { AuditEventDocument, Models } from "../storage/models";

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

  async record(ctx: RequestContext, change: Change): Promise<AuditEvent> {
    const event: AuditEvent = {
      id: randomUUID(),
      organizationId: ctx.organizationId,
      at: this.now(),
      actor: ctx.actor,
      source: ctx.source,
      requestId: ctx.requestId,
      ...change,
    };
    const doc: AuditEventDocument = {
      _id: event.id,
      organizationId: event.organizationId,
      at: event.at,
      actor: { ...event.actor },
      source: event.source,
      action: event.action,
      target: { ...event.target },
      requestId: event.requestId,
    };
    if (change.before !== undefined) doc.before = change.before;
    if (change.after !== undefined) doc.after = change.after;
    if (change.reason !== undefined) doc.reason = change.reason;
    await guarded(() => this.models.AuditEvent.collection.insertOne(doc as never));
    return event;
  }

  /** Events of an organization, newest first (querying and export grow with the access issue). */
  async list(organizationId: string, limit = 100): Promise<AuditEvent[]> {
    const docs = await guarded(() =>
      this.models.AuditEvent.find({ organizationId }).sort({ at: -1, _id: -1 }).limit(limit).lean<AuditEventDocument[]>(),
    );
    return docs.map(({ _id, ...rest }) => ({ id: _id, ...rest }) as AuditEvent);
  }
}

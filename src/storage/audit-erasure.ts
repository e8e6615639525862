import { randomBytes } from "node:crypto";
import { residentAuditIndexOf } from "./audit-index";
import { guarded } from "./database-errors";
import { LookupKeys } from "./lookup-keys";
import { trailSettled } from "./trail-moves";
import { writeQueueOf } from "./write-queue";
import type { AuditEventDocument, Models } from "./models";

/**
 * The storage side of personal data erasure (services/personal-data-erasure.ts): the organization's
 * pseudonym secret, and the rewrite of an organization's audit trail.
 *
 * The rewrite reads the organization's events once, as one cursor in batches (on MongoDB through
 * the `{organizationId, at, _id}` index; on FerretDB one scan in its Go code, ~0.3 ms an event,
 * which a query per batch would repeat for every batch), keeps only the events that change (a
 * member's own events, a few hundred to thousands), then updates each of those by `_id`, eight
 * at a time. Each rewritten event replaces its copy in the resident audit index (its actor and target
 * codes and the recent full events), so no page served from memory keeps the old data; another
 * process (the CLI next to the server) reaches the server's index through the change journal, which
 * lists the rewritten `_id`s.
 */
export class AuditErasureStore {
  private readonly keys: LookupKeys;

  constructor(private readonly models: Models) {
    this.keys = new LookupKeys(models);
  }

  /**
   * The organization's secret for pseudonyms, created on first use and never shown: without it a
   * pseudonym cannot be traced back to a member id. Kept as a lookup key (`<org>/erasure.secret/`),
   * so two first erasures at once agree on one secret.
   */
  organizationSecret(organizationId: string): Promise<string> {
    return this.keys.valueOnce(LookupKeys.key(organizationId, "erasure.secret", ""), () => randomBytes(32).toString("base64url"));
  }

  /** Deletes lookup keys whose `_id` holds a value of the erased member (an externalId, a NameID) once nobody owns them. */
  async deleteUnownedKeys(organizationId: string, kinds: readonly string[], values: readonly string[]): Promise<number> {
    let deleted = 0;
    for (const kind of kinds) for (const value of values) if (await this.keys.deleteIfUnowned(LookupKeys.key(organizationId, kind, value))) deleted++;
    return deleted;
  }

  /** Rewrites every event of the organization that `rewrite` changes; answers how many were read and rewritten. */
  async rewriteTrail(organizationId: string, rewrite: (event: AuditEventDocument) => AuditEventDocument | undefined, concurrency = 8): Promise<{ scanned: number; rewritten: number }> {
    const changed: AuditEventDocument[] = [];
    let scanned = 0;
    // The events of changes already answered are erased too (storage/trail-moves.ts).
    await trailSettled(this.models);
    await guarded(async () => {
      const cursor = this.models.AuditEvent.collection.find({ organizationId } as never, { batchSize: 1000 });
      for await (const raw of cursor) {
        scanned++;
        const doc = raw as unknown as AuditEventDocument;
        const next = rewrite(doc);
        if (next) changed.push(next);
      }
    });
    const index = residentAuditIndexOf(this.models);
    const writes = writeQueueOf(this.models);
    // One update by `_id` each (FerretDB serves those from SQLite; a multi-statement bulk update
    // stalled it past the driver's timeout), `concurrency` in flight.
    let next = 0;
    const writer = async () => {
      while (next < changed.length) {
        const doc = changed[next++]!;
        const fields = { actor: doc.actor, target: doc.target, ...(doc.before !== undefined ? { before: doc.before } : {}), ...(doc.after !== undefined ? { after: doc.after } : {}), ...(doc.reason !== undefined ? { reason: doc.reason } : {}), ...(doc.cause !== undefined ? { cause: doc.cause } : {}) };
        await guarded(() => writes.document("audit_events", doc._id, () => this.models.AuditEvent.collection.updateOne({ _id: doc._id } as never, { $set: fields })));
        index?.add(doc);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, changed.length) }, writer));
    return { scanned, rewritten: changed.length };
  }
}

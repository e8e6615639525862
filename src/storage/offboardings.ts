import type { AuditEvent } from "../domain/audit";
import type { Offboarding } from "../domain/offboarding";
import { ConflictError } from "../errors";
import { guarded, isDuplicateKey } from "./database-errors";
import type { Models, OffboardingDocument } from "./models";
import type { Outbox } from "./outbox";
import { plainData } from "./plain";
import { readById } from "./read-by-id";

function toOffboarding(doc: OffboardingDocument): Offboarding {
  const date = (value: Date | undefined) => (value === undefined ? undefined : new Date(value));
  const optional = {
    reminderSentAt: date(doc.reminderSentAt),
    carriedOutAt: date(doc.carriedOutAt),
    completedAt: date(doc.completedAt),
    completedBecause: doc.completedBecause,
    cancelledAt: date(doc.cancelledAt),
    cancelledBecause: doc.cancelledBecause,
    conflict: doc.conflict ? { at: new Date(doc.conflict.at), detail: doc.conflict.detail } : undefined,
    revokedTokens: doc.revokedTokens,
  };
  return {
    id: doc._id,
    organizationId: doc.organizationId,
    userId: doc.userId,
    userName: doc.userName,
    memberReference: doc.memberReference,
    effectiveAt: new Date(doc.effectiveAt),
    reason: doc.reason,
    status: doc.status,
    requestedBy: doc.requestedBy,
    created: new Date(doc.created),
    version: doc.version,
    ...(plainData(optional) as Partial<Offboarding>),
  };
}

function toDocument(offboarding: Offboarding): OffboardingDocument {
  const { id, ...rest } = offboarding;
  return plainData({ _id: id, ...rest, ...(rest.revokedTokens ? { revokedTokens: [...rest.revokedTokens] } : {}) }) as OffboardingDocument;
}

/** Fields a state change may set or clear (everything but the identity of the offboarding). */
const changeableFields = ["status", "reminderSentAt", "carriedOutAt", "completedAt", "completedBecause", "cancelledAt", "cancelledBecause", "conflict", "revokedTokens", "version"] as const;

/**
 * HR offboardings, their agenda and the scheduler's claims. Every read and write of one
 * offboarding is by `_id`; each state change carries its audit event (storage/outbox.ts) and is
 * compare-and-set on the version. The agenda holds only what is still scheduled, so the
 * scheduler's one query per tick reads few documents on FerretDB and an index range on MongoDB.
 */
export class OffboardingStore {
  constructor(
    private readonly models: Models,
    private readonly outbox: Outbox,
  ) {}

  private get collection() {
    return this.models.Offboarding.collection;
  }

  /** Stores a new offboarding with its events; false (nothing written) when its id — its idempotency key — is taken. */
  async insert(offboarding: Offboarding, changes: readonly AuditEvent[]): Promise<boolean> {
    try {
      await this.outbox.insert(this.collection, toDocument(offboarding), changes);
      return true;
    } catch (error) {
      if (error instanceof ConflictError || isDuplicateKey(error)) return false;
      throw error;
    }
  }

  async findById(id: string): Promise<Offboarding | undefined> {
    const doc = await guarded(() => readById<OffboardingDocument>(this.models.Offboarding, id));
    return doc ? toOffboarding(doc) : undefined;
  }

  /**
   * Writes `after` over `before` with its events — only while the stored offboarding is still at
   * `before.version` (compare-and-set, storage/outbox.ts updateIf); false when another write came first.
   */
  async replace(before: Offboarding, after: Offboarding, changes: readonly AuditEvent[]): Promise<boolean> {
    const doc = toDocument(after) as unknown as Record<string, unknown>;
    const set: Record<string, unknown> = {};
    const unset: Record<string, ""> = {};
    for (const field of changeableFields) {
      if (doc[field] === undefined) unset[field] = "";
      else set[field] = doc[field];
    }
    return this.outbox.updateIf(this.collection, before.id, before.version, { $set: set, ...(Object.keys(unset).length ? { $unset: unset } : {}) }, changes);
  }

  /**
   * An organization's offboardings, newest first, optionally of one status: the organization's
   * index on MongoDB; on FerretDB a scan of the offboardings (a list an administrator opens, not a
   * request path; the scheduler never lists).
   */
  async list(organizationId: string, options: { status?: Offboarding["status"]; limit: number }): Promise<Offboarding[]> {
    const docs = await guarded(() =>
      this.collection
        .find({ organizationId, ...(options.status ? { status: options.status } : {}) } as never)
        .sort({ created: -1, _id: -1 })
        .limit(options.limit)
        .toArray(),
    );
    return (docs as unknown as OffboardingDocument[]).map(toOffboarding);
  }

  /** Puts the offboarding on the agenda (or moves it) to be looked at from `wakeAt` on. */
  async wakeAt(id: string, wakeAt: Date): Promise<void> {
    await guarded(() => this.models.OffboardingAgenda.collection.updateOne({ _id: id } as never, { $set: { wakeAt } }, { upsert: true }));
  }

  /** Takes the offboarding off the agenda (carried out, cancelled, or gone). */
  async dropFromAgenda(id: string): Promise<void> {
    await guarded(() => this.models.OffboardingAgenda.collection.deleteOne({ _id: id } as never));
  }

  /** Ids of offboardings on the agenda whose time to be looked at has come, earliest first. */
  async dueIds(now: Date, limit: number): Promise<string[]> {
    const docs = await guarded(() => this.models.OffboardingAgenda.collection.find({ wakeAt: { $lte: now } } as never).sort({ wakeAt: 1 }).limit(limit).toArray());
    return docs.map((doc) => doc._id as unknown as string);
  }

  /**
   * Claims one step of one offboarding for this instance: true for exactly one of the instances
   * that ask with the same `claim` (a unique `_id` insert is atomic on both databases). A claim
   * older than the sweep's cutoff is deleted, so the work of an instance that died is taken up again.
   */
  async claim(claim: string, at: Date): Promise<boolean> {
    try {
      await guarded(() => this.models.OffboardingClaim.collection.insertOne({ _id: claim, claimedAt: at } as never));
      return true;
    } catch (error) {
      if (error instanceof ConflictError || isDuplicateKey(error)) return false;
      throw error;
    }
  }

  /** Deletes claims taken before `cutoff` (their instance finished, or died). */
  async sweepClaims(cutoff: Date): Promise<void> {
    await guarded(() => this.models.OffboardingClaim.collection.deleteMany({ claimedAt: { $lt: cutoff } } as never));
  }

  /** Moves audit events a crash left on offboardings into the trail (offboardings are never deleted). */
  recoverOutbox(): Promise<number> {
    return this.outbox.recover<OffboardingDocument & { _id: string }>(this.collection, async (doc) => {
      await guarded(() => this.collection.deleteOne({ _id: doc._id } as never));
    });
  }
}

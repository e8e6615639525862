import type { LookupKeyDocument, Models } from "./models";
import { guarded, isDuplicateKey, translateDatabaseError } from "./database-errors";
import { readById } from "./read-by-id";
import { ConflictError } from "../errors";
import { writeQueueOf, type WriteQueue } from "./write-queue";

/**
 * Lookup keys turn "find by value" and "value must be unique" into `_id` operations (see
 * LookupKeyDocument). A unique key has one owner; an index key lists every owner of a value.
 *
 * Without transactions a key can outlive its owner (a crash between two writes); such a key is
 * stale and is taken over by the next claimant after `isStale` confirms the owner no longer holds
 * the value.
 */
export class LookupKeys {
  private readonly writes: WriteQueue;

  constructor(private readonly models: Models) {
    this.writes = writeQueueOf(models);
  }

  static key(organizationId: string, kind: string, value: string): string {
    return `${organizationId}/${kind}/${value}`;
  }

  async owners(key: string): Promise<string[]> {
    const doc = await guarded(() => readById<LookupKeyDocument>(this.models.LookupKey, key));
    return doc?.owners ?? [];
  }

  /** Claims a unique key for `owner`; ConflictError when another live owner holds it. */
  async claim(key: string, owner: string, isStale: (currentOwner: string) => Promise<boolean>, conflictMessage: string): Promise<void> {
    // A few rounds: a takeover is made only if the key still has the owners it was judged by, so
    // two claimants of one stale key (or a claimant racing the key's release) cannot both win.
    for (let round = 0; round < 5; round++) {
      try {
        await this.models.LookupKey.collection.insertOne({ _id: key, owners: [owner] } as never);
        return;
      } catch (error) {
        if (!isDuplicateKey(error)) throw translateDatabaseError(error);
      }
      const owners = await this.owners(key);
      const [current] = owners;
      if (current === owner && owners.length === 1) return;
      if (current !== undefined && !(await isStale(current))) throw new ConflictError(conflictMessage);
      if (await this.swapOwners(key, owners, [owner])) return;
    }
    throw new ConflictError(conflictMessage);
  }

  /**
   * Sets the owners of an existing key only if they are still `expected` (compare-and-set): in the
   * filter on MongoDB; on FerretDB read, compared and written by `_id` inside the write queue.
   */
  private async swapOwners(key: string, expected: string[], next: string[]): Promise<boolean> {
    if (!this.writes.serialize) {
      const result = await guarded(() => this.models.LookupKey.updateOne({ _id: key, owners: expected }, { $set: { owners: next } }));
      return result.matchedCount === 1;
    }
    return guarded(() =>
      this.writes.document("lookup_keys", key, async () => {
        const doc = await readById<LookupKeyDocument>(this.models.LookupKey, key);
        if (!doc || JSON.stringify(doc.owners ?? []) !== JSON.stringify(expected)) return false;
        await this.models.LookupKey.updateOne({ _id: key }, { $set: { owners: next } });
        return true;
      }),
    );
  }

  /**
   * A unique claim and an index entry written in one round trip (a new user's userName and
   * externalId). Either key already existing falls back to the one-at-a-time path above.
   */
  async claimAndIndex(
    claim: { key: string; owner: string; isStale: (currentOwner: string) => Promise<boolean>; conflictMessage: string },
    index: { key: string; owner: string },
  ): Promise<void> {
    let failed: number[] = [];
    try {
      await this.models.LookupKey.collection.insertMany([{ _id: claim.key, owners: [claim.owner] }, { _id: index.key, owners: [index.owner] }] as never[], {
        ordered: false,
      });
    } catch (error) {
      const writeErrors = (error as { writeErrors?: { index: number; code?: number; errmsg?: string }[] }).writeErrors;
      if (!writeErrors || !writeErrors.every((e) => isDuplicateKey(Object.assign(new Error(e.errmsg ?? ""), { code: e.code })))) {
        throw translateDatabaseError(error);
      }
      failed = writeErrors.map((e) => e.index);
    }
    await Promise.all([
      failed.includes(0) ? this.claim(claim.key, claim.owner, claim.isStale, claim.conflictMessage) : undefined,
      failed.includes(1) ? this.addToIndex(index.key, index.owner) : undefined,
    ]);
  }

  /**
   * Releases a unique key if `owner` still holds it — checked and deleted as one step, so a key
   * another user took over meanwhile (a stale claim) is never deleted from under them: the owner
   * is in the filter on MongoDB; on FerretDB (where that filter is a scan) the key is read and
   * deleted by `_id` inside the write queue, where the takeover's update also runs.
   */
  async release(key: string, owner: string): Promise<void> {
    if (!this.writes.serialize) {
      await guarded(() => this.models.LookupKey.deleteOne({ _id: key, owners: [owner] }));
      return;
    }
    await guarded(() =>
      this.writes.document("lookup_keys", key, async () => {
        const doc = await readById<LookupKeyDocument>(this.models.LookupKey, key);
        if (doc && doc.owners.length === 1 && doc.owners[0] === owner) await this.models.LookupKey.deleteOne({ _id: key });
      }),
    );
  }

  /** Makes `owner` the only owner of a unique key, whoever held it (the repair of userName keys). */
  async assign(key: string, owner: string): Promise<void> {
    await guarded(() => this.writes.document("lookup_keys", key, () => this.models.LookupKey.updateOne({ _id: key }, { $set: { owners: [owner] } }, { upsert: true })));
  }

  /**
   * Visits every key of one kind, optionally only those starting with `prefix`: a scan, for repairs
   * only, read in batches so that a directory's keys are never all in memory at once.
   */
  async eachOfKind(kind: string, prefix: string | undefined, visit: (key: string, owners: readonly string[]) => void): Promise<void> {
    const pattern = prefix ? `^${escapeRegExp(prefix)}` : `/${escapeRegExp(kind)}/`;
    await guarded(async () => {
      for await (const doc of this.models.LookupKey.find({ _id: { $regex: pattern } }).lean<LookupKeyDocument>().cursor({ batchSize: 1000 })) {
        visit(doc._id, doc.owners ?? []);
      }
    });
  }

  /**
   * The value kept under `key`, set by whoever asked first (an insert: of several concurrent callers
   * one wins, on MongoDB and FerretDB alike, and all read its value). For an organization's secrets.
   */
  async valueOnce(key: string, create: () => string): Promise<string> {
    try {
      const value = create();
      await this.models.LookupKey.collection.insertOne({ _id: key, owners: [value] } as never);
      return value;
    } catch (error) {
      if (!isDuplicateKey(error)) throw translateDatabaseError(error);
    }
    const [value] = await this.owners(key);
    if (value === undefined) throw new Error(`The key ${key} holds no value`);
    return value;
  }

  /** Deletes an index key no owner is left in (its `_id` may hold a value that is personal data). */
  async deleteIfUnowned(key: string): Promise<boolean> {
    return guarded(() =>
      this.writes.document("lookup_keys", key, async () => {
        const doc = await readById<LookupKeyDocument>(this.models.LookupKey, key);
        if (!doc || (doc.owners ?? []).length) return false;
        await this.models.LookupKey.deleteOne({ _id: key });
        return true;
      }),
    );
  }

  /** Deletes a key whoever owns it. */
  async remove(key: string): Promise<void> {
    await guarded(() => this.writes.document("lookup_keys", key, () => this.models.LookupKey.deleteOne({ _id: key })));
  }

  async addToIndex(key: string, owner: string): Promise<void> {
    await guarded(() => this.writes.document("lookup_keys", key, () => this.models.LookupKey.updateOne({ _id: key }, { $addToSet: { owners: owner } }, { upsert: true })));
  }

  async removeFromIndex(key: string, owner: string): Promise<void> {
    await guarded(() => this.writes.document("lookup_keys", key, () => this.models.LookupKey.updateOne({ _id: key }, { $pull: { owners: owner } })));
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

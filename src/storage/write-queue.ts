import type { mongo } from "mongoose";
import type { Models } from "./models";

/**
 * FerretDB v1.24's SQLite backend applies an update by reading the document, changing it in Go and
 * writing the whole document back, with nothing to stop two updates of one document from
 * interleaving: 200 concurrent `$inc`s of one field leave 26, and a `$push` racing another update
 * of the same document can vanish (measured; MongoDB applies each single-document update
 * atomically). Gatehouse relies on that atomicity — a deactivation's session-epoch `$inc` must
 * never be lost, nor a membership `$pull` undone by a `$addToSet` — so on FerretDB every write
 * that reads before it writes runs through this queue: one at a time per document, and a write
 * that may touch many documents (`updateMany`) alone in its collection.
 *
 * The queue wraps the operation; it does not patch driver objects. (It once did, and on a
 * reconnect mongoose re-creates its native collection objects — `NativeCollection#onOpen` — so
 * every write after a database stall ran unserialized: 200 concurrent member changes raised a
 * group's version by about 50, and an acknowledged removal was undone.) It is created once per
 * connection and lives as long as the process uses it, whatever the driver does underneath.
 *
 * The same queue lets a version-conditioned write (compare-and-set) be an `_id` operation on
 * FerretDB: read the document, compare its version in code, write by `_id` — inside the queue,
 * so no other write of this process comes in between. On MongoDB the version goes in the filter
 * instead and the queue runs everything at once.
 *
 * SQLite admits one writer per database file at a time anyway, so the queue costs little
 * throughput. It cannot order the writes of two processes: the embedded database serves one
 * Gatehouse server (the CLI's occasional writes aside); several instances need MongoDB.
 */
export class WriteQueue {
  private readonly collections = new Map<string, { exclusive: Promise<unknown>; documents: Map<string, Promise<unknown>> }>();

  /** `serialize` false (MongoDB): every operation runs at once. */
  constructor(readonly serialize: boolean) {}

  /**
   * Runs `work` — a read-modify-write of the document `id` of `collection` — after every earlier
   * one of the same document (and of the whole collection, see `exclusive`) has settled.
   */
  document<T>(collection: string, id: string, work: () => Promise<T>): Promise<T> {
    if (!this.serialize) return work();
    const queue = this.queueOf(collection);
    const before = Promise.all([queue.exclusive, queue.documents.get(id)]);
    const run = before.then(work);
    const settled = run.catch(() => undefined);
    queue.documents.set(id, settled);
    // Forget a document's tail once nothing queued after it, so the map does not grow with every id ever written.
    void settled.then(() => {
      if (queue.documents.get(id) === settled) queue.documents.delete(id);
    });
    return run;
  }

  /** Runs `work`, which may touch any document of `collection`, alone in that collection. */
  exclusive<T>(collection: string, work: () => Promise<T>): Promise<T> {
    if (!this.serialize) return work();
    const queue = this.queueOf(collection);
    const before = Promise.all([queue.exclusive, ...queue.documents.values()]);
    const run = before.then(work);
    const settled = run.catch(() => undefined);
    queue.exclusive = settled;
    // Later document writes wait for `exclusive`, which waited for every earlier one.
    queue.documents.clear();
    return run;
  }

  private queueOf(collection: string) {
    let queue = this.collections.get(collection);
    if (!queue) this.collections.set(collection, (queue = { exclusive: Promise.resolve(), documents: new Map() }));
    return queue;
  }
}

/**
 * The queue of the connection the models belong to. Registered once by `connectDatabase`; asking
 * for models that were never registered is a programming error, not a silent "no serialization".
 */
const queues = new WeakMap<Models, WriteQueue>();

export function registerWriteQueue(models: Models, queue: WriteQueue): void {
  queues.set(models, queue);
}

export function writeQueueOf(models: Models): WriteQueue {
  const queue = queues.get(models);
  if (!queue) throw new Error("These models have no write queue: connect through connectDatabase");
  return queue;
}

/** True when the server is FerretDB (its buildInfo says so), not MongoDB. */
export async function isFerretDb(db: mongo.Db): Promise<boolean> {
  const info = await db.admin().command({ buildInfo: 1 });
  return "ferretdbVersion" in info;
}

import type { mongo } from "mongoose";

/**
 * FerretDB v1.24's SQLite backend applies an update by reading the document, changing it in Go and
 * writing the whole document back, with nothing to stop two updates of one document from
 * interleaving: 200 concurrent `$inc`s of one field leave 26, and a `$push` racing another update
 * of the same document can vanish (measured; MongoDB applies each single-document update
 * atomically). Gatehouse relies on that atomicity — a deactivation's session-epoch `$inc` must
 * never be lost, nor a mapping pushed while an audit event is pulled — so on FerretDB every write
 * that reads before it writes goes through one queue per collection in this process.
 *
 * SQLite admits one writer per database file at a time anyway, so the queue costs little
 * throughput. It cannot order the writes of two processes: the embedded database serves one
 * Gatehouse server (the CLI's occasional writes aside); several instances need MongoDB.
 */

const readModifyWrite = ["updateOne", "updateMany", "replaceOne", "findOneAndUpdate", "findOneAndReplace", "bulkWrite"] as const;

/** True when the server is FerretDB (its buildInfo says so), not MongoDB. */
export async function isFerretDb(db: mongo.Db): Promise<boolean> {
  const info = await db.admin().command({ buildInfo: 1 });
  return "ferretdbVersion" in info;
}

/** Makes the read-modify-write operations of one driver collection run one at a time. */
export function serializeWrites(collection: mongo.Collection): void {
  let tail: Promise<unknown> = Promise.resolve();
  const target = collection as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  for (const method of readModifyWrite) {
    const original = target[method]!.bind(collection);
    target[method] = (...args: unknown[]) => {
      const run = tail.then(() => original(...args));
      tail = run.catch(() => undefined);
      return run;
    };
  }
}

import mongoose from "mongoose";
import { isFerretDb, registerWriteQueue, WriteQueue } from "./write-queue";
import { defineModels, type Models } from "./models";

export interface Database {
  readonly connection: mongoose.Connection;
  readonly models: Models;
  /** Serializes read-modify-write operations on FerretDB (storage/write-queue.ts); a no-op on MongoDB. */
  readonly writes: WriteQueue;
  close(): Promise<void>;
}

/**
 * Connects to MongoDB (or the embedded FerretDB). Commands are not buffered while disconnected and
 * server selection is bounded, so an outage surfaces within `timeoutMs` as an error the edges turn
 * into 503 — never a request that hangs.
 *
 * A server that stalls (accepts connections but answers nothing) is noticed by the driver's
 * heartbeat, which then clears the pool and ends the operations waiting on it with
 * `PoolClearedOnNetworkError` (503, storage/database-errors.ts). The heartbeat runs every
 * 2 × `timeoutMs`, between 0.5 s and the driver's default of 10 s, so a short DATABASE_TIMEOUT_MS
 * also notices a stall sooner; the default of 5 s keeps the driver's default heartbeat.
 */
export async function connectDatabase(
  uri: string,
  options: {
    dbName?: string;
    timeoutMs: number;
    /** The driver emits command events (storage/write-monitoring.ts): the CLI's change journal, tests that count reads. */
    monitorCommands?: boolean;
  },
): Promise<Database> {
  const connection = mongoose.createConnection(uri, {
    dbName: options.dbName,
    bufferCommands: false,
    autoIndex: false,
    autoCreate: false,
    serverSelectionTimeoutMS: options.timeoutMs,
    connectTimeoutMS: options.timeoutMs,
    socketTimeoutMS: Math.max(options.timeoutMs * 6, 30_000),
    maxPoolSize: 20,
    heartbeatFrequencyMS: Math.min(10_000, Math.max(500, options.timeoutMs * 2)),
    ...(options.monitorCommands ? { monitorCommands: true } : {}),
  });
  await connection.asPromise();
  const models = defineModels(connection);
  const ferretDb = await isFerretDb(connection.db!);
  await Promise.all(Object.values(models).map((model) => (ferretDb ? keepUniqueIndexesOnly(model) : model.createIndexes())));
  // FerretDB does not make single-document updates atomic (storage/write-queue.ts). The queue
  // belongs to this connection, not to the driver's collection objects, so it survives reconnects.
  const writes = new WriteQueue(ferretDb);
  registerWriteQueue(models, writes);
  return {
    connection,
    models,
    writes,
    close: () => connection.close(),
  };
}

/**
 * The indexes on FerretDB: only the unique ones. Its SQLite backend evaluates every filter but an
 * exact `_id` in its own Go code, so a secondary index there serves no query; it only costs every
 * insert and update that touches its fields (measured: a user's update by `_id` about a third
 * slower with the users' ten declared indexes than with its one unique index) — and uniqueness is
 * the one thing such an index still does. The declared indexes remain the MongoDB contract (every
 * query shape is checked against them, test/index-coverage/); non-unique indexes an earlier
 * version created in an embedded data directory are dropped, so its writes get faster too.
 */
async function keepUniqueIndexesOnly(model: Models[keyof Models]): Promise<void> {
  const collection = model.collection;
  for (const [fields, options] of model.schema.indexes()) {
    if (options?.unique) await collection.createIndex(fields as Record<string, 1 | -1>, { unique: true, ...(options.sparse ? { sparse: true } : {}) });
  }
  const existing = await collection.indexes().catch(() => []); // no collection yet: nothing to drop
  for (const index of existing) {
    if (index.name && index.name !== "_id_" && !index.unique) await collection.dropIndex(index.name).catch(ignoreIndexAlreadyGone);
  }
}

/** Another process (the CLI beside the server) may have dropped it first. */
function ignoreIndexAlreadyGone(error: unknown): void {
  if ((error as { codeName?: string }).codeName !== "IndexNotFound") throw error;
}

/** The database answers a ping: used by /readyz. */
export async function isDatabaseReachable(db: Database): Promise<boolean> {
  try {
    await db.connection.db!.admin().ping();
    return true;
  } catch {
    return false;
  }
}

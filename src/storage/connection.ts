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
  await Promise.all(Object.values(models).map((model) => model.createIndexes()));
  // FerretDB does not make single-document updates atomic (storage/write-queue.ts). The queue
  // belongs to this connection, not to the driver's collection objects, so it survives reconnects.
  const writes = new WriteQueue(await isFerretDb(connection.db!));
  registerWriteQueue(models, writes);
  return {
    connection,
    models,
    writes,
    close: () => connection.close(),
  };
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

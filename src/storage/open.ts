import type { Config } from "../config";
import { connectDatabase, type Database } from "./connection";
import { acquireEmbeddedDatabase } from "./embedded-lock";

/** The database name Gatehouse uses on the embedded server (a MONGODB_URI names its own). */
export const embeddedDatabaseName = "gatehouse";

/**
 * Connects to the configured database: MONGODB_URI, or the embedded FerretDB of the data
 * directory — the one a running server already uses, or a new one this process owns.
 */
export async function openConfiguredDatabase(config: Config): Promise<{ db: Database; embedded: boolean; close(): Promise<void> }> {
  if (config.mongodbUri) {
    const db = await connectDatabase(config.mongodbUri, { timeoutMs: config.databaseTimeoutMs });
    return { db, embedded: false, close: () => db.close() };
  }
  const lease = await acquireEmbeddedDatabase(config.dataDir);
  try {
    const db = await connectDatabase(lease.uri, { dbName: embeddedDatabaseName, timeoutMs: config.databaseTimeoutMs });
    return {
      db,
      embedded: true,
      async close() {
        await db.close().catch(() => undefined);
        await lease.release();
      },
    };
  } catch (error) {
    await lease.release();
    throw error;
  }
}

import type { Config } from "../config";
import { appendChange, changeJournalPath, FileChangeJournal, type ChangeJournal } from "./change-journal";
import { connectDatabase, type Database } from "./connection";
import { acquireEmbeddedDatabase } from "./embedded-lock";
import { monitorWrites } from "./write-monitoring";

/** The database name Gatehouse uses on the embedded server (a MONGODB_URI names its own). */
export const embeddedDatabaseName = "gatehouse";

export interface OpenedDatabase {
  db: Database;
  embedded: boolean;
  /**
   * The server of the embedded database: the journal of the other processes' writes, for its
   * resident stores (composition.ts `resident`). Absent on MongoDB and for the CLI.
   */
  journal?: ChangeJournal;
  /** Changes this process made that it could not record in the journal (the CLI reports them). */
  unrecorded(): readonly Error[];
  close(): Promise<void>;
}

/**
 * Connects to the configured database: MONGODB_URI, or the embedded FerretDB of the data
 * directory — the one a running server already uses, or a new one this process owns.
 *
 * On the embedded database the `server` always owns it (storage/embedded-lock.ts) and keeps
 * per-request documents resident; it empties the change journal before it reads anything. Every
 * other process using that server's database (`client`: the CLI) records each document it
 * writes in the journal, before the write is reported done, so the server sees it on its next
 * request. A client that owns the database itself has no server beside it and records nothing.
 */
export async function openConfiguredDatabase(config: Config, role: "server" | "client" = "client"): Promise<OpenedDatabase> {
  if (config.mongodbUri) {
    const db = await connectDatabase(config.mongodbUri, { timeoutMs: config.databaseTimeoutMs });
    return { db, embedded: false, unrecorded: () => [], close: () => db.close() };
  }
  const lease = await acquireEmbeddedDatabase(config.dataDir, role);
  const journalPath = changeJournalPath(config.dataDir);
  const recordsChanges = role === "client" && !lease.owner;
  try {
    const journal = role === "server" ? FileChangeJournal.startFresh(journalPath) : undefined;
    const db = await connectDatabase(lease.uri, { dbName: embeddedDatabaseName, timeoutMs: config.databaseTimeoutMs, monitorCommands: recordsChanges });
    const unrecorded: Error[] = [];
    const monitor = recordsChanges
      ? monitorWrites(db.connection.getClient(), (change) => {
          try {
            appendChange(journalPath, change);
          } catch (error) {
            unrecorded.push(error instanceof Error ? error : new Error(String(error)));
          }
        })
      : undefined;
    // A write still unanswered when the process exits may yet be applied: recorded too.
    const flush = () => monitor?.flush();
    if (monitor) process.on("exit", flush);
    return {
      db,
      embedded: true,
      ...(journal ? { journal } : {}),
      unrecorded: () => unrecorded,
      async close() {
        await db.close().catch(() => undefined);
        if (monitor) {
          flush();
          monitor.stop();
          process.off("exit", flush);
        }
        await lease.release();
      },
    };
  } catch (error) {
    await lease.release();
    throw error;
  }
}

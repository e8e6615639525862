import { randomBytes } from "node:crypto";
import mongoose from "mongoose";

/** The database server the whole run shares (started by global-setup.ts). */
export function testServerUri(): string {
  const uri = process.env.GATEHOUSE_TEST_SERVER_URI;
  if (!uri) throw new Error("GATEHOUSE_TEST_SERVER_URI is unset: run the tests through jest (global-setup.ts)");
  return uri;
}

/** A database name no other test file uses. */
export function uniqueDatabaseName(prefix = "test"): string {
  return `${prefix}_${process.env.JEST_WORKER_ID ?? "0"}_${randomBytes(6).toString("hex")}`;
}

/** Opens a connection to a fresh database; `drop()` removes the database and closes the connection. */
export async function openTestDatabase(): Promise<{ connection: mongoose.Connection; dbName: string; drop(): Promise<void> }> {
  const dbName = uniqueDatabaseName();
  const connection = await mongoose.createConnection(testServerUri(), { dbName }).asPromise();
  return {
    connection,
    dbName,
    async drop() {
      await connection.dropDatabase();
      await connection.close();
    },
  };
}

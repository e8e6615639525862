import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { startEmbeddedDatabase, type EmbeddedDatabase } from "../../src/storage/embedded-database";
import { queryShapesDirectory } from "./query-shapes";

declare global {
  // eslint-disable-next-line no-var
  var __GATEHOUSE_TEST_DB__: { database?: EmbeddedDatabase; dataDir?: string } | undefined;
}

/**
 * One database server for the whole run: MONGODB_URI when it is set (a real MongoDB), otherwise
 * the embedded FerretDB on a temporary data directory. Each test file then works in a database of
 * its own (test/support/database.ts) and drops it afterwards.
 */
export default async function globalSetup(): Promise<void> {
  startQueryShapeRecords();
  if (process.env.MONGODB_URI) {
    process.env.GATEHOUSE_TEST_SERVER_URI = process.env.MONGODB_URI;
    return;
  }
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "gatehouse-test-"));
  const database = await startEmbeddedDatabase(dataDir);
  globalThis.__GATEHOUSE_TEST_DB__ = { database, dataDir };
  process.env.GATEHOUSE_TEST_SERVER_URI = database.uri;
}

/**
 * Every run records the query shapes it sends afresh (test/support/record-queries.ts), for the
 * index-coverage check that `npm test` runs after the suite (test/index-coverage/).
 */
function startQueryShapeRecords(): void {
  const directory = queryShapesDirectory();
  // A later part of the same `npm test` (the fault-injection suite) adds to the records.
  const appending = process.env.GATEHOUSE_QUERY_SHAPES_APPEND === "1";
  if (!appending) rmSync(directory, { recursive: true, force: true });
  mkdirSync(directory, { recursive: true });
  if (!appending) writeFileSync(path.join(directory, "run.json"), `${JSON.stringify({ startedAt: new Date().toISOString(), arguments: process.argv.slice(2) })}\n`);
  // The built server and CLI the e2e and fault tests start as processes record theirs too.
  const preload = `--require "${path.join(__dirname, "record-child-queries.js")}"`;
  process.env.NODE_OPTIONS = [process.env.NODE_OPTIONS, preload].filter(Boolean).join(" ");
}

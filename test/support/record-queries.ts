import { appendFileSync } from "node:fs";
import path from "node:path";
import { recordQueries } from "../index-coverage/recorder";
import { queryShapesDirectory } from "./query-shapes";

/**
 * Jest setup file (every test file, every worker): appends each query shape the application sends
 * to `<directory>/<worker pid>.jsonl`, once per test file, for the index-coverage check that runs
 * after the suite (test/index-coverage/). The directory is made afresh by global-setup.ts.
 */
const directory = queryShapesDirectory();
const file = path.join(directory, `${process.pid}.jsonl`);
const written = new Set<string>();

/** The index-coverage tests send uncovered queries on purpose, to show they are caught. */
const ownTests = `test${path.sep}index-coverage${path.sep}`;

recordQueries((record) => {
  if (record.origin !== "application") return;
  // A command sent after the test file ended (a late timer) has no test file to name.
  const testPath = typeof expect === "undefined" ? undefined : expect.getState().testPath;
  const testFile = testPath ? path.relative(path.resolve(__dirname, "..", ".."), testPath) : undefined;
  if (testFile?.startsWith(ownTests)) return;
  const key = `${record.key} @ ${record.site ?? ""}`;
  if (written.has(key)) return;
  written.add(key);
  appendFileSync(file, `${JSON.stringify({ ...record, testFile })}\n`);
});

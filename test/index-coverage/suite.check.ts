import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { queryShapesDirectory } from "../support/query-shapes";
import { formatReport, judgeQueries } from "./coverage-check";
import { declaredIndexes } from "./coverage-rule";
import { intentionalScans } from "./intentional-scans";
import type { RecordedQuery } from "./recorder";

/**
 * On MongoDB every query the application sends must be served by an index (issue 12). No mongod
 * can run on these machines, so this is the evidence: every query shape the whole suite sent
 * (recorded by test/support/record-queries.ts while `jest` ran) is judged against the indexes
 * src/storage/models.ts declares, by MongoDB's planner rule (coverage-rule.ts). `npm test` runs
 * this after the suite; run alone (`npx jest -c test/index-coverage/jest.config.js`) it judges
 * whatever the last jest run recorded.
 */
const directory = queryShapesDirectory();

function readRecords(): (RecordedQuery & { testFile?: string })[] {
  return readdirSync(directory)
    .filter((name) => name.endsWith(".jsonl"))
    .flatMap((name) => readFileSync(path.join(directory, name), "utf8").split("\n").filter(Boolean))
    .map((line) => JSON.parse(line) as RecordedQuery & { testFile?: string });
}

describe("every query shape the suite sent is served by a declared index", () => {
  it("has the records of a jest run", () => {
    expect(existsSync(path.join(directory, "run.json"))).toBe(true);
  });

  const records = existsSync(directory) ? readRecords() : [];
  const report = judgeQueries(records, declaredIndexes(), intentionalScans);

  it("recorded the application's queries on its main collections (the recording works)", () => {
    const collections = new Set(report.verdicts.map((v) => v.key.split(".")[0]));
    for (const collection of ["users", "groups", "lookup_keys", "organizations", "scim_tokens", "audit_events", "sessions"]) {
      expect(collections).toContain(collection);
    }
  });

  it("finds no shape that would scan its collection or sort in memory on MongoDB", () => {
    const run = existsSync(path.join(directory, "run.json")) ? readFileSync(path.join(directory, "run.json"), "utf8").trim() : "(none)";
    process.stdout.write(`\nIndex coverage of the query shapes recorded by the jest run ${run}\n\n${formatReport(report)}\n\n`);
    expect(report.uncovered.map((v) => `${v.key} (from ${v.sites.join(", ")})`)).toEqual([]);
  });

  it("keeps no intentional-scan entry that an index serves or no test sends (every entry is a decision)", () => {
    expect(report.needlessEntries.map(({ entry, why }) => `${entry.shape}: ${why}`)).toEqual([]);
  });
});

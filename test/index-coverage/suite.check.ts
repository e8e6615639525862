import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import mongoose from "mongoose";
import { queryShapesDirectory } from "../support/query-shapes";
import { formatReport, judgeQueries } from "./coverage-check";
import { declaredIndexes } from "./coverage-rule";
import { intentionalFamilies, intentionalScans } from "./intentional-scans";
import { describeShape, shapesOfCommand } from "./query-shape";
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

/**
 * The jest workers' records (`<pid>.jsonl`, shapes already) and those of the server and CLI
 * processes the tests started (`process-<pid>.jsonl`, commands in extended JSON; every query of
 * such a process is the application's).
 */
function readRecords(): (RecordedQuery & { testFile?: string })[] {
  const lines = (name: string) => readFileSync(path.join(directory, name), "utf8").split("\n").filter(Boolean);
  const names = readdirSync(directory).filter((name) => name.endsWith(".jsonl"));
  const workers = names.filter((name) => !name.startsWith("process-")).flatMap(lines).map((line) => JSON.parse(line) as RecordedQuery & { testFile?: string });
  const processes = names
    .filter((name) => name.startsWith("process-"))
    .flatMap(lines)
    .flatMap((line) => {
      const { commandName, command, site } = mongoose.mongo.BSON.EJSON.parse(line, { relaxed: false }) as { commandName: string; command: Record<string, unknown>; site?: string };
      return shapesOfCommand(commandName, command).map((shape) => ({
        key: describeShape(shape),
        shape,
        origin: "application" as const,
        ...(site ? { site } : {}),
        testFile: "(a server or CLI process)",
      }));
    });
  return [...workers, ...processes];
}

describe("every query shape the suite sent is served by a declared index", () => {
  it("has the records of a jest run", () => {
    expect(existsSync(path.join(directory, "run.json"))).toBe(true);
  });

  const records = existsSync(directory) ? readRecords() : [];
  const report = judgeQueries(records, declaredIndexes(), intentionalScans, intentionalFamilies);

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

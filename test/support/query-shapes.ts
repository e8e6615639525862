import path from "node:path";

/**
 * Where the suite's query shapes are recorded (test/support/record-queries.ts) for the
 * index-coverage check (test/index-coverage/suite.check.ts): inside the project, so two checkouts
 * on one machine never mix their records; ignored by git.
 */
export function queryShapesDirectory(): string {
  return path.resolve(__dirname, "..", "..", ".query-shapes");
}

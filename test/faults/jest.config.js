const path = require("node:path");
const base = require("../../jest.config.js");

/**
 * The fault-injection suite on its own, run by `npm test` after the rest of the suite: it freezes
 * and kills its own database and server and judges how long answers take, which needs the machine
 * to itself rather than beside two other test workers. It appends its query shapes to the suite's
 * (GATEHOUSE_QUERY_SHAPES_APPEND) for the index-coverage check that runs last.
 * @type {import('jest').Config}
 */
module.exports = {
  ...base,
  rootDir: path.resolve(__dirname, "..", ".."),
  testMatch: ["<rootDir>/test/faults/fault-injection.test.ts"],
  testPathIgnorePatterns: ["/node_modules/"],
  maxWorkers: 1,
};

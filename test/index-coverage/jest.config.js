const path = require("node:path");

/**
 * The index-coverage check, run by `npm test` after the suite: it reads the query shapes the
 * suite recorded (test/support/record-queries.ts) and needs no database of its own.
 * @type {import('jest').Config}
 */
module.exports = {
  rootDir: path.resolve(__dirname, "..", ".."),
  testEnvironment: "node",
  roots: ["<rootDir>/test/index-coverage"],
  testMatch: ["**/*.check.ts"],
  transform: { "^.+\\.ts$": ["@swc/jest", { jsc: { target: "es2022" } }] },
};

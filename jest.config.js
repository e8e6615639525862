/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  transform: { "^.+\\.ts$": ["@swc/jest", { jsc: { target: "es2022" } }] },
  globalSetup: "<rootDir>/test/support/global-setup.ts",
  globalTeardown: "<rootDir>/test/support/global-teardown.ts",
  // Records the shape of every query the application sends, for the index-coverage check that
  // `npm test` runs after the suite (test/index-coverage/jest.config.js).
  setupFiles: ["<rootDir>/test/support/record-queries.ts"],
  testTimeout: 30000,
  maxWorkers: 2,
};

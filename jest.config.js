/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  // The fault-injection suite freezes and kills databases and servers and judges timings: beside
  // the rest of the suite on 2 cores it misses its windows, so `npm test` runs it alone right after
  // (test/faults/jest.config.js).
  testPathIgnorePatterns: ["/node_modules/", "<rootDir>/test/faults/fault-injection\\.test\\.ts$"],
  transform: { "^.+\\.ts$": ["@swc/jest", { jsc: { target: "es2022" } }] },
  globalSetup: "<rootDir>/test/support/global-setup.ts",
  globalTeardown: "<rootDir>/test/support/global-teardown.ts",
  // Records the shape of every query the application sends, for the index-coverage check that
  // `npm test` runs after the suite (test/index-coverage/jest.config.js).
  setupFiles: ["<rootDir>/test/support/record-queries.ts"],
  testTimeout: 30000,
  maxWorkers: 2,
};

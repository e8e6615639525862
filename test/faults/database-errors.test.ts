import mongoose, { mongo } from "mongoose";
// The driver's connection-pool errors are not exported from its package root; they are what a
// stalled or killed server produces (cmap/connection_pool.js), so the test builds the real ones.
type PoolError = new (pool: never, message?: string) => Error;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { PoolClearedError, PoolClearedOnNetworkError, PoolClosedError, WaitQueueTimeoutError } = require("mongodb/lib/cmap/errors") as {
  PoolClearedError: PoolError;
  PoolClearedOnNetworkError: PoolError;
  PoolClosedError: PoolError;
  WaitQueueTimeoutError: new (message: string, address: string) => Error;
};
import { ConflictError, UnavailableError } from "../../src/errors";
import { isUnavailable, onUncertainOutcome, translateDatabaseError } from "../../src/storage/database-errors";

/**
 * Issue 10, item 5: every transient driver error is "database unreachable" (503), recognised by
 * the driver's labels and classes rather than by a list of names. Table-driven, with the driver's
 * own error classes; test/faults/fault-injection.test.ts shows the same on a really stalled server.
 */

const pool = { address: "127.0.0.1:27017", serverError: undefined } as never;
const labelled = (label: string) => {
  const error = new mongo.MongoServerError({ message: "some failure", code: 12345 });
  error.addErrorLabel(label);
  return error;
};
const withCode = (code: number) => new mongo.MongoServerError({ message: `failed with ${code}`, code });

const unavailable: Array<[string, unknown]> = [
  ["PoolClearedOnNetworkError (in-flight operations of a stalled server)", new PoolClearedOnNetworkError(pool)],
  ["PoolClearedError", new PoolClearedError(pool)],
  ["PoolClosedError", new PoolClosedError(pool)],
  ["WaitQueueTimeoutError", new WaitQueueTimeoutError("Timed out while checking out a connection from connection pool", "127.0.0.1:27017")],
  ["MongoNetworkError", new mongo.MongoNetworkError("connection 3 to 127.0.0.1:27017 closed")],
  ["MongoNetworkTimeoutError", new mongo.MongoNetworkTimeoutError("connection timed out")],
  ["MongoServerSelectionError", new mongo.MongoServerSelectionError("Server selection timed out after 500 ms", { type: "Unknown" } as never)],
  ["MongooseServerSelectionError", new mongoose.Error.MongooseServerSelectionError("Server selection timed out")],
  ["MongoNotConnectedError", new mongo.MongoNotConnectedError("Client must be connected before running operations")],
  ["MongoTopologyClosedError", new mongo.MongoTopologyClosedError()],
  ["MongoOperationTimeoutError", new mongo.MongoOperationTimeoutError("Timed out during server selection")],
  ["label RetryableWriteError", labelled("RetryableWriteError")],
  ["label ResetPool", labelled("ResetPool")],
  ["label SystemOverloadedError", labelled("SystemOverloadedError")],
  ["code 91 ShutdownInProgress", withCode(91)],
  ["code 189 PrimarySteppedDown", withCode(189)],
  ["code 10107 NotWritablePrimary", withCode(10107)],
  ["code 11600 InterruptedAtShutdown", withCode(11600)],
  ["code 50 MaxTimeMSExpired", withCode(50)],
  ["a network error as the cause of another error", new Error("write failed", { cause: new mongo.MongoNetworkError("socket hang up") })],
];

const notUnavailable: Array<[string, unknown]> = [
  ["duplicate key 11000", withCode(11000)],
  ["FerretDB unique constraint (code 1)", Object.assign(new mongo.MongoServerError({ message: "UNIQUE constraint failed: users.x" }), { code: 1 })],
  ["a bad query (code 2 BadValue)", withCode(2)],
  ["a label that is not transient (NoWritesPerformed)", labelled("NoWritesPerformed")],
  ["MongoInvalidArgumentError", new mongo.MongoInvalidArgumentError("bad option")],
  ["a plain Error", new Error("ECONNRESET in a message is not a driver error")],
  ["not an Error", "timeout"],
];

describe("isUnavailable", () => {
  it.each(unavailable)("recognises %s", (_name, error) => {
    expect(isUnavailable(error)).toBe(true);
    expect(translateDatabaseError(error)).toBeInstanceOf(UnavailableError);
  });

  it.each(notUnavailable)("leaves %s alone", (_name, error) => {
    expect(isUnavailable(error)).toBe(false);
    expect(translateDatabaseError(error)).not.toBeInstanceOf(UnavailableError);
  });

  it("still maps a duplicate key to a conflict", () => {
    expect(translateDatabaseError(withCode(11000))).toBeInstanceOf(ConflictError);
  });
});

describe("onUncertainOutcome", () => {
  it("is told of each failure that leaves an operation's outcome unknown, and of nothing else", () => {
    const told: unknown[] = [];
    const stop = onUncertainOutcome((error) => told.push(error));
    const stalled = new PoolClearedOnNetworkError(pool);
    translateDatabaseError(stalled);
    translateDatabaseError(withCode(11000));
    translateDatabaseError(new Error("a bug"));
    stop();
    translateDatabaseError(new mongo.MongoNetworkError("after stop"));
    expect(told).toEqual([stalled]);
  });
});

import mongoose, { mongo } from "mongoose";
import { ConflictError, DomainError, UnavailableError } from "../errors";

/**
 * Labels the driver (or the server) puts on an error whose operation may succeed if simply tried
 * again: the database was unreachable, stalled, stepping down or overloaded — nothing was wrong
 * with the request. `RetryableWriteError` and `PoolRequestedRetry` are what the driver's own
 * `isRetryableWriteError` tests; `ResetPool` and `InterruptInUseConnections` mark errors that made
 * it clear a connection pool (a stalled server's in-flight operations end as
 * `PoolClearedOnNetworkError`); `RetryableError` and `SystemOverloadedError` mark a server that
 * refused a connection under load; `TransientTransactionError` is the same verdict inside a
 * transaction. (MongoDB Retryable Writes and CMAP specifications; node_modules/mongodb/lib/error.js.)
 */
const transientLabels = [
  mongo.MongoErrorLabel.RetryableWriteError,
  mongo.MongoErrorLabel.PoolRequestedRetry,
  mongo.MongoErrorLabel.ResetPool,
  mongo.MongoErrorLabel.InterruptInUseConnections,
  mongo.MongoErrorLabel.RetryableError,
  mongo.MongoErrorLabel.SystemOverloadedError,
  mongo.MongoErrorLabel.TransientTransactionError,
] as const;

/**
 * Server error codes that mean "try again elsewhere or later": the retryable-reads list of the
 * MongoDB Retryable Reads specification, which the driver's `isRetryableReadError` uses and which
 * its retryable-writes list equals (the driver does not export either function), plus
 * MaxTimeMSExpired (a server-side time limit, the server's own word for "did not answer in time").
 */
const transientCodes = new Set([
  6, // HostUnreachable
  7, // HostNotFound
  50, // MaxTimeMSExpired
  89, // NetworkTimeout
  91, // ShutdownInProgress
  134, // ReadConcernMajorityNotAvailableYet
  189, // PrimarySteppedDown
  262, // ExceededTimeLimit
  9001, // SocketException
  10107, // NotWritablePrimary
  11600, // InterruptedAtShutdown
  11602, // InterruptedDueToReplStateChange
  13435, // NotPrimaryNoSecondaryOk
  13436, // NotPrimaryOrSecondary
]);

/**
 * Driver error classes that mean the database (not the request) is the problem. Classes, not names:
 * every subclass is covered — `MongoNetworkTimeoutError`, `PoolClearedError` and
 * `PoolClearedOnNetworkError` are all `MongoNetworkError`s.
 */
const transientClasses: ReadonlyArray<abstract new (...args: never[]) => Error> = [
  mongo.MongoNetworkError,
  mongo.MongoServerSelectionError,
  mongo.MongoNotConnectedError,
  mongo.MongoTopologyClosedError,
  mongo.MongoClientClosedError,
  mongo.MongoServerClosedError,
  mongo.MongoOperationTimeoutError,
  mongo.MongoStalePrimaryError,
  mongoose.Error.MongooseServerSelectionError,
];

/**
 * Two connection-pool errors the driver does not export, so they can only be recognised by the
 * names it gives them: a pool closed under an operation (the client is closing) and a wait for a
 * free connection that timed out (every connection is stuck on a stalled server).
 */
const unexportedPoolErrors = new Set(["MongoPoolClosedError", "MongoWaitQueueTimeoutError"]);

function isTransientDriverError(error: Error): boolean {
  if (transientClasses.some((kind) => error instanceof kind)) return true;
  if (error instanceof mongo.MongoError) {
    if (transientLabels.some((label) => error.hasErrorLabel(label))) return true;
    if (error instanceof mongo.MongoDriverError && unexportedPoolErrors.has(error.name)) return true;
  }
  const code = (error as { code?: unknown }).code;
  if (typeof code === "number" && transientCodes.has(code)) return true;
  // A write concern error carries the server's code in its own document.
  const writeConcernCode = (error as { result?: { writeConcernError?: { code?: unknown } } }).result?.writeConcernError?.code;
  return typeof writeConcernCode === "number" && transientCodes.has(writeConcernCode);
}

/**
 * True when a database error means "the database is not there right now" (unreachable, stalled,
 * restarting, overloaded) rather than a bad request: the edges answer 503 with Retry-After. Decided
 * by the driver's own labels and error classes, and by the retryable server codes, looking through
 * `cause` chains (mongoose and the driver wrap errors).
 */
export function isUnavailable(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; current = (current as { cause?: unknown }).cause, depth++) {
    if (current instanceof UnavailableError) return true;
    if (isTransientDriverError(current)) return true;
  }
  return false;
}

/**
 * A unique-index violation. Inserts fail with code 11000 on MongoDB and FerretDB alike; updates on
 * FerretDB's SQLite backend fail with code 1 and "UNIQUE constraint failed" (../shared/MONGODB.md).
 */
export function isDuplicateKey(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  return code === 11000 || code === 11001 || (code === 1 && /UNIQUE constraint failed/.test(error.message));
}

/**
 * Told whenever a database operation fails because the database was unreachable or stalled. Such a
 * failure leaves the outcome unknown: a write sent before a stall may have been applied although
 * the driver reported an error, and with it the audit event it carries in its document's outbox
 * (storage/outbox.ts). The server's outbox recovery listens here so that such an event reaches the
 * trail within a minute instead of at the next restart. Process-wide, like the driver's own events:
 * every storage operation passes through `guarded` or `translateDatabaseError`.
 */
const uncertainOutcomeListeners = new Set<(error: unknown) => void>();

/** Registers a listener for failures whose outcome is unknown; returns the function that removes it. */
export function onUncertainOutcome(listener: (error: unknown) => void): () => void {
  uncertainOutcomeListeners.add(listener);
  return () => uncertainOutcomeListeners.delete(listener);
}

/** Maps driver errors to domain errors once, at the storage boundary. */
export function translateDatabaseError(error: unknown, conflictMessage = "A unique value is already taken"): unknown {
  if (error instanceof DomainError) return error;
  if (isDuplicateKey(error)) return new ConflictError(conflictMessage);
  if (isUnavailable(error)) {
    for (const listener of uncertainOutcomeListeners) listener(error);
    // The driver's error stays attached as the cause, for the log line of the 503.
    return Object.assign(new UnavailableError("The database is unavailable"), { cause: error });
  }
  return error;
}

/** Runs a storage operation and rethrows its failure as a domain error where one applies. */
export async function guarded<T>(operation: () => Promise<T>, conflictMessage?: string): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw translateDatabaseError(error, conflictMessage);
  }
}

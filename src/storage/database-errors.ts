import { ConflictError, DomainError, UnavailableError } from "../errors";

const unavailableNames = new Set([
  "MongoServerSelectionError",
  "MongooseServerSelectionError",
  "MongoNetworkError",
  "MongoNetworkTimeoutError",
  "MongoNotConnectedError",
  "MongoTopologyClosedError",
  "MongoPoolClearedError",
  "MongoExpiredSessionError",
]);

/** True when a database error means "the database is not there right now" rather than a bad request. */
export function isUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (unavailableNames.has(error.name)) return true;
  if (/buffering timed out|connection .* closed|Client must be connected|ECONNREFUSED|ECONNRESET/i.test(error.message)) return true;
  const code = (error as { code?: unknown }).code;
  return code === 50 /* MaxTimeMSExpired */ || code === 89 /* NetworkTimeout */ || code === 91 /* ShutdownInProgress */;
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

/** Maps driver errors to domain errors once, at the storage boundary. */
export function translateDatabaseError(error: unknown, conflictMessage = "A unique value is already taken"): unknown {
  if (error instanceof DomainError) return error;
  if (isDuplicateKey(error)) return new ConflictError(conflictMessage);
  if (isUnavailable(error)) return new UnavailableError("The database is unavailable");
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


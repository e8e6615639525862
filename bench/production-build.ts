import path from "node:path";
import type * as EmbeddedLockModule from "../src/storage/embedded-lock";
import type * as OpenModule from "../src/storage/open";
import type * as OutboxModule from "../src/storage/outbox";
import type * as UsersModule from "../src/storage/users";

/**
 * The bench drives Gatehouse's production build (dist/, from tsconfig.build.json), never a copy
 * compiled with the bench: the server, the CLI, the embedded database's lease (whose launcher finds
 * scripts/ relative to dist/), and the shape the audit trail stores an event in. The bench itself
 * compiles to .bench-dist/ (bench/tsconfig.json).
 */
export const projectRoot = path.resolve(__dirname, "..", "..");
export const gatehouseMain = path.join(projectRoot, "dist", "main.js");
export const gatehouseCli = path.join(projectRoot, "dist", "cli", "main.js");

const built = <T>(file: string) => require(path.join(projectRoot, "dist", ...file.split("/"))) as T;

/** The data directory's database, as the server and the CLI find or start it. */
export const acquireEmbeddedDatabase = built<typeof EmbeddedLockModule>("storage/embedded-lock.js").acquireEmbeddedDatabase;
export const embeddedDatabaseName = built<typeof OpenModule>("storage/open.js").embeddedDatabaseName;
/** An audit event as `audit_events` holds it. */
export const auditDocument = built<typeof OutboxModule>("storage/outbox.js").auditDocument;
/** A user as `users` holds it, with its lookup keys (userName, externalId). */
export const storedUserDocuments = built<typeof UsersModule>("storage/users.js").storedUserDocuments;

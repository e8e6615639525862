import { spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createWriteStream, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import mongoose from "mongoose";
import type { User } from "../src/domain/user";
import { acquireEmbeddedDatabase, auditDocument, embeddedDatabaseName, gatehouseCli, gatehouseMain, storedUserDocuments } from "./production-build";
import { waitForLine, withDatabase } from "./driver";

/**
 * Gatehouse as the peer comparison runs it: `npm start`'s production build on the embedded default
 * (GATEHOUSE_DATA_DIR, no MONGODB_URI: the server starts and owns its FerretDB, as a user's server
 * does) or on --mongodb-uri. Before the server starts, with the data directory's database held by
 * this process, the CLI creates the organization with an Owner and a personal API token for the
 * admin API, and `--audit-events` events are written into the trail; then the database is let go
 * and the server starts as its only owner (the embedded database serves one server process).
 */
export interface GatehouseUnderTest {
  process: ChildProcess;
  scimBase: string;
  adminBase: string;
  scimToken: string;
  /** The Owner's personal API token, for /api/v1. */
  ownerToken: string;
  /** The embedded database's process (its peak memory is reported apart), if embedded. */
  databasePid?: number;
  /** Events written straight into the trail before the server started. */
  seededAuditEvents: number;
  /** Users written straight into the directory before the server started. */
  seededUsers: number;
  /** A personal API token for a member, issued by the CLI while the server runs. */
  personalToken(email: string): Promise<string>;
  /** Where the server's database is (the embedded one it owns, or --mongodb-uri's), for reads that check its state. */
  database: { uri: string; name: string };
}

/** Runs a CLI command of the production build and answers the JSON object it prints. */
async function cliJson<T>(args: string[], env: Record<string, string>): Promise<T> {
  const cli = spawn(process.execPath, [gatehouseCli, ...args], { env, stdio: ["ignore", "pipe", "inherit"] });
  const chunks: Buffer[] = [];
  cli.stdout!.on("data", (chunk: Buffer) => chunks.push(chunk));
  const code = await new Promise<number | null>((resolve) => cli.once("exit", resolve));
  const text = Buffer.concat(chunks).toString("utf8").trim();
  if (code !== 0) throw new Error(`gatehouse ${args.join(" ")} exited with ${code}: ${text}`);
  return JSON.parse(text.split("\n").pop()!) as T;
}

/**
 * Writes `count` audit events of the organization straight into `audit_events`, in the shape the
 * server's own outbox writes them (the production build's `auditDocument`): a SCIM token's
 * `user.updated` of a title, one a minute back from an hour ago, so the run's own events come first
 * in the trail and these lie behind them. Written in batches of 1,000 with the driver: 100,000
 * SCIM PATCHes would take half an hour; this takes about a minute.
 */
async function seedAuditEvents(uri: string, dbName: string, organizationId: string, token: { id: string; name: string }, count: number, progress: (what: string) => void): Promise<void> {
  const connection = await mongoose.createConnection(uri, { dbName }).asPromise();
  try {
    const collection = connection.db!.collection("audit_events");
    const newest = Date.now() - 3_600_000;
    for (let from = 0; from < count; from += 1000) {
      const batch = [];
      for (let i = from; i < Math.min(count, from + 1000); i++) {
        const userId = randomUUID();
        batch.push(
          auditDocument({
            id: randomUUID(),
            organizationId,
            at: new Date(newest - i * 60_000),
            actor: { type: "scim_token", id: token.id, name: token.name },
            source: "scim",
            action: "user.updated",
            target: { type: "user", id: userId, display: `seeded.user.${i}@example.com` },
            before: { userName: `seeded.user.${i}@example.com`, title: "Engineer" },
            after: { userName: `seeded.user.${i}@example.com`, title: "Senior Engineer" },
            requestId: randomUUID(),
          }),
        );
      }
      await collection.insertMany(batch as never[], { ordered: false });
      if ((from / 1000) % 10 === 9) progress(`  ${Math.min(count, from + 1000)} audit events written`);
    }
  } finally {
    await connection.close();
  }
}

/**
 * Writes `count` users of the organization straight into `users` and their userName and externalId
 * keys into `lookup_keys`, as a SCIM create stores them (the production build's
 * `storedUserDocuments`; no audit events), created a day ago so the run's own users list after
 * them: the server then starts with that many users to load, hold and serve. In batches of 1,000
 * with the driver — 100,000 SCIM creates take most of an hour on the 2-core machine.
 */
async function seedUsers(uri: string, dbName: string, organizationId: string, count: number, progress: (what: string) => void): Promise<void> {
  const connection = await mongoose.createConnection(uri, { dbName }).asPromise();
  try {
    const oldest = Date.now() - 86_400_000;
    for (let from = 0; from < count; from += 1000) {
      const users = [];
      const keys = [];
      for (let i = from; i < Math.min(count, from + 1000); i++) {
        const userName = `seeded.user.${i}@example.com`;
        const at = new Date(oldest + i);
        const user = {
          id: randomUUID(),
          organizationId,
          userName,
          externalId: `seeded-${i}`,
          name: { givenName: "Seeded", familyName: `User ${i}` },
          emails: [{ value: userName, type: "work", primary: true }],
          active: true,
          managedBy: "scim",
          managedVia: "Initial SCIM token",
          created: at,
          lastModified: at,
          version: 1,
          groupIds: [],
        } as unknown as User;
        const stored = storedUserDocuments(user);
        users.push(stored.user);
        keys.push(...stored.keys);
      }
      await connection.db!.collection("lookup_keys").insertMany(keys as never[], { ordered: false });
      await connection.db!.collection("users").insertMany(users as never[], { ordered: false });
      if ((from / 1000) % 10 === 9) progress(`  ${Math.min(count, from + 1000)} users written`);
    }
  } finally {
    await connection.close();
  }
}

export async function startGatehouse(options: {
  dataDir: string;
  mongodbUri?: string;
  auditEvents: number;
  seedUsers?: number;
  nodeArgs: string[];
  /** The server's standard output from the port line on (request log, --trace-gc) goes here; else it is drained. */
  logFile?: string;
  progress: (what: string) => void;
}): Promise<GatehouseUnderTest> {
  const external = options.mongodbUri ? withDatabase(options.mongodbUri, `bench_${Date.now()}`) : undefined;
  // The embedded launcher finds the FerretDB binary it built under the home directory (~/.cache).
  const env: Record<string, string> = external ? { MONGODB_URI: external } : { GATEHOUSE_DATA_DIR: options.dataDir, HOME: os.homedir() };

  // Hold the embedded database while the CLI and the seeding write (the CLI finds it through the
  // data directory's state file), then let it go: the server must start it and own it.
  const lease = external ? undefined : await acquireEmbeddedDatabase(options.dataDir);
  let organization: { id: string; scimToken: string; scimTokenId: string };
  let ownerToken: string;
  try {
    organization = await cliJson(["org", "create", "Bench", "--owner", "owner@bench.example", "--json"], env);
    ({ token: ownerToken } = await cliJson<{ token: string }>(["user-token", "create", "--org", organization.id, "--email", "owner@bench.example", "--json"], env));
    if (options.auditEvents > 0) {
      options.progress(`write ${options.auditEvents} audit events into the trail (driver, before the server starts)`);
      await seedAuditEvents(external ?? lease!.uri, external ? new URL(external).pathname.slice(1) : embeddedDatabaseName, organization.id, { id: organization.scimTokenId, name: "Initial SCIM token" }, options.auditEvents, options.progress);
    }
    if (options.seedUsers) {
      options.progress(`write ${options.seedUsers} users into the directory (driver, before the server starts)`);
      await seedUsers(external ?? lease!.uri, external ? new URL(external).pathname.slice(1) : embeddedDatabaseName, organization.id, options.seedUsers, options.progress);
    }
  } finally {
    await lease?.release();
  }

  const server = spawn(process.execPath, [...options.nodeArgs, gatehouseMain], {
    // Deep list pages scan every document on FerretDB: give single database operations time.
    // A clean environment: the run does not depend on the shell's variables.
    env: { ...env, HOST: "127.0.0.1", PORT: "0", LOG_LEVEL: "info", DATABASE_TIMEOUT_MS: "60000", WEBHOOK_ALLOW_HTTP: "true", WEBHOOK_ALLOW_PRIVATE_DESTINATIONS: "true" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  // The server reads its whole directory before it listens: minutes at 100,000 seeded users.
  const [, port] = await waitForLine(server, /"port":(\d+),"msg":"SCIM base URL/, "Gatehouse", 600_000);
  // Production logs one line per request; keep them on and drain them (or keep them, --trace).
  if (options.logFile) server.stdout!.pipe(createWriteStream(options.logFile, { flags: "a" }));
  else server.stdout!.resume();
  let databasePid: number | undefined;
  if (!external) {
    const state = JSON.parse(readFileSync(path.join(options.dataDir, "embedded-database.json"), "utf8")) as { pid: number; ownerPid: number };
    if (state.ownerPid !== server.pid) throw new Error(`the embedded database is owned by process ${state.ownerPid}, not by the server (${server.pid})`);
    databasePid = state.pid;
  }
  return {
    process: server,
    scimBase: `http://127.0.0.1:${port}/scim/v2`,
    adminBase: `http://127.0.0.1:${port}/api/v1`,
    scimToken: organization.scimToken,
    ownerToken,
    databasePid,
    seededAuditEvents: options.auditEvents,
    seededUsers: options.seedUsers ?? 0,
    personalToken: async (email) => (await cliJson<{ token: string }>(["user-token", "create", "--org", organization.id, "--email", email, "--json"], env)).token,
    database: external
      ? { uri: external, name: new URL(external).pathname.slice(1) }
      : { uri: (JSON.parse(readFileSync(path.join(options.dataDir, "embedded-database.json"), "utf8")) as { uri: string }).uri, name: embeddedDatabaseName },
  };
}

import type express from "express";
import request from "supertest";
import { composeServer } from "../../src/composition";
import { loadConfig, type Config } from "../../src/config";
import { createLogger } from "../../src/http/logger";
import type { Services } from "../../src/services";
import { connectDatabase, type Database } from "../../src/storage/connection";
import { Outbox } from "../../src/storage/outbox";
import { FileChangeJournal, type ChangeJournal } from "../../src/storage/change-journal";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { residentAuditIndexOf } from "../../src/storage/audit-index";
import { testServerUri, uniqueDatabaseName } from "./database";
import type { DeliverySchedule } from "../../src/services/webhooks";
import type { WebhookSender } from "../../src/services/webhook-sender";

export const operator = { actor: { type: "operator" as const, id: "test", name: "test operator" }, source: "cli" as const, requestId: "test" };

export interface TestApp {
  app: express.Express;
  db: Database;
  services: Services;
  config: Config;
  /** A new organization and a working SCIM bearer token for it. */
  organization(name?: string): Promise<{ id: string; token: string; tokenId: string }>;
  close(): Promise<void>;
}

export interface TestAppOverrides {
  outbox?: (db: Database) => Outbox;
  /** Use this database (another instance's, see secondInstance) instead of a fresh one; close() then leaves it in place. */
  dbName?: string;
  /** The sessions' clock (timeouts). */
  sessionClock?: () => Date;
  /** Resident documents, as the embedded database's one server keeps them (composition.ts). */
  resident?: { journal: ChangeJournal };
  /** The driver emits command events on `db.connection.getClient()` (to count what a request reads). */
  monitorCommands?: boolean;
  /** Keep the audit index in memory as the embedded server does (storage/audit-index.ts); loaded before the app is returned. */
  residentAuditIndex?: boolean;
  /** How other processes' writes reach the resident stores. */
  changeJournal?: ChangeJournal;
  /**
   * Users and groups answered from memory (storage/resident-directory.ts), as the server runs on
   * the embedded database. Default: on in the files under test/integration/resident/ (which run the
   * main SCIM suites again that way, see test/support/resident-mode.ts) and for a whole run with
   * GATEHOUSE_TEST_RESIDENT=1; otherwise off.
   */
  residentDirectory?: boolean;
  /** Connect to this database server instead of the run's (e.g. through a fault-injecting proxy). */
  serverUri?: string;
  /** Webhook retries in milliseconds (services/webhooks.ts). */
  webhookSchedule?: Partial<DeliverySchedule>;
  webhookSender?: WebhookSender;
}

/**
 * The real application, wired as the server wires it (composeServer), on a fresh database of its
 * own; close() drops the database. With `overrides.dbName`, on that database, which close() leaves
 * to its owner.
 */
export async function startTestApp(environment: Record<string, string> = {}, overrides: TestAppOverrides = {}): Promise<TestApp> {
  const config = loadConfig({ PUBLIC_BASE_URL: "https://gatehouse.test", LOG_LEVEL: "silent", ...environment });
  const ownsDatabase = overrides.dbName === undefined;
  const db = await connectDatabase(overrides.serverUri ?? testServerUri(), {
    dbName: overrides.dbName ?? uniqueDatabaseName(),
    timeoutMs: config.databaseTimeoutMs,
    ...(overrides.monitorCommands ? { monitorCommands: true } : {}),
  });
  // GATEHOUSE_TEST_RESIDENT=1 runs a suite as the embedded database's one server runs (resident
  // documents, a change journal of its own): not for suites that start a second instance.
  const residentByEnvironment = !overrides.resident && process.env.GATEHOUSE_TEST_RESIDENT === "1";
  const resident = overrides.resident ?? (residentByEnvironment ? { journal: FileChangeJournal.startFresh(path.join(mkdtempSync(path.join(os.tmpdir(), "gatehouse-journal-")), "change-journal.ndjson")) } : undefined);
  // The suites run that way read the trail from the database itself, which no reader in the server
  // does (they wait at the read barrier, storage/trail-moves.ts): their moves start at once rather
  // than linger for the next change's (test/integration/trail-moves.test.ts covers the linger).
  const outbox = overrides.outbox ?? (residentByEnvironment ? (database: Database) => new Outbox(database.models, undefined, { oneServer: true, lingerMs: 0 }) : undefined);
  // The server's own wiring (src/composition.ts), with the test seams it offers.
  const residentDirectory = overrides.residentDirectory ?? residentMode();
  const { services, app } = composeServer(config, db, {
    logger: createLogger("silent"),
    ...(outbox ? { outbox } : {}),
    ...(overrides.sessionClock ? { sessionClock: overrides.sessionClock } : {}),
    ...(resident ? { resident } : {}),
    ...(overrides.residentAuditIndex ? { residentAuditIndex: true } : {}),
    ...(overrides.changeJournal ? { changeJournal: overrides.changeJournal } : {}),
    ...(residentDirectory ? { residentDirectory: true } : {}),
    ...(overrides.webhookSchedule ? { webhookSchedule: overrides.webhookSchedule } : {}),
    ...(overrides.webhookSender ? { webhookSender: overrides.webhookSender } : {}),
  });
  await services.load();
  await residentAuditIndexOf(db.models)?.load();
  return {
    app,
    db,
    services,
    config,
    async organization(name = "Acme") {
      const { organization, scimToken } = await services.organizations.create(name, operator);
      return { id: organization.id, token: scimToken.token, tokenId: scimToken.id };
    },
    async close() {
      await services.settle();
      if (ownsDatabase) await db.connection.dropDatabase();
      await db.close();
    },
  };
}

/** Whether this test file runs with the resident directory (test/support/resident-mode.ts, GATEHOUSE_TEST_RESIDENT). */
export function residentMode(): boolean {
  return (globalThis as { gatehouseResidentDirectory?: boolean }).gatehouseResidentDirectory === true || process.env.GATEHOUSE_TEST_RESIDENT === "1";
}

/**
 * Another instance of Gatehouse on the same database as `t`: its own connection, services and
 * express app, nothing shared in memory (as two processes behind a load balancer). Close it
 * before `t`, which drops the database.
 */
export function secondInstance(t: TestApp, environment: Record<string, string> = {}, overrides: Omit<TestAppOverrides, "dbName"> = {}): Promise<TestApp> {
  return startTestApp(environment, { ...overrides, dbName: t.db.connection.name });
}

/** A supertest client that sends the SCIM token and content type on every request. */
export function scimClient(app: express.Express, token: string) {
  const auth = (r: request.Test) => r.set("Authorization", `Bearer ${token}`).set("Accept", "application/scim+json");
  return {
    get: (path: string) => auth(request(app).get(`/scim/v2${path}`)),
    delete: (path: string) => auth(request(app).delete(`/scim/v2${path}`)),
    post: (path: string, body: unknown) => auth(request(app).post(`/scim/v2${path}`)).set("Content-Type", "application/scim+json").send(JSON.stringify(body)),
    put: (path: string, body: unknown) => auth(request(app).put(`/scim/v2${path}`)).set("Content-Type", "application/scim+json").send(JSON.stringify(body)),
    patch: (path: string, body: unknown) => auth(request(app).patch(`/scim/v2${path}`)).set("Content-Type", "application/scim+json").send(JSON.stringify(body)),
  };
}

export const userSchema = "urn:ietf:params:scim:schemas:core:2.0:User";
export const enterpriseSchema = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
export const patchSchema = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
export const errorSchema = "urn:ietf:params:scim:api:messages:2.0:Error";

/** A minimal valid SCIM user; override what the test is about. */
export function buildUser(overrides: Record<string, unknown> = {}) {
  return {
    schemas: [userSchema],
    userName: `user.${Math.random().toString(36).slice(2, 10)}@example.com`,
    name: { givenName: "Ada", familyName: "Lovelace" },
    emails: [{ value: "ada@example.com", type: "work", primary: true }],
    active: true,
    ...overrides,
  };
}

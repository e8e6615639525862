import type express from "express";
import { buildApp } from "./app";
import type { Config } from "./config";
import type { Logger } from "./http/logger";
import { createServices, type Services } from "./services";
import type { Database } from "./storage/connection";
import type { Outbox } from "./storage/outbox";
import { attachResidentAuditIndex, ResidentAuditIndex } from "./storage/audit-index";
import type { ChangeJournal } from "./storage/change-journal";
import type { DeliverySchedule } from "./services/webhooks";
import type { WebhookSender } from "./services/webhook-sender";

/**
 * The composition root: the one place where the validated configuration becomes use-cases. The
 * server (main.ts), the CLI (cli/main.ts) and the tests (test/support/app.ts) all come through here,
 * so a setting added to Config reaches every one of them, and the tests run the server's own wiring
 * rather than a copy of it (test/integration/composition.test.ts checks both).
 */

/** What the running process adds to the configuration and the database. */
export interface Runtime {
  /** Where the use-cases' warnings go (e.g. an Entra ID group overage at sign-in); none when absent. */
  logger?: Logger;
  /** Told when an audit event stays in its document's outbox (main.ts then recovers it sooner). */
  onAuditDeliveryFailure?: (error: unknown) => void;
  /** Test seam: an outbox that fails on purpose, to prove the recovery (test/integration/audit-outbox.test.ts). */
  outbox?: (db: Database) => Outbox;
  /** Test seam: the sessions' clock, for the timeouts. */
  sessionClock?: () => Date;
  /**
   * Keep per-request documents resident in memory: only for the embedded database's one server
   * process (main.ts), with the journal through which the CLI's writes reach it. Off by default.
   */
  resident?: { journal: ChangeJournal };
  /**
   * Keep the audit trail's index in memory (storage/audit-index.ts): only where this process is the
   * database's one server, the embedded database. Off by default (tests, the CLI, MongoDB); the
   * caller then loads it (`residentAuditIndexOf(db.models).load()`).
   */
  residentAuditIndex?: boolean;
  /**
   * Users and groups answered from memory (storage/resident-directory.ts). main.ts turns it on for
   * the embedded database, which one server process serves; never for MongoDB (several instances).
   * The caller awaits `services.load()` before serving.
   */
  residentDirectory?: boolean;
  /** How other processes' writes (the CLI) reach the resident directory (storage/change-journal.ts). */
  changeJournal?: ChangeJournal;
  /** Test seam: webhook retries in milliseconds rather than hours (services/webhooks.ts). */
  webhookSchedule?: Partial<DeliverySchedule>;
  /** Test seam: the webhook sender (its name resolution and limits). */
  webhookSender?: WebhookSender;
}

/** Every use-case, wired to `db` as `config` says. The CLI needs no more than this. */
export function composeServices(config: Config, db: Database, runtime: Runtime = {}): Services {
  const { logger } = runtime;
  // One journal for every resident store: other processes' writes reach them all through it.
  const journal = runtime.changeJournal ?? runtime.resident?.journal;
  if (runtime.residentAuditIndex) {
    attachResidentAuditIndex(db.models, new ResidentAuditIndex(db.models, journal ? { journal } : {}));
  }
  return createServices(db, {
    authFailureWindowSeconds: config.authFailures.windowSeconds,
    publicBaseUrl: config.publicBaseUrl,
    ...(config.samlServiceProvider ? { samlServiceProviderCertificate: config.samlServiceProvider.certificate } : {}),
    sessions: config.sessions,
    accessCatalog: config.accessCatalog,
    ...(runtime.outbox ? { outbox: runtime.outbox(db) } : {}),
    ...(runtime.onAuditDeliveryFailure ? { onAuditDeliveryFailure: runtime.onAuditDeliveryFailure } : {}),
    ...(logger ? { warn: (message: string, detail: Record<string, unknown>) => logger.warn(detail, message) } : {}),
    ...(runtime.sessionClock ? { sessionClock: runtime.sessionClock } : {}),
    ...(runtime.resident ? { resident: runtime.resident } : {}),
    ...(runtime.residentDirectory ? { residentDirectory: true } : {}),
    ...(journal ? { changeJournal: journal } : {}),
    webhooks: config.webhooks,
    ...(runtime.webhookSchedule ? { webhookSchedule: runtime.webhookSchedule } : {}),
    ...(runtime.webhookSender ? { webhookSender: runtime.webhookSender } : {}),
  });
}

/** The server: its use-cases and the HTTP application over them (main.ts listens, tests use supertest). */
export interface ComposedServer {
  services: Services;
  app: express.Express;
}

/** The whole server as main.ts runs it, without listen(). */
export function composeServer(config: Config, db: Database, runtime: Runtime & { logger: Logger }): ComposedServer {
  const services = composeServices(config, db, runtime);
  return { services, app: buildApp({ config, db, services, logger: runtime.logger }) };
}

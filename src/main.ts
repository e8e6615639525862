import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { composeServer } from "./composition";
import { ConfigError, loadConfig } from "./config";
import { limitHeapGrowth, residentHeapGrowingPercent, residentHeapHeadroomBytes } from "./heap-growth";
import { createLogger } from "./http/logger";
import { serverFor } from "./http/server";
import { onUncertainOutcome } from "./storage/database-errors";
import { openConfiguredDatabase } from "./storage/open";
import { residentAuditIndexOf } from "./storage/audit-index";
import { OutboxRecoverySchedule } from "./storage/outbox";
import { OffboardingScheduler } from "./services/offboarding-scheduler";

/** The only place that reads configuration, connects, listens and exits. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);

  // On the embedded database this process is its one server (storage/embedded-lock.ts).
  const database = await openConfiguredDatabase(config, "server");
  // Outbox recovery (storage/outbox.ts): at start-up, every five minutes, and within seconds after
  // this instance failed to deliver an audit event or saw a database operation fail in a way that
  // leaves its outcome unknown (a write answered with a network error may have been applied).
  const outboxRecovery = new OutboxRecoverySchedule(() => services.recoverAuditOutbox(), {
    recovered: (recovered) => logger.info({ recovered }, "moved stranded audit events into the trail"),
    failed: (err) => logger.warn({ err }, "audit outbox recovery failed; retrying shortly"),
  });
  onUncertainOutcome(() => outboxRecovery.requestSoon());
  const { db } = database;
  if (database.embedded) logger.info({ dataDir: config.dataDir }, "using the embedded database (set MONGODB_URI for MongoDB)");
  // The embedded database is served by this one process: users and groups are answered from
  // memory (storage/resident-directory.ts). MongoDB keeps its query path (several instances).
  const residentDirectory = config.residentDirectory === "on" || (config.residentDirectory === "auto" && database.embedded);
  const { services, app } = composeServer(config, db, {
    logger,
    // Only the embedded database's one server keeps documents resident; on MongoDB every request reads it.
    ...(database.journal ? { resident: { journal: database.journal } } : {}),
    // The embedded database has this one server process: it may keep the audit index in memory.
    residentAuditIndex: database.embedded,
    residentDirectory,
    onAuditDeliveryFailure: (err) => {
      outboxRecovery.requestSoon();
      logger.warn({ err }, "an audit event stays in its document's outbox until the next recovery");
    },
  });

  if (residentDirectory) {
    // The directory is held in memory: keep V8's heap close to what is live (heap-growth.ts).
    if (limitHeapGrowth()) {
      logger.info({ heapGrowingPercent: residentHeapGrowingPercent, heapHeadroomMb: residentHeapHeadroomBytes / 1024 / 1024 }, "heap growth limited (resident directory)");
    }
    const started = Date.now();
    await services.load();
    logger.info({ ms: Date.now() - started }, "users and groups loaded into memory (resident directory)");
  }

  const server: Server = serverFor(app).listen(config.port, config.host, () => {
    const { port } = server.address() as AddressInfo;
    logger.info({ scimBaseUrl: `${config.publicBaseUrl}/scim/v2`, port }, `SCIM base URL: ${config.publicBaseUrl}/scim/v2`);
  });

  // Work that must finish even if the request that started it died with its process: moving audit
  // events left in outboxes (and finishing deletions), clearing deleted groups' memberships, and
  // recording the end of temporary grants, deleting sessions dead for more than a day. Safe on
  // every instance (the outbox's own schedule is above).
  outboxRecovery.start();
  // The resident audit index is read once, in the background: until it is ready the audit log
  // answers from the database as before. A failed load (the database away) is retried.
  const auditIndex = residentAuditIndexOf(db.models);
  const loadAuditIndex = (): void => {
    if (!auditIndex) return;
    auditIndex.load().then(
      ({ events, ms }) => logger.info({ events, ms }, "audit index loaded"),
      (err) => {
        logger.warn({ err }, "loading the audit index failed; the audit log answers from the database, retrying in 30 s");
        setTimeout(loadAuditIndex, 30_000).unref();
      },
    );
  };
  loadAuditIndex();
  // userName lookup keys that a crash mid-rename (or another instance's race) left out of step
  // with the stored users are put right once per start (storage/users.ts, repairUserNameKeys).
  void services.users
    .repairUserNameKeys()
    .then(({ restored, removed }) => {
      if (restored.length || removed.length) logger.warn({ restored: restored.length, removed: removed.length }, "repaired userName lookup keys");
    })
    .catch((err) => logger.warn({ err }, "userName key repair failed"));
  // Users stored before member search kept its terms get them, once (a no-op afterwards, and with the resident directory).
  void services.organizations
    .list()
    .then(async (organizations) => {
      let filled = 0;
      for (const organization of organizations) filled += await services.users.backfillSearchTerms(organization.id);
      if (filled) logger.info({ users: filled }, "member search terms added to users stored before them");
    })
    .catch((err) => logger.warn({ err }, "member search terms backfill failed"));
  void services.certificateWatch.look().catch((err) => logger.warn({ err }, "certificate watch failed"));
  const maintenance = setInterval(() => {
    const system = { actor: { type: "system" as const, id: "maintenance", name: "Gatehouse maintenance" }, source: "system" as const, requestId: "maintenance" };
    void services.groups.sweep().catch((err) => logger.warn({ err }, "group sweep failed"));
    void services.samlState.sweep().catch((err) => logger.warn({ err }, "SAML state sweep failed"));
    void services.users.recordEndedGrants(system).catch((err) => logger.warn({ err }, "recording ended grants failed"));
    void services.sessions.sweep().catch((err) => logger.warn({ err }, "session sweep failed"));
    void services.signInLinks.sweep().catch((err) => logger.warn({ err }, "sign-in link sweep failed"));
    void services.samlTests.sweep().catch((err) => logger.warn({ err }, "SAML test sweep failed"));
    // Directory events past their retention (services/directory-events.ts), and the identity
    // providers' certificates noticed expiring (services/certificate-watch.ts): once an hour.
    if (Date.now() % 3_600_000 < 60_000) {
      void services.certificateWatch.look().catch((err) => logger.warn({ err }, "certificate watch failed"));
      void services.organizations
        .list()
        .then(async (organizations) => {
          for (const organization of organizations) await services.directoryEvents.sweep({ organizationId: organization.id });
        })
        .catch((err) => logger.warn({ err }, "directory event retention sweep failed"));
    }
  }, 60_000);
  // Webhook delivery (services/webhooks.ts): every instance takes part; claims keep attempts single.
  services.webhooks.startDelivery();
  maintenance.unref();
  // HR offboardings due (services/offboarding-scheduler.ts): every 15 s on every instance; claims
  // by `_id` decide which instance carries each one out.
  const offboardingScheduler = new OffboardingScheduler(services.offboardings, {
    done: (pass) => logger.info(pass, "offboarding scheduler pass"),
    failed: (err) => logger.warn({ err }, "offboarding scheduler pass failed; retrying next pass"),
  });
  offboardingScheduler.start();

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    clearInterval(maintenance);
    await offboardingScheduler.stop();
    const forced = setTimeout(() => process.exit(1), 15_000);
    forced.unref();
    await outboxRecovery.stop();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    await closed;
    await services.settle();
    await database.close();
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

main().catch((error) => {
  process.stderr.write(`Gatehouse failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});

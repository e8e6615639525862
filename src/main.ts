import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { composeServer } from "./composition";
import { ConfigError, loadConfig } from "./config";
import { createLogger } from "./http/logger";
import { openConfiguredDatabase } from "./storage/open";

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

  const database = await openConfiguredDatabase(config);
  let deliveryFailed = false;
  const { db } = database;
  if (database.embedded) logger.info({ dataDir: config.dataDir }, "using the embedded database (set MONGODB_URI for MongoDB)");
  const { services, app } = composeServer(config, db, {
    logger,
    onAuditDeliveryFailure: (err) => {
      deliveryFailed = true;
      logger.warn({ err }, "an audit event stays in its document's outbox until the next recovery");
    },
  });

  const server: Server = app.listen(config.port, config.host, () => {
    const { port } = server.address() as AddressInfo;
    logger.info({ scimBaseUrl: `${config.publicBaseUrl}/scim/v2`, port }, `SCIM base URL: ${config.publicBaseUrl}/scim/v2`);
  });

  // Work that must finish even if the request that started it died with its process: moving audit
  // events left in outboxes (and finishing deletions), clearing deleted groups' memberships, and
  // recording the end of temporary grants, deleting sessions dead for more than a day. Safe on
  // every instance.
  // Outbox recovery looks for documents still carrying events: an index query on MongoDB, a scan
  // on FerretDB, so it runs at start-up, every fifth minute (an instance that died leaves work for
  // the others) and in the next minute after this instance failed to deliver an event.
  let recovering = false;
  const recoverOutbox = async () => {
    if (recovering) return;
    recovering = true;
    deliveryFailed = false;
    try {
      const recovered = await services.recoverAuditOutbox();
      if (recovered) logger.info({ recovered }, "moved stranded audit events into the trail");
    } catch (err) {
      deliveryFailed = true;
      logger.warn({ err }, "audit outbox recovery failed");
    } finally {
      recovering = false;
    }
  };
  void recoverOutbox();
  let minute = 0;
  const maintenance = setInterval(() => {
    minute++;
    if (deliveryFailed || minute % 5 === 0) void recoverOutbox();
    const system = { actor: { type: "system" as const, id: "maintenance", name: "Gatehouse maintenance" }, source: "system" as const, requestId: "maintenance" };
    void services.groups.sweep().catch((err) => logger.warn({ err }, "group sweep failed"));
    void services.samlState.sweep().catch((err) => logger.warn({ err }, "SAML state sweep failed"));
    void services.users.recordEndedGrants(system).catch((err) => logger.warn({ err }, "recording ended grants failed"));
    void services.sessions.sweep().catch((err) => logger.warn({ err }, "session sweep failed"));
  }, 60_000);
  maintenance.unref();

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    clearInterval(maintenance);
    const forced = setTimeout(() => process.exit(1), 15_000);
    forced.unref();
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

import express from "express";
import type { Config } from "./config";
import type { Logger } from "./http/logger";
import { apiCors } from "./http/cors";
import { requestLog } from "./http/request-log";
import { finalErrorHandler } from "./http/error-handler";
import { apiRouter } from "./admin/router";
import { errorPage, PAGE_STYLE } from "./saml/pages";
import { securityHeaders } from "./http/security-headers";
import { signInLinkRouter } from "./sign-in/link-router";
import { recordScimOutcomes } from "./scim/activity";
import { consoleRouter } from "./http/console-pages";
import { samlRouter } from "./saml/router";
import { scimErrorBody } from "./scim/errors";
import { scimRouter } from "./scim/router";
import type { Services } from "./services";
import { isDatabaseReachable, type Database } from "./storage/connection";

export interface AppDependencies {
  config: Config;
  db: Database;
  services: Services;
  logger: Logger;
}

/** The HTTP application, without listen(): main.ts serves it, tests drive it through supertest. */
export function buildApp({ config, db, services, logger }: AppDependencies): express.Express {
  const app = express();
  app.disable("x-powered-by");
  // Client addresses (for failed-authentication limits) come from X-Forwarded-For only when the
  // operator says how many proxies stand in front.
  app.set("trust proxy", config.trustProxyHops > 0 ? config.trustProxyHops : false);
  // Entity tags are versions of SCIM resources (scim/router.ts), not hashes of response bodies.
  app.set("etag", false);
  // Query strings are parsed with qs, as under express 4 (express 5's default is node's simpler
  // parser): `?a[b]=c` stays an object the edges' schemas refuse rather than an unknown key.
  app.set("query parser", "extended");
  app.use(requestLog(logger));
  app.use(securityHeaders(config, [PAGE_STYLE]));

  app.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  app.get("/readyz", async (_req, res) => {
    const reachable = await isDatabaseReachable(db);
    res.status(reachable ? 200 : 503).json({ status: reachable ? "ready" : "database unreachable" });
  });

  app.use("/scim/v2", recordScimOutcomes(services), scimRouter(services, config, logger));
  app.use("/api/v1", apiCors(config.corsAllowedOrigins), apiRouter(services, logger, config));
  app.use("/auth/saml", samlRouter(services, config, logger));
  app.use("/auth/sign-in-link", signInLinkRouter(services, config, logger));
  // The web console (console/): its files and its pages' client-side routes, when it is built.
  const webConsole = consoleRouter();
  if (webConsole) app.use(webConsole);

  app.use((_req, res) => {
    res.status(404).json({ error: { code: "not_found", message: "No such endpoint" } });
  });
  app.use(
    finalErrorHandler(logger, [
      { prefix: "/scim/v2", write: (_req, res, answer) => void res.status(answer.status).type("application/scim+json").json(scimErrorBody(answer.status, answer.message, answer.scimType)) },
      { prefix: "/auth/sign-in-link", write: (req, res, answer) => void res.status(answer.status).type("html").send(errorPage(answer.status, req.id)) },
      { prefix: "/auth/saml", write: (req, res, answer) => void res.status(answer.status).type("html").send(errorPage(answer.status, req.id)) },
    ]),
  );
  return app;
}

import express, { type NextFunction, type Request, type Response, type Router } from "express";
import SCIMMY from "scimmy";
import SCIMMYRouters from "scimmy-routers";
import type { Config } from "../config";
import type { Logger } from "../http/logger";
import type { Services } from "../services";
import { TooManyRequestsError, UnauthenticatedError } from "../errors";
import { scimAnswerOf, scimErrorBody } from "./errors";
import { setErrorHeaders } from "../http/error-handler";
import { InvalidFilterError, checkFilterBounds } from "./filter";
import { applyBulk } from "./bulk";
import { jsonBody } from "../http/json-body";
import { clientErrorOf } from "../http/request-errors";
import { declareGroupResource } from "./group-resource";
import { declareUserResource, type ScimContext } from "./user-resource";
import { resourceHeaders, versionFromEtag } from "./user-mapping";

declare module "express-serve-static-core" {
  interface Request {
    scim?: ScimContext;
  }
}

const scimMediaTypes = ["application/scim+json", "application/json"];

function sendError(res: Response, status: number, detail: string, scimType?: string): void {
  res.status(status).type("application/scim+json").json(scimErrorBody(status, detail, scimType));
}

/**
 * scimmy's discovery documents are global; configure them once with what Gatehouse really serves
 * (RFC 7643 §5). scimmy-routers forces patch, filter, sort and bulk on when it is constructed, and
 * takes its body-size limit from bulk.maxPayloadSize at that moment.
 */
function configureServiceProvider(config: Config): void {
  SCIMMY.Config.set({
    patch: true,
    filter: { supported: true, maxResults: config.scim.maxResults },
    sort: true,
    etag: true,
    changePassword: false,
    bulk: { supported: true, maxOperations: config.scim.maxBulkOperations, maxPayloadSize: config.scim.maxPayloadBytes },
  } as never);
}

/**
 * Reads the bearer token, counts failures per client in MongoDB (so every instance agrees) and
 * answers 429 with Retry-After to every failed attempt beyond the limit in the current window. A valid
 * token is still accepted then: an identity provider behind the same address as a noisy client
 * is not locked out, and guessing a 256-bit secret is hopeless anyway.
 */
function authenticate(services: Services, config: Config, baseUrl: string) {
  return async (req: Request, _res: Response, next: NextFunction): Promise<void> => {
    const client = req.ip ?? "unknown";
    const header = req.header("authorization") ?? "";
    const [scheme, bearer] = header.split(/\s+/, 2);
    const token =
      scheme?.toLowerCase() === "bearer" && bearer
        ? await services.scimTokens.authenticate(bearer).catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))))
        : new UnauthenticatedError("A bearer token is required");
    if (token instanceof Error) {
      if (!(token instanceof UnauthenticatedError)) throw token;
      // Only failed attempts touch the counters: a valid request costs no extra query. The
      // attempt's own number, from one atomic increment, decides (storage/auth-failures.ts).
      const failures = await services.authFailures.recordFailure(client);
      if (failures.count > config.authFailures.limit) {
        const retryAfter = Math.max(1, Math.ceil((failures.resetsAt.getTime() - Date.now()) / 1000));
        throw new TooManyRequestsError("Too many failed authentication attempts; retry later", retryAfter);
      }
      throw token;
    }
    req.organizationId = token.organizationId;
    req.scim = {
      request: {
        organizationId: token.organizationId,
        actor: { type: "scim_token", id: token.id, name: token.name },
        source: "scim",
        requestId: req.id,
      },
      users: services.users,
      groups: services.groups,
      baseUrl,
      maxResults: config.scim.maxResults,
    };
    next();
  };
}

/** If-Match on writes (RFC 7644 §3.14): "*" matches any version; a tag we never issued matches none. */
function conditionalWrites(req: Request, res: Response, next: NextFunction): void {
  const ifMatch = req.header("if-match");
  if (ifMatch && req.scim && ["PUT", "PATCH", "DELETE"].includes(req.method) && ifMatch.trim() !== "*") {
    const version = versionFromEtag(ifMatch.split(",")[0]);
    if (version === undefined) return sendError(res, 412, "If-Match does not name a version of this resource");
    req.scim.expectedVersion = version;
  }
  next();
}

/**
 * One place that shapes what scimmy-routers sends: the ETag header on single resources, 304 for a
 * matching If-None-Match, and Location on 201.
 */
function shapeResponses(req: Request, res: Response, next: NextFunction): void {
  const json = res.json.bind(res);
  res.json = (body: unknown) => {
    const meta = (body as { meta?: { version?: string; location?: string } } | undefined)?.meta;
    const headers = resourceHeaders(body);
    const etag = headers?.etag ?? meta?.version;
    const location = headers?.location ?? meta?.location;
    if (etag && !(body as { Resources?: unknown }).Resources) {
      res.setHeader("ETag", etag);
      if (res.statusCode === 201 && location) res.setHeader("Location", location);
      const ifNoneMatch = req.header("if-none-match");
      if (req.method === "GET" && ifNoneMatch && ifNoneMatch.split(",").some((tag) => tag.trim() === etag || tag.trim() === "*")) {
        res.status(304);
        return res.end() as unknown as Response;
      }
    }
    return json(body);
  };
  next();
}

/**
 * Filter bounds (filter.ts filterLimits) checked as the request arrives, before scimmy or
 * scimmy-routers look at it: `filter` of a GET list and of a POST /.search (RFC 7644 §3.4.3).
 */
function boundFilters(req: Request, res: Response, next: NextFunction): void {
  const filter = req.method === "GET" ? req.query.filter : req.method === "POST" && req.path.endsWith("/.search") ? (req.body as { filter?: unknown } | undefined)?.filter : undefined;
  if (typeof filter !== "string") return next();
  try {
    checkFilterBounds(filter);
  } catch (error) {
    if (error instanceof InvalidFilterError) return sendError(res, 400, error.message, "invalidFilter");
    return next(error);
  }
  next();
}

/**
 * express 5 parses `req.query` afresh at every read (a getter), so scimmy-routers' cast of
 * `startIndex` and `count` to numbers is lost and scimmy falls back to its default page of 20
 * (scimmy-routers issue #36). The query becomes a plain object of this request for the routers.
 */
function writableQuery(req: Request, _res: Response, next: NextFunction): void {
  Object.defineProperty(req, "query", { value: { ...req.query }, writable: true, enumerable: true, configurable: true });
  next();
}

/**
 * The discovery endpoints are read-only (RFC 7644 §4): any other method answers 405 with an
 * Allow header (RFC 9110 §15.5.6) rather than scimmy-routers' 404 "Endpoint Not Found".
 */
const discoveryPaths = ["/ServiceProviderConfig", "/ResourceTypes", "/ResourceTypes/:id", "/Schemas", "/Schemas/:id"];
function readOnlyDiscovery(req: Request, res: Response, next: NextFunction): void {
  if (req.method === "GET" || req.method === "HEAD") return next();
  res.setHeader("Allow", "GET, HEAD");
  sendError(res, 405, `${req.method} is not supported on ${req.baseUrl}${req.path}; discovery endpoints are read-only`);
}

/**
 * The longest string a SCIM body may hold (UTF-16 code units). The longest real values are X.509
 * certificates, a few thousand base64 characters; a 100 KB userName is an attack on every index,
 * log line and page that shows it.
 */
export const maxScimStringLength = 16 * 1024;

/**
 * Body parsing with SCIM-shaped errors (RFC 7644 §3.12): a body that is not JSON, not UTF-8, or
 * nested deeper than http/json-body.ts allows → 400 invalidSyntax; a string that is not valid
 * Unicode, holds U+0000 or is longer than maxScimStringLength → 400 invalidValue; another charset
 * or Content-Encoding → 415; too large → 413. All before authentication and before scimmy walks
 * the body.
 */
function parseBody(config: Config) {
  const parseResource = jsonBody({ type: scimMediaTypes, limit: config.scim.maxPayloadBytes, strict: false, maxStringLength: maxScimStringLength });
  // A SearchRequest stores nothing, and its filter has limits of its own (boundFilters): a filter
  // too long is answered as one (400 invalidFilter), not as a too-long value.
  const parseSearch = jsonBody({ type: scimMediaTypes, limit: config.scim.maxPayloadBytes, strict: false });
  return (req: Request, res: Response, next: NextFunction): void => {
    const parse = req.method === "POST" && req.path.endsWith("/.search") ? parseSearch : parseResource;
    const hasBody = Number(req.header("content-length") ?? 0) > 0 || req.header("transfer-encoding") !== undefined;
    if (hasBody && !req.is(scimMediaTypes)) {
      return sendError(res, 400, "The request body must be JSON sent as application/scim+json or application/json", "invalidSyntax");
    }
    parse(req, res, (error?: unknown) => {
      if (!error) return next();
      const refused = clientErrorOf(error);
      if (!refused) return next(error);
      if (refused.code === "payload_too_large") return sendError(res, 413, `The request body exceeds the limit of ${config.scim.maxPayloadBytes} bytes`);
      return sendError(res, refused.status, refused.message, refused.scimType);
    });
  };
}

/**
 * scimmy-routers ends its stack with its own error handler, which answers through scimmy's
 * ErrorResponse: that class refuses any status outside RFC 7644 §3.12's table (429 and 503
 * among them) and would throw instead of answering. It is taken out, so every error of the
 * edge reaches Gatehouse's one translation; checked when the app is built, so a new
 * scimmy-routers that arranges its stack differently fails loudly rather than answering wrongly.
 */
function withoutOwnErrorHandler(router: Router): Router {
  const stack = (router as unknown as { stack: { handle: { length: number } }[] }).stack;
  if (stack.at(-1)?.handle.length !== 4) throw new Error("scimmy-routers: its own error handler is no longer the last layer of its router");
  stack.pop();
  return router;
}

export function scimRouter(services: Services, config: Config, logger: Logger): Router {
  const baseUrl = `${config.publicBaseUrl}/scim/v2`;
  declareUserResource();
  declareGroupResource();
  configureServiceProvider(config);

  const router = express.Router();
  router.use(parseBody(config));
  router.use(authenticate(services, config, baseUrl));
  router.all(discoveryPaths, readOnlyDiscovery);
  router.use(boundFilters);
  router.use(conditionalWrites);
  router.use(shapeResponses);
  router.post("/Bulk", async (req: Request, res: Response) => {
    res.type("application/scim+json").json(await applyBulk(req.body, req.scim!, config.scim.maxBulkOperations));
  });
  router.use(writableQuery);
  router.use(
    withoutOwnErrorHandler(
      new SCIMMYRouters({
        type: "bearer",
        handler: (req: Request) => {
          if (!req.scim) throw new Error("Unauthenticated");
          return req.scim.request.actor.id;
        },
        context: (req: Request) => req.scim,
        baseUri: () => config.publicBaseUrl,
      } as never) as unknown as Router,
    ),
  );
  // Every error of the SCIM edge, thrown before scimmy-routers or inside it, answered once: the
  // status from the shared translation (scim/errors.ts scimAnswerOf), the body a SCIM error.
  router.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const answer = scimAnswerOf(error);
    if (answer.status >= 500) logger.error({ err: (answer.internal && (error as { cause?: unknown }).cause) || error, requestId: req.id }, "SCIM request failed");
    if (res.headersSent) return;
    setErrorHeaders(res, answer);
    // RFC 6750 §3: a 401 names the scheme and realm the client must authenticate with.
    if (answer.status === 401) res.setHeader("WWW-Authenticate", 'Bearer realm="Gatehouse SCIM"');
    sendError(res, answer.status, answer.detail, answer.scimType);
  });
  return router;
}

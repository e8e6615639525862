import { createPrivateKey, X509Certificate, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import type { AccessCatalog } from "../domain/catalog";
import { readAccessCatalog } from "./access-catalog";

/**
 * Gatehouse's configuration, read once from the environment at start-up. Every problem is listed
 * at once so an operator fixes them in one go; nothing else in the code reads process.env.
 */
export interface Config {
  readonly port: number;
  readonly host: string;
  /** A real MongoDB; when absent the embedded FerretDB serves GATEHOUSE_DATA_DIR. */
  readonly mongodbUri?: string;
  readonly dataDir: string;
  /** Public origin used in meta.location and $ref (behind a proxy this is the proxy's URL). */
  readonly publicBaseUrl: string;
  /** Express "trust proxy": how many proxies in front of Gatehouse set X-Forwarded-For (0: none). */
  readonly trustProxyHops: number;
  readonly logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  readonly scim: {
    readonly maxPayloadBytes: number;
    readonly maxResults: number;
    readonly maxBulkOperations: number;
  };
  readonly authFailures: { readonly limit: number; readonly windowSeconds: number };
  /** Upper bound on any one database operation, so an outage answers 503 instead of hanging. */
  readonly databaseTimeoutMs: number;
  /**
   * RESIDENT_DIRECTORY: whether users and groups are answered from memory
   * (storage/resident-directory.ts). "auto" (the default): on for the embedded database, which one
   * server process serves; off for MONGODB_URI. "on" with MONGODB_URI is for a database only this
   * one server writes (the benchmark's FerretDB); never with several instances.
   */
  readonly residentDirectory: "auto" | "on" | "off";
  /** Browser sessions (SAML sign-in): ended after this long without a request, and at the latest after the absolute timeout. */
  readonly sessions: { readonly idleTimeoutMinutes: number; readonly absoluteTimeoutHours: number };
  /** Exact origins (scheme, host, port) whose pages may call /api/v1 with the user's session cookie. */
  readonly corsAllowedOrigins: readonly string[];
  /** The service provider's own SAML signing key, when configured: logout messages Gatehouse sends are signed with it. */
  readonly samlServiceProvider?: SamlServiceProviderKey;
  /** ACCESS_CATALOG: the product's permissions and roles (config/access-catalog.ts); the shipped catalog when unset. */
  readonly accessCatalog: AccessCatalog;
  /**
   * Outbound webhooks (services/webhook-sender.ts): WEBHOOK_ALLOW_HTTP lets endpoints use plain
   * http; WEBHOOK_ALLOW_PRIVATE_DESTINATIONS lets them reach loopback, private and link-local
   * addresses. Both off by default.
   */
  readonly webhooks: { readonly allowHttp: boolean; readonly allowPrivateDestinations: boolean };
}

/**
 * SAML_SP_KEY_FILE and SAML_SP_CERT_FILE, read and checked at start-up. The key stays a KeyObject —
 * it prints as `PrivateKeyObject {}` and serialises as `{}`, so logging the configuration can never
 * reveal it; it is exported to PEM only where a message is signed (saml/router.ts).
 */
export interface SamlServiceProviderKey {
  readonly privateKey: KeyObject;
  /** The matching certificate, as PEM: published in the service provider's metadata. */
  readonly certificate: string;
}

const integer = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, "must be a whole number")
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

/**
 * A comma-separated list of exact origins (`https://app.example.com`): what browsers send in
 * `Origin`, so each is normalised to the URL's serialised origin and anything more (a path, a
 * query, credentials) is refused rather than silently dropped.
 */
const originList = z.string().transform((value, ctx) => {
  const origins: string[] = [];
  for (const item of value.split(",").map((part) => part.trim()).filter(Boolean)) {
    let url: URL | undefined;
    try {
      url = new URL(item);
    } catch {
      url = undefined;
    }
    if (!url || !/^https?:$/.test(url.protocol) || url.pathname !== "/" || url.search || url.hash || url.username || url.password) {
      ctx.addIssue({ code: "custom", message: `"${item}" is not an origin: give scheme, host and optional port only, e.g. https://app.example.com` });
      continue;
    }
    origins.push(url.origin);
  }
  return [...new Set(origins)];
});

const environment = z.object({
  PORT: integer(0, 65535).default(8080),
  HOST: z.string().min(1).default("0.0.0.0"),
  MONGODB_URI: z
    .string()
    .regex(/^mongodb(\+srv)?:\/\/\S+$/, "must be a mongodb:// or mongodb+srv:// URI")
    .optional(),
  GATEHOUSE_DATA_DIR: z.string().min(1).default("./data"),
  PUBLIC_BASE_URL: z
    .url({ protocol: /^https?$/, error: "must be an absolute http(s) URL" })
    .optional(),
  TRUST_PROXY_HOPS: integer(0, 10).default(0),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  SCIM_MAX_PAYLOAD_BYTES: integer(1024, 64 * 1024 * 1024).default(1024 * 1024),
  SCIM_MAX_RESULTS: integer(1, 10_000).default(1000),
  SCIM_BULK_MAX_OPERATIONS: integer(1, 10_000).default(1000),
  AUTH_FAILURE_LIMIT: integer(1, 1_000_000).default(20),
  AUTH_FAILURE_WINDOW_SECONDS: integer(1, 86_400).default(300),
  DATABASE_TIMEOUT_MS: integer(100, 600_000).default(5000),
  RESIDENT_DIRECTORY: z.enum(["auto", "on", "off"]).default("auto"),
  SESSION_IDLE_TIMEOUT_MINUTES: integer(1, 7 * 24 * 60).default(30),
  SESSION_ABSOLUTE_TIMEOUT_HOURS: integer(1, 30 * 24).default(12),
  CORS_ALLOWED_ORIGINS: originList.default([]),
  SAML_SP_KEY_FILE: z.string().min(1).optional(),
  SAML_SP_CERT_FILE: z.string().min(1).optional(),
  ACCESS_CATALOG: z.string().min(1).optional(),
  WEBHOOK_ALLOW_HTTP: z.enum(["true", "false"], "must be true or false").default("false"),
  WEBHOOK_ALLOW_PRIVATE_DESTINATIONS: z.enum(["true", "false"], "must be true or false").default("false"),
});

/** Smallest RSA modulus accepted for the service provider's key (NIST SP 800-131A). */
const minimumRsaBits = 2048;

/**
 * Reads the service provider's key pair: both files or neither, a PEM RSA private key (signatures
 * are rsa-sha256, what Okta and Entra ID verify) of at least 2048 bits, and a PEM certificate of
 * that very key. Problems are added to `problems`; the key's content never appears in one.
 */
function samlServiceProviderKey(keyFile: string | undefined, certFile: string | undefined, problems: string[]): SamlServiceProviderKey | undefined {
  if (keyFile === undefined && certFile === undefined) return undefined;
  if (keyFile === undefined || certFile === undefined) {
    problems.push(`${keyFile === undefined ? "SAML_SP_KEY_FILE" : "SAML_SP_CERT_FILE"}: must be set together with ${keyFile === undefined ? "SAML_SP_CERT_FILE" : "SAML_SP_KEY_FILE"}`);
    return undefined;
  }
  const read = (variable: string, file: string) => {
    try {
      return readFileSync(path.resolve(file), "utf8");
    } catch (error) {
      problems.push(`${variable}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? "error"})`);
      return undefined;
    }
  };
  const keyPem = read("SAML_SP_KEY_FILE", keyFile);
  const certPem = read("SAML_SP_CERT_FILE", certFile);
  let privateKey: KeyObject | undefined;
  if (keyPem !== undefined) {
    try {
      privateKey = createPrivateKey({ key: keyPem, format: "pem" });
    } catch {
      problems.push("SAML_SP_KEY_FILE: must be an unencrypted PEM private key");
    }
    if (privateKey && privateKey.asymmetricKeyType !== "rsa") {
      problems.push(`SAML_SP_KEY_FILE: must be an RSA key (found ${privateKey.asymmetricKeyType ?? "another kind"})`);
      privateKey = undefined;
    } else if (privateKey && (privateKey.asymmetricKeyDetails?.modulusLength ?? 0) < minimumRsaBits) {
      problems.push(`SAML_SP_KEY_FILE: the RSA key must have at least ${minimumRsaBits} bits`);
      privateKey = undefined;
    }
  }
  let certificate: X509Certificate | undefined;
  if (certPem !== undefined) {
    try {
      certificate = new X509Certificate(certPem);
    } catch {
      problems.push("SAML_SP_CERT_FILE: must be a PEM X.509 certificate");
    }
  }
  if (!privateKey || !certificate) return undefined;
  if (!certificate.checkPrivateKey(privateKey)) {
    problems.push("SAML_SP_CERT_FILE: is not the certificate of the key in SAML_SP_KEY_FILE");
    return undefined;
  }
  return Object.freeze({ privateKey, certificate: certificate.toString().trim() });
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  }
}

/** Parses the environment; throws ConfigError listing every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = environment.safeParse(present);
  const problems = parsed.success ? [] : parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
  const samlServiceProvider = samlServiceProviderKey(present.SAML_SP_KEY_FILE, present.SAML_SP_CERT_FILE, problems);
  const { catalog: accessCatalog, problems: catalogProblems } = readAccessCatalog(present.ACCESS_CATALOG);
  problems.push(...catalogProblems);
  if (!parsed.success || problems.length || !accessCatalog) throw new ConfigError(problems);
  const e = parsed.data;
  return Object.freeze({
    port: e.PORT,
    host: e.HOST,
    mongodbUri: e.MONGODB_URI,
    dataDir: path.resolve(e.GATEHOUSE_DATA_DIR),
    publicBaseUrl: (e.PUBLIC_BASE_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, ""),
    trustProxyHops: e.TRUST_PROXY_HOPS,
    logLevel: e.LOG_LEVEL,
    scim: Object.freeze({
      maxPayloadBytes: e.SCIM_MAX_PAYLOAD_BYTES,
      maxResults: e.SCIM_MAX_RESULTS,
      maxBulkOperations: e.SCIM_BULK_MAX_OPERATIONS,
    }),
    authFailures: Object.freeze({ limit: e.AUTH_FAILURE_LIMIT, windowSeconds: e.AUTH_FAILURE_WINDOW_SECONDS }),
    databaseTimeoutMs: e.DATABASE_TIMEOUT_MS,
    residentDirectory: e.RESIDENT_DIRECTORY,
    sessions: Object.freeze({ idleTimeoutMinutes: e.SESSION_IDLE_TIMEOUT_MINUTES, absoluteTimeoutHours: e.SESSION_ABSOLUTE_TIMEOUT_HOURS }),
    corsAllowedOrigins: Object.freeze([...e.CORS_ALLOWED_ORIGINS]),
    ...(samlServiceProvider ? { samlServiceProvider } : {}),
    accessCatalog,
    webhooks: Object.freeze({ allowHttp: e.WEBHOOK_ALLOW_HTTP === "true", allowPrivateDestinations: e.WEBHOOK_ALLOW_PRIVATE_DESTINATIONS === "true" }),
  });
}

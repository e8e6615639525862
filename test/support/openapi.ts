import Ajv2020, { type ValidateFunction } from "ajv/dist/2020";
import addFormats from "ajv-formats";
import type express from "express";
import request from "supertest";
import type { OpenApiDocument } from "../../src/admin/openapi";

/**
 * Checks real /api/v1 traffic against the OpenAPI document: every answer must be a documented
 * status of its operation, with a body that validates against that status's schema (ajv, JSON
 * Schema 2020-12, formats included), and the documented headers; requests the server accepted
 * must match the documented request body and parameters; and the token a request carried must
 * be one the operation's `security` says it accepts, unless the server refused it.
 */

export const METHODS = ["get", "put", "post", "delete", "patch", "head", "options", "trace"] as const;
export type Method = (typeof METHODS)[number];

interface Reference {
  $ref: string;
}
interface MediaType {
  schema?: unknown;
}
export interface ResponseObject {
  description: string;
  headers?: Record<string, { required?: boolean; schema?: unknown } | Reference>;
  content?: Record<string, MediaType>;
}
export interface ParameterObject {
  name: string;
  in: "path" | "query" | "header" | "cookie";
  required?: boolean;
  schema?: unknown;
}
export interface OperationObject {
  operationId: string;
  summary?: string;
  security?: Record<string, string[]>[];
  parameters?: (ParameterObject | Reference)[];
  requestBody?: { required?: boolean; content: Record<string, MediaType> };
  responses: Record<string, ResponseObject | Reference>;
}
export interface Operation {
  method: Method;
  path: string;
  operation: OperationObject;
}

const isReference = (value: unknown): value is Reference => typeof value === "object" && value !== null && typeof (value as Reference).$ref === "string";

/** `#/a/b~1c` → ["a", "b/c"] (RFC 6901). */
export function pointerOf(ref: string): string[] {
  if (!ref.startsWith("#/")) throw new Error(`Only local references are used in this document, not ${ref}`);
  return ref
    .slice(2)
    .split("/")
    .map((part) => decodeURIComponent(part).replace(/~1/g, "/").replace(/~0/g, "~"));
}

/** The value at a JSON pointer, or undefined. */
export function at(document: unknown, pointer: readonly string[]): unknown {
  let value: unknown = document;
  for (const part of pointer) {
    if (typeof value !== "object" || value === null || !Object.prototype.hasOwnProperty.call(value, part)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** Every `$ref` string in the document, with where it is. */
export function referencesIn(value: unknown, where: string[] = []): { ref: string; where: string }[] {
  if (Array.isArray(value)) return value.flatMap((item, i) => referencesIn(item, [...where, String(i)]));
  if (typeof value !== "object" || value === null) return [];
  return Object.entries(value).flatMap(([key, item]) =>
    key === "$ref" && typeof item === "string" ? [{ ref: item, where: where.join("/") }] : referencesIn(item, [...where, key]),
  );
}

export function operationsOf(document: OpenApiDocument): Operation[] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    METHODS.filter((method) => item[method] !== undefined).map((method) => ({ method, path, operation: item[method] as OperationObject })),
  );
}

/** `/users/:id` → `/users/{id}`. */
export const templateOf = (expressPath: string) => expressPath.replace(/:(\w+)/g, "{$1}");

interface RouterLayer {
  name: string;
  /** express 5 (router 2): a router mounted at its parent's root. */
  slash?: boolean;
  rawPath?: unknown;
  route?: { path: unknown; methods: Record<string, boolean> };
  handle: { stack?: RouterLayer[] };
}

/** Every route an express router (and the routers it mounts at its root) registers, as OpenAPI paths. */
export function routesOf(router: { stack: unknown[] }): { method: string; path: string }[] {
  return (router.stack as RouterLayer[]).flatMap((layer) => {
    if (layer.route) {
      if (typeof layer.route.path !== "string") throw new Error(`A route with a non-string path (${String(layer.route.path)}): list it by hand`);
      const path = templateOf(layer.route.path);
      return Object.keys(layer.route.methods)
        .filter((method) => method !== "_all")
        .map((method) => ({ method, path }));
    }
    if (layer.handle.stack) {
      if (!layer.slash) throw new Error(`A router mounted below a path (${String(layer.rawPath)}): teach routesOf its mount path`);
      return routesOf({ stack: layer.handle.stack });
    }
    return [];
  });
}

export interface CallOptions {
  /** A bearer token; none when absent. */
  token?: string;
  /** A session cookie's value, sent in the cookie the document's `sessionCookie` scheme names. */
  session?: string;
  /** More request headers (X-CSRF-Token, Origin …). */
  headers?: Record<string, string>;
  params?: Record<string, string>;
  query?: Record<string, string>;
  /** A JSON body. */
  body?: unknown;
  /** A body sent as it is, as application/json (for malformed JSON). */
  rawBody?: string;
}

const mediaTypeOf = (contentType: string | undefined) => contentType?.split(";")[0]!.trim().toLowerCase();
const show = (value: unknown) => {
  const text = typeof value === "string" ? value : JSON.stringify(value, null, 1);
  return text === undefined ? "(nothing)" : text.length > 3000 ? `${text.slice(0, 3000)}…` : text;
};

export class OpenApiChecker {
  readonly ajv: Ajv2020;
  private readonly validators = new Map<string, ValidateFunction>();
  private readonly tokenPrefixes: Map<string, string>;

  constructor(
    readonly document: OpenApiDocument,
    readonly id = "https://gatehouse.test/api/v1/openapi.json",
  ) {
    // Strict: an unknown keyword or a type-less use of a typed keyword is an error, not a log line.
    this.ajv = new Ajv2020({
      allErrors: true,
      allowUnionTypes: true,
      logger: { log: console.log, error: console.error, warn: (...message: unknown[]) => { throw new Error(message.join(" ")); } },
    });
    addFormats(this.ajv);
    // The document is registered whole, so `#/components/schemas/…` resolve inside it; the
    // OpenAPI keywords around the schemas are declared so strict mode accepts them.
    this.ajv.addVocabulary(["openapi", "info", "servers", "security", "tags", "paths", "components", "webhooks", "jsonSchemaDialect", "externalDocs"]);
    this.ajv.addSchema(document as unknown as object, id);
    this.tokenPrefixes = new Map(
      Object.entries(document.components.securitySchemes)
        .filter(([, scheme]) => typeof scheme.bearerFormat === "string")
        .map(([name, scheme]) => [String(scheme.bearerFormat).split("_")[0]!, name]),
    );
  }

  /** A validator for the schema at a JSON pointer of the document. */
  validator(pointer: readonly string[]): ValidateFunction {
    const ref = `${this.id}#/${pointer.map((part) => encodeURIComponent(part.replace(/~/g, "~0").replace(/\//g, "~1"))).join("/")}`;
    let validate = this.validators.get(ref);
    if (!validate) {
      if (at(this.document, pointer) === undefined) throw new Error(`No schema at ${ref}`);
      validate = this.ajv.compile({ $ref: ref });
      this.validators.set(ref, validate);
    }
    return validate;
  }

  /** An object of the document and its pointer, following a `$ref`. */
  private follow<T>(value: T | Reference, pointer: string[]): { value: T; pointer: string[] } {
    if (!isReference(value)) return { value, pointer };
    const target = pointerOf(value.$ref);
    const resolved = at(this.document, target);
    if (resolved === undefined) throw new Error(`${value.$ref} (at ${pointer.join("/")}) does not resolve`);
    return this.follow(resolved as T | Reference, target);
  }

  operation(method: Method, path: string): OperationObject {
    const operation = this.document.paths[path]?.[method] as OperationObject | undefined;
    if (!operation) throw new Error(`${method.toUpperCase()} ${path} is not in the OpenAPI document`);
    return operation;
  }

  private errorsOf(validate: ValidateFunction): string {
    return this.ajv.errorsText(validate.errors, { separator: "\n  ", dataVar: "body" });
  }

  /** Throws unless the answer is a documented status of the operation and matches its schema and headers. */
  checkResponse(res: request.Response, method: Method, path: string): void {
    const operation = this.operation(method, path);
    const what = `${method.toUpperCase()} ${path} → ${res.status}`;
    const status = String(res.status);
    const documented = operation.responses[status] ?? operation.responses.default;
    if (!documented) throw new Error(`${what} is not a documented response (documented: ${Object.keys(operation.responses).join(", ")})\nbody: ${show(res.body)}`);
    const { value: response, pointer } = this.follow<ResponseObject>(documented, ["paths", path, method, "responses", operation.responses[status] ? status : "default"]);

    for (const [name, declared] of Object.entries(response.headers ?? {})) {
      const { value: header, pointer: headerPointer } = this.follow(declared, [...pointer, "headers", name]);
      const actual = res.headers[name.toLowerCase()] as string | undefined;
      if (actual === undefined) {
        if (header.required) throw new Error(`${what}: the required header ${name} is missing`);
        continue;
      }
      if (header.schema !== undefined) {
        const validate = this.validator([...headerPointer, "schema"]);
        if (!validate(actual)) throw new Error(`${what}: header ${name}: ${actual} does not match its schema:\n  ${this.errorsOf(validate)}`);
      }
    }

    const content = response.content ?? {};
    if (Object.keys(content).length === 0) {
      if (res.text) throw new Error(`${what} is documented without content, but has a body: ${show(res.text)}`);
      return;
    }
    const mediaType = mediaTypeOf(res.headers["content-type"] as string | undefined);
    if (!mediaType || !content[mediaType]) throw new Error(`${what}: content type ${mediaType} is not documented (documented: ${Object.keys(content).join(", ")})\nbody: ${show(res.text)}`);
    if (content[mediaType].schema === undefined) return;
    const body = mediaType === "application/json" || mediaType.endsWith("+json") ? res.body : res.text;
    const validate = this.validator([...pointer, "content", mediaType, "schema"]);
    if (!validate(body)) throw new Error(`${what}: the body does not match the documented schema:\n  ${this.errorsOf(validate)}\nbody: ${show(body)}`);
  }

  /** Whether a JSON body validates against the operation's documented request body; errors as text. */
  requestBodyProblems(method: Method, path: string, body: unknown): string | undefined {
    const operation = this.operation(method, path);
    if (!operation.requestBody) return "the operation is documented without a request body";
    const validate = this.validator(["paths", path, method, "requestBody", "content", "application/json", "schema"]);
    return validate(body) ? undefined : this.errorsOf(validate);
  }

  /** The operation's parameters (path-level and its own), resolved, with their pointers. */
  parameters(method: Method, path: string): { parameter: ParameterObject; pointer: string[] }[] {
    const item = this.document.paths[path] as { parameters?: (ParameterObject | Reference)[] };
    const own = this.operation(method, path).parameters ?? [];
    return [
      ...(item.parameters ?? []).map((p, i) => this.follow(p, ["paths", path, "parameters", String(i)])),
      ...own.map((p, i) => this.follow(p, ["paths", path, method, "parameters", String(i)])),
    ].map(({ value, pointer }) => ({ parameter: value, pointer }));
  }

  /** The security scheme a bearer token belongs to, by its prefix (`gpt_…` → personalToken). */
  schemeOf(token: string): string | undefined {
    return this.tokenPrefixes.get(token.split("_")[0]!);
  }

  /** Checks what an answer says about the request: accepted requests were valid, refused tokens were not accepted. */
  checkRequest(res: request.Response, method: Method, path: string, options: CallOptions): void {
    const operation = this.operation(method, path);
    const what = `${method.toUpperCase()} ${path} → ${res.status}`;
    const success = res.status >= 200 && res.status < 300;

    const security = operation.security ?? (this.document.security as Record<string, string[]>[]);
    if (security.length > 0 && !security.some((requirement) => Object.keys(requirement).length === 0)) {
      if (options.token === undefined && options.session !== undefined) {
        const accepted = security.some((requirement) => "sessionCookie" in requirement);
        if (!accepted && success) throw new Error(`${what}: answered a session the operation's security does not accept`);
      } else if (options.token === undefined) {
        if (res.status !== 401 && !(res.status === 400 && options.rawBody !== undefined)) throw new Error(`${what}: the operation needs a token, but answered without one`);
      } else {
        const scheme = this.schemeOf(options.token);
        const accepted = scheme !== undefined && security.some((requirement) => scheme in requirement);
        if (!accepted && success) throw new Error(`${what}: answered a ${scheme ?? "unknown"} token the operation's security does not accept`);
      }
    }

    const parameters = this.parameters(method, path);
    for (const name of Object.keys(options.params ?? {})) {
      if (!parameters.some(({ parameter }) => parameter.in === "path" && parameter.name === name)) throw new Error(`${method.toUpperCase()} ${path}: path parameter ${name} is not documented`);
    }
    if (success) {
      for (const [name, value] of Object.entries(options.query ?? {})) {
        const documented = parameters.find(({ parameter }) => parameter.in === "query" && parameter.name === name);
        if (!documented) throw new Error(`${what}: accepted the query parameter ${name}, which is not documented`);
        const validate = this.validator([...documented.pointer, "schema"]);
        const schema = documented.parameter.schema as { type?: string };
        const typed = schema.type === "integer" || schema.type === "number" ? Number(value) : value;
        if (!validate(typed)) throw new Error(`${what}: accepted ${name}=${value}, which its documented schema refuses:\n  ${this.errorsOf(validate)}`);
      }
      for (const { parameter } of parameters) {
        if (parameter.in === "query" && parameter.required && options.query?.[parameter.name] === undefined) throw new Error(`${what}: answered without the required ${parameter.name}`);
      }
    }

    if (options.body !== undefined && (success || (res.status === 400 && res.body?.error?.code === "invalid_request"))) {
      const problems = this.requestBodyProblems(method, path, options.body);
      if (success && problems) throw new Error(`${what}: accepted a body the document refuses:\n  ${problems}\nbody: ${show(options.body)}`);
      if (!success && !problems) throw new Error(`${what}: refused as invalid_request a body the document accepts (${res.body.error.message})\nbody: ${show(options.body)}`);
    }
    if (success && options.body === undefined && operation.requestBody?.required) throw new Error(`${what}: accepted no body, but the document requires one`);
  }
}

/**
 * A client for /api/v1 that names the operation by its path template and checks each request and
 * answer against the document (throwing, with ajv's errors, when they disagree).
 */
export function openApiClient(app: express.Express, checker: OpenApiChecker, base = "/api/v1") {
  return async function call(method: Method, path: string, options: CallOptions = {}): Promise<request.Response> {
    checker.operation(method, path);
    const url =
      base +
      path.replace(/\{(\w+)\}/g, (_all, name: string) => {
        const value = options.params?.[name];
        if (value === undefined) throw new Error(`${path} needs the path parameter ${name}`);
        return encodeURIComponent(value);
      });
    let req = request(app)[method](url);
    if (options.token !== undefined) req = req.set("Authorization", `Bearer ${options.token}`);
    if (options.session !== undefined) req = req.set("Cookie", `${String(checker.document.components.securitySchemes.sessionCookie?.name)}=${options.session}`);
    for (const [name, value] of Object.entries(options.headers ?? {})) req = req.set(name, value);
    if (options.query) req = req.query(options.query);
    if (options.rawBody !== undefined) req = req.set("Content-Type", "application/json").send(options.rawBody);
    else if (options.body !== undefined) req = req.send(options.body as object);
    const res = await req;
    checker.checkResponse(res, method, path);
    checker.checkRequest(res, method, path, options);
    return res;
  };
}

import { z } from "zod";
import { ERROR_CODES, serviceScopeOf, templateOf, type Answer, type ErrorCode, type OperationSpec, type Security } from "./operation";

/**
 * The OpenAPI 3.1 description of /api/v1, served at GET /api/v1/openapi.json without a token,
 * derived from the operations' declarations (admin/operation.ts) — nothing in it is written twice.
 *
 * Schemas are zod 4's own JSON Schema output (`z.toJSONSchema`, draft 2020-12, the dialect of
 * OpenAPI 3.1): requests as their input side (what a client may send; `.strict()` is
 * `additionalProperties: false`), answers as their output side (every object closed, so an answer
 * with a field the declaration lacks fails the tests that check answers against this document).
 * Named schemas (admin/schemas.ts) become `#/components/schemas/<name>`. Each operation lists
 * every status it answers with and, for errors, every `error.code` (also as an `enum` in the
 * answer's schema). test/integration/openapi.test.ts checks real answers against it.
 */

type Schema = Record<string, unknown>;

/** A JSON value of the document: what `res.json` sends. */
export interface OpenApiDocument {
  readonly openapi: string;
  readonly info: { readonly title: string; readonly version: string; readonly description?: string };
  readonly servers: readonly { readonly url: string; readonly description?: string }[];
  readonly security: readonly Record<string, readonly string[]>[];
  readonly tags: readonly { readonly name: string; readonly description: string }[];
  readonly paths: Record<string, Record<string, unknown>>;
  readonly components: {
    readonly securitySchemes: Record<string, Schema>;
    readonly schemas: Record<string, Schema>;
    readonly responses: Record<string, Schema>;
  };
}

const SECURITY: Record<Security, Record<string, string[]>[]> = {
  personal: [{ personalToken: [] }, { sessionCookie: [] }],
  personalOrService: [{ personalToken: [] }, { serviceToken: [] }, { sessionCookie: [] }],
  session: [{ sessionCookie: [] }],
  none: [],
};
const WHO: Record<Security, string> = {
  personal: "Accepts personal API tokens (`gpt_…`) and sessions only; a service token is answered `403 forbidden`.",
  personalOrService: "Accepts personal API tokens (`gpt_…`), sessions and organization service tokens (`gsv_…`).",
  session: "Accepts a session cookie only (a bearer token is answered `401 unauthenticated`), also from a person who has no access to the organization.",
  none: "",
};

const STATUS_TEXT: Record<number, string> = {
  400: "The request is malformed or cannot be carried out.",
  401: "Authentication failed.",
  403: "The caller may not do this.",
  404: "Not found.",
  409: "The change conflicts with who manages the user, or with an existing user.",
  503: "The database is unavailable.",
};

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });

/** An error answer whose schema narrows `error.code` to the codes this operation answers with. */
function errorResponse(status: number, codes: readonly ErrorCode[], lead = STATUS_TEXT[status]): Schema {
  return {
    description: `${lead} Error codes: ${codes.map((code) => `\`${code}\` (${ERROR_CODES[code]})`).join("; ")}.`,
    content: {
      "application/json": {
        schema: { allOf: [ref("Error"), { type: "object", properties: { error: { type: "object", properties: { code: { enum: [...codes] } } } } }] },
      },
    },
  };
}

/** Converts zod schemas to JSON Schema, naming the registered ones and inlining the rest. */
class SchemaWriter {
  /** The schemas to convert, registered with their names (the operations' own ones under a temporary name). */
  private readonly input = z.registry<{ id: string }>();
  private readonly output = z.registry<{ id: string }>();
  private count = 0;

  constructor(private readonly named: z.core.$ZodRegistry<{ id: string }>) {}

  /** The ids of the unnamed schemas in use, per side: one schema used twice is converted once. */
  private readonly inlineIds = { input: new Map<z.ZodType, string>(), output: new Map<z.ZodType, string>() };

  /** A placeholder for the schema, replaced in `finish` by a `$ref` to its component (a named schema) or its JSON Schema. */
  use(schema: z.ZodType, io: "input" | "output"): Schema {
    const name = this.named.get(schema)?.id;
    if (name) return { __named: name, io };
    let id = this.inlineIds[io].get(schema);
    if (!id) {
      id = `__inline${this.count++}`;
      this.inlineIds[io].set(schema, id);
      (io === "input" ? this.input : this.output).add(schema, { id });
    }
    return { __inline: id, io };
  }

  private convert(io: "input" | "output"): Record<string, Schema> {
    const registry = io === "input" ? this.input : this.output;
    // Every named schema takes part, so references to it become `$ref`s to its component.
    for (const [schema, meta] of namedEntries(this.named)) if (!registry.has(schema)) registry.add(schema, meta);
    const { schemas } = z.toJSONSchema(registry, { io, uri: (id) => `#/components/schemas/${id}`, unrepresentable: "throw" }) as { schemas: Record<string, Schema> };
    for (const schema of Object.values(schemas)) {
      delete schema.$schema;
      delete schema.$id;
    }
    return schemas;
  }

  /**
   * Fills in the placeholders of `document` and returns the named schemas it reaches: a named
   * schema reached from an answer as its output side, one reached only from requests as its input
   * side. One reached from both must read the same both ways.
   */
  finish(document: unknown): Record<string, Schema> {
    const converted = { input: this.convert("input"), output: this.convert("output") };
    const fill = (value: unknown): unknown => {
      if (Array.isArray(value)) return value.map(fill);
      if (typeof value !== "object" || value === null) return value;
      const placeholder = value as { __inline?: string; __named?: string; io?: "input" | "output" };
      if (placeholder.__named) return ref(placeholder.__named);
      if (placeholder.__inline) {
        const schema = converted[placeholder.io!][placeholder.__inline];
        if (!schema) throw new Error(`No JSON Schema for ${placeholder.__inline}`);
        return schema;
      }
      for (const [key, item] of Object.entries(value)) (value as Record<string, unknown>)[key] = fill(item);
      return value;
    };
    const reached = { input: new Set<string>(), output: new Set<string>() };
    const visit = (io: "input" | "output", value: unknown) => {
      for (const [, id] of JSON.stringify(value).matchAll(/"#\/components\/schemas\/([^"]+)"/g)) {
        if (reached[io].has(id!) || !converted[io][id!]) continue;
        reached[io].add(id!);
        visit(io, converted[io][id!]);
      }
    };
    for (const io of ["input", "output"] as const) for (const [id, schema] of Object.entries(converted[io])) if (id.startsWith("__inline")) visit(io, schema);
    // Named schemas used directly by an operation.
    const direct = (value: unknown): void => {
      if (Array.isArray(value)) return value.forEach(direct);
      if (typeof value !== "object" || value === null) return;
      const placeholder = value as { __named?: string; io?: "input" | "output" };
      if (placeholder.__named) return visit(placeholder.io!, ref(placeholder.__named));
      Object.values(value).forEach(direct);
    };
    direct(document);
    // The error answers refer to `Error` themselves.
    visit("output", { $ref: "#/components/schemas/Error" });

    const components: Record<string, Schema> = {};
    for (const id of new Set([...reached.output, ...reached.input])) {
      if (reached.output.has(id) && reached.input.has(id) && JSON.stringify(converted.input[id]) !== JSON.stringify(converted.output[id])) {
        throw new Error(`The schema ${id} reads differently in requests and in answers: give each side its own name`);
      }
      components[id] = converted[reached.output.has(id) ? "output" : "input"][id]!;
    }
    fill(document);
    return Object.fromEntries(Object.entries(components).sort(([a], [b]) => a.localeCompare(b)));
  }
}

/** The registry's schemas with their names (zod keeps them by id in `_idmap`, part of its declared API). */
function namedEntries(registry: z.core.$ZodRegistry<{ id: string }>): [z.ZodType, { id: string }][] {
  return [...registry._idmap.entries()].map(([id, schema]) => [schema as z.ZodType, { id }]);
}

function answer(writer: SchemaWriter, { description, schema, csv }: Answer): Schema {
  if (csv) {
    return {
      description: `${description} RFC 4180 CSV (CRLF line ends, UTF-8, no byte-order mark), a header row with the columns ${csv.map((c) => `\`${c}\``).join(", ")}; values a spreadsheet would take as a formula start with \`'\`.`,
      headers: {
        "Content-Disposition": { required: true, description: "`attachment` with a file name.", schema: { type: "string", pattern: '^attachment; filename="[^"]+\\.csv"$' } },
      },
      content: { "text/csv": { schema: { type: "string" } } },
    };
  }
  return schema ? { description, content: { "application/json": { schema: writer.use(schema, "output") } } } : { description };
}

/** The path and query parameters of an operation, from its zod objects. */
function parameters(writer: SchemaWriter, spec: OperationSpec): Schema[] {
  const out: Schema[] = [];
  for (const [where, schema] of [
    ["path", spec.params],
    ["query", spec.query],
  ] as const) {
    if (!schema) continue;
    const shape = (schema as unknown as z.ZodObject).shape as Record<string, z.ZodType>;
    for (const [name, property] of Object.entries(shape)) {
      const json = writer.use(property, "input");
      const description = property.description;
      out.push({
        name,
        in: where,
        required: where === "path" || !property.safeParse(undefined).success,
        ...(description ? { description } : {}),
        schema: json,
      });
    }
  }
  return out;
}

function operationObject(writer: SchemaWriter, spec: OperationSpec): Schema {
  const change = spec.method !== "get";
  const responses: Record<string, Schema> = {};
  for (const [status, declared] of Object.entries(spec.responses)) responses[status] = answer(writer, declared);

  const badRequest: ErrorCode[] = [...(spec.body ? (["invalid_request", "invalid_json"] as const) : []), ...(spec.errors?.[400] ?? [])];
  if (badRequest.length) responses["400"] = errorResponse(400, [...new Set(badRequest)], spec.badRequest);
  if (spec.security !== "none") {
    responses["401"] = { $ref: "#/components/responses/Unauthenticated" };
    // Whether the person may act at all is not asked of the session's own operations.
    const forbidden: ErrorCode[] = [...(spec.security === "session" ? [] : (["forbidden"] as const)), ...(spec.errors?.[403] ?? []), ...(change ? (["csrf"] as const) : [])];
    if (forbidden.length) responses["403"] = errorResponse(403, forbidden);
  }
  if (spec.errors?.[404]) responses["404"] = errorResponse(404, ["not_found"], `${spec.errors[404]}.`);
  if (spec.errors?.[409]) responses["409"] = errorResponse(409, spec.errors[409]);
  if (spec.security !== "none") responses["503"] = { $ref: "#/components/responses/Unavailable" };

  const who = WHO[spec.security];
  const params = parameters(writer, spec);
  return {
    operationId: spec.operationId,
    tags: [spec.tag],
    summary: spec.summary,
    description: [spec.description, who, serviceScopeOf(spec) ? `A service token needs the scope \`${serviceScopeOf(spec)}\`.` : ""].filter(Boolean).join(" "),
    // The scope a service token needs, as the requirement's list (OpenAPI 3.1 §4.8.30: role names for non-OAuth schemes).
    security: SECURITY[spec.security].map((requirement) => ("serviceToken" in requirement ? { serviceToken: [serviceScopeOf(spec)!] } : requirement)),
    ...(params.length ? { parameters: params } : {}),
    ...(spec.body
      ? {
          requestBody: {
            required: spec.bodyRequired !== false,
            content: {
              "application/json": { schema: writer.use(spec.body, "input") },
              ...Object.fromEntries((spec.textBodyTypes ?? []).map((type) => [type, { schema: { type: "string" } }])),
            },
          },
        }
      : {}),
    responses: Object.fromEntries(Object.entries(responses).sort(([a], [b]) => a.localeCompare(b))),
  };
}

const codeIs = (code: ErrorCode) => ({
  allOf: [ref("Error"), { type: "object", properties: { error: { type: "object", properties: { code: { const: code } } } } }],
});

/** The document for these operations; `named` holds the schemas it names (admin/schemas.ts). */
export function openApiDocumentOf(operations: readonly OperationSpec[], named: z.core.$ZodRegistry<{ id: string }>): OpenApiDocument {
  const writer = new SchemaWriter(named);
  const paths: Record<string, Record<string, unknown>> = {};
  for (const spec of operations) {
    const path = templateOf(spec.path);
    paths[path] ??= {};
    if (paths[path][spec.method]) throw new Error(`${spec.method.toUpperCase()} ${path} is declared twice`);
    paths[path][spec.method] = operationObject(writer, spec);
  }
  const tags = [...new Set(operations.map((spec) => spec.tag))];
  const document = {
    openapi: "3.1.0",
    info: {
      title: "Gatehouse API",
      version: "1",
      description: [
        "Authorization answers for the product's back end (organization service tokens, `gatehouse service-token create`) and the local admin API for people (personal API tokens, `gatehouse user-token create`).",
        "Every operation but this description needs `Authorization: Bearer <token>` or, from a browser, the session cookie single sign-on sets; SCIM tokens are not accepted. A personal token or a session acts as its person, under the permission matrix: a person without access to the organization (deactivated, suspended, no role) is answered `403 forbidden` everywhere but `/session`. Changes made with a session need its CSRF token in `X-CSRF-Token`.",
        "Errors are `{\"error\": {\"code\", \"message\"}}`; each operation lists the codes it answers with. Bodies are JSON (`Content-Type: application/json`, at most 100 kB). With a valid token, a path not described here is answered `404 not_found`.",
      ].join("\n\n"),
    },
    servers: [{ url: "/api/v1", description: "This server" }],
    security: SECURITY.personal,
    tags: tags.map((name) => ({ name, description: TAGS[name] ?? name })),
    paths,
    components: {
      securitySchemes: {
        personalToken: {
          type: "http",
          scheme: "bearer",
          bearerFormat: "gpt_<id>_<secret>",
          description: "A personal API token (`gatehouse user-token create`): acts as its person, under the permission matrix. Revoked when the person is deactivated, deleted or suspended.",
        },
        serviceToken: {
          type: "http",
          scheme: "bearer",
          bearerFormat: "gsv_<id>_<secret>",
          description:
            "An organization service token (`gatehouse service-token create --scope …`) for the product's back end, limited to its scopes: `authorize` (reads members' access and answers authorization questions; what a token issued without scopes may do), `events:read`, `offboarding`, `webhooks:manage`.",
        },
        sessionCookie: {
          type: "apiKey",
          in: "cookie",
          name: "__Host-gatehouse_session",
          description:
            "The browser session single sign-on starts (HttpOnly, SameSite=Lax; named `gatehouse_session` when PUBLIC_BASE_URL is plain http). Used only when no Authorization header is sent, and acts as its person exactly as a personal token does. POST, PUT, PATCH and DELETE also need the header `X-CSRF-Token` (the `csrfToken` of `GET /session`) and, when the browser sends `Origin`, Gatehouse's own origin or one of CORS_ALLOWED_ORIGINS; otherwise `403 csrf`.",
        },
      },
      schemas: {} as Record<string, Schema>,
      responses: {
        Unauthenticated: {
          description: `${STATUS_TEXT[401]} Error code: \`unauthenticated\` (${ERROR_CODES.unauthenticated}).`,
          headers: { "WWW-Authenticate": { required: true, description: "The bearer challenge.", schema: { type: "string", const: 'Bearer realm="Gatehouse API"' } } },
          content: { "application/json": { schema: codeIs("unauthenticated") } },
        },
        Unavailable: {
          description: `${STATUS_TEXT[503]} Error code: \`unavailable\` (${ERROR_CODES.unavailable}).`,
          content: { "application/json": { schema: codeIs("unavailable") } },
        },
      },
    },
  };
  const schemas = writer.finish(document);
  document.components.schemas = schemas;
  return document;
}

/**
 * The document with the access catalog's names as `enum`s of the named schemas that hold them
 * (admin/schemas.ts `catalogEnums`): requests accept any name and the services refuse unknown ones,
 * so the catalog in force, not the code, decides what the document lists.
 */
export function withCatalogEnums(document: OpenApiDocument, enums: Record<string, readonly string[]>, customizable: readonly string[] = []): OpenApiDocument {
  for (const [name, values] of Object.entries(enums)) {
    const schema = document.components.schemas[name];
    if (!schema) continue;
    // An organization's custom roles (`custom:…`) stand beside the catalog's organization roles.
    if (customizable.includes(name)) schema.anyOf = [{ enum: [...values] }, { pattern: "^custom:[a-z][a-z0-9_.-]{0,63}$" }];
    else schema.enum = [...values];
  }
  return document;
}

const TAGS: Record<string, string> = {
  Events: "Directory events (members, groups, sessions, offboardings) in order, and signed webhooks that deliver them.",
  Access: "Effective access and authorization answers.",
  Members: "Members: list, invite, change, suspend, grant temporary access, remove.",
  Organization: "Ownership and access settings.",
  Projects: "The organization's projects.",
  Mappings: "Identity-provider groups and app roles mapped onto roles and projects.",
  "SCIM tokens": "Bearer tokens for identity providers' SCIM provisioning.",
  SAML: "The organization's SAML single sign-on connection.",
  Audit: "The audit trail and access reviews.",
  Session: "The caller's browser session: its CSRF token, signing out, signing out everywhere.",
  Meta: "This description.",
  "Sign-in": "Signing in to the console: sign-in discovery by email domain, the organization's email domains, requiring single sign-on.",
  Groups: "The groups the identity provider pushed, with member counts and the mappings that reference them.",
};

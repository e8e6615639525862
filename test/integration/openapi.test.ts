import type { TokenScope } from "../../src/domain/token-scopes";
import request from "supertest";
import { apiRouter, openApiDocument } from "../../src/admin/router";
import { runCommand } from "../../src/cli/commands";
import { createLogger } from "../../src/http/logger";
import { sessionCookieName } from "../../src/http/session-cookie";
import { buildUser, operator, scimClient, startTestApp, type TestApp } from "../support/app";
import { certificatePem, oktaMetadata } from "../support/saml";
import { at, operationsOf, openApiClient, OpenApiChecker, pointerOf, referencesIn, routesOf, type CallOptions, type Method, type Operation } from "../support/openapi";

/**
 * The OpenAPI description of /api/v1 (derived from the operations' declarations, admin/operation.ts)
 * against the real application: the document itself (served without a token, OpenAPI 3.1, every
 * route the routers register described, every `$ref` resolving, every schema compiling), then
 * every operation driven through a realistic scenario,
 * each request and answer checked against the document by `call` (test/support/openapi.ts):
 * the status must be documented for the operation and the body, content type and headers must
 * match it; accepted requests must match the documented request body and parameters.
 */

let t: TestApp;
let checker: OpenApiChecker;
let call: (method: Method, path: string, options?: CallOptions) => Promise<request.Response>;
let org: { id: string; scimToken: string; scimTokenId: string; ownerId: string };
let ownerToken: string;
let adminToken: string;
let adminId: string;
let memberToken: string;
let memberId: string;
let serviceToken: string;
/** A scheduled offboarding of the member (the offboarding operations' samples). */
let offboardingId: string;
/** A person of another organization, which admits nobody by default: no access at all. */
let lockedToken: string;
/** The identity provider's signing certificate for the SAML connection. */
let idpCertificate: string;

const UNKNOWN = "00000000-0000-4000-8000-000000000000";
const cli = async (...argv: string[]) => JSON.parse((await runCommand(t.services, argv)).stdout[0]!);
const ctxOf = (organizationId: string) => ({ ...operator, organizationId });
const tokenOf = async (organizationId: string, email: string): Promise<string> => (await cli("user-token", "create", "--org", organizationId, "--email", email, "--json")).token;
const inAnHour = () => new Date(Date.now() + 3_600_000).toISOString();
const keyOf = ({ method, path }: Pick<Operation, "method" | "path">) => `${method.toUpperCase()} ${path}`;
const secured = (op: Operation) => (op.operation.security ?? openApiDocument.security).length > 0;
/** Operations about the caller's own session: a session cookie only, never a bearer token. */
const sessionOnly = (op: Operation) => secured(op) && (op.operation.security ?? openApiDocument.security).every((requirement) => "sessionCookie" in requirement);

beforeAll(async () => {
  t = await startTestApp();
  // Answers are checked against the document the server serves.
  checker = new OpenApiChecker((await request(t.app).get("/api/v1/openapi.json").expect(200)).body);
  call = openApiClient(t.app, checker);
  org = await cli("org", "create", "OpenAPI Co", "--owner", "owner@openapi.example", "--json");
  ownerToken = await tokenOf(org.id, "owner@openapi.example");
  adminId = (await t.services.users.provision(ctxOf(org.id), { userName: "admin@openapi.example", displayName: "Ada Admin" }, "local", { role: "admin" })).id;
  adminToken = await tokenOf(org.id, "admin@openapi.example");
  memberId = (await t.services.users.provision(ctxOf(org.id), { userName: "member@openapi.example" }, "local", { role: "user" })).id;
  memberToken = await tokenOf(org.id, "member@openapi.example");
  serviceToken = (await cli("service-token", "create", "--org", org.id, "--json")).token;
  // An offboarding of the member scheduled far ahead: what the offboarding operations' samples name.
  offboardingId = (
    await t.services.offboardings.request(ctxOf(org.id), { kind: "service", scopes: ["offboarding"] }, { member: { by: "id", value: memberId }, reason: "Sample", effectiveAt: new Date(Date.now() + 300 * 24 * 3_600_000) })
  ).offboarding.id;

  const locked = await cli("org", "create", "Locked Co", "--owner", "owner@locked.example", "--json");
  await t.services.access.setSettings(ctxOf(locked.id), { defaultRole: "none" });
  await t.services.users.provision(ctxOf(locked.id), { userName: "nobody@locked.example" }, "local");
  lockedToken = await tokenOf(locked.id, "nobody@locked.example");
  idpCertificate = certificatePem("openapi-idp", 365);
});
afterAll(() => t.close());

/**
 * A valid request for each operation (existing ids, well-formed bodies): what a caller who may do
 * it would send. Used to show who is refused before anything else is looked at.
 */
function sample({ method, path }: Pick<Operation, "method" | "path">): CallOptions {
  const params: Record<string, string> = {};
  for (const [, name] of path.matchAll(/\{(\w+)\}/g)) params[name!] = name !== "id" ? UNKNOWN : path.startsWith("/offboardings/") ? offboardingId : memberId;
  const bodies: Record<string, unknown> = {
    "PUT /users/{id}": { role: "user" },
    "POST /users/{id}/suspend": {},
    "POST /users/{id}/unsuspend": {},
    "POST /users/{id}/sign-out-everywhere": {},
    "POST /users/{id}/temporary-access": { role: "admin", until: inAnHour(), reason: "cover" },
    "POST /authorize": { userId: memberId, action: "view_reports" },
    "POST /users": { email: "sample@openapi.example" },
    "POST /ownership/transfer": { userId: adminId },
    "PATCH /settings": {},
    "POST /projects": { name: "Sample" },
    "PATCH /projects/{id}": { name: "Sample" },
    "POST /mappings": { match: { kind: "display_name", value: "Sample" }, organizationRole: "user" },
    "PATCH /mappings/{id}": { organizationRole: "user" },
    "POST /mappings/preview": { change: "create", mapping: { match: { kind: "display_name", value: "Sample" }, organizationRole: "user" } },
    "POST /scim-tokens": {},
    "POST /offboardings": { userId: memberId, reason: "Sample: last working day next year", effectiveAt: new Date(Date.now() + 300 * 24 * 3_600_000).toISOString() },
    "POST /offboardings/{id}/cancel": {},
    "POST /service-tokens": {},
    "POST /webhooks": { url: "https://hooks.example.com/in" },
    "PATCH /webhooks/{id}": {},
    "POST /webhooks/{id}/rotate-secret": {},
    "POST /webhooks/{id}/redeliver": { eventId: "e" },
    "POST /me/tokens": { expires: inAnHour() },
    "POST /personal-data-erasures": { userId: memberId, confirm: "sample" },
    "PUT /saml-connection": { idpEntityId: "http://www.okta.com/exk1", ssoUrl: "https://acme.okta.com/app/exk1/sso/saml", certificates: [idpCertificate] },
  };
  const body = bodies[keyOf({ method, path })];
  return { params, ...(body !== undefined ? { body } : {}) };
}

/** The same request naming ids that do not exist. */
function unknownSample(op: Pick<Operation, "method" | "path">): CallOptions {
  const valid = sample(op);
  const params = Object.fromEntries(Object.keys(valid.params ?? {}).map((name) => [name, UNKNOWN]));
  const body =
    valid.body && typeof valid.body === "object" && "userId" in valid.body
      ? { ...valid.body, userId: UNKNOWN }
      : keyOf(op) === "POST /mappings/preview"
        ? { change: "delete", mappingId: UNKNOWN }
        : valid.body;
  return { params, ...(body !== undefined ? { body } : {}) };
}

describe("the OpenAPI document", () => {
  it("is served without a token, as the document the code holds", async () => {
    const res = await call("get", "/openapi.json");
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^application\/json/);
    expect(res.body).toEqual(JSON.parse(JSON.stringify(openApiDocument)));
  });

  it("is OpenAPI 3.1 with an info object, a server and paths", () => {
    expect(openApiDocument.openapi).toMatch(/^3\.1\.\d+$/);
    expect(openApiDocument.info).toEqual(expect.objectContaining({ title: expect.any(String), version: expect.any(String) }));
    expect(openApiDocument.servers).toEqual([expect.objectContaining({ url: "/api/v1" })]);
    expect(Object.keys(openApiDocument.paths).length).toBeGreaterThan(0);
    for (const path of Object.keys(openApiDocument.paths)) expect(path).toMatch(/^\/[^\s?#]*$/);
    // Derived from the declarations: no placeholder of the generator and no zod internals are left.
    expect(JSON.stringify(openApiDocument)).not.toMatch(/__inline|__named|"\$schema"|"\$id"/);
  });

  it("describes every route the /api/v1 routers register, and nothing else", () => {
    const routes = routesOf(apiRouter(t.services, createLogger("silent"), t.config)).map((route) => `${route.method.toUpperCase()} ${route.path}`);
    const documented = operationsOf(openApiDocument).map(keyOf);
    expect(new Set(routes).size).toBe(routes.length);
    expect([...documented].sort()).toEqual([...routes].sort());
  });

  it("resolves every $ref", () => {
    const references = referencesIn(openApiDocument);
    expect(references.length).toBeGreaterThan(0);
    expect(references.filter(({ ref }) => at(openApiDocument, pointerOf(ref)) === undefined)).toEqual([]);
  });

  it("has component schemas that are valid JSON Schema 2020-12 and compile in strict mode", () => {
    for (const [name, schema] of Object.entries(openApiDocument.components.schemas)) {
      expect({ name, valid: checker.ajv.validateSchema(schema) }).toEqual({ name, valid: true });
      expect(checker.validator(["components", "schemas", name])).toEqual(expect.any(Function));
    }
  });

  it("gives each operation an id, a summary, its path parameters, known security schemes and compiling schemas", () => {
    const ids = operationsOf(openApiDocument).map(({ operation }) => operation.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    const schemes = Object.keys(openApiDocument.components.securitySchemes);
    for (const op of operationsOf(openApiDocument)) {
      const { method, path, operation } = op;
      expect({ op: keyOf(op), summary: typeof operation.summary }).toEqual({ op: keyOf(op), summary: "string" });
      const templated = [...path.matchAll(/\{(\w+)\}/g)].map(([, name]) => name).sort();
      const declared = checker.parameters(method, path).filter(({ parameter }) => parameter.in === "path");
      expect({ op: keyOf(op), path: declared.map(({ parameter }) => parameter.name).sort() }).toEqual({ op: keyOf(op), path: templated });
      for (const { parameter, pointer } of checker.parameters(method, path)) {
        if (parameter.in === "path") expect(parameter.required).toBe(true);
        checker.validator([...pointer, "schema"]);
      }
      for (const requirement of operation.security ?? []) for (const scheme of Object.keys(requirement)) expect(schemes).toContain(scheme);
      expect(Object.keys(operation.responses).some((status) => /^2\d\d$/.test(status))).toBe(true);
      if (secured(op)) expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(sessionOnly(op) && method === "get" ? ["401"] : ["401", "403"]));
      if (operation.requestBody) checker.validator(["paths", path, method, "requestBody", "content", "application/json", "schema"]);
      for (const [status, response] of Object.entries(operation.responses)) {
        const pointer = "$ref" in response ? pointerOf(response.$ref) : ["paths", path, method, "responses", status];
        const resolved = at(openApiDocument, pointer) as { description?: string; content?: Record<string, unknown> };
        expect(typeof resolved.description).toBe("string");
        for (const mediaType of Object.keys(resolved.content ?? {})) checker.validator([...pointer, "content", mediaType, "schema"]);
      }
    }
  });

  it("names personal tokens and service tokens as bearer schemes, with their prefixes, and the session cookie", () => {
    expect(openApiDocument.components.securitySchemes).toEqual({
      personalToken: expect.objectContaining({ type: "http", scheme: "bearer", bearerFormat: expect.stringMatching(/^gpt_/) }),
      serviceToken: expect.objectContaining({ type: "http", scheme: "bearer", bearerFormat: expect.stringMatching(/^gsv_/) }),
      sessionCookie: expect.objectContaining({ type: "apiKey", in: "cookie", name: sessionCookieName(t.config) }),
    });
    const forService = operationsOf(openApiDocument).filter(({ operation }) => operation.security?.some((r) => "serviceToken" in r));
    // Each names the scope a service token needs (domain/token-scopes.ts); `authorize` is what every service token could always do.
    const scoped = (scope: string) => forService.filter(({ operation }) => operation.security!.some((r) => r.serviceToken?.[0] === scope)).map(keyOf).sort();
    expect(scoped("authorize")).toEqual(["GET /projects", "GET /users/{id}", "GET /users/{id}/access", "POST /authorize"]);
    expect(scoped("events:read")).toEqual(["GET /events"]);
    expect(scoped("webhooks:manage")).toEqual([
      "DELETE /webhooks/{id}",
      "GET /webhooks",
      "GET /webhooks/{id}",
      "GET /webhooks/{id}/deliveries",
      "PATCH /webhooks/{id}",
      "POST /webhooks",
      "POST /webhooks/{id}/redeliver",
      "POST /webhooks/{id}/rotate-secret",
    ]);
    expect(scoped("offboarding")).toEqual(["DELETE /offboardings/{id}", "GET /offboardings", "GET /offboardings/{id}", "POST /offboardings", "POST /offboardings/{id}/cancel"]);
    expect(forService).toHaveLength(18);
    // A session acts as its person: wherever a personal token is accepted, and for the session's own operations.
    const secured = operationsOf(openApiDocument).filter(({ operation }) => operation.security?.length !== 0);
    for (const { operation } of secured) expect((operation.security ?? openApiDocument.security).some((r) => "sessionCookie" in r)).toBe(true);
    expect(operationsOf(openApiDocument).filter(sessionOnly).map(keyOf).sort()).toEqual(["GET /session", "POST /session/sign-out", "POST /session/sign-out-everywhere"]);
  });
});

describe("who is refused, operation by operation", () => {
  const securedOperations = () => operationsOf(openApiDocument).filter(secured);
  const tokenOperations = () => securedOperations().filter((op) => !sessionOnly(op));

  it("answers 401 with a bearer challenge to every operation without a token, or with a token that is not one", async () => {
    for (const op of securedOperations()) {
      const res = await call(op.method, op.path, { params: sample(op).params! });
      expect({ op: keyOf(op), status: res.status, code: res.body.error?.code }).toEqual({ op: keyOf(op), status: 401, code: "unauthenticated" });
    }
    const scimToken = await call("get", "/users/{id}/access", { token: org.scimToken, params: { id: memberId } });
    expect(scimToken.status).toBe(401);
    expect((await call("get", "/projects", { token: "gpt_not-a-token" })).status).toBe(401);
    expect((await call("get", "/projects", { token: `${ownerToken.slice(0, -4)}AAAA` })).status).toBe(401);
  });

  it("answers 401 to a personal token whose user was removed", async () => {
    const goneId = (await t.services.users.provision(ctxOf(org.id), { userName: "gone@openapi.example" }, "local", { role: "admin" })).id;
    const goneToken = await tokenOf(org.id, "gone@openapi.example");
    await call("delete", "/users/{id}", { token: ownerToken, params: { id: goneId } });
    const res = await call("get", "/users/{id}", { token: goneToken, params: { id: goneId } });
    expect(res.status).toBe(401);
  });

  it("answers 401 to a bearer token on the session's own operations", async () => {
    for (const op of operationsOf(openApiDocument).filter(sessionOnly)) {
      const res = await call(op.method, op.path, { token: ownerToken });
      expect({ op: keyOf(op), status: res.status, code: res.body.error?.code }).toEqual({ op: keyOf(op), status: 401, code: "unauthenticated" });
      expect(res.body.error.message).toMatch(/browser session/);
    }
  });

  it("answers 403 forbidden to every operation for a person without access to the organization", async () => {
    for (const op of tokenOperations()) {
      const res = await call(op.method, op.path, { token: lockedToken, ...sample(op) });
      expect({ op: keyOf(op), status: res.status, code: res.body.error?.code }).toEqual({ op: keyOf(op), status: 403, code: "forbidden" });
    }
  });

  it("accepts service tokens exactly where the document says, with the scopes it names, and answers 403 forbidden elsewhere", async () => {
    for (const op of tokenOperations()) {
      // `serviceToken` was issued without scopes: it holds `authorize` only; any other scope is refused
      // to it, and accepted on a token that holds it.
      const requirement = op.operation.security!.find((r) => "serviceToken" in r);
      const scope = requirement?.serviceToken?.[0] as TokenScope | undefined;
      const success = Number(Object.keys(op.operation.responses).find((status) => /^2\d\d$/.test(status)));
      if (scope && scope !== "authorize") {
        const unscoped = await call(op.method, op.path, { token: serviceToken, ...sample(op) });
        expect({ op: keyOf(op), status: unscoped.status, code: unscoped.body.error?.code }).toEqual({ op: keyOf(op), status: 403, code: "forbidden" });
      }
      const token = scope && scope !== "authorize" ? (await t.services.scimTokens.issue(ctxOf(org.id), { purpose: "service", scopes: [scope] })).token : serviceToken;
      const res = await call(op.method, op.path, { token, ...sample(op) });
      // The samples name real members and offboardings; a webhook sample may name none (404), but is never refused.
      if (scope === "authorize" || scope === "offboarding") expect({ op: keyOf(op), status: res.status }).toEqual({ op: keyOf(op), status: success });
      else if (scope) expect({ op: keyOf(op), refused: [401, 403].includes(res.status) }).toEqual({ op: keyOf(op), refused: false });
      else expect({ op: keyOf(op), status: res.status, code: res.body.error?.code }).toEqual({ op: keyOf(op), status: 403, code: "forbidden" });
    }
  });

  it("answers 400 invalid_request to a body the schema refuses, and 400 invalid_json to malformed JSON", async () => {
    for (const op of operationsOf(openApiDocument).filter(({ operation }) => operation.requestBody)) {
      const unexpected = await call(op.method, op.path, { token: ownerToken, params: sample(op).params!, body: { unexpectedProperty: true } });
      expect({ op: keyOf(op), status: unexpected.status, code: unexpected.body.error?.code }).toEqual({ op: keyOf(op), status: 400, code: "invalid_request" });
      const malformed = await call(op.method, op.path, { token: ownerToken, params: sample(op).params!, rawBody: '{"reason": ' });
      expect({ op: keyOf(op), status: malformed.status, code: malformed.body.error?.code }).toEqual({ op: keyOf(op), status: 400, code: "invalid_json" });
    }
  });

  it("answers 400 invalid_request to query parameters the document refuses", async () => {
    const refused: [Method, string, Record<string, string>][] = [
      ["get", "/users", { count: "201" }],
      ["get", "/users", { startIndex: "0" }],
      ["get", "/users", { count: "many" }],
      ["get", "/audit", { actorId: "misspelt" }],
      ["get", "/audit", { limit: "0" }],
      ["get", "/audit", { limit: "1001" }],
      ["get", "/audit", { source: "email" }],
      ["get", "/audit", { from: "2025-01-31T12:00:00" }],
      ["get", "/audit", { from: "2025-02-01", to: "2025-01-01" }],
      ["get", "/audit", { cursor: "not-a-cursor" }],
      ["get", "/audit/export.csv", { limit: "10" }],
      ["get", "/audit/export.csv", { to: "yesterday" }],
      ["get", "/access-review", { format: "full" }],
      ["get", "/access-review.csv", { format: "full" }],
    ];
    for (const [method, path, query] of refused) {
      const res = await call(method, path, { token: ownerToken, query });
      expect({ path, query, status: res.status, code: res.body.error?.code }).toEqual({ path, query, status: 400, code: "invalid_request" });
    }
  });

  it("answers 404 not_found to ids that are not in the organization, and to paths that are not described", async () => {
    const withNotFound = operationsOf(openApiDocument).filter(({ operation }) => operation.responses["404"]);
    expect(withNotFound.length).toBeGreaterThan(10);
    for (const op of withNotFound) {
      const res = await call(op.method, op.path, { token: ownerToken, ...unknownSample(op) });
      expect({ op: keyOf(op), status: res.status, code: res.body.error?.code }).toEqual({ op: keyOf(op), status: 404, code: "not_found" });
    }
    const nowhere = await request(t.app).get("/api/v1/no-such-endpoint").set("Authorization", `Bearer ${ownerToken}`).expect(404);
    const validate = checker.validator(["components", "schemas", "Error"]);
    expect(validate(nowhere.body)).toBe(true);
    expect(nowhere.body.error.code).toBe("not_found");
  });
});

describe("a realistic scenario, every answer checked against the document", () => {
  const projects: Record<string, string> = {};
  const mappings: Record<string, string> = {};
  let managedId: string;
  let groupId: string;
  let frozenId: string;

  it("creates, renames and lists projects", async () => {
    for (const name of ["Checkout", "Dashboards", "Scratch"]) {
      const res = await call("post", "/projects", { token: ownerToken, body: { name } });
      expect(res.status).toBe(201);
      projects[name] = res.body.id;
    }
    const renamed = await call("patch", "/projects/{id}", { token: adminToken, params: { id: projects.Checkout! }, body: { name: "  Checkout funnel " } });
    expect(renamed.body).toMatchObject({ id: projects.Checkout, name: "Checkout funnel" });
    const blank = await call("patch", "/projects/{id}", { token: ownerToken, params: { id: projects.Checkout! }, body: { name: "   " } });
    expect(blank.body.error.code).toBe("invalid");
    expect((await call("post", "/projects", { token: memberToken, body: { name: "Mine" } })).status).toBe(403);
    for (const token of [ownerToken, memberToken, serviceToken]) {
      const listed = await call("get", "/projects", { token });
      expect(listed.status).toBe(200);
      expect(listed.body.projects.map((p: { name: string }) => p.name)).toEqual(["Checkout funnel", "Dashboards", "Scratch"]);
    }
  });

  it("invites, lists, searches, reads, changes and removes local members", async () => {
    const invited = await call("post", "/users", {
      token: adminToken,
      body: { email: "invitee@openapi.example", displayName: "In Vitee", role: "read_only", projects: [projects.Checkout, { id: projects.Dashboards, role: "viewer" }] },
    });
    expect(invited.status).toBe(201);
    expect(invited.body).toMatchObject({ userName: "invitee@openapi.example", emails: ["invitee@openapi.example"], managedBy: "local", editable: true, role: "read_only" });
    const invitee = invited.body.id as string;
    const again = await call("post", "/users", { token: ownerToken, body: { email: "Invitee@openapi.example" } });
    expect([again.status, again.body.error.code]).toEqual([409, "conflict"]);
    const unknownProject = await call("post", "/users", { token: ownerToken, body: { email: "other@openapi.example", projects: [UNKNOWN] } });
    expect([unknownProject.status, unknownProject.body.error.code]).toEqual([400, "invalid"]);
    expect((await call("post", "/users", { token: ownerToken, body: { email: "not an email" } })).status).toBe(400);
    expect((await call("post", "/users", { token: memberToken, body: { email: "friend@openapi.example" } })).body.error.code).toBe("forbidden");

    const all = await call("get", "/users", { token: ownerToken });
    expect(all.body).toMatchObject({ startIndex: 1, totalResults: all.body.users.length });
    const searched = await call("get", "/users", { token: adminToken, query: { q: "INVITEE", startIndex: "1", count: "10" } });
    expect(searched.body).toMatchObject({ totalResults: 1, users: [{ id: invitee }] });
    expect((await call("get", "/users", { token: ownerToken, query: { count: "0" } })).status).toBe(200);
    expect((await call("get", "/users", { token: memberToken })).status).toBe(403);

    const read = await call("get", "/users/{id}", { token: ownerToken, params: { id: invitee } });
    expect(read.body).toMatchObject({ displayName: "In Vitee", lastLogin: null });
    expect(read.body.projects).toEqual(expect.arrayContaining([{ id: projects.Checkout, role: "editor" }, { id: projects.Dashboards, role: "viewer" }]));
    const self = await call("get", "/users/{id}", { token: memberToken, params: { id: memberId } });
    expect(self.body).toMatchObject({ id: memberId, editable: false, role: "user" });
    expect((await call("get", "/users/{id}", { token: memberToken, params: { id: org.ownerId } })).body.error.code).toBe("forbidden");
    const owner = await call("get", "/users/{id}", { token: serviceToken, params: { id: org.ownerId } });
    expect(owner.body).toMatchObject({ isOwner: true, role: "owner", allProjects: true, editable: false });

    const changed = await call("put", "/users/{id}", { token: ownerToken, params: { id: invitee }, body: { role: "user", projects: [projects.Checkout], reason: "joins checkout" } });
    expect(changed.body).toMatchObject({ role: "user", projects: [{ id: projects.Checkout, role: "editor" }] });
    const nothing = await call("put", "/users/{id}", { token: ownerToken, params: { id: invitee }, body: { reason: "nothing to change" } });
    expect([nothing.status, nothing.body.error.code]).toEqual([400, "invalid"]);
    const toOwner = await call("put", "/users/{id}", { token: ownerToken, params: { id: invitee }, body: { role: "owner" } });
    expect([toOwner.status, toOwner.body.error.code]).toEqual([403, "owner_protected"]);
    const ownerEdit = await call("put", "/users/{id}", { token: adminToken, params: { id: org.ownerId }, body: { role: "read_only" } });
    expect([ownerEdit.status, ownerEdit.body.error.code]).toEqual([403, "owner_protected"]);
    const selfProjects = await call("put", "/users/{id}", { token: adminToken, params: { id: adminId }, body: { projects: [projects.Checkout] } });
    expect([selfProjects.status, selfProjects.body.error.code]).toEqual([403, "no_self_elevation"]);
    const byMember = await call("put", "/users/{id}", { token: memberToken, params: { id: invitee }, body: { role: "read_only" } });
    expect([byMember.status, byMember.body.error.code]).toEqual([403, "forbidden"]);
    await call("put", "/users/{id}", { token: ownerToken, params: { id: memberId }, body: { projects: [{ id: projects.Dashboards, role: "viewer" }] } });

    const removeOwner = await call("delete", "/users/{id}", { token: adminToken, params: { id: org.ownerId } });
    expect([removeOwner.status, removeOwner.body.error.code]).toEqual([403, "owner_protected"]);
    expect((await call("delete", "/users/{id}", { token: ownerToken, params: { id: invitee }, query: { reason: "left" } })).status).toBe(204);
    expect((await call("get", "/users/{id}", { token: ownerToken, params: { id: invitee } })).status).toBe(404);
  });

  it("maps identity-provider groups and app roles, and explains access from them", async () => {
    const scim = scimClient(t.app, org.scimToken);
    managedId = (await scim.post("/Users", buildUser({ userName: "managed@openapi.example", displayName: "Manny Aged", roles: [{ value: "Analyst" }] })).expect(201)).body.id;
    groupId = (await scim.post("/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "Analytics", members: [{ value: managedId }] }).expect(201)).body.id;

    const create = async (name: string, body: unknown) => {
      const res = await call("post", "/mappings", { token: adminToken, body });
      expect(res.status).toBe(201);
      mappings[name] = res.body.id;
    };
    await create("group", { match: { kind: "group_id", value: groupId }, organizationRole: "user", projects: [{ projectId: projects.Checkout, role: "editor" }] });
    await create("appRole", { match: { kind: "app_role", value: "analyst" }, projects: [{ projectId: projects.Dashboards, role: "viewer" }] });
    await create("nobody", { match: { kind: "display_name", value: "Nobody's group" }, organizationRole: "read_only" });
    await create("scratch", { match: { kind: "external_id", value: "ext-1" }, organizationRole: "read_only", projects: [{ projectId: projects.Scratch, role: "viewer" }] });
    const toOwner = await call("post", "/mappings", { token: ownerToken, body: { match: { kind: "group_id", value: groupId }, organizationRole: "owner" } });
    expect(toOwner.body.error.code).toBe("invalid_request");
    const grantsNothing = await call("post", "/mappings", { token: ownerToken, body: { match: { kind: "group_id", value: groupId } } });
    expect([grantsNothing.status, grantsNothing.body.error.code]).toEqual([400, "invalid"]);
    const unknownProject = await call("post", "/mappings", { token: ownerToken, body: { match: { kind: "group_id", value: groupId }, projects: [{ projectId: UNKNOWN, role: "viewer" }] } });
    expect(unknownProject.body.error.code).toBe("invalid");
    expect((await call("get", "/mappings", { token: memberToken })).status).toBe(403);

    // Deleting a project leaves a mapping that still grants a role with no projects.
    expect((await call("delete", "/projects/{id}", { token: ownerToken, params: { id: projects.Scratch! } })).status).toBe(204);
    const listed = await call("get", "/mappings", { token: ownerToken });
    expect(listed.body.mappings).toHaveLength(4);
    expect(listed.body.mappings.find((m: { id: string }) => m.id === mappings.scratch)).toMatchObject({ organizationRole: "read_only", projects: [] });
    expect((await call("delete", "/mappings/{id}", { token: ownerToken, params: { id: mappings.nobody! } })).status).toBe(204);
    expect((await call("delete", "/mappings/{id}", { token: ownerToken, params: { id: mappings.nobody! } })).status).toBe(404);

    const view = await call("get", "/users/{id}", { token: adminToken, params: { id: managedId } });
    expect(view.body).toMatchObject({ managedBy: "scim", managedVia: "Initial SCIM token", editable: false, role: "user" });
    for (const token of [ownerToken, serviceToken]) {
      const access = await call("get", "/users/{id}/access", { token, params: { id: managedId } });
      expect(access.body).toMatchObject({
        organizationRole: "user",
        sources: [{ kind: "mapping", role: "user", mappingId: mappings.group, groupId, groupName: "Analytics" }],
        allProjects: false,
        projects: expect.arrayContaining([
          expect.objectContaining({ projectId: projects.Dashboards, role: "viewer", sources: [{ kind: "mapping", role: "viewer", mappingId: mappings.appRole, appRole: "Analyst" }] }),
        ]),
      });
    }
    const ownAccess = await call("get", "/users/{id}/access", { token: memberToken, params: { id: memberId } });
    expect(ownAccess.body).toMatchObject({ organizationRole: "user", sources: [{ kind: "local", role: "user" }], projects: [{ projectId: projects.Dashboards, role: "viewer" }] });
    expect((await call("get", "/users/{id}/access", { token: memberToken, params: { id: managedId } })).body.error.code).toBe("forbidden");
    const ownerAccess = await call("get", "/users/{id}/access", { token: adminToken, params: { id: org.ownerId } });
    expect(ownerAccess.body).toMatchObject({ organizationRole: "owner", allProjects: true, sources: [{ kind: "owner", role: "owner" }] });

    // Who has access to a project, and through what.
    const checkout = await call("get", "/projects/{id}/access", { token: adminToken, params: { id: projects.Checkout } });
    expect(checkout.body.members).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ id: managedId, projectRole: "editor", sources: [expect.objectContaining({ kind: "mapping", mappingId: mappings.group })] }),
        expect.objectContaining({ id: org.ownerId, allProjectsThrough: [{ kind: "owner", role: "owner" }] }),
      ]),
    );
    expect((await call("get", "/projects/{id}/access", { token: memberToken, params: { id: projects.Checkout } })).body.error.code).toBe("forbidden");
    expect((await call("get", "/projects/{id}/access", { token: adminToken, params: { id: UNKNOWN } })).status).toBe(404);
  });

  it("answers authorization questions from service tokens and people", async () => {
    const ask = (token: string, body: Record<string, unknown>) => call("post", "/authorize", { token, body });
    expect((await ask(serviceToken, { userId: managedId, action: "create_reports", projectId: projects.Checkout })).body).toMatchObject({ allowed: true });
    expect((await ask(serviceToken, { userId: managedId, action: "create_reports", projectId: projects.Dashboards })).body).toMatchObject({ allowed: false });
    expect((await ask(serviceToken, { userId: managedId, action: "edit_reports", ownResource: true, extra: "ignored" })).body).toMatchObject({ allowed: true });
    expect((await ask(ownerToken, { userId: managedId, action: "view_reports", projectId: UNKNOWN })).body).toMatchObject({ allowed: false, reason: expect.stringContaining("no project") });
    expect((await ask(memberToken, { userId: memberId, action: "add_users" })).body).toMatchObject({ allowed: false });
    expect((await ask(memberToken, { userId: managedId, action: "view_reports" })).body.error.code).toBe("forbidden");
    expect((await ask(serviceToken, { userId: managedId, action: "fly" })).body.error.code).toBe("invalid_request");
  });

  it("answers 409 managed_by_identity_provider to role, project and removal changes of a managed user", async () => {
    for (const body of [{ role: "admin" }, { projects: [projects.Checkout] }]) {
      const res = await call("put", "/users/{id}", { token: ownerToken, params: { id: managedId }, body });
      expect([res.status, res.body.error.code]).toEqual([409, "managed_by_identity_provider"]);
    }
    const removal = await call("delete", "/users/{id}", { token: adminToken, params: { id: managedId } });
    expect([removal.status, removal.body.error.code]).toEqual([409, "managed_by_identity_provider"]);
  });

  it("grants and ends temporary access, managed users included", async () => {
    const grant = (token: string, id: string, body: Record<string, unknown>) => call("post", "/users/{id}/temporary-access", { token, params: { id }, body });
    const role = await grant(adminToken, managedId, { role: "admin", until: inAnHour(), reason: "incident cover" });
    expect(role.status).toBe(201);
    expect(role.body).toMatchObject({ organizationRole: "admin", reason: "incident cover", grantedBy: adminId });
    const project = await grant(ownerToken, managedId, { projectId: projects.Dashboards, projectRole: "editor", until: inAnHour(), reason: "sprint" });
    expect(project.status).toBe(201);

    const access = await call("get", "/users/{id}/access", { token: serviceToken, params: { id: managedId } });
    expect(access.body).toMatchObject({ organizationRole: "admin", allProjects: true, sources: [{ kind: "temporary", role: "admin", grantId: role.body.id, until: role.body.until }, { kind: "mapping" }] });

    expect((await grant(adminToken, adminId, { role: "user", until: inAnHour(), reason: "me" })).body.error.code).toBe("no_self_elevation");
    expect((await grant(adminToken, org.ownerId, { role: "user", until: inAnHour(), reason: "owner" })).body.error.code).toBe("owner_protected");
    expect((await grant(memberToken, managedId, { role: "user", until: inAnHour(), reason: "no" })).body.error.code).toBe("forbidden");
    expect((await grant(ownerToken, managedId, { role: "user", until: "2020-01-01T00:00:00Z", reason: "past" })).body.error.code).toBe("invalid");
    expect((await grant(ownerToken, managedId, { projectId: UNKNOWN, projectRole: "viewer", until: inAnHour(), reason: "x" })).body.error.code).toBe("invalid");
    expect((await grant(ownerToken, managedId, { until: inAnHour(), reason: "nothing" })).body.error.code).toBe("invalid");

    const end = (token: string, id: string, grantId: string) => call("delete", "/users/{id}/temporary-access/{grantId}", { token, params: { id, grantId } });
    expect((await end(memberToken, managedId, role.body.id)).status).toBe(403);
    expect((await end(ownerToken, managedId, role.body.id)).status).toBe(204);
    expect((await end(ownerToken, managedId, role.body.id)).status).toBe(404);
    expect((await call("get", "/users/{id}", { token: ownerToken, params: { id: managedId } })).body.role).toBe("user");
  });

  it("suspends and unsuspends, never the Owner", async () => {
    frozenId = (await call("post", "/users", { token: ownerToken, body: { email: "frozen@openapi.example" } })).body.id;
    const suspended = await call("post", "/users/{id}/suspend", { token: adminToken, params: { id: frozenId }, body: { reason: "incident 42" } });
    expect(suspended.body).toMatchObject({ id: frozenId, role: null, active: true });
    const access = await call("get", "/users/{id}/access", { token: serviceToken, params: { id: frozenId } });
    expect(access.body).toMatchObject({ organizationRole: null, denial: "user is suspended", permissions: {}, sources: [], allProjects: false });
    expect((await call("post", "/authorize", { token: serviceToken, body: { userId: frozenId, action: "view_reports" } })).body.allowed).toBe(false);
    expect((await call("post", "/users/{id}/suspend", { token: ownerToken, params: { id: org.ownerId } })).body.error.code).toBe("owner_protected");
    expect((await call("post", "/users/{id}/suspend", { token: adminToken, params: { id: org.ownerId }, body: {} })).body.error.code).toBe("owner_protected");
    expect((await call("post", "/users/{id}/unsuspend", { token: adminToken, params: { id: org.ownerId } })).body.error.code).toBe("owner_protected");
    expect((await call("post", "/users/{id}/suspend", { token: memberToken, params: { id: frozenId } })).body.error.code).toBe("forbidden");

    // A second user, suspended and lifted without a body.
    const thawId = (await call("post", "/users", { token: ownerToken, body: { email: "thaw@openapi.example", role: "user" } })).body.id;
    await call("post", "/users/{id}/suspend", { token: ownerToken, params: { id: thawId } });
    const lifted = await call("post", "/users/{id}/unsuspend", { token: ownerToken, params: { id: thawId } });
    expect(lifted.body).toMatchObject({ id: thawId, role: "user" });
    expect((await call("post", "/users/{id}/unsuspend", { token: memberToken, params: { id: thawId }, body: { reason: "no" } })).status).toBe(403);
  });

  it("reads and changes settings, and enforces the seat limit", async () => {
    const settings = await call("get", "/settings", { token: ownerToken });
    expect(settings.body).toEqual({ name: "OpenAPI Co", ownerVacant: false, defaultRole: "read_only", readOnlyMayComment: false, requireMappingForAccess: false, temporaryAccessMaximumDays: 7, seatLimit: null, seatsUsed: expect.any(Number), personalTokenMaximumDays: 90 });
    const changed = await call("patch", "/settings", { token: adminToken, body: { readOnlyMayComment: true } });
    expect(changed.body).toMatchObject({ readOnlyMayComment: true, seatLimit: null });
    // The seat limit is the operator's: an administrator's change is refused.
    expect([(await call("patch", "/settings", { token: adminToken, body: { seatLimit: 2 } })).status]).toEqual([403]);
    await runCommand(t.services, ["access-settings", "--org", org.id, "--seat-limit", String(settings.body.seatsUsed)]);
    const full = await call("post", "/users", { token: ownerToken, body: { email: "one.too.many@openapi.example" } });
    expect([full.status, full.body.error.code]).toEqual([403, "seat_limit_reached"]);
    await runCommand(t.services, ["access-settings", "--org", org.id, "--seat-limit", "none"]);
    expect((await call("patch", "/settings", { token: ownerToken })).status).toBe(200);
    expect((await call("patch", "/settings", { token: ownerToken, body: { defaultRole: "owner" } })).body.error.code).toBe("invalid_request");
    expect((await call("patch", "/settings", { token: ownerToken, body: { seatLimit: 0 } })).body.error.code).toBe("invalid_request");
    expect((await call("get", "/settings", { token: memberToken })).status).toBe(403);
  });

  it("creates, lists and revokes SCIM tokens, never other tokens", async () => {
    const expires = new Date(Date.now() + 86_400_000).toISOString();
    const named = await call("post", "/scim-tokens", { token: ownerToken, body: { name: "Okta", expires } });
    expect(named.body).toMatchObject({ name: "Okta", purpose: "scim", expires, organizationId: org.id });
    const unnamed = await call("post", "/scim-tokens", { token: adminToken });
    expect(unnamed.body).toMatchObject({ name: "SCIM token" });
    await scimClient(t.app, named.body.token).get("/Users").expect(200);

    const listed = await call("get", "/scim-tokens", { token: ownerToken });
    expect(listed.body.tokens.map((x: { name: string }) => x.name)).toEqual(["Initial SCIM token", "Okta", "SCIM token"]);
    expect(listed.body.tokens[0]).toHaveProperty("lastUsed");
    expect(JSON.stringify(listed.body)).not.toContain(named.body.token);

    const revoked = await call("delete", "/scim-tokens/{id}", { token: ownerToken, params: { id: named.body.id } });
    expect(revoked.body).toMatchObject({ id: named.body.id, revoked: expect.any(String) });
    expect((await call("delete", "/scim-tokens/{id}", { token: ownerToken, params: { id: named.body.id } })).body.revoked).toBe(revoked.body.revoked);
    await scimClient(t.app, named.body.token).get("/Users").expect(401);
    const serviceTokenId = serviceToken.split("_")[1]!;
    expect((await call("delete", "/scim-tokens/{id}", { token: ownerToken, params: { id: serviceTokenId } })).status).toBe(404);
    expect((await call("post", "/scim-tokens", { token: ownerToken, body: { expires: "tomorrow" } })).status).toBe(400);
    expect((await call("get", "/scim-tokens", { token: memberToken })).status).toBe(403);
  });

  it("lets a member read their own access and manage their own personal API tokens", async () => {
    expect((await call("get", "/me", { token: memberToken })).body).toMatchObject({ id: memberId });
    expect((await call("get", "/me/access", { token: memberToken })).body).toMatchObject({ userId: memberId });
    const created = await call("post", "/me/tokens", { token: memberToken, body: { name: "script", expires: inAnHour() } });
    expect(created.status).toBe(201);
    expect((await call("get", "/me/tokens", { token: memberToken })).body.tokens.map((x: { id: string }) => x.id)).toContain(created.body.id);
    expect((await call("get", "/users/{id}/tokens", { token: adminToken, params: { id: memberId } })).body.tokens.map((x: { id: string }) => x.id)).toContain(created.body.id);
    expect((await call("post", "/me/tokens", { token: memberToken, body: { expires: new Date(Date.now() + 400 * 86_400_000).toISOString() } })).status).toBe(400);
    expect((await call("delete", "/me/tokens/{id}", { token: memberToken, params: { id: created.body.id } })).body.revoked).toEqual(expect.any(String));
    const second = await call("post", "/me/tokens", { token: memberToken, body: { expires: inAnHour() } });
    expect((await call("delete", "/users/{id}/tokens/{tokenId}", { token: adminToken, params: { id: memberId, tokenId: second.body.id } })).body.revoked).toEqual(expect.any(String));
    expect((await call("delete", "/users/{id}/tokens/{tokenId}", { token: adminToken, params: { id: memberId, tokenId: UNKNOWN } })).status).toBe(404);
  });

  it("completes access reviews and lists the sign-offs", async () => {
    const done = await call("post", "/access-review/completions", { token: adminToken, body: { notes: "quarterly" } });
    expect(done.status).toBe(201);
    expect((await call("post", "/access-review/completions", { token: ownerToken })).status).toBe(201);
    expect((await call("get", "/access-review/completions", { token: ownerToken })).body.completions.map((c: { id: string }) => c.id)).toContain(done.body.id);
    expect((await call("post", "/access-review/completions", { token: ownerToken, body: { projectId: UNKNOWN } })).status).toBe(400);
  });

  it("erases a deleted member's personal data, refusing a member who exists", async () => {
    const leaver = (await call("post", "/users", { token: ownerToken, body: { email: "leaver@openapi.example" } })).body.id as string;
    expect((await call("post", "/personal-data-erasures", { token: ownerToken, body: { userId: leaver, confirm: "leaver@openapi.example" } })).status).toBe(409);
    expect((await call("delete", "/users/{id}", { token: ownerToken, params: { id: leaver } })).status).toBe(204);
    expect((await call("post", "/personal-data-erasures", { token: ownerToken, body: { userId: leaver, confirm: "someone@else.example" } })).status).toBe(400);
    const erased = await call("post", "/personal-data-erasures", { token: ownerToken, body: { userId: leaver, confirm: "leaver@openapi.example" } });
    expect(erased.body).toMatchObject({ pseudonym: expect.stringMatching(/^erased-/) });
  });

  it("configures, reads, rotates and removes the SAML connection", async () => {
    const values = { idpEntityId: "http://www.okta.com/exk1", ssoUrl: "https://acme.okta.com/app/exk1/sso/saml", certificates: [idpCertificate] };
    const configured = await call("put", "/saml-connection", { token: ownerToken, body: { ...values, jit: true, reason: "go-live" } });
    expect(configured.status).toBe(200);
    expect(configured.body).toMatchObject({ idpEntityId: values.idpEntityId, jit: true, signatures: "assertion", serviceProvider: { acsUrl: `https://gatehouse.test/auth/saml/${org.id}/acs` } });
    const imported = await call("put", "/saml-connection", { token: adminToken, body: { idpMetadataXml: oktaMetadata({ certificate: idpCertificate }), signatures: "both" } });
    expect(imported.body).toMatchObject({ idpEntityId: "http://www.okta.com/exk1fcia6d6EMsf331d8", jit: true, signatures: "both" });
    const read = await call("get", "/saml-connection", { token: adminToken });
    expect(read.body).toEqual(imported.body);
    const subject = { source: "attribute", attribute: "http://schemas.microsoft.com/identity/claims/objectidentifier" };
    const keyed = await call("put", "/saml-connection", { token: ownerToken, body: { ...values, subject } });
    expect(keyed.body).toMatchObject({ subject, signAuthnRequests: false });
    const badMetadata = await call("put", "/saml-connection", { token: ownerToken, body: { idpMetadataXml: "<!DOCTYPE x><x/>" } });
    expect([badMetadata.status, badMetadata.body.error.code]).toEqual([400, "invalid"]);
    const badSignatures = await call("put", "/saml-connection", { token: ownerToken, body: { ...values, signatures: "never" } });
    expect([badSignatures.status, badSignatures.body.error.code]).toEqual([400, "invalid_request"]);
    expect((await call("get", "/saml-connection", { token: memberToken })).status).toBe(403);
    expect((await call("delete", "/saml-connection", { token: ownerToken, query: { reason: "moving" } })).status).toBe(204);
  });

  it("searches and exports the audit trail", async () => {
    const all = await call("get", "/audit", { token: ownerToken, query: { limit: "1000" } });
    expect(all.body.events.length).toBeGreaterThan(10);
    expect(all.body.events.map((e: { action: string }) => e.action)).toEqual(expect.arrayContaining(["user.access_changed", "mapping.created", "user.suspended", "scim_token.revoked"]));
    const first = await call("get", "/audit", { token: adminToken, query: { limit: "2" } });
    expect(first.body.events).toHaveLength(2);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await call("get", "/audit", { token: adminToken, query: { limit: "2", cursor: first.body.nextCursor } });
    expect(second.body.events[0].id).toBe(all.body.events[2].id);
    const filtered = await call("get", "/audit", {
      token: ownerToken,
      query: { source: "admin", action: "user.access_changed", actor: org.ownerId, from: "2020-01-01", to: new Date(Date.now() + 60_000).toISOString() },
    });
    expect(filtered.body.events.length).toBeGreaterThan(0);
    expect(filtered.body).not.toHaveProperty("nextCursor");
    const aboutManaged = await call("get", "/audit", { token: ownerToken, query: { target: managedId, source: "scim" } });
    expect(aboutManaged.body.events.map((e: { action: string }) => e.action)).toContain("user.provisioned");
    expect((await call("get", "/audit", { token: memberToken })).status).toBe(403);

    const csv = await call("get", "/audit/export.csv", { token: ownerToken, query: { source: "admin" } });
    expect(csv.status).toBe(200);
    expect(csv.text.split("\r\n")[0]).toBe("at,actor_type,actor_id,actor_name,source,action,target_type,target_id,target_display,reason,request_id,before,after");
    expect(csv.headers["content-disposition"]).toMatch(/^attachment; filename="audit-/);
    expect((await call("get", "/audit/export.csv", { token: memberToken })).status).toBe(403);
  });

  it("produces the access review, as JSON and as CSV", async () => {
    const scim = scimClient(t.app, org.scimToken);
    await scim.post("/Users", buildUser({ userName: "deactivated@openapi.example", active: false })).expect(201);
    await call("post", "/users/{id}/temporary-access", { token: ownerToken, params: { id: memberId }, body: { role: "admin", until: inAnHour(), reason: "review cover" } });

    const review = await call("get", "/access-review", { token: adminToken });
    expect(review.body).toMatchObject({ organizationId: org.id, ownerUserId: org.ownerId, vacantOwnership: false, organizationFlags: [], expiringSamlCertificates: [] });
    const byName = Object.fromEntries(review.body.users.map((u: { userName: string }) => [u.userName, u]));
    expect(byName["owner@openapi.example"]).toMatchObject({ role: "owner", flags: ["elevated"], displayName: null, lastLogin: null });
    expect(byName["frozen@openapi.example"]).toMatchObject({ role: null, denial: "user is suspended" });
    expect(byName["deactivated@openapi.example"]).toMatchObject({ role: null, denial: "user is deactivated", managedBy: "scim" });
    expect(byName["member@openapi.example"]).toMatchObject({ role: "admin", flags: ["elevated", "temporary_grant"] });
    expect(byName["managed@openapi.example"].projects).toEqual(expect.arrayContaining([expect.objectContaining({ name: "Dashboards", role: "editor" })]));
    expect((await call("get", "/access-review", { token: memberToken })).status).toBe(200);
    expect((await call("get", "/access-review", { token: serviceToken })).status).toBe(403);

    const csv = await call("get", "/access-review.csv", { token: ownerToken });
    expect(csv.text.split("\r\n")[0]).toBe("user_id,user_name,display_name,active,managed_by,role,role_sources,projects,last_login,flags,last_reviewed");
    expect(csv.headers["content-disposition"]).toMatch(/^attachment; filename="access-review-/);
  });

  it("authenticates a browser session like a personal token, with CSRF protection on changes", async () => {
    const member = await t.services.users.provision(ctxOf(org.id), { userName: "browser@openapi.example", displayName: "Bro Wser" }, "local", { role: "user" });
    const memberId = member.id;
    const started = await t.services.sessions.start({ ...ctxOf(org.id), source: "saml" }, member, { via: "saml" });
    const session = started.cookieValue;
    const me = await call("get", "/session", { session });
    expect(me.body).toMatchObject({ user: { id: memberId, userName: "browser@openapi.example", displayName: "Bro Wser" }, organizationId: org.id, via: "saml", expiresAt: started.expiresAt.toISOString() });
    const csrf = { "X-CSRF-Token": me.body.csrfToken as string };
    expect((await call("get", "/users/{id}", { session, params: { id: memberId } })).body).toMatchObject({ id: memberId, role: "user" });
    expect((await call("get", "/users/{id}", { session, params: { id: org.ownerId } })).body.error.code).toBe("forbidden");

    // Changes need the CSRF token; refusals by the policy come after it.
    expect((await call("post", "/authorize", { session, body: { userId: memberId, action: "view_reports" } })).body.error.code).toBe("csrf");
    expect((await call("post", "/authorize", { session, headers: csrf, body: { userId: memberId, action: "view_reports" } })).body.allowed).toBe(true);
    expect((await call("post", "/users/{id}/sign-out-everywhere", { session, headers: csrf, params: { id: adminId } })).body.error.code).toBe("forbidden");
    const noToken = await call("post", "/session/sign-out", { session });
    expect([noToken.status, noToken.body.error.code]).toEqual([403, "csrf"]);
    const foreign = await call("post", "/session/sign-out-everywhere", { session, headers: { ...csrf, Origin: "https://evil.example" } });
    expect([foreign.status, foreign.body.error.code]).toEqual([403, "csrf"]);
    expect((await call("get", "/session", { session })).status).toBe(200);

    // The member's own sessions: listed (this one marked), and another of them ended.
    const other = await t.services.sessions.start({ ...ctxOf(org.id), source: "saml" }, member, { via: "saml" });
    const mine = await call("get", "/me/sessions", { session });
    expect(mine.body.sessions.map((s: { id: string; current: boolean }) => [s.id, s.current])).toEqual([
      [other.sessionId, false],
      [started.sessionId, true],
    ]);
    expect((await call("delete", "/me/sessions/{id}", { session, params: { id: other.sessionId } })).body.error.code).toBe("csrf");
    expect((await call("delete", "/me/sessions/{id}", { session, headers: csrf, params: { id: other.sessionId } })).status).toBe(204);
    expect((await call("get", "/me", { session: other.cookieValue })).status).toBe(401);
    expect((await call("delete", "/me/sessions/{id}", { session, headers: csrf, params: { id: other.sessionId } })).status).toBe(404);

    expect((await call("post", "/session/sign-out", { session, headers: csrf })).status).toBe(204);
    const ended = await call("get", "/session", { session });
    expect([ended.status, ended.body.error.message]).toEqual([401, expect.stringMatching(/signed out/)]);

    const again = (await t.services.sessions.start({ ...ctxOf(org.id), source: "saml" }, member, { via: "saml" })).cookieValue;
    const againCsrf = { "X-CSRF-Token": (await call("get", "/session", { session: again })).body.csrfToken as string };
    expect((await call("post", "/session/sign-out-everywhere", { session: again, headers: againCsrf })).status).toBe(204);
    expect((await call("get", "/session", { session: again })).body.error.message).toMatch(/signing out everywhere/);

    // Administrators end someone else's sessions, managed users included; never an Admin for the Owner.
    expect((await call("post", "/users/{id}/sign-out-everywhere", { token: adminToken, params: { id: memberId }, body: { reason: "lost laptop" } })).status).toBe(204);
    const ownerByAdmin = await call("post", "/users/{id}/sign-out-everywhere", { token: adminToken, params: { id: org.ownerId } });
    expect([ownerByAdmin.status, ownerByAdmin.body.error.code]).toEqual([403, "owner_protected"]);
    expect((await call("post", "/users/{id}/sign-out-everywhere", { token: ownerToken, params: { id: managedId } })).status).toBe(204);
  });

  it("transfers ownership, only from the Owner and only to someone who can act", async () => {
    expect((await call("post", "/ownership/transfer", { token: adminToken, body: { userId: adminId } })).body.error.code).toBe("forbidden");
    const toSuspended = await call("post", "/ownership/transfer", { token: ownerToken, body: { userId: frozenId } });
    expect([toSuspended.status, toSuspended.body.error.code]).toEqual([403, "owner_protected"]);
    const transferred = await call("post", "/ownership/transfer", { token: ownerToken, body: { userId: adminId } });
    expect(transferred.body).toMatchObject({ id: adminId, role: "owner", isOwner: true });
    const former = await call("get", "/users/{id}", { token: adminToken, params: { id: org.ownerId } });
    expect(former.body).toMatchObject({ role: "admin", isOwner: false, editable: true });
  });
});

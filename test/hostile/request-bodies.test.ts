import request from "supertest";
import { runCommand } from "../../src/cli/commands";
import { serviceProviderUrls } from "../../src/domain/saml";
import { maxJsonDepth } from "../../src/http/json-body";
import { maxScimStringLength } from "../../src/scim/router";
import { TestIdentityProvider } from "../support/saml-idp";
import { buildUser, errorSchema, operator, patchSchema, scimClient, startTestApp, userSchema, type TestApp } from "../support/app";
import { rawClient, storedState, type RawClient } from "./support";

/**
 * The request bodies Gatehouse refuses before any edge reads them (issue 9 §3, issue 10 items 6
 * and 7), one example each; test/hostile/*.property.test.ts generates hundreds more.
 */

let t: TestApp;
let org: { id: string; scimToken: string; ownerId: string };
let ownerToken: string;
let scim: ReturnType<typeof scimClient>;
let raw: RawClient;
let userId: string;
const bulkSchema = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";

beforeAll(async () => {
  t = await startTestApp();
  const cli = async (...argv: string[]) => JSON.parse((await runCommand(t.services, argv)).stdout[0]!);
  org = await cli("org", "create", "Bodies Co", "--owner", "owner@bodies.example", "--json");
  ownerToken = (await cli("user-token", "create", "--org", org.id, "--email", "owner@bodies.example", "--json")).token;
  scim = scimClient(t.app, org.scimToken);
  userId = (await scim.post("/Users", buildUser({ userName: "kept@bodies.example" })).expect(201)).body.id;
  const idp = new TestIdentityProvider(serviceProviderUrls(t.config.publicBaseUrl, org.id));
  await t.services.saml.configure({ ...operator, organizationId: org.id }, {
    idpEntityId: idp.entityId, ssoUrl: idp.ssoUrl, certificates: [idp.key.certificate], jit: false, groupSync: false, idpInitiated: false, signatures: "assertion",
  });
  raw = await rawClient(t.app);
});
afterAll(async () => {
  await raw?.close();
  await t?.close();
});

function expectScimError(res: { status: number; body: Record<string, unknown> }, status: number, scimType?: string) {
  expect(res.status).toBe(status);
  expect(res.body.schemas).toEqual([errorSchema]);
  expect(res.body.status).toBe(String(status));
  if (scimType) expect(res.body.scimType).toBe(scimType);
}

const nested = (depth: number) => `${"[".repeat(depth - 1)}1${"]".repeat(depth - 1)}`;
const scimRaw = (method: string, path: string, body: string) =>
  raw.send({ method, path: `/scim/v2${path}`, body, headers: { authorization: `Bearer ${org.scimToken}`, "content-type": "application/scim+json" } });

describe("deeply nested JSON (issue 10 item 6)", () => {
  const writes = () => [
    { method: "POST", path: "/Users", around: (inner: string) => `{"schemas":["${userSchema}"],"userName":"deep@bodies.example","x":${inner}}` },
    { method: "PUT", path: `/Users/${userId}`, around: (inner: string) => `{"schemas":["${userSchema}"],"userName":"kept@bodies.example","x":${inner}}` },
    { method: "PATCH", path: `/Users/${userId}`, around: (inner: string) => `{"schemas":["${patchSchema}"],"Operations":[{"op":"replace","path":"displayName","value":${inner}}]}` },
    { method: "POST", path: "/Bulk", around: (inner: string) => `{"schemas":["${bulkSchema}"],"Operations":[{"method":"POST","bulkId":"a","path":"/Users","data":{"userName":"deep@bodies.example","x":${inner}}}]}` },
  ];

  it.each([["POST /Users", 0], ["PUT /Users/{id}", 1], ["PATCH /Users/{id}", 2], ["POST /Bulk", 3]])(
    "answers %s nested 20,000 deep with 400 invalidSyntax, not a stack overflow, and stores nothing",
    async (_name, index) => {
      const write = writes()[index as number]!;
      const before = await storedState(t);
      const res = await scimRaw(write.method, write.path, write.around(nested(20_000)));
      expectScimError({ status: res.status, body: res.json as Record<string, unknown> }, 400, "invalidSyntax");
      expect((res.json as { detail: string }).detail).toContain(`deeper than ${maxJsonDepth} levels`);
      expect(await storedState(t)).toEqual(before);
    },
  );

  it(`takes a body nested exactly ${maxJsonDepth} deep to the resource, and refuses one level more`, async () => {
    // {"userName":…,"x": <depth - 1 arrays>} is `depth` deep; at the limit the user is created (the unknown attribute ignored).
    const atLimit = await scimRaw("POST", "/Users", writes()[0]!.around(nested(maxJsonDepth)));
    expect(atLimit.status).toBe(201);
    const beyond = await scimRaw("POST", "/Users", writes()[0]!.around(nested(maxJsonDepth + 1)).replace("deep@", "deeper@"));
    expect(beyond.status).toBe(400);
    expect((beyond.json as { detail: string }).detail).toContain("deeper than");
  });

  it("counts brackets inside strings as text, not as nesting", async () => {
    const res = await scim.post("/Users", buildUser({ userName: "brackets@bodies.example", displayName: "[".repeat(200) + "{".repeat(200) }));
    expect(res.status).toBe(201);
    expect(res.body.displayName).toBe("[".repeat(200) + "{".repeat(200));
  });

  it("answers the admin API's deeply nested JSON with 400 in its own error shape", async () => {
    const res = await raw.send({ method: "POST", path: "/api/v1/authorize", body: `{"userId":${nested(5000)}}`, headers: { authorization: `Bearer ${ownerToken}`, "content-type": "application/json" } });
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ error: { code: "too_deeply_nested", message: expect.stringContaining(`${maxJsonDepth}`) } });
  });
});

describe("lone surrogates and NUL (issue 10 item 7)", () => {
  const lone = "lone\ud800x@bodies.example";

  it("refuses a lone surrogate in userName on POST with 400 invalidValue, naming the attribute, and stores nothing", async () => {
    const before = await storedState(t);
    const res = await scim.post("/Users", buildUser({ userName: lone }));
    expectScimError(res, 400, "invalidValue");
    expect(res.body.detail).toBe("userName is not valid Unicode (a lone UTF-16 surrogate)");
    expect(await storedState(t)).toEqual(before);
  });

  it.each([
    ["a low surrogate alone", "x\udc00"],
    ["a reversed pair", "\ude00\ud83d"],
    ["a high surrogate at the end", "tail\ud83d"],
  ])("refuses %s in any string attribute, on PUT, PATCH and Bulk", async (_name, text) => {
    const before = await storedState(t);
    expectScimError(await scim.put(`/Users/${userId}`, buildUser({ userName: "kept@bodies.example", name: { givenName: text } })), 400, "invalidValue");
    expectScimError(await scim.patch(`/Users/${userId}`, { schemas: [patchSchema], Operations: [{ op: "replace", path: "displayName", value: text }] }), 400, "invalidValue");
    const bulk = await scim.post("/Bulk", { schemas: [bulkSchema], Operations: [{ method: "POST", bulkId: "a", path: "/Users", data: buildUser({ emails: [{ value: text }] }) }] });
    expectScimError(bulk, 400, "invalidValue");
    expect(bulk.body.detail).toBe("Operations[0].data.emails[0].value is not valid Unicode (a lone UTF-16 surrogate)");
    expect(await storedState(t)).toEqual(before);
  });

  it("keeps a well-formed surrogate pair (an emoji): stored, returned and found as sent", async () => {
    const userName = "emoji\ud83d\ude00@bodies.example";
    const created = await scim.post("/Users", buildUser({ userName })).expect(201);
    expect(created.body.userName).toBe(userName);
    expect((await scim.get(`/Users/${created.body.id}`).expect(200)).body.userName).toBe(userName);
    const found = await scim.get(`/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`).expect(200);
    expect(found.body.Resources.map((u: { id: string }) => u.id)).toEqual([created.body.id]);
  });

  it("refuses NUL (U+0000) in a string with 400 invalidValue", async () => {
    const res = await scim.post("/Users", buildUser({ userName: "nul\u0000x@bodies.example" }));
    expectScimError(res, 400, "invalidValue");
    expect(res.body.detail).toBe("userName contains a NUL character (U+0000)");
  });

  it(`refuses a string longer than ${maxScimStringLength} characters with 400 invalidValue`, async () => {
    const res = await scim.post("/Users", buildUser({ displayName: "x".repeat(maxScimStringLength + 1) }));
    expectScimError(res, 400, "invalidValue");
    expect(res.body.detail).toBe(`displayName is longer than ${maxScimStringLength} characters`);
  });

  it("refuses a lone surrogate or NUL in the admin API's JSON with 400 invalid_request, changing nothing", async () => {
    const before = await storedState(t);
    for (const reason of ["x\ud800", "x\u0000"]) {
      const res = await request(t.app).post(`/api/v1/users/${userId}/suspend`).set("Authorization", `Bearer ${ownerToken}`).send({ reason });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe("invalid_request");
      expect(res.body.error.message).toMatch(/^reason (is not valid Unicode|contains a NUL)/);
    }
    expect(await storedState(t)).toEqual(before);
  });

  it("refuses bytes that are not UTF-8 (not silently turned into U+FFFD)", async () => {
    const body = Buffer.concat([Buffer.from(`{"schemas":["${userSchema}"],"userName":"bad`), Buffer.from([0xff, 0xfe]), Buffer.from('@bodies.example"}')]);
    const res = await raw.send({ method: "POST", path: "/scim/v2/Users", body, headers: { authorization: `Bearer ${org.scimToken}`, "content-type": "application/scim+json" } });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ schemas: [errorSchema], scimType: "invalidSyntax", detail: "The request body is not valid UTF-8" });
  });
});

describe("body-parser refusals keep their status on every edge (issue 9 §3)", () => {
  const acs = () => `/auth/saml/${org.id}/acs`;
  const form = "application/x-www-form-urlencoded";
  const lastAudit = async (action: string) =>
    (await t.db.models.AuditEvent.find({ organizationId: org.id, action }).sort({ at: -1 }).limit(1).lean())[0] as { after: { reason: string; detail?: string; message?: string }; requestId?: string } | undefined;

  it.each([
    ["a 2 MB form", 413, { "content-type": form }, `SAMLResponse=${"a".repeat(2_000_000)}`],
    ["a form with too many fields", 413, { "content-type": form }, Array.from({ length: 20 }, (_, i) => `f${i}=1`).join("&")],
    ["a koi8-r body", 415, { "content-type": `${form}; charset=koi8-r` }, "SAMLResponse=abc"],
    ["a false Content-Encoding: gzip", 400, { "content-type": form, "content-encoding": "gzip" }, "SAMLResponse=abc"],
    ["an unknown Content-Encoding", 415, { "content-type": form, "content-encoding": "br2" }, "SAMLResponse=abc"],
  ])("the assertion consumer answers %s with %i and the refusal page, and audits saml.sign_in_refused (malformed)", async (_name, status, headers, body) => {
    const res = await raw.send({ method: "POST", path: acs(), headers: headers as Record<string, string>, body: body as string });
    expect(res.status).toBe(status);
    expect(res.headers["content-type"]).toMatch(/text\/html/);
    expect(res.text).toContain("<h1>Sign-in refused</h1>");
    expect(res.text).not.toMatch(/at .+\.(js|ts):\d+/);
    const requestId = res.headers["x-request-id"];
    const event = await lastAudit("saml.sign_in_refused");
    expect(event).toMatchObject({ requestId, after: { reason: "malformed", detail: expect.stringContaining(`(${status})`) } });
  });

  it("the logout URL answers a 200 KB form with 413 and the refusal page, and audits saml.logout_refused", async () => {
    const res = await raw.send({ method: "POST", path: `/auth/saml/${org.id}/logout`, headers: { "content-type": form }, body: `a=${"b".repeat(200_000)}` });
    expect(res.status).toBe(413);
    expect(res.text).toContain("<h1>Sign-out refused</h1>");
    expect(await lastAudit("saml.logout_refused")).toMatchObject({ requestId: res.headers["x-request-id"], after: { reason: "malformed" } });
  });

  it("answers an unreadable form for an organization that does not exist with its status and no audit event", async () => {
    const before = await t.db.models.AuditEvent.countDocuments();
    const res = await raw.send({ method: "POST", path: "/auth/saml/no-such-org/acs", headers: { "content-type": `${form}; charset=koi8-r` }, body: "x=1" });
    expect(res.status).toBe(415);
    expect(res.text).toContain("Sign-in refused");
    expect(await t.db.models.AuditEvent.countDocuments()).toBe(before);
  });

  it.each([
    ["a false gzip", 400, "invalid_encoding", { "content-encoding": "gzip" }],
    ["a koi8-r charset", 415, "unsupported_media_type", { "content-type": "application/json; charset=koi8-r" }],
    ["a UTF-16 charset (JSON is UTF-8, RFC 8259 §8.1)", 415, "unsupported_media_type", { "content-type": "application/json; charset=utf-16" }],
  ])("the admin API answers %s with %i %s", async (_name, status, code, headers) => {
    const res = await raw.send({ method: "POST", path: "/api/v1/authorize", body: "{}", headers: { authorization: `Bearer ${ownerToken}`, "content-type": "application/json", ...headers } });
    expect(res.status).toBe(status);
    expect(res.json).toEqual({ error: { code, message: expect.any(String) } });
  });

  it("SCIM answers a false gzip with 400 invalidSyntax and a koi8-r charset with 415", async () => {
    const gz = await raw.send({ method: "POST", path: "/scim/v2/Users", body: "{}", headers: { authorization: `Bearer ${org.scimToken}`, "content-type": "application/scim+json", "content-encoding": "gzip" } });
    expectScimError({ status: gz.status, body: gz.json as Record<string, unknown> }, 400, "invalidSyntax");
    const koi = await raw.send({ method: "POST", path: "/scim/v2/Users", body: "{}", headers: { authorization: `Bearer ${org.scimToken}`, "content-type": "application/scim+json; charset=koi8-r" } });
    expectScimError({ status: koi.status, body: koi.json as Record<string, unknown> }, 415);
  });
});

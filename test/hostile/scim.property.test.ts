import fc from "fast-check";
import { buildUser, enterpriseSchema, errorSchema, patchSchema, scimClient, startTestApp, userSchema, type TestApp } from "../support/app";
import { deeplyNested, garbageText, hugeString, invalidText, misleadingHeaders, notABoolean, notAnArray, notAnObject, notAString, notUtf8, truncated, withOneString, type Json } from "./arbitraries";
import { percentEncoded, propertyRuns, propertySeed, rawClient, storedState, type RawClient, type RawRequest, type RawResponse } from "./support";

/**
 * The SCIM edge under hostile input (issue 9 §3, issue 10 items 6 and 7): a few hundred
 * generated requests, every one answered with a 4xx SCIM error (RFC 7644 §3.12) — never a 5xx —
 * and nothing stored changed. fast-check with a fixed seed: a failure names the shrunk request
 * and reproduces with the same seed.
 */

const groupSchema = "urn:ietf:params:scim:schemas:core:2.0:Group";
const bulkSchema = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";

let t: TestApp;
let client: RawClient;
let token: string;
let userId: string;
let groupId: string;

beforeAll(async () => {
  t = await startTestApp({ SCIM_MAX_PAYLOAD_BYTES: String(256 * 1024) });
  const org = await t.organization("Hostile SCIM");
  token = org.token;
  const scim = scimClient(t.app, token);
  userId = (await scim.post("/Users", buildUser({ userName: "seed@example.com", externalId: "seed-ext" })).expect(201)).body.id;
  await scim.post("/Users", buildUser({ userName: "other@example.com", [enterpriseSchema]: { employeeNumber: "7", manager: { value: userId } }, schemas: [userSchema, enterpriseSchema] })).expect(201);
  groupId = (await scim.post("/Groups", { schemas: [groupSchema], displayName: "Seeded", members: [{ value: userId }] }).expect(201)).body.id;
  client = await rawClient(t.app);
});
afterAll(async () => {
  await client?.close();
  await t?.close();
});

const validUser = (): { [key: string]: Json } => ({
  schemas: [userSchema, enterpriseSchema],
  userName: "new.person@example.com",
  externalId: "ext-1",
  displayName: "New Person",
  name: { givenName: "New", familyName: "Person" },
  emails: [{ value: "new.person@example.com", type: "work", primary: true }],
  active: true,
  [enterpriseSchema]: { employeeNumber: "42", manager: { value: "some-id" } },
});
const validGroup = (): { [key: string]: Json } => ({ schemas: [groupSchema], displayName: "New Group", members: [] });
const validPatch = (): { [key: string]: Json } => ({ schemas: [patchSchema], Operations: [{ op: "replace", path: "displayName", value: "Renamed" }] });
const bulkOf = (operations: Json[]): { [key: string]: Json } => ({ schemas: [bulkSchema], Operations: operations });

/** A user whose one attribute has a value of the wrong type (each attribute in turn). */
const wrongTypedUser: fc.Arbitrary<Json> = fc.oneof(
  ...(
    [
      ["userName", notAString],
      ["externalId", notAString],
      ["displayName", notAString],
      ["name", notAnObject],
      ["emails", notAnArray],
      ["active", notABoolean],
      ["schemas", fc.oneof(notAnArray, fc.constant([]), fc.constant(["urn:unknown:schema"]), fc.constant([5]))],
      ["phoneNumbers", notAnArray],
      ["title", notAString],
    ] as const
  ).map(([attribute, wrong]) => (wrong as fc.Arbitrary<Json>).map((value) => ({ ...validUser(), [attribute]: value }))),
  notAString.map((value) => ({ ...validUser(), name: { givenName: value, familyName: "Person" } })),
  notAString.map((value) => ({ ...validUser(), emails: [{ value, type: "work" }] })),
  notABoolean.map((value) => ({ ...validUser(), emails: [{ value: "a@example.com", primary: value }] })),
  notAString.filter((v) => typeof v !== "object" || v === null || Array.isArray(v)).map((value) => ({ ...validUser(), [enterpriseSchema]: { employeeNumber: value } })),
  fc.oneof(fc.integer(), fc.constant<Json>([1]), fc.boolean()).map((value) => ({ ...validUser(), [enterpriseSchema]: { manager: value } })),
  // Without the core schema. (An unknown URI beside it is tolerated: Entra ID sends its own.)
  fc.constantFrom<Json>(["urn:unknown:schema"], ["urn:ietf:params:scim:schemas:core:2.0:Group"], [enterpriseSchema]).map((schemas) => ({ ...validUser(), schemas })),
);

/** Groups with a wrong type or an unknown member. */
const wrongTypedGroup: fc.Arbitrary<Json> = fc.oneof(
  notAString.map((displayName) => ({ ...validGroup(), displayName })),
  notAnArray.map((members) => ({ ...validGroup(), members })),
  notAString.map((value) => ({ ...validGroup(), members: [{ value }] })),
  fc.string({ minLength: 1, maxLength: 20 }).map((value) => ({ ...validGroup(), members: [{ value: `unknown-${value}` }] })),
  fc.constantFrom<Json>(["urn:unknown:schema"], [userSchema]).map((schemas) => ({ ...validGroup(), schemas })),
);

/** PatchOps that cannot apply: unknown ops, invalid or unknown paths, wrong values. */
const invalidPatch: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom("", "nope", "ADDX", "copy", "move", "test").map((op) => ({ schemas: [patchSchema], Operations: [{ op, path: "displayName", value: "x" }] })),
  fc
    .constantFrom(
      "emails[type eq ",
      "emails[type eq \"work\"",
      "emails]",
      "[",
      "name.",
      ".name",
      "nope",
      "urn:unknown:schema:attr",
      "emails[value pr]]",
      "name givenName",
      "\"displayName\"",
      "meta.created",
      "id",
      "name..givenName",
      "emails[type eq].value",
      'emails[value eq "x]',
    )
    .map((path) => ({ schemas: [patchSchema], Operations: [{ op: "replace", path, value: "x" }] })),
  fc.constantFrom("add", "replace").chain((op) => notAString.filter((v) => !(typeof v === "object" && v !== null && !Array.isArray(v))).map((value) => ({ schemas: [patchSchema], Operations: [{ op, path: "userName", value }] }))),
  fc.constantFrom<Json>(null, 5, "x", {}, [[]], [5], [{}]).map((Operations) => ({ schemas: [patchSchema], Operations: Operations as Json })),
  fc.constantFrom<Json>(["urn:unknown"], [], [userSchema]).map((schemas) => ({ schemas, Operations: [{ op: "replace", path: "displayName", value: "x" }] })),
  fc.constant<Json>({ schemas: [patchSchema], Operations: [{ op: "remove" }] }),
  fc.constant<Json>({ schemas: [patchSchema], Operations: [{ op: "replace", path: "userName", value: "" }] }),
);

/** Bulk requests whose every operation must fail. */
const hostileBulk: fc.Arbitrary<Json> = fc.oneof(
  wrongTypedUser.map((data) => bulkOf([{ method: "POST", bulkId: "a", path: "/Users", data }])),
  wrongTypedUser.map((data) => bulkOf([{ method: "PUT", path: `/Users/${userId}`, data }])),
  invalidPatch.map((data) => bulkOf([{ method: "PATCH", path: `/Users/${userId}`, data }])),
  fc.constantFrom("GET", "HEAD", "", 5, null, "post ").map((method) => bulkOf([{ method: method as Json, bulkId: "a", path: "/Users", data: validUser() }])),
  fc.constantFrom("/Nope", "Users", "/Users/a/b", "", "/Users?x", "/../Users").map((path) => bulkOf([{ method: "POST", bulkId: "a", path, data: validUser() }])),
  fc.constant(bulkOf([{ method: "POST", path: "/Users", data: validUser() }])),
  fc.constant(bulkOf([{ method: "POST", bulkId: "a", path: "/Users", data: { ...validUser(), manager: "bulkId:b" } }, { method: "POST", bulkId: "b", path: "/Users", data: "x" }])),
  fc.constantFrom<Json>(null, 5, "x", {}, [[]]).map((Operations) => ({ schemas: [bulkSchema], Operations: Operations as Json })),
  fc.constant<Json>({ schemas: ["urn:unknown"], Operations: [] }),
  fc.constant<Json>({ ...bulkOf([]), failOnErrors: "x" }),
  fc.constant(bulkOf([{ method: "PUT", path: `/Users/${"x".repeat(1000)}`, data: validUser() }])),
);

type Write = { method: string; path: string; document: () => { [key: string]: Json } };
const writes = (): Write[] => [
  { method: "POST", path: "/Users", document: validUser },
  { method: "PUT", path: `/Users/${userId}`, document: validUser },
  { method: "PATCH", path: `/Users/${userId}`, document: validPatch },
  { method: "POST", path: "/Groups", document: validGroup },
  { method: "PUT", path: `/Groups/${groupId}`, document: validGroup },
  { method: "PATCH", path: `/Groups/${groupId}`, document: validPatch },
  { method: "POST", path: "/Bulk", document: () => bulkOf([{ method: "POST", bulkId: "a", path: "/Users", data: validUser() }]) },
];

/** Any write endpoint, with a body broken in one of the generic ways. */
const brokenBody = fc.constantFrom(...[0, 1, 2, 3, 4, 5, 6]).chain((index) => {
  const write = writes()[index]!;
  const json = (text: string | Buffer, headers: Record<string, string> = {}): RawRequest => ({ method: write.method, path: write.path, body: text, headers: { "content-type": "application/scim+json", ...headers } });
  const document = write.document();
  return fc.oneof(
    truncated(document).map((text) => json(text)),
    deeplyNested(document, write.path === "/Bulk" ? ["Operations", "schemas"] : Object.keys(document)).map((text) => json(text)),
    withOneString(document, invalidText).map((doc) => json(JSON.stringify(doc))),
    notUtf8(document).map((bytes) => json(bytes)),
    garbageText.map((text) => json(text)),
    fc.constantFrom("null", "5", '"text"', "[]", "[{}]", "true").map((text) => json(text)),
    misleadingHeaders.map((headers) => ({ ...json(JSON.stringify(document)), headers: { ...headers } })),
    fc.constant(json(JSON.stringify({ ...document, padding: "x".repeat(300 * 1024) }))),
  );
});

/** Endpoint-specific nonsense: wrong types, unknown schemas, PatchOps and Bulk that cannot apply. */
const meaninglessBody: fc.Arbitrary<RawRequest> = fc.oneof(
  fc.tuple(fc.constantFrom("POST", "PUT"), wrongTypedUser).map(([method, doc]) => ({ method, path: method === "POST" ? "/Users" : `/Users/${userId}`, body: JSON.stringify(doc) })),
  fc.tuple(fc.constantFrom("POST", "PUT"), wrongTypedGroup).map(([method, doc]) => ({ method, path: method === "POST" ? "/Groups" : `/Groups/${groupId}`, body: JSON.stringify(doc) })),
  fc.tuple(fc.constantFrom("Users", "Groups"), invalidPatch).map(([endpoint, doc]) => ({ method: "PATCH", path: `/${endpoint}/${endpoint === "Users" ? userId : groupId}`, body: JSON.stringify(doc) })),
  hostileBulk.map((doc) => ({ method: "POST", path: "/Bulk", body: JSON.stringify(doc) })),
  fc.tuple(fc.constantFrom("POST", "PUT"), withOneString(validUser(), hugeString)).map(([method, doc]) => ({ method, path: method === "POST" ? "/Users" : `/Users/${userId}`, body: JSON.stringify(doc) })),
).map((request) => ({ ...request, headers: { "content-type": "application/scim+json" } }));

/** Filters that cannot parse (unbalanced, unterminated, unknown operators or attributes). */
const invalidFilter = fc.oneof(
  fc.constantFrom(
    '(userName eq "a"',
    'userName eq "a',
    'userName xx "a"',
    "userName eq",
    "and or",
    'userName eq "a")',
    'userName eq "a" and',
    "not",
    'emails[type eq "work"',
    'emails[type eq "work"]]',
    'nope.attribute eq "x"',
    'userName eq a"',
    '"userName" eq "a"',
    "userName gt",
    'urn:unknown:schema:attr eq "x"',
    'userName eq "a" or (',
    "()",
    "[]",
    "externalId pr and",
    "not (externalId pr",
    "externalId pr pr",
  ),
  fc.tuple(fc.constantFrom('userName eq "a"', 'displayName co "b"', "active eq true"), fc.constantFrom(" and", " or", " (", ")", ' "', " not", " eq")).map(([valid, broken]) => `${valid}${broken}`),
  fc.integer({ min: 1, max: 2000 }).map((n) => `${"(".repeat(n)}userName eq "a"`),
  fc.string({ maxLength: 40 }).map((s) => `)${s}`),
  invalidText.map((text) => `userName eq "a" and ${text}`),
);

const hostileQuery: fc.Arbitrary<RawRequest> = fc.oneof(
  fc.tuple(fc.constantFrom("Users", "Groups"), invalidFilter).map(([endpoint, filter]) => ({ method: "GET", path: `/${endpoint}?filter=${percentEncoded(filter)}` })),
  fc.tuple(fc.constantFrom("startIndex", "count"), fc.constantFrom("abc", "1e999", "-", "NaN", "1.5", "9".repeat(400))).map(([name, value]) => ({ method: "GET", path: `/Users?${name}=${encodeURIComponent(value)}` })),
  fc.constantFrom("%ED%A0%80", "%00", "%FF", "x".repeat(8000), "..%2F..%2Fetc", "%2e%2e", "nope").map((id) => ({ method: "GET", path: `/Users/${id}` })),
  fc.constantFrom("%ED%A0%80", "%00", "unknown-id").map((id) => ({ method: "DELETE", path: `/Groups/${id}` })),
  fc.constantFrom("/Nope", "/Users/a/b", "/Schemas/urn:unknown", "/ResourceTypes/Nope").map((path) => ({ method: "GET", path })),
);

/** Headers that must not get a write through: unknown versions, broken authorization. */
const hostileHeaders: fc.Arbitrary<RawRequest> = fc.oneof(
  fc.constantFrom('W/"999999"', '"abc"', "garbage", 'W/""', "W/", '"1', "\u00ff").map((tag) => ({
    method: "PUT",
    path: `/Users/${userId}`,
    headers: { "content-type": "application/scim+json", "if-match": tag },
    body: JSON.stringify(validUser()),
  })),
  fc.constantFrom("", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", `Bearer ${"x".repeat(5000)}`, "Bearer gsc_0000_bad", "bearer\tx").map((authorization) => ({
    method: "POST",
    path: "/Users",
    headers: { "content-type": "application/scim+json", authorization },
    body: JSON.stringify(validUser()),
  })),
);

async function send(request: RawRequest): Promise<RawResponse> {
  return client.send({ ...request, path: `/scim/v2${request.path}`, headers: { authorization: `Bearer ${token}`, accept: "application/scim+json", ...request.headers } });
}

/** A 4xx SCIM error (RFC 7644 §3.12), or a BulkResponse whose every operation is one. */
function expectRefusedInScimShape(request: RawRequest, res: RawResponse): void {
  const context = `${request.method} ${request.path.slice(0, 200)} → ${res.status} ${res.text.slice(0, 300)}`;
  if (request.path === "/Bulk" && res.status === 200) {
    const operations = (res.json as { Operations?: { status: string; response?: { schemas?: string[]; status?: string } }[] }).Operations;
    if (!operations?.length) throw new Error(`a BulkResponse with no operation: ${context}`);
    for (const op of operations) {
      const status = Number(op.status);
      if (!(status >= 400 && status < 500) || op.response?.schemas?.[0] !== errorSchema || op.response.status !== op.status) throw new Error(`a bulk operation was not refused: ${context}`);
    }
    return;
  }
  if (!(res.status >= 400 && res.status < 500)) throw new Error(`not a 4xx: ${context}`);
  if (!/^application\/scim\+json/.test(String(res.headers["content-type"]))) throw new Error(`not application/scim+json: ${context}`);
  const body = res.json as { schemas?: unknown; status?: unknown; detail?: unknown } | undefined;
  if (!body || JSON.stringify(body.schemas) !== JSON.stringify([errorSchema]) || body.status !== String(res.status) || typeof body.detail !== "string") {
    throw new Error(`not a SCIM error body: ${context}`);
  }
}

/** Runs the property and checks that nothing stored changed (auth failures are counted, not stored data). */
async function everyAnswerIsARefusal(requests: fc.Arbitrary<RawRequest>): Promise<void> {
  const before = await storedState(t);
  await fc.assert(
    fc.asyncProperty(requests, async (request) => {
      expectRefusedInScimShape(request, await send(request));
    }),
    { seed: propertySeed, numRuns: propertyRuns, endOnFailure: true },
  );
  expect(await storedState(t)).toEqual(before);
}

describe("the SCIM edge under hostile input", () => {
  it("answers broken bodies on every write endpoint (truncated, nested, invalid text, not UTF-8, lying headers, oversized) with a 4xx SCIM error and changes nothing", async () => {
    await everyAnswerIsARefusal(brokenBody);
  }, 60_000);

  it("answers wrong types, unknown schemas, impossible PatchOps and Bulk operations, 100 KB strings with a 4xx SCIM error and changes nothing", async () => {
    await everyAnswerIsARefusal(meaninglessBody);
  }, 60_000);

  it("answers garbage filters, paging, ids, versions and credentials with a 4xx SCIM error and changes nothing", async () => {
    await everyAnswerIsARefusal(fc.oneof(hostileQuery, hostileHeaders));
  }, 60_000);
});

import fc from "fast-check";
import { runCommand } from "../../src/cli/commands";
import { operator, startTestApp, type TestApp } from "../support/app";
import { deeplyNested, garbageText, hugeString, invalidText, misleadingHeaders, notABoolean, notAString, notUtf8, truncated, withOneString, type Json } from "./arbitraries";
import { percentEncoded, propertyRuns, propertySeed, rawClient, storedState, type RawClient, type RawRequest, type RawResponse } from "./support";

/**
 * The admin API (/api/v1) under hostile input: a few hundred generated requests with the Owner's
 * personal token, every one answered with a 4xx in the API's error shape `{"error": {"code",
 * "message"}}` — never a 5xx — and nothing stored changed. Fixed seed, reproducible.
 */

let t: TestApp;
let client: RawClient;
let ownerToken: string;
let memberId: string;

beforeAll(async () => {
  t = await startTestApp();
  const cli = async (...argv: string[]) => JSON.parse((await runCommand(t.services, argv)).stdout[0]!);
  const org = await cli("org", "create", "Hostile Admin", "--owner", "owner@hostile.example", "--json");
  ownerToken = (await cli("user-token", "create", "--org", org.id, "--email", "owner@hostile.example", "--json")).token;
  memberId = (await t.services.users.provision({ ...operator, organizationId: org.id }, { userName: "member@hostile.example" }, "local", { role: "user" })).id;
  client = await rawClient(t.app);
});
afterAll(async () => {
  await client?.close();
  await t?.close();
});

/** Each write route with a valid body, so one broken part makes the whole request wrong. */
const writes = (): { method: string; path: string; document: { [key: string]: Json }; wrong: Record<string, fc.Arbitrary<Json>> }[] => [
  { method: "PUT", path: `/users/${memberId}`, document: { role: "read_only", projects: [], reason: "review" }, wrong: { role: fc.oneof(notAString, fc.constantFrom("owner", "root", "")), projects: fc.oneof(fc.integer(), fc.constant<Json>([5]), fc.constant<Json>([{ id: 5 }])), reason: fc.oneof(notAString, fc.constant("r".repeat(1001))) } },
  { method: "POST", path: `/users/${memberId}/suspend`, document: { reason: "incident" }, wrong: { reason: fc.oneof(notAString, fc.constant("r".repeat(1001))), extra: fc.constant(1) } },
  { method: "POST", path: `/users/${memberId}/temporary-access`, document: { role: "admin", until: "2099-01-01T00:00:00Z", reason: "on call" }, wrong: { until: fc.oneof(notAString, fc.constantFrom("tomorrow", "2099-13-01T00:00:00Z", "")), reason: fc.oneof(notAString, fc.constant("")), role: fc.constantFrom("owner", 5 as Json) } },
  { method: "POST", path: "/authorize", document: { userId: memberId, action: "create_reports" }, wrong: { userId: fc.oneof(notAString, fc.constant("")), action: fc.oneof(notAString, fc.constantFrom("rm -rf", "")), ownResource: notABoolean } },
  { method: "POST", path: "/users", document: { email: "new@hostile.example", displayName: "New", role: "user" }, wrong: { email: fc.oneof(notAString, fc.constantFrom("not-an-email", "a@", "")), displayName: fc.oneof(notAString, fc.constant("d".repeat(257))), role: fc.constantFrom("owner", "", 3 as Json) } },
  { method: "PATCH", path: "/settings", document: { defaultRole: "read_only", readOnlyMayComment: true }, wrong: { defaultRole: fc.oneof(notAString, fc.constant("owner")), readOnlyMayComment: notABoolean, seatLimit: fc.constantFrom<Json>(0, -1, 1.5, "10", true) } },
  { method: "POST", path: "/projects", document: { name: "Reports" }, wrong: { name: fc.oneof(notAString, fc.constantFrom("", "n".repeat(201))) } },
  { method: "POST", path: "/mappings", document: { match: { kind: "group_id", value: "g-1" }, organizationRole: "user" }, wrong: { match: fc.oneof(notAString, fc.constant<Json>({ kind: "nope", value: "x" }), fc.constant<Json>({ kind: "group_id", value: "" })), organizationRole: fc.constantFrom<Json>("owner", 1, "") } },
  { method: "POST", path: "/scim-tokens", document: { name: "Okta" }, wrong: { name: fc.oneof(notAString, fc.constantFrom("", "n".repeat(201))), expires: fc.constantFrom<Json>("yesterday", 5, "2000-01-01") } },
  { method: "PUT", path: "/saml-connection", document: { idpEntityId: "https://idp.example/", ssoUrl: "https://idp.example/sso", certificates: ["not a certificate"] }, wrong: { certificates: fc.constantFrom<Json>([], "x", [5], ["c".repeat(20_001)]), ssoUrl: notAString, jit: notABoolean } },
  { method: "POST", path: "/ownership/transfer", document: { userId: "no-such-user" }, wrong: { userId: fc.oneof(notAString, fc.constant("")) } },
];

const brokenBody: fc.Arbitrary<RawRequest> = fc.integer({ min: 0, max: writes().length - 1 }).chain((index) => {
  const write = writes()[index]!;
  const json = (body: string | Buffer): RawRequest => ({ method: write.method, path: write.path, body, headers: { "content-type": "application/json" } });
  const document = write.document;
  return fc.oneof(
    truncated(document).map(json),
    deeplyNested(document, Object.keys(document)).map(json),
    withOneString(document, invalidText).map((doc) => json(JSON.stringify(doc))),
    notUtf8(document).map(json),
    garbageText.map(json),
    misleadingHeaders.map((headers) => ({ ...json(JSON.stringify(document)), headers: { ...headers } })),
    fc.constant(json(JSON.stringify({ ...document, padding: "x".repeat(120 * 1024) }))),
    fc.constantFrom(...Object.keys(write.wrong)).chain((field) => write.wrong[field]!.map((value) => json(JSON.stringify({ ...document, [field]: value })))),
    withOneString(document, hugeString).map((doc) => json(JSON.stringify(doc))),
  );
});

const hostileQuery: fc.Arbitrary<RawRequest> = fc.oneof(
  fc.tuple(fc.constantFrom("startIndex", "count"), fc.constantFrom("abc", "-1", "0.5", "1e999", "NaN", "9".repeat(400))).map(([name, value]) => ({ method: "GET", path: `/users?${name}=${value}` })),
  fc.constantFrom("201", "1000000").map((count) => ({ method: "GET", path: `/users?count=${count}` })),
  fc.tuple(fc.constantFrom("limit", "from", "to", "source", "cursor", "actorId", "unknown"), fc.oneof(fc.constantFrom("abc", "-1", "0", "1001", "", "2026-13-45", "x".repeat(1001)), invalidText)).map(([name, value]) => ({
    method: "GET",
    path: `/audit?${name}=${percentEncoded(value)}`,
  })),
  fc.constantFrom("%ED%A0%80", "%00", "%FF", "x".repeat(8000), "nope").map((id) => ({ method: "GET", path: `/users/${id}` })),
  fc.constantFrom("%ED%A0%80", "%00", "nope").map((id) => ({ method: "DELETE", path: `/mappings/${id}` })),
  fc.constantFrom("/nope", "/users/a/b/c", "/settings/x").map((path) => ({ method: "GET", path })),
  fc.constantFrom("", "Bearer", "Basic dXNlcjpwYXNz", `Bearer ${"x".repeat(5000)}`, "Bearer gpt_0000_bad").map((authorization) => ({ method: "GET", path: "/users", headers: { authorization } })),
);

const send = (request: RawRequest): Promise<RawResponse> =>
  client.send({ ...request, path: `/api/v1${request.path}`, headers: { authorization: `Bearer ${ownerToken}`, ...request.headers } });

function expectRefusedInAdminShape(request: RawRequest, res: RawResponse): void {
  const context = `${request.method} ${request.path.slice(0, 200)} ${String(request.body ?? "").slice(0, 200)} → ${res.status} ${res.text.slice(0, 300)}`;
  if (!(res.status >= 400 && res.status < 500)) throw new Error(`not a 4xx: ${context}`);
  const body = res.json as { error?: { code?: unknown; message?: unknown } } | undefined;
  if (!/^application\/json/.test(String(res.headers["content-type"])) || !body || Object.keys(body).join() !== "error" || typeof body.error?.code !== "string" || typeof body.error.message !== "string") {
    throw new Error(`not the admin error shape: ${context}`);
  }
}

async function everyAnswerIsARefusal(requests: fc.Arbitrary<RawRequest>): Promise<void> {
  const before = await storedState(t);
  await fc.assert(
    fc.asyncProperty(requests, async (request) => expectRefusedInAdminShape(request, await send(request))),
    { seed: propertySeed, numRuns: propertyRuns, endOnFailure: true },
  );
  expect(await storedState(t)).toEqual(before);
}

describe("the admin API under hostile input", () => {
  it("answers broken and wrong-typed bodies on every write route with a 4xx {error} and changes nothing", async () => {
    await everyAnswerIsARefusal(brokenBody);
  }, 60_000);

  it("answers garbage queries, ids and credentials with a 4xx {error} and changes nothing", async () => {
    await everyAnswerIsARefusal(hostileQuery);
  }, 60_000);
});

import fc from "fast-check";
import { runCommand } from "../../src/cli/commands";
import { csrfTokenOf } from "../../src/services/sessions";
import { operator, startTestApp, type TestApp } from "../support/app";
import { garbageText, invalidText, misleadingHeaders, truncated } from "./arbitraries";
import { percentEncoded, propertyRuns, propertySeed, rawClient, storedState, type RawClient, type RawRequest, type RawResponse } from "./support";

/**
 * Browser sessions (/api/v1/session…, the cookie and CSRF) under hostile input: forged, mangled
 * and oversized cookies, CSRF tokens and origins that do not belong to the session, and broken
 * bodies on the sign-out routes with a valid session. Every answer is a 4xx in the admin API's
 * error shape — never a 5xx — and no session ends or changes (the last-activity time aside).
 */

const COOKIE = "__Host-gatehouse_session";
let t: TestApp;
let client: RawClient;
let cookieValue: string;
let sessionId: string;
/** The session's own CSRF token, and one of a session with the same id but another secret. */
let csrf: string;
let otherCsrf: string;

beforeAll(async () => {
  t = await startTestApp();
  const cli = async (...argv: string[]) => JSON.parse((await runCommand(t.services, argv)).stdout[0]!);
  const org = await cli("org", "create", "Hostile Sessions", "--owner", "owner@sessions.example", "--json");
  const ctx = { ...operator, organizationId: org.id };
  const user = await t.services.users.get(ctx, org.ownerId);
  const session = await t.services.sessions.start({ ...ctx, source: "saml", actor: { type: "user", id: user.id, name: user.userName } }, user, { via: "saml" });
  cookieValue = session.cookieValue;
  sessionId = cookieValue.split(".")[0]!;
  csrf = csrfTokenOf(cookieValue)!;
  otherCsrf = csrfTokenOf(`${sessionId}.${Buffer.alloc(32, 7).toString("base64url")}`)!;
  client = await rawClient(t.app);
});
afterAll(async () => {
  await client?.close();
  await t?.close();
});

const routes = ["/session", "/session/sign-out", "/session/sign-out-everywhere", `/users/${"x"}/sign-out-everywhere`];

/** Cookie values that are not this session's: forged, mangled, oversized, not even text. */
const forgedCookie = () =>
  fc.oneof(
    fc.constantFrom("", ".", "..", "a.b", `${sessionId}.`, `${sessionId}.wrong-secret`, `.${cookieValue.split(".")[1]}`, `${sessionId}`, `"${sessionId}.x"`, "x".repeat(4000), `${cookieValue}x`, `x${cookieValue}`),
    fc.string({ maxLength: 60 }).map((s) => s.replace(/[;,\r\n]/g, "")),
    invalidText.map((s) => percentEncoded(s)),
    fc.constant(cookieValue.toUpperCase()),
  );

const withForgedCookie = (): fc.Arbitrary<RawRequest> =>
  fc.tuple(fc.constantFrom(...routes), fc.constantFrom("GET", "POST"), forgedCookie()).map(([path, method, value]) => ({
    method,
    path,
    headers: { cookie: `theme=dark; ${COOKIE}=${value}`, "content-type": "application/json" },
    ...(method === "POST" ? { body: "{}" } : {}),
  }));

/** The real cookie, but a CSRF token or Origin that does not go with it. */
const withForgedCsrf = (): fc.Arbitrary<RawRequest> =>
  fc.tuple(
    fc.constantFrom("/session/sign-out", "/session/sign-out-everywhere"),
    fc.oneof(
      fc.constantFrom("", "x", otherCsrf, `${csrf}x`, csrf.toUpperCase(), csrf.slice(1), "x".repeat(5000)).map((token): Record<string, string> => ({ "x-csrf-token": token })),
      fc.constant<Record<string, string>>({}),
      fc.constantFrom("https://evil.example", "null", "https://gatehouse.test.evil.example", "http://gatehouse.test").map((origin): Record<string, string> => ({ "x-csrf-token": csrf, origin })),
    ),
  ).map(([path, headers]) => ({ method: "POST", path, headers: { cookie: `${COOKIE}=${cookieValue}`, "content-type": "application/json", ...headers }, body: "{}" }));

/** The real cookie and CSRF token, with a body no route can read. */
const withBrokenBody = (): fc.Arbitrary<RawRequest> =>
  fc.tuple(
    fc.constantFrom("/session/sign-out", "/session/sign-out-everywhere"),
    fc.oneof(
      truncated({ reason: "leaving" }).map((body) => ({ body, headers: { "content-type": "application/json" } })),
      garbageText.filter((text) => text.trim() !== "").map((body) => ({ body, headers: { "content-type": "application/json" } })),
      fc.integer({ min: 33, max: 10_000 }).map((depth) => ({ body: `{"reason":${"[".repeat(depth)}${"]".repeat(depth)}}`, headers: { "content-type": "application/json" } })),
      invalidText.map((reason) => ({ body: JSON.stringify({ reason }), headers: { "content-type": "application/json" } })),
      misleadingHeaders.map((headers) => ({ body: '{"reason":"x"}', headers: { ...headers } })),
      fc.constant({ body: JSON.stringify({ reason: "x".repeat(120 * 1024) }), headers: { "content-type": "application/json" } }),
    ),
  ).map(([path, request]) => ({ method: "POST", path, body: request.body, headers: { cookie: `${COOKIE}=${cookieValue}`, "x-csrf-token": csrf, ...request.headers } }));

const send = (request: RawRequest): Promise<RawResponse> => client.send({ ...request, path: `/api/v1${request.path}` });

function expectRefusedInAdminShape(request: RawRequest, res: RawResponse): void {
  const context = `${request.method} ${request.path} ${JSON.stringify(request.headers).slice(0, 300)} ${String(request.body ?? "").slice(0, 100)} → ${res.status} ${res.text.slice(0, 200)}`;
  if (!(res.status >= 400 && res.status < 500)) throw new Error(`not a 4xx: ${context}`);
  const body = res.json as { error?: { code?: unknown; message?: unknown } } | undefined;
  if (!body || typeof body.error?.code !== "string" || typeof body.error.message !== "string") throw new Error(`not the admin error shape: ${context}`);
}

async function everyAnswerIsARefusal(requests: fc.Arbitrary<RawRequest>): Promise<void> {
  const before = await storedState(t);
  await fc.assert(
    fc.asyncProperty(requests, async (request) => expectRefusedInAdminShape(request, await send(request))),
    { seed: propertySeed, numRuns: propertyRuns, endOnFailure: true },
  );
  expect(await storedState(t)).toEqual(before);
  // The session still works: nothing above ended it.
  const res = await send({ method: "GET", path: "/session", headers: { cookie: `${COOKIE}=${cookieValue}` } });
  expect(res.status).toBe(200);
}

describe("browser sessions under hostile input", () => {
  it("answers forged, mangled and oversized session cookies with a 4xx {error} on every session route", async () => {
    await everyAnswerIsARefusal(withForgedCookie());
  }, 60_000);

  it("refuses sign-outs with a CSRF token or Origin that does not belong to the session, and the session lives on", async () => {
    await everyAnswerIsARefusal(withForgedCsrf());
  }, 60_000);

  it("refuses sign-outs whose body cannot be read (truncated, nested, invalid text, lying headers, oversized), and the session lives on", async () => {
    await everyAnswerIsARefusal(withBrokenBody());
  }, 60_000);
});

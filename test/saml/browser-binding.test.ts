import { createHash } from "node:crypto";
import request from "supertest";
import { serviceProviderUrls } from "../../src/domain/saml";
import { TestIdentityProvider } from "../support/saml-idp";
import { buildUser, operator, scimClient, startTestApp, type TestApp } from "../support/app";
import { Browser } from "../support/saml-browser";

/**
 * Issue 9 §2: a sign-in is bound to the browser that started it (login CSRF). Two cookie jars —
 * the victim's browser and the attacker's — against the real application and database; every
 * answer is correctly signed, so only the binding can refuse it.
 */

let t: TestApp;
let org: { id: string; token: string };
let idp: TestIdentityProvider;
let victim: string;
let mallory: string;

const ctx = () => ({ ...operator, organizationId: org.id });
const COOKIE = "__Host-gatehouse_saml_request";

async function configure(options: { idpInitiated?: boolean } = {}) {
  await t.services.saml.configure(ctx(), { idpEntityId: idp.entityId, ssoUrl: idp.ssoUrl, certificates: [idp.key.certificate], idpInitiated: options.idpInitiated ?? false });
}

/** Starts a sign-in in `browser`; returns the AuthnRequest id the identity provider answers. */
async function startSignIn(browser: Browser): Promise<string> {
  const res = await browser.get(`/auth/saml/${org.id}/login?RelayState=%2Fhome`);
  expect(res.status).toBe(302);
  return TestIdentityProvider.requestIdOf(res.headers.location!);
}

const post = (browser: Browser, samlResponse: string) => browser.postForm(`/auth/saml/${org.id}/acs`, { SAMLResponse: samlResponse, RelayState: "/home" });

const sessionCookie = (res: request.Response) =>
  ([] as string[])
    .concat(res.headers["set-cookie"] ?? [])
    .find((c) => c.includes("gatehouse_session="))
    ?.split(";")[0];

async function signedInAs(res: request.Response): Promise<string> {
  expect(res.status).toBe(303);
  return (await request(t.app).get("/api/v1/session").set("Cookie", sessionCookie(res)!).expect(200)).body.user.id;
}

async function lastRefusal() {
  const [event] = await t.db.models.AuditEvent.find({ organizationId: org.id, action: "saml.sign_in_refused" }).sort({ at: -1 }).limit(1).lean();
  return event as unknown as { after: { reason: string; detail?: string }; reason: string } | undefined;
}

async function expectOtherBrowser(res: request.Response) {
  expect(res.status).toBe(403);
  expect(res.headers["content-type"]).toMatch(/text\/html/);
  expect(res.text).toMatch(/started in another browser/);
  expect(sessionCookie(res)).toBeUndefined();
  expect((await lastRefusal())?.after.reason).toBe("other_browser");
}

beforeAll(async () => {
  t = await startTestApp();
  org = await t.organization("Login CSRF Co");
  idp = new TestIdentityProvider(serviceProviderUrls(t.config.publicBaseUrl, org.id));
  const scim = scimClient(t.app, org.token);
  victim = (await scim.post("/Users", buildUser({ userName: "victim@acme.example" })).expect(201)).body.id;
  mallory = (await scim.post("/Users", buildUser({ userName: "mallory@acme.example" })).expect(201)).body.id;
  await configure();
});
afterAll(() => t.close());

describe("a sign-in is bound to the browser that started it", () => {
  test("/login sets a short-lived __Host- cookie, SameSite=None; Secure; HttpOnly, holding only a hash of the AuthnRequest id", async () => {
    const browser = new Browser(t.app);
    const id = await startSignIn(browser);
    const header = browser.setCookies.find((c) => c.startsWith(`${COOKIE}=`))!;
    expect(header).toBeDefined();
    const attributes = header.split(";").map((a) => a.trim().toLowerCase());
    expect(attributes).toEqual(expect.arrayContaining(["path=/", "httponly", "secure", "samesite=none", "max-age=600"]));
    expect(attributes.some((a) => a.startsWith("domain="))).toBe(false);
    const value = browser.cookies.get(COOKIE)!;
    expect(value).toBe(createHash("sha256").update(`${org.id}/${id}`).digest("base64url"));
    expect(value).not.toContain(id);
    expect(value).not.toContain(id.slice(1));
  });

  test("the attacker's own valid answer, posted from the victim's browser, is refused and audited; the victim's own sign-in still works", async () => {
    const attacker = new Browser(t.app);
    const victimBrowser = new Browser(t.app);
    const attackersRequest = await startSignIn(attacker);
    const attackersAnswer = idp.response({ nameId: "mallory@acme.example", inResponseTo: attackersRequest });
    const victimsRequest = await startSignIn(victimBrowser);

    await expectOtherBrowser(await post(victimBrowser, attackersAnswer));
    expect((await lastRefusal())?.after.detail).toContain(attackersRequest);
    expect(await t.db.models.AuditEvent.countDocuments({ "target.id": mallory, action: "user.signed_in" })).toBe(0);

    expect(await signedInAs(await post(victimBrowser, idp.response({ nameId: "victim@acme.example", inResponseTo: victimsRequest })))).toBe(victim);
  });

  test("a browser with no sign-in cookie at all (a forged form on another site) is refused", async () => {
    const attacker = new Browser(t.app);
    const answer = idp.response({ nameId: "mallory@acme.example", inResponseTo: await startSignIn(attacker) });
    await expectOtherBrowser(await post(new Browser(t.app), answer));
  });

  test("a cookie holding anything but the hash (the id itself, garbage) does not bind", async () => {
    const attacker = new Browser(t.app);
    const id = await startSignIn(attacker);
    const planted = new Browser(t.app);
    planted.cookies.set(COOKIE, id);
    await expectOtherBrowser(await post(planted, idp.response({ nameId: "mallory@acme.example", inResponseTo: id })));
    const other = new Browser(t.app);
    const id2 = await startSignIn(attacker);
    other.cookies.set(COOKIE, "x".repeat(43));
    await expectOtherBrowser(await post(other, idp.response({ nameId: "mallory@acme.example", inResponseTo: id2 })));
  });

  test("the assertion consumer clears the cookie: the same answer again is refused", async () => {
    const browser = new Browser(t.app);
    const answer = idp.response({ nameId: "victim@acme.example", inResponseTo: await startSignIn(browser) });
    const first = await post(browser, answer);
    expect(await signedInAs(first)).toBe(victim);
    expect(([] as string[]).concat(first.headers["set-cookie"] ?? []).some((c) => c.startsWith(`${COOKIE}=;`))).toBe(true);
    expect(browser.cookies.has(COOKIE)).toBe(false);
    const again = await post(browser, answer);
    expect(again.status).toBe(403);
    expect(["unknown_request", "replayed", "other_browser"]).toContain((await lastRefusal())?.after.reason);
  });

  test("two sign-ins started in two tabs of one browser both complete, in either order", async () => {
    const browser = new Browser(t.app);
    const first = await startSignIn(browser);
    const second = await startSignIn(browser);
    expect(await signedInAs(await post(browser, idp.response({ nameId: "victim@acme.example", inResponseTo: second })))).toBe(victim);
    expect(await signedInAs(await post(browser, idp.response({ nameId: "victim@acme.example", inResponseTo: first })))).toBe(victim);
    expect(browser.cookies.has(COOKIE)).toBe(false);
  });

  test("a refused answer also spends the sign-in it answered: it cannot be retried from the same browser", async () => {
    const browser = new Browser(t.app);
    const id = await startSignIn(browser);
    const refused = await post(browser, idp.response({ nameId: "nobody@acme.example", inResponseTo: id }));
    expect(refused.status).toBe(403);
    expect(browser.cookies.has(COOKIE)).toBe(false);
  });

  test("IdP-initiated sign-in stays off by default; allowed, it is accepted without a cookie because it cannot be bound", async () => {
    const unsolicited = () => idp.response({ nameId: "victim@acme.example" });
    const refused = await post(new Browser(t.app), unsolicited());
    expect(refused.status).toBe(403);
    expect((await lastRefusal())?.after.reason).toBe("unsolicited");
    await configure({ idpInitiated: true });
    try {
      expect(await signedInAs(await post(new Browser(t.app), unsolicited()))).toBe(victim);
    } finally {
      await configure();
    }
  });
});

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { inspect } from "node:util";
import request from "supertest";
import { presentSamlConnection } from "../../src/admin/presenters";
import { serviceProviderUrls } from "../../src/domain/saml";
import { makeSigningKey, TestIdentityProvider, type SigningKey } from "../support/saml-idp";
import { buildUser, operator, scimClient, secondInstance, startTestApp, type TestApp } from "../support/app";
import { signInCookie } from "../support/saml-browser";

/**
 * SAML single logout (issue 5, "SP-initiated logout"), both ways, HTTP-Redirect binding, through
 * the real application and database with real signatures: instance A has the service provider's
 * signing key (SAML_SP_KEY_FILE / SAML_SP_CERT_FILE), instance B on the same database has none.
 */

let a: TestApp;
let b: TestApp;
let org: { id: string; token: string };
let idp: TestIdentityProvider;
let spKey: SigningKey;
let keyDir: string;

const REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
const EMAIL_FORMAT = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";
const RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";

const ctx = () => ({ ...operator, organizationId: org.id });
const logoutPath = () => `/auth/saml/${org.id}/logout`;

async function configure(options: { sloUrl?: string | null } = {}) {
  await a.services.saml.configure(ctx(), {
    idpEntityId: idp.entityId,
    ssoUrl: idp.ssoUrl,
    ...(options.sloUrl === null ? {} : { sloUrl: options.sloUrl ?? idp.sloUrl }),
    certificates: [idp.key.certificate],
  });
}

const sessionCookie = (res: request.Response) =>
  ([] as string[])
    .concat(res.headers["set-cookie"] ?? [])
    .find((c) => c.includes("gatehouse_session="))
    ?.split(";")[0];

/** A complete SP-initiated sign-in on `app`; returns the session cookie. */
async function signIn(app: TestApp, nameId: string, sessionIndex?: string): Promise<string> {
  const login = await request(app.app).get(`/auth/saml/${org.id}/login`).expect(302);
  const acs = await request(app.app)
    .post(`/auth/saml/${org.id}/acs`)
    .set("Cookie", signInCookie(login))
    .type("form")
    .send({ SAMLResponse: idp.response({ nameId, inResponseTo: TestIdentityProvider.requestIdOf(login.headers.location!), ...(sessionIndex ? { sessionIndex } : {}) }) })
    .expect(303);
  return sessionCookie(acs)!;
}

const alive = async (app: TestApp, cookie: string) => (await request(app.app).get("/api/v1/session").set("Cookie", cookie)).status === 200;

async function lastLogoutRefusal() {
  const [event] = await a.db.models.AuditEvent.find({ organizationId: org.id, action: "saml.logout_refused" }).sort({ at: -1 }).limit(1).lean();
  return event as { after: { message: string; reason: string; detail?: string } } | undefined;
}

async function expectRefused(res: request.Response, message: "LogoutRequest" | "LogoutResponse", reason: string, status = 403) {
  expect(res.status).toBe(status);
  expect(res.headers["content-type"]).toMatch(/text\/html/);
  expect(res.text).toMatch(/<h1>Sign-out (refused|incomplete)<\/h1>/);
  expect(res.text).not.toMatch(/at .+\.(js|ts):\d+/); // no stack trace
  expect(res.headers.location).toBeUndefined();
  expect((await lastLogoutRefusal())?.after).toMatchObject({ message, reason });
}

/** Starts SP-initiated logout with a session; returns the LogoutRequest Gatehouse sent. */
async function startLogout(app: TestApp, cookie: string, relayState = "/reports") {
  const res = await request(app.app).get(`${logoutPath()}?RelayState=${encodeURIComponent(relayState)}`).set("Cookie", cookie).expect(302);
  expect(res.headers.location!.startsWith(`${idp.sloUrl}?`)).toBe(true);
  expect(([] as string[]).concat(res.headers["set-cookie"] ?? []).join(";")).toMatch(/gatehouse_session=;/);
  return TestIdentityProvider.sentMessageOf(res.headers.location!);
}

beforeAll(async () => {
  spKey = makeSigningKey("gatehouse-sp");
  keyDir = mkdtempSync(path.join(tmpdir(), "gatehouse-sp-"));
  writeFileSync(path.join(keyDir, "sp.key"), spKey.privateKey, { mode: 0o600 });
  writeFileSync(path.join(keyDir, "sp.crt"), spKey.certificate);
  a = await startTestApp({ SAML_SP_KEY_FILE: path.join(keyDir, "sp.key"), SAML_SP_CERT_FILE: path.join(keyDir, "sp.crt") });
  b = await secondInstance(a);
  org = await a.organization("Single Logout Co");
  idp = new TestIdentityProvider(serviceProviderUrls(a.config.publicBaseUrl, org.id));
  const scim = scimClient(a.app, org.token);
  for (const userName of ["alice@example.com", "bob@example.com"]) await scim.post("/Users", buildUser({ userName })).expect(201);
  await configure();
});
afterAll(async () => {
  await b.close();
  await a.close();
  rmSync(keyDir, { recursive: true, force: true });
});

describe("the service provider's metadata", () => {
  test("with the service provider's key: its signing certificate and a SingleLogoutService (HTTP-Redirect), in schema order", async () => {
    const xml = (await request(a.app).get(`/auth/saml/${org.id}/metadata`).expect(200)).text;
    const certificate = spKey.certificate.replace(/-----(BEGIN|END) CERTIFICATE-----|\s+/g, "");
    expect(xml).toMatch(new RegExp(`<KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${certificate.replace(/[+/]/g, "\\$&")}</ds:X509Certificate>`));
    expect(xml).toContain(`<SingleLogoutService Binding="${REDIRECT}" Location="${idp.sp.logoutUrl}"/>`);
    expect(xml).not.toContain("HTTP-POST\" Location=\"" + idp.sp.logoutUrl);
    // Sign-in is unchanged: AuthnRequests stay unsigned.
    expect(xml).toContain('AuthnRequestsSigned="false"');
    const order = ["<KeyDescriptor", "<SingleLogoutService", "<NameIDFormat", "<AssertionConsumerService"].map((tag) => xml.indexOf(tag));
    expect(order.every((at) => at > 0)).toBe(true);
    expect([...order].sort((x, y) => x - y)).toEqual(order);
  });

  test("without it: neither a SingleLogoutService nor a KeyDescriptor", async () => {
    const xml = (await request(b.app).get(`/auth/saml/${org.id}/metadata`).expect(200)).text;
    expect(xml).not.toContain("SingleLogoutService");
    expect(xml).not.toContain("KeyDescriptor");
    expect(xml).toContain(`Location="${idp.sp.acsUrl}"`);
  });

  test("the connection's summary shows Gatehouse's signing certificate where it is configured, null elsewhere", async () => {
    const withKey = await a.services.saml.summary({ organizationId: org.id });
    expect(withKey.serviceProviderCertificate).toMatchObject({ subject: "CN=gatehouse-sp", expiresSoon: false });
    expect(presentSamlConnection(withKey).serviceProvider.signingCertificate).toMatchObject({ subject: "CN=gatehouse-sp" });
    const withoutKey = await b.services.saml.summary({ organizationId: org.id });
    expect(presentSamlConnection(withoutKey).serviceProvider.signingCertificate).toBeNull();
  });

  test("the key never appears in the configuration's printed or serialised form", () => {
    const key = a.config.samlServiceProvider!;
    const body = spKey.privateKey.split("\n")[1]!;
    expect(JSON.stringify(a.config)).not.toContain(body);
    expect(inspect(a.config, { depth: 10 })).not.toContain(body);
    expect(key.certificate).toContain("BEGIN CERTIFICATE");
  });
});

describe("SP-initiated logout", () => {
  test("ends the session at once and sends the browser to the identity provider with a signed LogoutRequest naming its NameID and SessionIndex", async () => {
    const cookie = await signIn(a, "alice@example.com", "_idp-session-1");
    const sent = await startLogout(a, cookie);
    expect(sent).toMatchObject({
      kind: "SAMLRequest",
      destination: idp.sloUrl,
      relayState: "/reports",
      sigAlg: RSA_SHA256,
      nameId: "alice@example.com",
      nameIdFormat: EMAIL_FORMAT,
      sessionIndex: "_idp-session-1",
      issuer: idp.sp.entityId,
    });
    expect(sent.xml).toContain(`Destination="${idp.sloUrl}"`);
    // What Okta does with it: the query-string signature verifies with the certificate in the metadata.
    expect(TestIdentityProvider.signatureVerifies(sent, spKey.certificate)).toBe(true);
    expect(TestIdentityProvider.signatureVerifies(sent, idp.key.certificate)).toBe(false);
    // Dead at once, on every instance, before the identity provider answers.
    expect(await alive(a, cookie)).toBe(false);
    expect(await alive(b, cookie)).toBe(false);
    const ended = await a.db.models.AuditEvent.find({ organizationId: org.id, action: "session.ended", source: "saml", "actor.type": "user" }).lean();
    expect(ended.length).toBeGreaterThan(0);

    // The identity provider's answer (taken by the other instance) shows the signed-out page.
    const answer = await request(b.app).get(`${logoutPath()}?${idp.logoutResponse({ inResponseTo: sent.id, relayState: sent.relayState! })}`).expect(200);
    expect(answer.text).toMatch(/<h1>Signed out<\/h1>/);
    expect(answer.text).toContain("and of your identity provider");
    expect(answer.text).toContain('<a href="/reports">Continue</a>');

    // The same answer again is not accepted: each LogoutRequest is answered once.
    await expectRefused(await request(a.app).get(`${logoutPath()}?${idp.logoutResponse({ inResponseTo: sent.id })}`), "LogoutResponse", "unknown_request");
  });

  test("a RelayState with characters URLSearchParams and querystring encode differently still carries a valid signature", async () => {
    const cookie = await signIn(a, "alice@example.com");
    const sent = await startLogout(a, cookie, "/reports/Q1 (draft)!~'x");
    expect(sent.relayState).toBe("/reports/Q1 (draft)!~'x");
    expect(TestIdentityProvider.signatureVerifies(sent, spKey.certificate)).toBe(true);
  });

  test("a return path to another site is not passed on (no open redirect)", async () => {
    const cookie = await signIn(a, "alice@example.com");
    const sent = await startLogout(a, cookie, "https://evil.example/phish");
    expect(sent.relayState).toBe("/");
  });

  test("without the service provider's key, the LogoutRequest goes unsigned (Entra ID accepts it)", async () => {
    const cookie = await signIn(b, "alice@example.com", "_idp-session-2");
    const sent = await startLogout(b, cookie);
    expect(sent).toMatchObject({ nameId: "alice@example.com", sessionIndex: "_idp-session-2", sigAlg: null, signature: null });
    expect(await alive(a, cookie)).toBe(false);
  });

  test("a session that already timed out still continues to the identity provider", async () => {
    const cookie = await signIn(a, "alice@example.com", "_idp-session-3");
    await a.db.models.Session.collection.updateOne({ _id: cookie.split("=")[1]!.split(".")[0] } as never, { $set: { lastSeenAt: new Date(Date.now() - 86_400_000) } });
    const sent = await startLogout(a, cookie);
    expect(sent.sessionIndex).toBe("_idp-session-3");
  });

  test("without an SLO URL on the connection, or without a session, only the Gatehouse session ends", async () => {
    await configure({ sloUrl: null });
    try {
      const cookie = await signIn(a, "alice@example.com");
      const res = await request(a.app).get(logoutPath()).set("Cookie", cookie).expect(200);
      expect(res.text).toContain("To end your session at your identity provider too, sign out there.");
      expect(await alive(a, cookie)).toBe(false);
    } finally {
      await configure();
    }
    const anonymous = await request(a.app).get(logoutPath()).expect(200);
    expect(anonymous.text).toMatch(/Signed out/);
  });

  test("POST works as GET", async () => {
    const cookie = await signIn(a, "alice@example.com");
    const res = await request(a.app).post(logoutPath()).type("form").send({ RelayState: "/home" }).set("Cookie", cookie).expect(302);
    expect(TestIdentityProvider.sentMessageOf(res.headers.location!)).toMatchObject({ nameId: "alice@example.com", relayState: "/home" });
  });
});

describe("the identity provider's LogoutResponse, each bad one refused and audited", () => {
  async function sentRequest() {
    return startLogout(a, await signIn(a, "alice@example.com"));
  }

  test("a bad signature", async () => {
    const sent = await sentRequest();
    await expectRefused(await request(a.app).get(`${logoutPath()}?${idp.logoutResponse({ inResponseTo: sent.id, key: makeSigningKey("attacker") })}`), "LogoutResponse", "invalid_signature");
  });

  test("an rsa-sha1 signature", async () => {
    const sent = await sentRequest();
    await expectRefused(await request(a.app).get(`${logoutPath()}?${idp.logoutResponse({ inResponseTo: sent.id, algorithm: "sha1" })}`), "LogoutResponse", "weak_signature_algorithm");
  });

  test("an InResponseTo Gatehouse never sent, or none", async () => {
    await expectRefused(await request(a.app).get(`${logoutPath()}?${idp.logoutResponse({ inResponseTo: "_never-sent" })}`), "LogoutResponse", "unknown_request");
    await expectRefused(await request(a.app).get(`${logoutPath()}?${idp.logoutResponse({})}`), "LogoutResponse", "unknown_request");
  });

  test("an AuthnRequest's id is no LogoutRequest's", async () => {
    const login = await request(a.app).get(`/auth/saml/${org.id}/login`).expect(302);
    const authnRequestId = TestIdentityProvider.requestIdOf(login.headers.location!);
    await expectRefused(await request(a.app).get(`${logoutPath()}?${idp.logoutResponse({ inResponseTo: authnRequestId })}`), "LogoutResponse", "unknown_request");
  });

  test("another issuer, signed with the trusted key", async () => {
    const sent = await sentRequest();
    await expectRefused(await request(a.app).get(`${logoutPath()}?${idp.logoutResponse({ inResponseTo: sent.id, issuer: "https://evil-idp.example.com" })}`), "LogoutResponse", "wrong_issuer");
  });

  test("addressed to another service", async () => {
    const sent = await sentRequest();
    await expectRefused(await request(a.app).get(`${logoutPath()}?${idp.logoutResponse({ inResponseTo: sent.id, destination: "https://other.example/logout" })}`), "LogoutResponse", "wrong_destination");
  });

  test("an error status: the identity provider did not sign out", async () => {
    const sent = await sentRequest();
    const res = await request(a.app).get(`${logoutPath()}?${idp.logoutResponse({ inResponseTo: sent.id, status: "urn:oasis:names:tc:SAML:2.0:status:Responder" })}`);
    await expectRefused(res, "LogoutResponse", "idp_error");
    expect(res.text).toContain("You are signed out of this application");
  });

  test("an unsigned response answering a request sent here is accepted (the IdP need not sign it)", async () => {
    const sent = await sentRequest();
    await request(a.app).get(`${logoutPath()}?${idp.logoutResponse({ inResponseTo: sent.id, sign: false })}`).expect(200);
  });

  test("garbage, a DOCTYPE, or the HTTP-POST binding", async () => {
    await expectRefused(await request(a.app).get(`${logoutPath()}?SAMLResponse=not-deflate`), "LogoutResponse", "malformed", 400);
    const doctype = `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>${idp.logoutResponseXml({ inResponseTo: "_x" })}`;
    await expectRefused(await request(a.app).get(`${logoutPath()}?${idp.redirectQuery("SAMLResponse", doctype)}`), "LogoutResponse", "malformed", 400);
    await expectRefused(await request(a.app).post(logoutPath()).type("form").send({ SAMLResponse: "PHg+" }), "LogoutResponse", "unsupported_binding", 400);
  });
});

describe("IdP-initiated logout", () => {
  test("a signed LogoutRequest ends the sessions of its NameID and SessionIndex, on every instance, and is answered with a signed LogoutResponse", async () => {
    const first = await signIn(a, "alice@example.com", "_s-first");
    const second = await signIn(b, "alice@example.com", "_s-second");
    const bob = await signIn(a, "bob@example.com", "_s-first");
    const logoutRequest = idp.logoutRequest({ nameId: "alice@example.com", sessionIndexes: ["_s-first"], relayState: "idp-state-1" });

    const res = await request(a.app).get(`${logoutPath()}?${logoutRequest}`).set("Cookie", first).expect(302);
    expect(([] as string[]).concat(res.headers["set-cookie"] ?? []).join(";")).toMatch(/gatehouse_session=;/);
    const answer = TestIdentityProvider.sentMessageOf(res.headers.location!);
    expect(answer).toMatchObject({ kind: "SAMLResponse", destination: idp.sloUrl, relayState: "idp-state-1", statusCode: "urn:oasis:names:tc:SAML:2.0:status:Success", issuer: idp.sp.entityId });
    expect(answer.xml).toContain(`Destination="${idp.sloUrl}"`);
    expect(TestIdentityProvider.signatureVerifies(answer, spKey.certificate)).toBe(true);

    // The next request, wherever it lands: alice's first session is gone, her second and bob's remain.
    expect(await alive(b, first)).toBe(false);
    expect(await alive(a, first)).toBe(false);
    expect(await alive(a, second)).toBe(true);
    expect(await alive(b, bob)).toBe(true);
    const [event] = await a.db.models.AuditEvent.find({ organizationId: org.id, action: "session.ended", "actor.type": "saml_connection" }).sort({ at: -1 }).limit(1).lean();
    expect(event).toMatchObject({ source: "saml", reason: "Signed out at the identity provider (SAML single logout)" });

    // Without a SessionIndex, every session of the NameID ends; received by the instance without a key, the answer is unsigned.
    const all = await request(b.app).get(`${logoutPath()}?${idp.logoutRequest({ nameId: "alice@example.com" })}`).expect(302);
    expect(TestIdentityProvider.sentMessageOf(all.headers.location!)).toMatchObject({ kind: "SAMLResponse", signature: null });
    expect(await alive(a, second)).toBe(false);
    expect(await alive(a, bob)).toBe(true);
  });

  test("the LogoutResponse answers the request it was sent for", async () => {
    const id = "_lr-answered-1";
    const res = await request(a.app).get(`${logoutPath()}?${idp.logoutRequest({ nameId: "nobody@example.com", id })}`).expect(302);
    expect(TestIdentityProvider.sentMessageOf(res.headers.location!).inResponseTo).toBe(id);
  });

  test("without an SLO URL on the connection the sessions still end, and a page says so", async () => {
    const cookie = await signIn(a, "alice@example.com");
    await configure({ sloUrl: null });
    try {
      const res = await request(a.app).get(`${logoutPath()}?${idp.logoutRequest({ nameId: "alice@example.com" })}`).expect(200);
      expect(res.text).toMatch(/Signed out/);
      expect(await alive(a, cookie)).toBe(false);
    } finally {
      await configure();
    }
  });

  describe("a LogoutRequest that ends nothing", () => {
    let cookie: string;
    beforeEach(async () => {
      cookie = await signIn(a, "alice@example.com");
    });
    afterEach(async () => {
      expect(await alive(a, cookie)).toBe(true);
    });

    test("unsigned", async () => {
      await expectRefused(await request(a.app).get(`${logoutPath()}?${idp.logoutRequest({ nameId: "alice@example.com", sign: false })}`), "LogoutRequest", "unsigned");
    });

    test("signed by another key (forged)", async () => {
      await expectRefused(await request(a.app).get(`${logoutPath()}?${idp.logoutRequest({ nameId: "alice@example.com", key: makeSigningKey("attacker") })}`), "LogoutRequest", "invalid_signature");
    });

    test("tampered with after signing (another NameID)", async () => {
      const signed = idp.logoutRequest({ nameId: "bob@example.com" });
      const forged = idp.redirectQuery("SAMLRequest", idp.logoutRequestXml({ nameId: "alice@example.com" }), { sign: false });
      const tampered = `${forged}&${signed.slice(signed.indexOf("SigAlg="))}`;
      await expectRefused(await request(a.app).get(`${logoutPath()}?${tampered}`), "LogoutRequest", "invalid_signature");
    });

    test("from another issuer, signed with the trusted key", async () => {
      await expectRefused(await request(a.app).get(`${logoutPath()}?${idp.logoutRequest({ nameId: "alice@example.com", issuer: "https://evil-idp.example.com" })}`), "LogoutRequest", "wrong_issuer");
    });

    test("signed with rsa-sha1", async () => {
      await expectRefused(await request(a.app).get(`${logoutPath()}?${idp.logoutRequest({ nameId: "alice@example.com", algorithm: "sha1" })}`), "LogoutRequest", "weak_signature_algorithm");
    });

    test("issued long ago", async () => {
      const old = idp.logoutRequest({ nameId: "alice@example.com", issueInstant: new Date(Date.now() - 60 * 60_000) });
      await expectRefused(await request(a.app).get(`${logoutPath()}?${old}`), "LogoutRequest", "expired");
    });

    test("replayed (the same URL again ends nothing begun since)", async () => {
      const logoutRequest = idp.logoutRequest({ nameId: "nobody@example.com" });
      await request(a.app).get(`${logoutPath()}?${logoutRequest}`).expect(302);
      await expectRefused(await request(b.app).get(`${logoutPath()}?${logoutRequest}`), "LogoutRequest", "replayed");
    });

    test("sent with the HTTP-POST binding", async () => {
      await expectRefused(await request(a.app).post(logoutPath()).type("form").send({ SAMLRequest: "PHg+" }), "LogoutRequest", "unsupported_binding", 400);
    });
  });

  test("an organization without a SAML connection answers with a page", async () => {
    const other = await a.organization("No SAML Co");
    const res = await request(a.app).get(`/auth/saml/${other.id}/logout?${idp.logoutRequest({ nameId: "alice@example.com" })}`).expect(404);
    expect(res.text).toMatch(/No SAML connection/);
  });
});

describe("housekeeping", () => {
  test("sessions found by NameID through a lookup key, dropped from it once swept", async () => {
    const cookie = await signIn(a, "bob@example.com");
    const sessionId = cookie.split("=")[1]!.split(".")[0]!;
    const key = `${org.id}/session.samlSession/bob@example.com`;
    expect((await a.db.models.LookupKey.findById(key).lean())?.owners).toContain(sessionId);
    const later = await secondInstance(a, {}, { sessionClock: () => new Date(Date.now() + 3 * 86_400_000) });
    try {
      expect(await later.services.sessions.sweep()).toBeGreaterThan(0);
    } finally {
      await later.close();
    }
    expect((await a.db.models.LookupKey.findById(key).lean())?.owners ?? []).not.toContain(sessionId);
  });
});

import request from "supertest";
import { serviceProviderUrls } from "../../src/domain/saml";
import { decode, encode, makeSigningKey, TestIdentityProvider, type ResponseOptions } from "../support/saml-idp";
import { buildUser, operator, patchSchema, scimClient, startTestApp, type TestApp } from "../support/app";
import { Browser } from "../support/saml-browser";

/**
 * SAML sign-in end to end through the real application and database, with responses signed by a
 * test key: the login rules, and one test per attack (issue 5). Every refusal shows a page (never
 * a stack trace) and leaves an audit event with its reason.
 */

let t: TestApp;
let org: { id: string; token: string };
let idp: TestIdentityProvider;
let scim: ReturnType<typeof scimClient>;

const ctx = () => ({ ...operator, organizationId: org.id });

async function configure(options: { jit?: boolean; groupSync?: boolean; idpInitiated?: boolean; certificates?: string[] } = {}) {
  await t.services.saml.configure(ctx(), {
    idpEntityId: idp.entityId,
    ssoUrl: idp.ssoUrl,
    certificates: options.certificates ?? [idp.key.certificate],
    jit: options.jit ?? false,
    groupSync: options.groupSync ?? false,
    idpInitiated: options.idpInitiated ?? false,
    signatures: "assertion",
  });
}

/** The person's browser: it starts sign-ins and posts the identity provider's answers back. */
let browser: Browser;

/** Starts a sign-in at Gatehouse in a browser; returns the AuthnRequest id to answer. */
async function startSignIn(returnTo = "/reports", from: Browser = browser): Promise<string> {
  const res = await from.get(`/auth/saml/${org.id}/login?RelayState=${encodeURIComponent(returnTo)}`);
  expect(res.status).toBe(302);
  expect(res.headers.location!.startsWith(idp.ssoUrl)).toBe(true);
  return TestIdentityProvider.requestIdOf(res.headers.location!);
}

/** The identity provider's answer, posted by a browser (the person's by default) to the assertion consumer. */
const post = (samlResponse: string, relayState = "/reports", from: Browser = browser) => from.postForm(`/auth/saml/${org.id}/acs`, { SAMLResponse: samlResponse, RelayState: relayState });

/** A complete SP-initiated sign-in; returns the response to the assertion consumer. */
async function signIn(nameId: string, options: Partial<ResponseOptions> = {}) {
  const inResponseTo = await startSignIn();
  return post(idp.response({ nameId, inResponseTo, ...options }));
}

const sessionCookie = (res: request.Response) => {
  const cookies = ([] as string[]).concat(res.headers["set-cookie"] ?? []);
  const session = cookies.find((c) => c.includes("gatehouse_session="));
  return session?.split(";")[0];
};

async function lastRefusal() {
  const [event] = await t.db.models.AuditEvent.find({ organizationId: org.id, action: "saml.sign_in_refused" }).sort({ at: -1 }).limit(1).lean();
  return event as { after: { reason: string; detail?: string }; reason: string } | undefined;
}

/** The refusal is a page for the person and an audit event with the reason for the administrator. */
async function expectRefused(res: request.Response, reason: string, status = 403) {
  expect(res.status).toBe(status);
  expect(res.headers["content-type"]).toMatch(/text\/html/);
  expect(res.text).toMatch(/<h1>/);
  expect(res.text).not.toMatch(/at .+\.(js|ts):\d+/); // no stack trace
  expect(sessionCookie(res)).toBeUndefined();
  expect((await lastRefusal())?.after.reason).toBe(reason);
}

let alice: string;

beforeAll(async () => {
  t = await startTestApp();
  org = await t.organization("SAML Co");
  scim = scimClient(t.app, org.token);
  idp = new TestIdentityProvider(serviceProviderUrls(t.config.publicBaseUrl, org.id));
  browser = new Browser(t.app);
  alice = (await scim.post("/Users", buildUser({ userName: "alice@example.com", displayName: "Alice" })).expect(201)).body.id;
  await configure();
});
afterAll(() => t.close());

describe("signing in", () => {
  test("a provisioned, active user signs in through a signed response and uses the admin API with the session", async () => {
    const res = await signIn("alice@example.com");
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe("/reports");
    const cookie = sessionCookie(res);
    expect(cookie).toBeDefined();
    const session = await request(t.app).get("/api/v1/session").set("Cookie", cookie!).expect(200);
    expect(session.body.user.id).toBe(alice);
    const me = await request(t.app).get(`/api/v1/users/${alice}/access`).set("Cookie", cookie!).expect(200);
    expect(me.body.organizationRole).toBe("read_only");
    const [signedIn] = await t.db.models.AuditEvent.find({ "target.id": alice, action: "user.signed_in" }).lean();
    expect(signedIn).toMatchObject({ source: "saml", actor: { type: "user", id: alice } });
    expect((await t.services.users.get(ctx(), alice)).lastLogin).toBeInstanceOf(Date);
    const member = await request(t.app).get(`/api/v1/users/${alice}`).set("Cookie", cookie!).expect(200);
    expect(Date.parse(member.body.lastLogin)).toBeGreaterThan(Date.now() - 60_000);
    const reviewed = (await t.services.accessReview.review(ctx())).users.find((u) => u.id === alice);
    expect(reviewed?.lastLogin).toBeInstanceOf(Date);
  });

  test("a return path to another site is ignored (no open redirect)", async () => {
    const inResponseTo = await startSignIn();
    const res = await post(idp.response({ nameId: "alice@example.com", inResponseTo }), "https://evil.example/phish");
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe("/");
  });

  test("the service provider's metadata names the assertion consumer and requests signed assertions", async () => {
    const res = await request(t.app).get(`/auth/saml/${org.id}/metadata`).expect(200);
    expect(res.text).toContain(`Location="${idp.sp.acsUrl}"`);
    expect(res.text).toContain(`entityID="${idp.sp.entityId}"`);
    expect(res.text).toContain('WantAssertionsSigned="true"');
    expect(res.text).toContain("urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress");
  });

  test("the AuthnRequest asks for no particular NameID format (each IdP sends the one its app uses)", async () => {
    const res = await browser.get(`/auth/saml/${org.id}/login`);
    expect(res.status).toBe(302);
    const xml = (await import("node:zlib")).inflateRawSync(Buffer.from(new URL(res.headers.location!).searchParams.get("SAMLRequest")!, "base64")).toString("utf8");
    expect(xml).toContain(`AssertionConsumerServiceURL="${idp.sp.acsUrl}"`);
    expect(xml).not.toMatch(/NameIDPolicy[^>]*Format=/);
    expect(xml).not.toContain("RequestedAuthnContext");
  });

  test("a deactivated user is refused, and so is an unknown one without JIT", async () => {
    const bob = (await scim.post("/Users", buildUser({ userName: "bob@example.com" })).expect(201)).body.id;
    await scim.patch(`/Users/${bob}`, { schemas: [patchSchema], Operations: [{ op: "replace", path: "active", value: false }] }).expect(200);
    await expectRefused(await signIn("bob@example.com"), "inactive_user");
    await expectRefused(await signIn("nobody@example.com"), "unknown_subject");
    expect(await t.services.users.findByUserName(ctx(), "nobody@example.com")).toBeUndefined();
  });

  test("a suspended user is refused even though the identity provider says active", async () => {
    const carol = (await scim.post("/Users", buildUser({ userName: "carol@example.com" })).expect(201)).body.id;
    await t.services.users.setSuspended(ctx(), carol, true, "incident 42");
    await expectRefused(await signIn("carol@example.com"), "suspended_user");
  });

  test("with JIT on, an unknown person becomes a member managed by SAML, read-only in the admin API", async () => {
    await configure({ jit: true });
    try {
      const res = await signIn("dora@example.com", { attributes: { email: ["dora@example.com"], displayName: ["Dora Explorer"] } });
      expect(res.status).toBe(303);
      const dora = await t.services.users.findByUserName(ctx(), "dora@example.com");
      expect(dora).toMatchObject({ managedBy: "saml", displayName: "Dora Explorer", active: true });
      const [provisioned] = await t.db.models.AuditEvent.find({ "target.id": dora!.id, action: "user.provisioned" }).lean();
      expect(provisioned).toMatchObject({ source: "saml", actor: { type: "saml_connection" } });
    } finally {
      await configure();
    }
  });

  test("with group sync on, the asserted groups map onto roles; a groups link (Entra overage) never strips access", async () => {
    await configure({ groupSync: true });
    try {
      await t.services.access.addMapping(ctx(), { match: { kind: "display_name", value: "Analytics Admins" }, organizationRole: "admin" });
      const erin = (await scim.post("/Users", buildUser({ userName: "erin@example.com" })).expect(201)).body.id;
      const first = await signIn("erin@example.com", { attributes: { groups: ["Analytics Admins", "Everyone"] } });
      expect(first.status).toBe(303);
      expect((await t.services.access.accessOf(ctx(), erin)).organizationRole).toBe("admin");

      const overage = await signIn("erin@example.com", { attributes: { "http://schemas.microsoft.com/claims/groups.link": ["https://graph.microsoft.com/v1.0/users/erin/getMemberObjects"] } });
      expect(overage.status).toBe(303);
      expect((await t.services.access.accessOf(ctx(), erin)).organizationRole).toBe("admin");
      const [skipped] = await t.db.models.AuditEvent.find({ "target.id": erin, action: "saml.group_sync_skipped" }).lean();
      expect(skipped?.reason).toMatch(/150 groups/);

      const removed = await signIn("erin@example.com", { attributes: { groups: ["Everyone"] } });
      expect(removed.status).toBe(303);
      expect((await t.services.access.accessOf(ctx(), erin)).organizationRole).toBe("read_only");
    } finally {
      await configure();
    }
  });

  test("JIT at a full seat limit is refused with a page, and nobody is created", async () => {
    await configure({ jit: true });
    await t.services.access.setSeatLimit(ctx(), 1);
    try {
      await expectRefused(await signIn("gina@example.com"), "seat_limit");
      expect(await t.services.users.findByUserName(ctx(), "gina@example.com")).toBeUndefined();
    } finally {
      await t.services.access.setSeatLimit(ctx(), undefined);
      await configure();
    }
  });

  test("where a mapping is required for access, a member without one is refused", async () => {
    await t.services.access.setSettings(ctx(), { requireMappingForAccess: true });
    try {
      await expectRefused(await signIn("alice@example.com"), "no_access");
    } finally {
      await t.services.access.setSettings(ctx(), { requireMappingForAccess: false });
    }
  });
});

describe("attacks, each refused", () => {
  test("an unsigned response", async () => {
    await expectRefused(await signIn("alice@example.com", { sign: "none" }), "invalid_signature");
  });

  test("a response tampered with after signing (another user's name)", async () => {
    const inResponseTo = await startSignIn();
    const tampered = decode(idp.response({ nameId: "alice@example.com", inResponseTo })).replace("alice@example.com", "admin@example.com");
    await expectRefused(await post(encode(tampered)), "invalid_signature");
  });

  test("a response signed by an unknown certificate", async () => {
    await expectRefused(await signIn("alice@example.com", { key: makeSigningKey("attacker") }), "invalid_signature");
  });

  test("an rsa-sha1 signature", async () => {
    await expectRefused(await signIn("alice@example.com", { algorithm: "sha1" }), "weak_signature_algorithm");
  });

  test("an expired assertion (beyond the allowed clock skew)", async () => {
    await expectRefused(await signIn("alice@example.com", { notBefore: new Date(Date.now() - 20 * 60_000), notOnOrAfter: new Date(Date.now() - 5 * 60_000) }), "expired");
  });

  test("an assertion not valid yet", async () => {
    await expectRefused(await signIn("alice@example.com", { notBefore: new Date(Date.now() + 10 * 60_000), notOnOrAfter: new Date(Date.now() + 20 * 60_000) }), "not_yet_valid");
  });

  test("an assertion for another service (wrong audience)", async () => {
    await expectRefused(await signIn("alice@example.com", { audience: "https://other-app.example.com/saml" }), "wrong_audience");
  });

  test("a response from another identity provider (wrong issuer), signed with the trusted key", async () => {
    await expectRefused(await signIn("alice@example.com", { issuer: "https://evil-idp.example.com" }), "wrong_issuer");
  });

  test("a response addressed to another service (Destination) or another recipient", async () => {
    await expectRefused(await signIn("alice@example.com", { destination: "https://other-app.example.com/acs" }), "wrong_destination");
    await expectRefused(await signIn("alice@example.com", { recipient: "https://other-app.example.com/acs" }), "wrong_recipient");
  });

  test("an answer to a request Gatehouse never sent, and an unsolicited one when IdP-initiated sign-in is off", async () => {
    await expectRefused(await post(idp.response({ nameId: "alice@example.com", inResponseTo: "_never-sent" })), "unknown_request");
    await expectRefused(await post(idp.response({ nameId: "alice@example.com" })), "unsolicited");
  });

  test("a replayed SP-initiated response", async () => {
    const inResponseTo = await startSignIn();
    const response = idp.response({ nameId: "alice@example.com", inResponseTo });
    expect((await post(response)).status).toBe(303);
    const replay = await post(response);
    expect(replay.status).toBe(403);
    expect(["replayed", "unknown_request"]).toContain((await lastRefusal())?.after.reason);
  });

  test("a replayed IdP-initiated response (the Okta tile), once IdP-initiated sign-in is allowed", async () => {
    await configure({ idpInitiated: true });
    try {
      const response = idp.response({ nameId: "alice@example.com" });
      expect((await post(response)).status).toBe(303);
      await expectRefused(await post(response), "replayed");
    } finally {
      await configure();
    }
  });

  test("signature wrapping: an unsigned assertion placed before the signed one", async () => {
    const inResponseTo = await startSignIn();
    const signed = decode(idp.response({ nameId: "alice@example.com", inResponseTo }));
    const evil = idp.responseXml({ nameId: "admin@example.com", inResponseTo });
    const evilAssertion = /<saml:Assertion[\s\S]*<\/saml:Assertion>/.exec(evil)![0].replace(/ID="[^"]+"/, 'ID="_evil"');
    const wrapped = signed.replace("<saml:Assertion", `${evilAssertion}<saml:Assertion`);
    await expectRefused(await post(encode(wrapped)), "signature_wrapping");
  });

  test("signature wrapping: the signed assertion hidden in an extension, an evil one in its place", async () => {
    const inResponseTo = await startSignIn();
    const signed = decode(idp.response({ nameId: "alice@example.com", inResponseTo }));
    const original = /<saml:Assertion[\s\S]*<\/saml:Assertion>/.exec(signed)![0];
    const evil = original.replace("alice@example.com", "admin@example.com").replace(/<ds:Signature[\s\S]*<\/ds:Signature>/, "");
    const wrapped = signed.replace(original, `<samlp:Extensions>${original}</samlp:Extensions>${evil}`);
    await expectRefused(await post(encode(wrapped)), "signature_wrapping");
  });

  test("signature wrapping: the whole signed response wrapped in an evil one", async () => {
    const inResponseTo = await startSignIn();
    const signed = decode(idp.response({ nameId: "alice@example.com", inResponseTo, sign: "both" }));
    const evil = idp.responseXml({ nameId: "admin@example.com", inResponseTo });
    const wrapped = evil.replace("</samlp:Response>", `<samlp:Extensions>${signed}</samlp:Extensions></samlp:Response>`);
    await expectRefused(await post(encode(wrapped)), "signature_wrapping");
  });

  test("a comment in the NameID does not truncate who signs in", async () => {
    const mallory = (await scim.post("/Users", buildUser({ userName: "alice@example.com.evil.test" })).expect(201)).body.id;
    const inResponseTo = await startSignIn();
    const res = await post(idp.response({ nameId: "alice@example.com<!---->.evil.test", inResponseTo }));
    if (res.status === 303) {
      const session = await request(t.app).get("/api/v1/session").set("Cookie", sessionCookie(res)!).expect(200);
      expect(session.body.user.id).toBe(mallory);
    } else {
      expect(res.status).toBe(403);
    }
  });

  test("a document type declaration (XXE) is refused before anything is parsed", async () => {
    const xml = `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>${idp.responseXml({ nameId: "alice@example.com" })}`;
    await expectRefused(await post(encode(xml)), "malformed", 400);
  });

  test("an error status from the identity provider", async () => {
    await expectRefused(await signIn("alice@example.com", { status: "urn:oasis:names:tc:SAML:2.0:status:Requester", sign: "none" }), "idp_error");
  });

  test("a sign-in for an organization without a connection gets a clear page", async () => {
    const other = await t.organization("No SAML Co");
    const res = await request(t.app).get(`/auth/saml/${other.id}/login`).expect(404);
    expect(res.text).toMatch(/No SAML connection/);
  });
});

describe("connection settings", () => {
  test("a connection that requires the whole response signed refuses a response whose assertion alone is signed", async () => {
    await t.services.saml.configure(ctx(), { idpEntityId: idp.entityId, ssoUrl: idp.ssoUrl, certificates: [idp.key.certificate], signatures: "both" });
    try {
      await expectRefused(await signIn("alice@example.com"), "invalid_signature");
      expect((await signIn("alice@example.com", { sign: "both" })).status).toBe(303);
    } finally {
      await configure();
    }
  });

  test("Entra ID's default claim names are read without configuration", async () => {
    await configure({ jit: true, groupSync: true });
    try {
      const res = await signIn("frank@contoso.example", {
        attributes: {
          "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress": ["frank@contoso.example"],
          "http://schemas.microsoft.com/identity/claims/displayname": ["Frank Contoso"],
          "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups": ["Finance", "Everyone"],
        },
      });
      expect(res.status).toBe(303);
      const frank = await t.services.users.findByUserName(ctx(), "frank@contoso.example");
      expect(frank).toMatchObject({ displayName: "Frank Contoso", emails: [expect.objectContaining({ value: "frank@contoso.example" })], samlGroups: ["Finance", "Everyone"] });
    } finally {
      await configure();
    }
  });

  test("sign-out ends the session; the cookie no longer works anywhere", async () => {
    const res = await signIn("alice@example.com");
    const cookie = sessionCookie(res)!;
    await request(t.app).get("/api/v1/session").set("Cookie", cookie).expect(200);
    const out = await request(t.app).get(`/auth/saml/${org.id}/logout`).set("Cookie", cookie).expect(200);
    expect(out.text).toMatch(/Signed out/);
    expect(([] as string[]).concat(out.headers["set-cookie"] ?? []).join(";")).toMatch(/gatehouse_session=;/);
    await request(t.app).get("/api/v1/session").set("Cookie", cookie).expect(401);
    expect(await t.db.models.AuditEvent.countDocuments({ organizationId: org.id, action: "session.ended" })).toBeGreaterThan(0);
  });
});

describe("certificate rotation", () => {
  test("both the old and the new certificate are accepted while both are configured", async () => {
    const next = makeSigningKey("next-idp");
    await configure({ certificates: [idp.key.certificate, next.certificate] });
    try {
      expect((await signIn("alice@example.com", { key: next })).status).toBe(303);
      expect((await signIn("alice@example.com")).status).toBe(303);
    } finally {
      await configure();
    }
  });
});

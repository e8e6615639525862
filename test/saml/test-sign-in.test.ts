import request from "supertest";
import { runCommand } from "../../src/cli/commands";
import { serviceProviderUrls } from "../../src/domain/saml";
import { makeSigningKey, TestIdentityProvider } from "../support/saml-idp";
import { buildUser, operator, scimClient, startTestApp, type TestApp } from "../support/app";
import { Browser } from "../support/saml-browser";
import { openApiDocument } from "../../src/admin/router";
import { OpenApiChecker } from "../support/openapi";

const checker = new OpenApiChecker(openApiDocument);
/** The result, checked against the OpenAPI document the console is typed from. */
async function resultOf(id: string) {
  const res = await admin.get(`/saml-connection/test/${id}`).expect(200);
  checker.checkResponse(res, "get", "/saml-connection/test/{id}");
  return res.body;
}

/**
 * The SAML test sign-in (issue 14): an administrator runs the real flow; the answer is checked as a
 * sign-in is, and instead of a session its contents and the decision are stored for the
 * administrator. Nothing else is written.
 */

let t: TestApp;
let org: { id: string; scimToken: string };
let idp: TestIdentityProvider;
let admin: { get: (path: string) => request.Test; post: (path: string) => request.Test };
let browser: Browser;

const cliJson = async (...argv: string[]) => JSON.parse((await runCommand(t.services, [...argv, "--json"])).stdout[0]!);
const sessionCookie = (res: request.Response) => ([] as string[]).concat(res.headers["set-cookie"] ?? []).find((c) => c.includes("gatehouse_session="));

/** Starts a test through the API, opens its URL in the browser; the AuthnRequest id and the test. */
async function startTest() {
  const started = await admin.post("/saml-connection/test").expect(201);
  expect(started.body.test).toMatchObject({ status: "waiting", outcome: null });
  const res = await browser.get(started.body.signInUrl);
  expect(res.status).toBe(302);
  return { id: started.body.test.id as string, inResponseTo: TestIdentityProvider.requestIdOf(res.headers.location!), relayState: new URL(`https://x${started.body.signInUrl}`).searchParams.get("RelayState")! };
}

beforeAll(async () => {
  t = await startTestApp();
  org = await cliJson("org", "create", "Test Sign-in Co", "--owner", "owner@testsignin.example");
  const token = (await cliJson("user-token", "create", "--org", org.id, "--email", "owner@testsignin.example")).token as string;
  admin = {
    get: (path) => request(t.app).get(`/api/v1${path}`).set("Authorization", `Bearer ${token}`),
    post: (path) => request(t.app).post(`/api/v1${path}`).set("Authorization", `Bearer ${token}`),
  };
  idp = new TestIdentityProvider(serviceProviderUrls(t.config.publicBaseUrl, org.id));
  browser = new Browser(t.app);
});
afterAll(() => t.close());

describe("the SAML test sign-in", () => {
  it("needs a SAML connection", async () => {
    await admin.post("/saml-connection/test").expect(404);
    await t.services.saml.configure({ ...operator, organizationId: org.id }, { idpEntityId: idp.entityId, ssoUrl: idp.ssoUrl, certificates: [idp.key.certificate], jit: true, groupSync: true, signatures: "assertion" });
  });

  it("reports what the assertion carried and that the person would get in, without a session or any write", async () => {
    const scim = scimClient(t.app, org.scimToken);
    const alice = (await scim.post("/Users", buildUser({ userName: "alice@testsignin.example" })).expect(201)).body.id;
    const { id, inResponseTo, relayState } = await startTest();
    const res = await browser.postForm(`/auth/saml/${org.id}/acs`, {
      SAMLResponse: idp.response({ nameId: "alice@testsignin.example", inResponseTo, attributes: { groups: ["Engineering"], "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress": ["alice@testsignin.example"] } }),
      RelayState: relayState,
    });
    expect(res.status).toBe(200);
    expect(res.text).toContain("Test sign-in complete");
    expect(sessionCookie(res)).toBeUndefined();

    const result = await resultOf(id);
    expect(result).toMatchObject({ id, status: "completed" });
    expect(result.outcome).toMatchObject({
      result: "would_sign_in",
      member: { id: alice, userName: "alice@testsignin.example", createdJustInTime: false },
      access: { organizationRole: "read_only" },
      assertion: {
        nameId: "alice@testsignin.example",
        identity: { email: "alice@testsignin.example", groups: ["Engineering"] },
        attributes: expect.arrayContaining([{ name: "groups", values: ["Engineering"] }, { name: "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress", values: ["alice@testsignin.example"] }]),
      },
    });
    // No sign-in was recorded: no lastLogin, no user.signed_in, no session.
    expect((await t.services.users.get({ organizationId: org.id }, alice)).lastLogin).toBeUndefined();
    expect(await t.db.models.AuditEvent.countDocuments({ organizationId: org.id, action: { $in: ["user.signed_in", "session.started"] } })).toBe(0);
    expect(await t.db.models.AuditEvent.find({ organizationId: org.id, action: { $in: ["saml_connection.test_started", "saml_connection.test_completed"] } }).lean()).toHaveLength(2);
  });

  it("says who just-in-time provisioning would create, and creates nobody", async () => {
    const { id, inResponseTo, relayState } = await startTest();
    await browser.postForm(`/auth/saml/${org.id}/acs`, { SAMLResponse: idp.response({ nameId: "newcomer@testsignin.example", inResponseTo }), RelayState: relayState }).then((r) => expect(r.status).toBe(200));
    const { outcome } = await resultOf(id);
    expect(outcome).toMatchObject({ result: "would_sign_in", member: { id: null, userName: "newcomer@testsignin.example", createdJustInTime: true } });
    expect(await t.services.users.findByUserName({ organizationId: org.id }, "newcomer@testsignin.example")).toBeUndefined();
  });

  it("reports why a person would be refused, and an answer that cannot be trusted", async () => {
    const scim = scimClient(t.app, org.scimToken);
    const bob = (await scim.post("/Users", buildUser({ userName: "bob@testsignin.example" })).expect(201)).body.id;
    await scim.patch(`/Users/${bob}`, { schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op: "replace", path: "active", value: false }] }).expect(200);
    const inactive = await startTest();
    await browser.postForm(`/auth/saml/${org.id}/acs`, { SAMLResponse: idp.response({ nameId: "bob@testsignin.example", inResponseTo: inactive.inResponseTo }), RelayState: inactive.relayState });
    expect((await resultOf(inactive.id)).outcome).toMatchObject({
      result: "refused",
      assertion: { nameId: "bob@testsignin.example" },
      refusal: { reason: "inactive_user" },
    });

    const forged = await startTest();
    const res = await browser.postForm(`/auth/saml/${org.id}/acs`, { SAMLResponse: idp.response({ nameId: "alice@testsignin.example", inResponseTo: forged.inResponseTo, key: makeSigningKey("attacker") }), RelayState: forged.relayState });
    expect(res.status).toBe(403);
    const { outcome } = await resultOf(forged.id);
    expect(outcome).toMatchObject({ result: "refused", refusal: { reason: expect.stringMatching(/signature/) } });
    expect(outcome.assertion).toBeUndefined();
  });

  it("is for administrators of the organization, and a test takes one answer", async () => {
    await admin.get("/saml-connection/test/nope").expect(404);
    const other = await cliJson("org", "create", "Other Co", "--owner", "owner@other.example");
    const otherToken = (await cliJson("user-token", "create", "--org", other.id, "--email", "owner@other.example")).token as string;
    const { id, inResponseTo, relayState } = await startTest();
    await request(t.app).get(`/api/v1/saml-connection/test/${id}`).set("Authorization", `Bearer ${otherToken}`).expect(404);
    await browser.postForm(`/auth/saml/${org.id}/acs`, { SAMLResponse: idp.response({ nameId: "alice@testsignin.example", inResponseTo }), RelayState: relayState }).then((r) => expect(r.status).toBe(200));
    const first = (await admin.get(`/saml-connection/test/${id}`).expect(200)).body.outcome;
    // A later real sign-in naming the same marker is an ordinary sign-in; the test keeps its outcome.
    const again = await browser.get(`/auth/saml/${org.id}/login?RelayState=${encodeURIComponent(relayState)}`);
    const res = await browser.postForm(`/auth/saml/${org.id}/acs`, { SAMLResponse: idp.response({ nameId: "alice@testsignin.example", inResponseTo: TestIdentityProvider.requestIdOf(again.headers.location!) }), RelayState: relayState });
    expect(res.status).toBe(303);
    expect((await admin.get(`/saml-connection/test/${id}`).expect(200)).body.outcome).toEqual(first);
  });
});

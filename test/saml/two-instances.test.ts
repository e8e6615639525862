import request from "supertest";
import { serviceProviderUrls } from "../../src/domain/saml";
import { TestIdentityProvider } from "../support/saml-idp";
import { buildUser, operator, patchSchema, scimClient, secondInstance, startTestApp, type TestApp } from "../support/app";
import { signInCookie } from "../support/saml-browser";

/**
 * Issue 5's "done when", across two server instances on one database (two processes behind a load
 * balancer, nothing shared in memory): a user provisioned over SCIM signs in through a signed SAML
 * response — started on one instance, answered on the other —, uses the admin API with that
 * session on both, is deactivated over SCIM, and is refused on the very next request on both.
 */

let a: TestApp;
let b: TestApp;
beforeAll(async () => {
  a = await startTestApp();
  b = await secondInstance(a);
});
afterAll(async () => {
  await b.close();
  await a.close();
});

test("sign-in on one instance, deprovisioning on the other: the next request is refused on both", async () => {
  const org = await a.organization("Two Instances Co");
  const idp = new TestIdentityProvider(serviceProviderUrls(a.config.publicBaseUrl, org.id));
  await a.services.saml.configure({ ...operator, organizationId: org.id }, { idpEntityId: idp.entityId, ssoUrl: idp.ssoUrl, certificates: [idp.key.certificate] });
  const userId = (await scimClient(b.app, org.token).post("/Users", buildUser({ userName: "leaver@example.com" })).expect(201)).body.id as string;

  // The sign-in starts on A and the identity provider's answer reaches B (InResponseTo in MongoDB).
  const login = await request(a.app).get(`/auth/saml/${org.id}/login`).expect(302);
  // The browser brings the sign-in cookie A set; the instances share nothing else but the database.
  const acs = await request(b.app)
    .post(`/auth/saml/${org.id}/acs`)
    .set("Cookie", signInCookie(login))
    .type("form")
    .send({ SAMLResponse: idp.response({ nameId: "leaver@example.com", inResponseTo: TestIdentityProvider.requestIdOf(login.headers.location!) }) })
    .expect(303);
  const cookie = ([] as string[]).concat(acs.headers["set-cookie"] ?? []).find((c) => c.includes("gatehouse_session="))!.split(";")[0]!;

  for (const instance of [a, b]) {
    const session = await request(instance.app).get("/api/v1/session").set("Cookie", cookie).expect(200);
    expect(session.body.user.id).toBe(userId);
    await request(instance.app).get(`/api/v1/users/${userId}/access`).set("Cookie", cookie).expect(200);
  }

  // HR offboards: the identity provider deactivates over SCIM, through instance B.
  await scimClient(b.app, org.token).patch(`/Users/${userId}`, { schemas: [patchSchema], Operations: [{ op: "replace", path: "active", value: false }] }).expect(200);

  for (const instance of [a, b]) {
    const refused = await request(instance.app).get(`/api/v1/users/${userId}/access`).set("Cookie", cookie).expect(401);
    expect(refused.body.error.code).toBe("unauthenticated");
  }
  // A new sign-in is refused too, on either instance.
  const again = await request(a.app).get(`/auth/saml/${org.id}/login`).expect(302);
  await request(b.app)
    .post(`/auth/saml/${org.id}/acs`)
    .set("Cookie", signInCookie(again))
    .type("form")
    .send({ SAMLResponse: idp.response({ nameId: "leaver@example.com", inResponseTo: TestIdentityProvider.requestIdOf(again.headers.location!) }) })
    .expect(403);

  // Reactivation does not revive the old session.
  await scimClient(a.app, org.token).patch(`/Users/${userId}`, { schemas: [patchSchema], Operations: [{ op: "replace", path: "active", value: true }] }).expect(200);
  for (const instance of [a, b]) await request(instance.app).get("/api/v1/session").set("Cookie", cookie).expect(401);

  const [revoked] = await a.db.models.AuditEvent.find({ "target.id": userId, action: "user.access_revoked" }).lean();
  expect(revoked?.after).toMatchObject({ why: "deactivated", sessions: "all ended" });
  expect(await a.db.models.AuditEvent.countDocuments({ "target.id": userId, action: "user.signed_in" })).toBe(1);
});

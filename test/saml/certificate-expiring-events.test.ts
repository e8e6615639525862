import request from "supertest";
import { runCommand } from "../../src/cli/commands";
import { startTestApp, type TestApp } from "../support/app";
import { certificatePem } from "../support/saml";

/**
 * Issue 15 §1: "certificates expiring" is a directory event. The maintenance timer's certificate
 * watch (services/certificate-watch.ts) records `saml_connection.certificate_expiring` once per
 * certificate and organization, however often and on however many instances it looks; the product
 * reads it as `certificate.expiring` from GET /api/v1/events.
 */

let t: TestApp;
let org: { id: string };
let ownerToken: string;
let eventsToken: string;

const cli = async (...argv: string[]) => JSON.parse((await runCommand(t.services, argv)).stdout[0]!);
const configure = (certificates: string[]) =>
  request(t.app)
    .put("/api/v1/saml-connection")
    .set("Authorization", `Bearer ${ownerToken}`)
    .send({ idpEntityId: "http://www.okta.com/exk9", ssoUrl: "https://acme.okta.com/app/exk9/sso/saml", certificates })
    .expect(200);
const events = async () =>
  ((await request(t.app).get("/api/v1/events?types=certificate.expiring").set("Authorization", `Bearer ${eventsToken}`).expect(200)).body as { events: { type: string; data: { after?: { subject?: string } } }[] }).events;

beforeAll(async () => {
  t = await startTestApp();
  org = await cli("org", "create", "Certificates Co", "--owner", "owner@certs.example", "--json");
  ownerToken = (await cli("user-token", "create", "--org", org.id, "--email", "owner@certs.example", "--json")).token;
  eventsToken = (await cli("service-token", "create", "--org", org.id, "--scope", "events:read", "--json")).token;
});
afterAll(() => t.close());

describe("certificate.expiring", () => {
  it("is not sent while every certificate is good for more than 30 days", async () => {
    await configure([certificatePem("idp-good", 365)]);
    await t.services.certificateWatch.look();
    expect(await events()).toEqual([]);
  });

  it("is sent once per expiring certificate, however often the watch looks, with the certificate's subject", async () => {
    await configure([certificatePem("idp-ending", 10), certificatePem("idp-next", 730)]);
    for (let look = 0; look < 4; look++) await t.services.certificateWatch.look();
    const sent = await events();
    expect(sent.map((e) => [e.type, e.data.after?.subject])).toEqual([["certificate.expiring", "CN=idp-ending"]]);
    const trail = await t.db.models.AuditEvent.find({ organizationId: org.id, action: "saml_connection.certificate_expiring" }).lean();
    expect(trail).toHaveLength(1);
    expect(trail[0]).toMatchObject({ actor: { type: "system" }, source: "system", reason: expect.stringMatching(/expires within 30 days/) });
  });

  it("is sent again for the next certificate that comes close to its end", async () => {
    await configure([certificatePem("idp-ending-too", 5)]);
    await t.services.certificateWatch.look();
    expect((await events()).map((e) => e.data.after?.subject)).toEqual(["CN=idp-ending", "CN=idp-ending-too"]);
  });
});

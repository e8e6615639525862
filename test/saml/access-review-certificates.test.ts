import request from "supertest";
import { runCommand } from "../../src/cli/commands";
import { AccessReview } from "../../src/services/access-review";
import { startTestApp, type TestApp } from "../support/app";
import { certificatePem } from "../support/saml";

/** The access review flags the organization when its SAML connection's signing certificate is about to expire. */

let t: TestApp;
let org: { id: string; ownerId: string };
let ownerToken: string;
let current: string;
let successor: string;

const cli = async (...argv: string[]) => JSON.parse((await runCommand(t.services, argv)).stdout[0]!);
const configure = (certificates: string[]) =>
  request(t.app)
    .put("/api/v1/saml-connection")
    .set("Authorization", `Bearer ${ownerToken}`)
    .send({ idpEntityId: "http://www.okta.com/exk1", ssoUrl: "https://acme.okta.com/app/exk1/sso/saml", certificates })
    .expect(200);

beforeAll(async () => {
  t = await startTestApp();
  current = certificatePem("idp-current", 365);
  successor = certificatePem("idp-successor", 730);
  org = await cli("org", "create", "Review Co", "--owner", "owner@review.example", "--json");
  ownerToken = (await cli("user-token", "create", "--org", org.id, "--email", "owner@review.example", "--json")).token;
});
afterAll(() => t.close());

describe("the access review and SAML certificates", () => {
  const review = async () => (await request(t.app).get("/api/v1/access-review").set("Authorization", `Bearer ${ownerToken}`).expect(200)).body;
  const reviewCsv = async () => (await request(t.app).get("/api/v1/access-review.csv").set("Authorization", `Bearer ${ownerToken}`).expect(200)).text.split("\r\n");

  it("has no organization flag while every certificate is good for more than 30 days", async () => {
    await configure([current, successor]);
    expect(await review()).toMatchObject({ organizationFlags: [], expiringSamlCertificates: [] });
    expect((await reviewCsv())[1]).not.toMatch(/saml_certificate_expires_soon/);
  });

  it("flags the organization when a signing certificate expires within 30 days, in JSON and as the first CSV row", async () => {
    const ending = certificatePem("idp-ending", 10);
    await configure([ending, successor]);
    const report = await review();
    expect(report.organizationFlags).toEqual(["saml_certificate_expires_soon"]);
    expect(report.expiringSamlCertificates).toEqual([{ subject: "CN=idp-ending", validTo: expect.any(String) }]);
    const days = (Date.parse(report.expiringSamlCertificates[0].validTo) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(9);
    expect(days).toBeLessThan(11);
    const [header, first] = await reviewCsv();
    expect(header).toBe("user_id,user_name,display_name,active,managed_by,role,role_sources,projects,last_login,flags,last_reviewed");
    expect(first).toMatch(/^,,"?\(SAML signing certificate: CN=idp-ending expires \d{4}-\d\d-\d\dT[\d:.]+Z\)"?,,,,,,,saml_certificate_expires_soon,$/);
  });

  it("flags an expired certificate too, and no more once the connection is removed", async () => {
    const ending = certificatePem("idp-ending", 10);
    const later = new Date(Date.now() + 40 * 86_400_000);
    await configure([ending]);
    const future = await new AccessReview(t.services.users, t.services.access, () => later, 200, t.services.saml).review({ organizationId: org.id });
    expect(future.organizationFlags).toEqual(["saml_certificate_expires_soon"]);
    expect(future.expiringSamlCertificates[0]!.validTo.getTime()).toBeLessThan(later.getTime());
    await request(t.app).delete("/api/v1/saml-connection").set("Authorization", `Bearer ${ownerToken}`).expect(204);
    expect((await review()).organizationFlags).toEqual([]);
  });
});

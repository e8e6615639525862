import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import request from "supertest";
import { runCommand, UsageError } from "../../src/cli/commands";
import { InvalidError } from "../../src/errors";
import { operator, startTestApp, type TestApp } from "../support/app";

/** A self-signed certificate made for the test (the identity provider's signing certificate). */
function certificate(dir: string, name: string, days: number): string {
  const file = path.join(dir, `${name}.pem`);
  execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", path.join(dir, `${name}.key`), "-out", file, "-days", String(days), "-subj", `/CN=${name}`], {
    stdio: "ignore",
  });
  return file;
}

let t: TestApp;
let dir: string;
beforeAll(async () => {
  t = await startTestApp();
  dir = mkdtempSync(path.join(os.tmpdir(), "gatehouse-saml-"));
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await t.close();
});

describe("a SAML connection per organization", () => {
  it("is configured from the CLI and serves service-provider metadata derived from the public base URL", async () => {
    const org = JSON.parse((await runCommand(t.services, ["org", "create", "SSO Co", "--json"])).stdout[0]);
    const cert = certificate(dir, "idp", 365);
    // The service provider's metadata is there before any connection: Okta asks for it first.
    const early = await request(t.app).get(`/auth/saml/${org.id}/metadata`).expect(200);
    expect(early.text).toContain(`entityID="https://gatehouse.test/auth/saml/${org.id}/metadata"`);
    expect(early.text).toContain(`Location="https://gatehouse.test/auth/saml/${org.id}/acs"`);
    expect(early.text).toContain('WantAssertionsSigned="true"');
    expect((await request(t.app).get("/auth/saml/no-such-org/metadata").expect(404)).text).toMatch(/no such organization/);
    const out = await runCommand(t.services, ["saml", "configure", "--org", org.id, "--entity-id", "http://www.okta.com/exk1", "--sso-url", "https://acme.okta.com/app/sso/saml", "--cert", cert, "--jit"]);
    expect(out.stdout[0]).toContain("http://www.okta.com/exk1");
    const metadata = await request(t.app).get(`/auth/saml/${org.id}/metadata`).expect(200);
    expect(metadata.headers["content-type"]).toMatch(/samlmetadata\+xml/);
    expect(metadata.text).toContain(`entityID="https://gatehouse.test/auth/saml/${org.id}/metadata"`);
    expect(metadata.text).toContain(`Location="https://gatehouse.test/auth/saml/${org.id}/acs"`);
    expect(metadata.text).toContain('WantAssertionsSigned="true"');
    const stored = await t.services.saml.get({ organizationId: org.id });
    expect(stored).toMatchObject({ idpEntityId: "http://www.okta.com/exk1", jit: true, groupSync: false, idpInitiated: false });
    const [event] = await t.db.models.AuditEvent.find({ organizationId: org.id, action: "saml_connection.configured" }).lean();
    expect(JSON.stringify(event.after)).toContain("CN=idp");
  });

  it("accepts several certificates for a rotation and warns about one that expires within 30 days", async () => {
    const org = JSON.parse((await runCommand(t.services, ["org", "create", "Rotating Co", "--json"])).stdout[0]);
    const current = certificate(dir, "current", 10);
    const next = certificate(dir, "next", 730);
    const out = await runCommand(t.services, ["saml", "configure", "--org", org.id, "--entity-id", "https://sts.windows.net/tenant/", "--sso-url", "https://login.microsoftonline.com/tenant/saml2", "--cert", current, "--cert", next]);
    expect(out.stdout.join("\n")).toMatch(/Warning: certificate CN=current expires/);
    expect((await t.services.saml.get({ organizationId: org.id }))!.certificates).toHaveLength(2);
  });

  it("refuses a connection without a valid certificate or with a plain-http SSO URL", async () => {
    const org = JSON.parse((await runCommand(t.services, ["org", "create", "Broken Co", "--json"])).stdout[0]);
    const ctx = { ...operator, organizationId: org.id };
    await expect(t.services.saml.configure(ctx, { idpEntityId: "x", ssoUrl: "https://idp.example/sso", certificates: ["not a certificate"] })).rejects.toBeInstanceOf(InvalidError);
    const cert = certificate(dir, "ok", 365);
    await expect(runCommand(t.services, ["saml", "configure", "--org", org.id, "--entity-id", "x", "--sso-url", "http://idp.example/sso", "--cert", cert])).rejects.toBeInstanceOf(InvalidError);
    await expect(runCommand(t.services, ["saml", "configure", "--org", org.id, "--entity-id", "x"])).rejects.toBeInstanceOf(UsageError);
    expect(await t.services.saml.get({ organizationId: org.id })).toBeUndefined();
  });
});

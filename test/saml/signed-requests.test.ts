import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import request from "supertest";
import { runCommand } from "../../src/cli/commands";
import { serviceProviderUrls } from "../../src/domain/saml";
import { makeSigningKey, TestIdentityProvider, type SigningKey } from "../support/saml-idp";
import { buildUser, scimClient, startTestApp, type TestApp } from "../support/app";
import { oktaMetadata } from "../support/saml";
import { Browser } from "../support/saml-browser";

/**
 * Issue 9 §5: an identity provider whose metadata says WantAuthnRequestsSigned="true" gets
 * AuthnRequests signed with the service provider's key (SAML_SP_KEY_FILE), rsa-sha256 over the
 * HTTP-Redirect query (SAML Bindings §3.4.4.1), and the service provider's metadata says so. The
 * refusal without a key is in admin-api.test.ts; here Gatehouse has a key.
 */

let t: TestApp;
let org: { id: string; token: string };
let idp: TestIdentityProvider;
let spKey: SigningKey;
let dir: string;

const wantingMetadata = () => oktaMetadata({ certificate: idp.key.certificate }).replace('WantAuthnRequestsSigned="false"', 'WantAuthnRequestsSigned="true"').replace(/http:\/\/www\.okta\.com\/exk1fcia6d6EMsf331d8/, idp.entityId);

beforeAll(async () => {
  spKey = makeSigningKey("gatehouse-sp");
  dir = mkdtempSync(path.join(tmpdir(), "gatehouse-sp-"));
  writeFileSync(path.join(dir, "sp.key"), spKey.privateKey, { mode: 0o600 });
  writeFileSync(path.join(dir, "sp.crt"), spKey.certificate);
  t = await startTestApp({ SAML_SP_KEY_FILE: path.join(dir, "sp.key"), SAML_SP_CERT_FILE: path.join(dir, "sp.crt") });
  org = await t.organization("Signed Requests Co");
  idp = new TestIdentityProvider(serviceProviderUrls(t.config.publicBaseUrl, org.id));
  await scimClient(t.app, org.token).post("/Users", buildUser({ userName: "ada@acme.example" })).expect(201);
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await t.close();
});

test("before any connection the metadata carries Gatehouse's certificate and says AuthnRequests are not signed", async () => {
  const metadata = await request(t.app).get(`/auth/saml/${org.id}/metadata`).expect(200);
  expect(metadata.text).toContain('AuthnRequestsSigned="false"');
  expect(metadata.text).toContain(spKey.certificate.replace(/-----(BEGIN|END) CERTIFICATE-----/g, "").replace(/\s+/g, "").slice(0, 64));
});

test("metadata wanting signed AuthnRequests: the requests are signed with the service provider's key and sign-in completes", async () => {
  const file = path.join(dir, "idp.xml");
  writeFileSync(file, wantingMetadata());
  const out = await runCommand(t.services, ["saml", "configure", "--org", org.id, "--idp-metadata", file]);
  expect(out.stdout).toContain("  Signed requests: (none) → on");
  expect(await t.services.saml.get({ organizationId: org.id })).toMatchObject({ signAuthnRequests: true });
  expect((await request(t.app).get(`/auth/saml/${org.id}/metadata`).expect(200)).text).toContain('AuthnRequestsSigned="true"');

  const browser = new Browser(t.app);
  const login = await browser.get(`/auth/saml/${org.id}/login`);
  expect(login.status).toBe(302);
  const sent = TestIdentityProvider.sentMessageOf(login.headers.location!);
  expect(sent.sigAlg).toBe("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256");
  expect(TestIdentityProvider.signatureVerifies(sent, spKey.certificate)).toBe(true);
  expect(TestIdentityProvider.signatureVerifies(sent, idp.key.certificate)).toBe(false);

  const acs = await browser.postForm(`/auth/saml/${org.id}/acs`, { SAMLResponse: idp.response({ nameId: "ada@acme.example", inResponseTo: sent.id }) });
  expect(acs.status).toBe(303);

  // Metadata that no longer wants them: requests go unsigned again.
  writeFileSync(file, oktaMetadata({ certificate: idp.key.certificate }));
  await runCommand(t.services, ["saml", "configure", "--org", org.id, "--idp-metadata", file]);
  const unsigned = TestIdentityProvider.sentMessageOf((await browser.get(`/auth/saml/${org.id}/login`)).headers.location!);
  expect(unsigned.signature).toBeNull();
});

import request from "supertest";
import { runCommand } from "../../src/cli/commands";
import { operator, startTestApp, type TestApp } from "../support/app";
import { certificatePem, ENTRA_TENANT, entraMetadata, oktaMetadata, expectedServiceProvider } from "../support/saml";

let t: TestApp;
let org: { id: string; ownerId: string };
const tokens: Record<"owner" | "admin" | "user" | "readOnly" | "service", string> = { owner: "", admin: "", user: "", readOnly: "", service: "" };
let current: string;
let successor: string;

const cli = async (...argv: string[]) => JSON.parse((await runCommand(t.services, argv)).stdout[0]!);
const api = (token: string) => {
  const auth = (r: request.Test) => r.set("Authorization", `Bearer ${token}`);
  return {
    get: () => auth(request(t.app).get("/api/v1/saml-connection")),
    put: (body: object) => auth(request(t.app).put("/api/v1/saml-connection")).send(body),
    putXml: (xml: string, contentType = "application/samlmetadata+xml") => auth(request(t.app).put("/api/v1/saml-connection")).set("Content-Type", contentType).send(xml),
    delete: (query = "") => auth(request(t.app).delete(`/api/v1/saml-connection${query}`)),
  };
};
const stored = () => t.services.saml.get({ organizationId: org.id });
const events = (action: string) => t.db.models.AuditEvent.find({ organizationId: org.id, action }).sort({ at: 1 }).lean();
const okta = () => ({
  idpEntityId: "http://www.okta.com/exk1fcia6d6EMsf331d8",
  ssoUrl: "https://acme.okta.com/app/acme_gatehouse_1/exk1fcia6d6EMsf331d8/sso/saml",
  certificates: [current],
});

beforeAll(async () => {
  t = await startTestApp();
  current = certificatePem("idp-current", 365);
  successor = certificatePem("idp-successor", 730);
  org = await cli("org", "create", "SAML Admin Co", "--owner", "owner@saml.example", "--json");
  const ctx = { ...operator, organizationId: org.id };
  await t.services.users.provision(ctx, { userName: "admin@saml.example" }, "local", { role: "admin" });
  await t.services.users.provision(ctx, { userName: "user@saml.example" }, "local", { role: "user" });
  await t.services.users.provision(ctx, { userName: "reader@saml.example" }, "local", { role: "read_only" });
  const personal = async (email: string) => (await cli("user-token", "create", "--org", org.id, "--email", email, "--json")).token as string;
  tokens.owner = await personal("owner@saml.example");
  tokens.admin = await personal("admin@saml.example");
  tokens.user = await personal("user@saml.example");
  tokens.readOnly = await personal("reader@saml.example");
  tokens.service = (await cli("service-token", "create", "--org", org.id, "--json")).token;
});
afterAll(() => t.close());

describe("the SAML connection in the admin API", () => {
  it("answers 404 not_found while the organization has no connection", async () => {
    const res = await api(tokens.owner).get().expect(404);
    expect(res.body.error.code).toBe("not_found");
    expect((await api(tokens.owner).delete().expect(404)).body.error.code).toBe("not_found");
  });

  it("configures it from values, audited with the reason, and reads it back with the service provider's URLs", async () => {
    const res = await api(tokens.owner).put({ ...okta(), jit: true, reason: "SSO go-live" }).expect(200);
    expect(res.body).toEqual({
      ...okta(),
      sloUrl: null,
      certificates: [{ pem: current, subject: "CN=idp-current", validTo: expect.any(String), expiresSoon: false }],
      certificateExpiresSoon: false,
      signatures: "assertion",
      jit: true,
      groupSync: false,
      idpInitiated: false,
      attributes: { email: "email", name: "displayName", groups: "groups" },
      subject: { source: "nameId" },
      signAuthnRequests: false,
      serviceProvider: expectedServiceProvider(org.id),
    });
    expect((await api(tokens.admin).get().expect(200)).body).toEqual(res.body);
    expect(await stored()).toMatchObject({ ...okta(), jit: true, signatures: "assertion" });
    const [event] = await events("saml_connection.configured");
    expect(event).toMatchObject({ source: "admin", actor: { type: "user", id: org.ownerId }, reason: "SSO go-live", target: { type: "organization", id: org.id } });
    expect(event!.after).toMatchObject({ idpEntityId: okta().idpEntityId, certificates: [{ subject: "CN=idp-current" }] });
    expect(JSON.stringify(event)).not.toContain("BEGIN CERTIFICATE");
  });

  it("imports a raw metadata document, keeping the current settings", async () => {
    const res = await api(tokens.admin).putXml(entraMetadata({ certificates: [current] })).expect(200);
    expect(res.body).toMatchObject({ idpEntityId: `https://sts.windows.net/${ENTRA_TENANT}/`, ssoUrl: `https://login.microsoftonline.com/${ENTRA_TENANT}/saml2`, jit: true, signatures: "assertion" });
    await api(tokens.admin).putXml(oktaMetadata({ certificate: current }), "application/xml").expect(200);
    expect(await stored()).toMatchObject({ ...okta(), jit: true });
  });

  it("imports metadata inside JSON together with settings", async () => {
    const res = await api(tokens.owner).put({ idpMetadataXml: entraMetadata({ certificates: [current] }), signatures: "both", groupSync: true, attributes: { groups: "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups" } }).expect(200);
    expect(res.body).toMatchObject({
      idpEntityId: `https://sts.windows.net/${ENTRA_TENANT}/`,
      sloUrl: `https://login.microsoftonline.com/${ENTRA_TENANT}/saml2`,
      signatures: "both",
      groupSync: true,
      jit: true,
      attributes: { email: "email", name: "displayName", groups: "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups" },
    });
  });

  it("takes the identity provider's single logout URL from values, or beside metadata that has none", async () => {
    const before = (await api(tokens.owner).get().expect(200)).body;
    const sloUrl = "https://acme.okta.com/app/acme_gatehouse/exk1/slo/saml";
    const values = await api(tokens.owner).put({ ...okta(), sloUrl }).expect(200);
    expect(values.body).toMatchObject({ sloUrl, jit: true });
    expect(await stored()).toMatchObject({ sloUrl });
    const [event] = (await events("saml_connection.configured")).slice(-1);
    expect(event!.after).toMatchObject({ sloUrl });
    // The identity provider's values are given whole: left out, there is no SLO URL.
    expect((await api(tokens.owner).put(okta()).expect(200)).body.sloUrl).toBeNull();
    const beside = await api(tokens.owner).put({ idpMetadataXml: oktaMetadata({ certificate: current }), sloUrl }).expect(200);
    expect(beside.body).toMatchObject({ idpEntityId: okta().idpEntityId, sloUrl });
    await api(tokens.owner).put({ idpMetadataXml: entraMetadata({ certificates: before.certificates.map((c: { pem: string }) => c.pem) }) }).expect(200);
  });

  it("sets the subject key, reads it back and keeps it when the metadata is imported again", async () => {
    const objectId = "http://schemas.microsoft.com/identity/claims/objectidentifier";
    const before = (await api(tokens.owner).get().expect(200)).body;
    const certificates = before.certificates.map((c: { pem: string }) => c.pem);
    const set = await api(tokens.owner).put({ idpEntityId: before.idpEntityId, ssoUrl: before.ssoUrl, certificates, subject: { source: "attribute", attribute: objectId } }).expect(200);
    expect(set.body.subject).toEqual({ source: "attribute", attribute: objectId });
    expect((await api(tokens.admin).get().expect(200)).body.subject).toEqual({ source: "attribute", attribute: objectId });
    const [event] = (await events("saml_connection.configured")).slice(-1);
    expect(event).toMatchObject({ before: { subject: { source: "nameId" } }, after: { subject: { source: "attribute", attribute: objectId } } });
    await api(tokens.owner).putXml(entraMetadata({ certificates })).expect(200);
    expect((await stored())?.subject).toEqual({ source: "attribute", attribute: objectId });
    for (const subject of [{ source: "attribute" }, { source: "attribute", attribute: "" }, { source: "email" }, { source: "nameId", attribute: "mail" }]) {
      const res = await api(tokens.owner).put({ idpEntityId: before.idpEntityId, ssoUrl: before.ssoUrl, certificates, subject });
      expect({ subject, status: res.status, code: res.body.error?.code }).toEqual({ subject, status: 400, code: "invalid_request" });
    }
    expect((await stored())?.subject).toEqual({ source: "attribute", attribute: objectId });
    const back = await api(tokens.owner).put({ idpEntityId: before.idpEntityId, ssoUrl: before.ssoUrl, certificates, subject: { source: "nameId" } }).expect(200);
    expect(back.body.subject).toEqual({ source: "nameId" });
  });

  it("refuses metadata that wants signed AuthnRequests while Gatehouse has no key, saying what to set", async () => {
    const before = await stored();
    const configured = (await events("saml_connection.configured")).length;
    const wanting = oktaMetadata({ certificate: current }).replace('WantAuthnRequestsSigned="false"', 'WantAuthnRequestsSigned="true"');
    for (const res of [await api(tokens.owner).putXml(wanting), await api(tokens.owner).put({ idpMetadataXml: wanting }), await api(tokens.owner).put({ ...okta(), signAuthnRequests: true })]) {
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ code: "invalid", message: expect.stringMatching(/WantAuthnRequestsSigned="true".*SAML_SP_KEY_FILE and SAML_SP_CERT_FILE/) });
    }
    expect(await stored()).toEqual(before);
    expect(await events("saml_connection.configured")).toHaveLength(configured);
  });

  it("rotates a certificate: the new one alongside the old, then the old removed", async () => {
    const before = (await api(tokens.owner).get().expect(200)).body;
    const both = await api(tokens.owner).put({ idpEntityId: before.idpEntityId, ssoUrl: before.ssoUrl, certificates: [...before.certificates.map((c: { pem: string }) => c.pem), successor] }).expect(200);
    expect(both.body.certificates.map((c: { subject: string }) => c.subject)).toEqual(["CN=idp-current", "CN=idp-successor"]);
    const after = await api(tokens.owner).put({ idpEntityId: before.idpEntityId, ssoUrl: before.ssoUrl, certificates: [successor] }).expect(200);
    expect(after.body.certificates).toEqual([expect.objectContaining({ subject: "CN=idp-successor" })]);
    expect(after.body).toMatchObject({ signatures: "both", groupSync: true, jit: true });
  });

  it("refuses bad metadata and bad values with 400, changing nothing", async () => {
    const before = await stored();
    const configured = (await events("saml_connection.configured")).length;
    const invalid: [string, () => request.Test][] = [
      ["DOCTYPE", () => api(tokens.owner).putXml(`<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>${oktaMetadata({ certificate: current }).replace(/^<\?xml[^>]*\?>/, "")}`)],
      ["service-provider metadata", () => api(tokens.owner).putXml(`<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://sp.example"><md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/></md:EntityDescriptor>`)],
      ["not XML", () => api(tokens.owner).putXml("hello")],
      ["an empty document", () => api(tokens.owner).putXml("")],
      ["metadata in JSON that is not XML", () => api(tokens.owner).put({ idpMetadataXml: "<unclosed" })],
      ["a certificate that is not one", () => api(tokens.owner).put({ ...okta(), certificates: ["-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"] })],
      ["a plain-http SSO URL", () => api(tokens.owner).put({ ...okta(), ssoUrl: "http://idp.example/sso" })],
      ["a plain-http SLO URL", () => api(tokens.owner).put({ ...okta(), sloUrl: "http://idp.example/slo" })],
    ];
    for (const [what, send] of invalid) {
      const res = await send();
      expect({ what, status: res.status, code: res.body.error?.code }).toEqual({ what, status: 400, code: "invalid" });
    }
    const malformed: [string, object][] = [
      ["an unknown signature requirement", { ...okta(), signatures: "sometimes" }],
      ["no certificates", { ...okta(), certificates: [] }],
      ["values and metadata at once", { ...okta(), idpMetadataXml: oktaMetadata({ certificate: current }) }],
      ["an unknown property", { ...okta(), wantAssertionsSigned: true }],
      ["no body", {}],
    ];
    for (const [what, body] of malformed) {
      const res = await api(tokens.owner).put(body);
      expect({ what, status: res.status, code: res.body.error?.code }).toEqual({ what, status: 400, code: "invalid_request" });
    }
    expect(await stored()).toEqual(before);
    expect(await events("saml_connection.configured")).toHaveLength(configured);
  });

  it("is refused to members below Admin and to service tokens", async () => {
    for (const token of [tokens.user, tokens.readOnly, tokens.service]) {
      for (const res of [await api(token).get(), await api(token).put(okta()), await api(token).putXml(oktaMetadata({ certificate: current })), await api(token).delete()]) {
        expect({ status: res.status, code: res.body.error?.code }).toEqual({ status: 403, code: "forbidden" });
      }
    }
    expect(await stored()).toMatchObject({ certificates: [successor] });
  });

  it("removes it, audited with the reason; then it is gone", async () => {
    await api(tokens.admin).delete("?reason=moving%20to%20another%20IdP").expect(204);
    expect(await stored()).toBeUndefined();
    const [event] = await events("saml_connection.removed");
    expect(event).toMatchObject({ source: "admin", reason: "moving to another IdP", before: { signatures: "both", certificates: [{ subject: "CN=idp-successor" }] } });
    expect((await api(tokens.owner).get().expect(404)).body.error.code).toBe("not_found");
    await api(tokens.owner).delete().expect(404);
    expect((await request(t.app).get(`/auth/saml/${org.id}/login`).expect(404)).text).toMatch(/No SAML connection/);
    // The service provider's own metadata stays: it belongs to the organization, not to the connection.
    await request(t.app).get(`/auth/saml/${org.id}/metadata`).expect(200);
  });
});

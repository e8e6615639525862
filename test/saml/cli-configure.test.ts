import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { runCommand, UsageError } from "../../src/cli/commands";
import { InvalidError, NotFoundError } from "../../src/errors";
import { startTestApp, type TestApp } from "../support/app";
import { certificatePem, ENTRA_TENANT, entraMetadata, oktaMetadata, expectedServiceProvider } from "../support/saml";

let t: TestApp;
let dir: string;
let okta: string;
let oktaCertificate: string;
const run = (...argv: string[]) => runCommand(t.services, argv);
const json = async (...argv: string[]) => JSON.parse((await run(...argv)).stdout[0]!);
const file = (name: string, content: string) => {
  const where = path.join(dir, name);
  writeFileSync(where, content);
  return where;
};
const events = (organizationId: string, action: string) => t.db.models.AuditEvent.find({ organizationId, action }).lean();

beforeAll(async () => {
  t = await startTestApp();
  dir = mkdtempSync(path.join(os.tmpdir(), "gatehouse-saml-cli-"));
  oktaCertificate = certificatePem("okta-signing", 365);
  okta = file("okta.xml", oktaMetadata({ certificate: oktaCertificate }));
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await t.close();
});

describe("saml configure --idp-metadata and saml show", () => {
  it("configures the connection from Okta's metadata file and prints the summary with --json", async () => {
    const org = await json("org", "create", "Metadata Co", "--json");
    const summary = await json("saml", "configure", "--org", org.id, "--idp-metadata", okta, "--jit", "--signatures", "both", "--json");
    expect(summary).toEqual({
      idpEntityId: "http://www.okta.com/exk1fcia6d6EMsf331d8",
      ssoUrl: "https://acme.okta.com/app/acme_gatehouse_1/exk1fcia6d6EMsf331d8/sso/saml",
      sloUrl: null,
      certificates: [{ pem: oktaCertificate, subject: "CN=okta-signing", validTo: expect.any(String), expiresSoon: false }],
      certificateExpiresSoon: false,
      signatures: "both",
      jit: true,
      groupSync: false,
      idpInitiated: false,
      attributes: { email: "email", name: "displayName", groups: "groups" },
      subject: { source: "nameId" },
      signAuthnRequests: false,
      serviceProvider: expectedServiceProvider(org.id),
    });
    expect(await t.services.saml.get({ organizationId: org.id })).toMatchObject({ idpEntityId: "http://www.okta.com/exk1fcia6d6EMsf331d8", certificates: [oktaCertificate], signatures: "both", jit: true });
    const [event] = await events(org.id, "saml_connection.configured");
    expect(event).toMatchObject({ source: "cli", actor: { type: "operator" }, after: { signatures: "both", certificates: [{ subject: "CN=okta-signing" }] } });

    expect(await json("saml", "show", "--org", org.id, "--json")).toEqual(summary);
    const shown = (await run("saml", "show", "--org", org.id)).stdout.join("\n");
    expect(shown).toContain("Identity provider:  http://www.okta.com/exk1fcia6d6EMsf331d8");
    expect(shown).toContain("Signatures:         both");
    expect(shown).toContain(`ACS URL:          https://gatehouse.test/auth/saml/${org.id}/acs`);
    expect(shown).toMatch(/CN=okta-signing\s+\d{4}-\d\d-\d\dT[\d:.]+Z\s+false/);
    expect(shown).not.toContain("Warning");
    expect(shown).toContain("SLO URL:            (none: signing out ends the Gatehouse session only)");
  });

  it("takes the single logout URL from the metadata, or from --slo-url (which also overrides the metadata's)", async () => {
    const org = await json("org", "create", "Logout Co", "--json");
    const entra = file("entra-slo.xml", entraMetadata({ certificates: [oktaCertificate] }));
    expect(await json("saml", "configure", "--org", org.id, "--idp-metadata", entra, "--json")).toMatchObject({ sloUrl: `https://login.microsoftonline.com/${ENTRA_TENANT}/saml2` });
    const sloUrl = "https://acme.okta.com/app/acme_gatehouse_1/exk1/slo/saml";
    expect(await json("saml", "configure", "--org", org.id, "--idp-metadata", okta, "--slo-url", sloUrl, "--json")).toMatchObject({ sloUrl });
    const cert = file("slo.pem", oktaCertificate);
    await run("saml", "configure", "--org", org.id, "--entity-id", "http://www.okta.com/exk1", "--sso-url", "https://acme.okta.com/sso", "--slo-url", sloUrl, "--cert", cert);
    expect(await t.services.saml.get({ organizationId: org.id })).toMatchObject({ sloUrl });
    expect((await run("saml", "show", "--org", org.id)).stdout.join("\n")).toContain(`SLO URL:            ${sloUrl}`);
    await expect(run("saml", "configure", "--org", org.id, "--idp-metadata", okta, "--slo-url", "http://acme.okta.com/slo")).rejects.toBeInstanceOf(InvalidError);
    expect(await t.services.saml.get({ organizationId: org.id })).toMatchObject({ sloUrl });
  });

  it("imports Entra ID's metadata with a rotation under way and warns about the certificate that expires within 30 days", async () => {
    const org = await json("org", "create", "Entra Co", "--json");
    const ending = certificatePem("Microsoft Azure Federated SSO Certificate", 10);
    const successor = certificatePem("Microsoft Azure Federated SSO Certificate 2", 1095);
    const metadata = file("entra.xml", entraMetadata({ certificates: [ending, successor] }));
    const out = await run("saml", "configure", "--org", org.id, "--idp-metadata", metadata);
    expect(out.stdout[0]).toBe(`SAML connection configured for ${org.id}: https://sts.windows.net/${ENTRA_TENANT}/`);
    expect(out.stdout.join("\n")).toMatch(/Warning: certificate CN=Microsoft Azure Federated SSO Certificate expires/);
    const shown = await json("saml", "show", "--org", org.id, "--json");
    expect(shown).toMatchObject({ certificateExpiresSoon: true, signatures: "assertion", ssoUrl: `https://login.microsoftonline.com/${ENTRA_TENANT}/saml2` });
    expect(shown.certificates.map((c: { subject: string; expiresSoon: boolean }) => [c.subject, c.expiresSoon])).toEqual([
      ["CN=Microsoft Azure Federated SSO Certificate", true],
      ["CN=Microsoft Azure Federated SSO Certificate 2", false],
    ]);
    expect((await run("saml", "show", "--org", org.id)).stdout.join("\n")).toContain("Warning: certificate CN=Microsoft Azure Federated SSO Certificate expires");
  });

  it("keeps the switches it is not given, prints what changed, and starts from defaults with --reset", async () => {
    const org = await json("org", "create", "Replace Co", "--json");
    const first = await run("saml", "configure", "--org", org.id, "--idp-metadata", okta, "--jit", "--group-sync", "--idp-initiated", "--signatures", "response");
    expect(first.stdout).toContain("  JIT: (none) → on");
    const cert = file("okta.pem", oktaCertificate);
    // Re-importing the identity provider's values says nothing about the switches: they stay on.
    const reimport = await run("saml", "configure", "--org", org.id, "--entity-id", "http://www.okta.com/exk2", "--sso-url", "https://acme.okta.com/app/2/sso/saml", "--cert", cert);
    expect(await t.services.saml.get({ organizationId: org.id })).toMatchObject({ idpEntityId: "http://www.okta.com/exk2", jit: true, groupSync: true, idpInitiated: true, signatures: "response" });
    expect(reimport.stdout[0]).toBe(`SAML connection updated for ${org.id}: http://www.okta.com/exk2`);
    expect(reimport.stdout).toContain("  Identity provider: http://www.okta.com/exk1fcia6d6EMsf331d8 → http://www.okta.com/exk2");
    expect(reimport.stdout.join("\n")).not.toMatch(/JIT|Group sync|IdP-initiated|Signatures/);

    const off = await run("saml", "configure", "--org", org.id, "--entity-id", "http://www.okta.com/exk2", "--sso-url", "https://acme.okta.com/app/2/sso/saml", "--cert", cert, "--no-jit", "--no-idp-initiated");
    expect(off.stdout).toEqual(expect.arrayContaining(["  JIT: on → off", "  IdP-initiated: on → off"]));
    expect(await t.services.saml.get({ organizationId: org.id })).toMatchObject({ jit: false, groupSync: true, idpInitiated: false, signatures: "response" });

    const unchanged = await run("saml", "configure", "--org", org.id, "--entity-id", "http://www.okta.com/exk2", "--sso-url", "https://acme.okta.com/app/2/sso/saml", "--cert", cert);
    expect(unchanged.stdout).toContain("Nothing changed.");

    const reset = await run("saml", "configure", "--org", org.id, "--idp-metadata", okta, "--reset");
    expect(reset.stdout).toEqual(expect.arrayContaining(["  Group sync: on → off", "  Signatures: response → assertion"]));
    expect(await t.services.saml.get({ organizationId: org.id })).toMatchObject({ jit: false, groupSync: false, idpInitiated: false, signatures: "assertion", subject: { source: "nameId" } });
    const [, , , , lastEvent] = await events(org.id, "saml_connection.configured");
    expect(lastEvent).toMatchObject({ before: { groupSync: true, signatures: "response" }, after: { groupSync: false, signatures: "assertion" } });
  });

  it("sets the attribute names and the subject key the admin API accepts, and shows them", async () => {
    const org = await json("org", "create", "Attributes Co", "--json");
    const entra = file("entra-attributes.xml", entraMetadata({ certificates: [oktaCertificate] }));
    const objectId = "http://schemas.microsoft.com/identity/claims/objectidentifier";
    const out = await run("saml", "configure", "--org", org.id, "--idp-metadata", entra, "--subject-attribute", objectId, "--email-attribute", "mail", "--groups-attribute", "memberOf");
    expect(out.stdout).toEqual(expect.arrayContaining([`  Subject key: (none) → attribute ${objectId}, matched exactly against externalId`, "  Email attribute: (none) → mail"]));
    expect(await t.services.saml.get({ organizationId: org.id })).toMatchObject({
      subject: { source: "attribute", attribute: objectId },
      attributes: { email: "mail", name: "displayName", groups: "memberOf" },
    });
    // One attribute name changed: the others keep theirs.
    await run("saml", "configure", "--org", org.id, "--idp-metadata", entra, "--name-attribute", "cn");
    expect(await t.services.saml.get({ organizationId: org.id })).toMatchObject({ subject: { source: "attribute", attribute: objectId }, attributes: { email: "mail", name: "cn", groups: "memberOf" } });
    const shown = (await run("saml", "show", "--org", org.id)).stdout.join("\n");
    expect(shown).toContain(`Subject key:        attribute ${objectId}, matched exactly against externalId`);
    expect(shown).toContain("Attributes:         email=mail, name=cn, groups=memberOf");
    expect(await json("saml", "show", "--org", org.id, "--json")).toMatchObject({ subject: { source: "attribute", attribute: objectId } });

    await run("saml", "configure", "--org", org.id, "--idp-metadata", entra, "--subject-nameid");
    expect((await t.services.saml.get({ organizationId: org.id }))?.subject).toEqual({ source: "nameId" });
    expect((await run("saml", "show", "--org", org.id)).stdout.join("\n")).toContain("Subject key:        NameID, matched against userName (ASCII case ignored for email addresses only)");
    for (const args of [["--subject-nameid", "--subject-attribute", objectId], ["--subject-attribute", " "], ["--email-attribute", ""], ["--jit", "--no-jit"]]) {
      await expect(run("saml", "configure", "--org", org.id, "--idp-metadata", entra, ...args)).rejects.toBeInstanceOf(UsageError);
    }
    expect(await t.services.saml.get({ organizationId: org.id })).toMatchObject({ subject: { source: "nameId" }, jit: false });
  });

  it("says plainly, in saml show, that IdP-initiated sign-in cannot be bound to the browser", async () => {
    const org = await json("org", "create", "Tile Co", "--json");
    await run("saml", "configure", "--org", org.id, "--idp-metadata", okta);
    expect((await run("saml", "show", "--org", org.id)).stdout.join("\n")).toContain("IdP-initiated:      off (every sign-in is bound to the browser that started it)");
    await run("saml", "configure", "--org", org.id, "--idp-metadata", okta, "--idp-initiated");
    expect((await run("saml", "show", "--org", org.id)).stdout.join("\n")).toMatch(/IdP-initiated:\s+on \(such sign-ins answer no request, so they cannot be bound to the browser: login CSRF is possible\)/);
  });

  it("shows the service provider's values before any identity provider is configured (Okta asks for them first)", async () => {
    const org = await json("org", "create", "Okta First Co", "--json");
    const shown = (await run("saml", "show", "--org", org.id)).stdout.join("\n");
    expect(shown).toContain("No identity provider is configured yet");
    expect(shown).toContain(`Entity ID:        https://gatehouse.test/auth/saml/${org.id}/metadata`);
    expect(shown).toContain(`ACS URL:          https://gatehouse.test/auth/saml/${org.id}/acs`);
    expect(shown).toContain(`Metadata URL:     https://gatehouse.test/auth/saml/${org.id}/metadata`);
    expect(await json("saml", "show", "--org", org.id, "--json")).toEqual({ configured: false, serviceProvider: expectedServiceProvider(org.id) });
    expect(await t.services.saml.get({ organizationId: org.id })).toBeUndefined();
  });

  it("refuses bad arguments as usage errors and bad metadata as invalid, storing nothing", async () => {
    const org = await json("org", "create", "Refused Co", "--json");
    const cert = file("refused.pem", oktaCertificate);
    const refusedUsage: string[][] = [
      ["--idp-metadata", okta, "--entity-id", "http://www.okta.com/exk1"],
      ["--idp-metadata", okta, "--cert", cert],
      ["--idp-metadata", okta, "--signatures", "sometimes"],
      ["--idp-metadata", path.join(dir, "missing.xml")],
      ["--jit"],
    ];
    for (const args of refusedUsage) await expect(run("saml", "configure", "--org", org.id, ...args)).rejects.toBeInstanceOf(UsageError);
    const refusedMetadata = [
      file("doctype.xml", `<?xml version="1.0"?><!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>${oktaMetadata({ certificate: oktaCertificate }).replace(/^<\?xml[^>]*\?>/, "")}`),
      file("sp.xml", `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://sp.example"><md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/></md:EntityDescriptor>`),
      file("garbage.xml", "this is not metadata"),
    ];
    for (const metadata of refusedMetadata) await expect(run("saml", "configure", "--org", org.id, "--idp-metadata", metadata)).rejects.toBeInstanceOf(InvalidError);
    expect(await t.services.saml.get({ organizationId: org.id })).toBeUndefined();
    expect(await events(org.id, "saml_connection.configured")).toHaveLength(0);
    await expect(run("saml", "show")).rejects.toBeInstanceOf(UsageError);
    await expect(run("saml", "show", "--org", "no-such-org")).rejects.toBeInstanceOf(UsageError);
  });

  it("reads a connection stored before signature requirements existed as requiring signed assertions", async () => {
    const org = await json("org", "create", "Old Co", "--json");
    await t.db.models.Organization.collection.updateOne(
      { _id: org.id } as never,
      { $set: { samlConnection: { idpEntityId: "http://www.okta.com/old", ssoUrl: "https://acme.okta.com/old/sso", certificates: [oktaCertificate], jit: true, groupSync: false, idpInitiated: false, attributes: { email: "email", name: "displayName", groups: "groups" } } } },
    );
    expect(await t.services.saml.get({ organizationId: org.id })).toMatchObject({ idpEntityId: "http://www.okta.com/old", jit: true, signatures: "assertion", subject: { source: "nameId" }, signAuthnRequests: false });
    expect(await json("saml", "show", "--org", org.id, "--json")).toMatchObject({ signatures: "assertion" });
  });

  it("saml remove takes the connection away, audited with the reason; a second remove is refused", async () => {
    const org = await json("org", "create", "Leaving SSO Co", "--json");
    await run("saml", "configure", "--org", org.id, "--idp-metadata", okta);
    const out = await run("saml", "remove", "--org", org.id, "--reason", "moving to another IdP");
    expect(out.stdout.join("\n")).toMatch(/Removed the SAML connection/);
    expect(await t.services.saml.get({ organizationId: org.id })).toBeUndefined();
    const [removed] = await events(org.id, "saml_connection.removed");
    expect(removed).toMatchObject({ reason: "moving to another IdP", source: "cli" });
    await expect(run("saml", "remove", "--org", org.id)).rejects.toBeInstanceOf(NotFoundError);
  });
});

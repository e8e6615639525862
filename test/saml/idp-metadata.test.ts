import { InvalidError } from "../../src/errors";
import { parseIdentityProviderMetadata, pemCertificate } from "../../src/saml/idp-metadata";
import { base64Of, certificatePem, ENTRA_TENANT, entraMetadata, oktaMetadata } from "../support/saml";

const MD = 'xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"';
const REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
const POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";

let current: string;
let next: string;
let other: string;
beforeAll(() => {
  current = certificatePem("Microsoft Azure Federated SSO Certificate", 365);
  next = certificatePem("Microsoft Azure Federated SSO Certificate (next)", 1095);
  other = certificatePem("unrelated", 365);
});

/** An IDPSSODescriptor's inside, in an Okta-style document. */
const idpDocument = (inner: string, entityId = "https://idp.example/entity") =>
  `<md:EntityDescriptor ${MD} entityID="${entityId}"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">${inner}</md:IDPSSODescriptor></md:EntityDescriptor>`;
const keyDescriptor = (pem: string, use?: string) =>
  `<md:KeyDescriptor${use ? ` use="${use}"` : ""}><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>${base64Of(pem)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`;
const sso = (binding: string, location: string) => `<md:SingleSignOnService Binding="${binding}" Location="${location}"/>`;
const slo = (binding: string, location: string) => `<md:SingleLogoutService Binding="${binding}" Location="${location}"/>`;

describe("identity-provider metadata import", () => {
  it("reads Okta's metadata: entity id, the sign-on URL and its one signing certificate, as PEM", () => {
    const metadata = parseIdentityProviderMetadata(oktaMetadata({ certificate: current }));
    expect(metadata).toEqual({
      idpEntityId: "http://www.okta.com/exk1fcia6d6EMsf331d8",
      ssoUrl: "https://acme.okta.com/app/acme_gatehouse_1/exk1fcia6d6EMsf331d8/sso/saml",
      certificates: [current],
      signAuthnRequests: false,
    });
  });

  it("reads Entra ID's federation metadata: past the signature and RoleDescriptors, every signing certificate of a rotation, in order", () => {
    const xml = entraMetadata({ certificates: [current, next], roleDescriptorCertificate: other, documentSigningCertificate: other });
    expect(parseIdentityProviderMetadata(xml)).toEqual({
      idpEntityId: `https://sts.windows.net/${ENTRA_TENANT}/`,
      ssoUrl: `https://login.microsoftonline.com/${ENTRA_TENANT}/saml2`,
      sloUrl: `https://login.microsoftonline.com/${ENTRA_TENANT}/saml2`,
      certificates: [current, next],
      signAuthnRequests: false,
    });
  });

  it('reads WantAuthnRequestsSigned: "true" and "1" want signed AuthnRequests, "false" and its absence do not', () => {
    const withWant = (value: string) => oktaMetadata({ certificate: current }).replace('WantAuthnRequestsSigned="false"', `WantAuthnRequestsSigned="${value}"`);
    expect(parseIdentityProviderMetadata(withWant("true")).signAuthnRequests).toBe(true);
    expect(parseIdentityProviderMetadata(withWant("1")).signAuthnRequests).toBe(true);
    expect(parseIdentityProviderMetadata(withWant("false")).signAuthnRequests).toBe(false);
    expect(parseIdentityProviderMetadata(entraMetadata({ certificates: [current] })).signAuthnRequests).toBe(false);
  });

  it("reads Okta's single logout URL once Single Logout is enabled (it lists HTTP-POST first)", () => {
    const sloUrl = "https://acme.okta.com/app/acme_gatehouse_1/exk1fcia6d6EMsf331d8/slo/saml";
    expect(parseIdentityProviderMetadata(oktaMetadata({ certificate: current, sloUrl })).sloUrl).toBe(sloUrl);
  });

  it.each([
    ["prefers HTTP-Redirect, wherever it is listed", [slo(POST, "https://idp.example/slo-post"), slo(REDIRECT, "https://idp.example/slo-redirect")], "https://idp.example/slo-redirect"],
    ["takes no HTTP-POST-only service (Gatehouse sends logout messages by redirect)", [slo(POST, "https://idp.example/slo-post")], undefined],
    ["has none without a SingleLogoutService", [], undefined],
  ])("%s for the single logout URL", (_what, services, expected) => {
    const metadata = parseIdentityProviderMetadata(idpDocument(keyDescriptor(current, "signing") + services.join("") + sso(REDIRECT, "https://idp.example/sso")));
    expect(metadata.sloUrl).toBe(expected);
    expect("sloUrl" in metadata).toBe(expected !== undefined);
  });

  it("takes the identity provider out of an EntitiesDescriptor that also describes a service provider", () => {
    const xml =
      `<md:EntitiesDescriptor ${MD} Name="federation">` +
      `<md:EntityDescriptor entityID="https://sp.example/metadata"><md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">${keyDescriptor(other, "signing")}` +
      `<md:AssertionConsumerService Binding="${POST}" Location="https://sp.example/acs" index="0"/></md:SPSSODescriptor></md:EntityDescriptor>` +
      oktaMetadata({ certificate: current }).replace(/^<\?xml[^>]*\?>/, "").replace(` ${MD}`, "") +
      `</md:EntitiesDescriptor>`;
    expect(parseIdentityProviderMetadata(xml)).toMatchObject({ idpEntityId: "http://www.okta.com/exk1fcia6d6EMsf331d8", certificates: [current] });
  });

  it.each([
    ["prefers HTTP-Redirect, wherever it is listed", [sso(POST, "https://idp.example/post"), sso(REDIRECT, "https://idp.example/redirect")], "https://idp.example/redirect"],
    ["falls back to HTTP-POST", [sso("urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact", "https://idp.example/artifact"), sso(POST, "https://idp.example/post")], "https://idp.example/post"],
  ])("%s for the sign-on URL", (_what, services, expected) => {
    expect(parseIdentityProviderMetadata(idpDocument(keyDescriptor(current, "signing") + services.join(""))).ssoUrl).toBe(expected);
  });

  it("keeps signing keys and keys without a use, skips encryption keys, and lists a certificate once", () => {
    const inner = keyDescriptor(current, "signing") + keyDescriptor(other, "encryption") + keyDescriptor(next) + keyDescriptor(current) + sso(REDIRECT, "https://idp.example/sso");
    expect(parseIdentityProviderMetadata(idpDocument(inner)).certificates).toEqual([current, next]);
  });

  it("unwraps base64 spread over several lines and wraps it again at 64 characters", () => {
    const wrapped = base64Of(current).match(/.{1,76}/g)!.join("\n      ");
    const inner = `<md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>\n      ${wrapped}\n    </ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>${sso(POST, "https://idp.example/sso")}`;
    const [pem] = parseIdentityProviderMetadata(`\uFEFF<?xml version="1.0"?>\n${idpDocument(inner)}\n`).certificates;
    expect(pem).toBe(current);
    expect(pem!.split("\n").slice(1, -2).every((line) => line.length === 64)).toBe(true);
    expect(pemCertificate(base64Of(current))).toBe(current);
  });

  const refusals: [string, () => string, RegExp][] = [
    ["an empty document", () => "   ", /empty/],
    ["something that is not XML", () => "entityID: http://www.okta.com/exk1", /not XML/],
    ["malformed XML", () => `<md:EntityDescriptor ${MD} entityID="x"><md:IDPSSODescriptor></md:EntityDescriptor>`, /not well-formed XML/],
    [
      "a DOCTYPE with an external entity (XXE)",
      () => `<?xml version="1.0"?><!DOCTYPE md:EntityDescriptor [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>${idpDocument(keyDescriptor(current, "signing") + sso(REDIRECT, "https://idp.example/&xxe;"))}`,
      /DOCTYPE/,
    ],
    ["an entity-expansion DTD, however it is spelt", () => `<!doctype lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><lolz>&lol2;</lolz>`, /DOCTYPE/],
    ["an EntityDescriptor outside the SAML 2.0 metadata namespace", () => `<EntityDescriptor entityID="x"><IDPSSODescriptor/></EntityDescriptor>`, /not SAML 2\.0 metadata/],
    [
      "a service provider's metadata",
      () => `<md:EntityDescriptor ${MD} entityID="https://sp.example"><md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/></md:EntityDescriptor>`,
      /no IDPSSODescriptor/,
    ],
    ["an identity provider without a Redirect or POST sign-on service", () => idpDocument(keyDescriptor(current, "signing") + sso("urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact", "https://idp.example/a")), /no SingleSignOnService/],
    ["an identity provider with only an encryption key", () => idpDocument(keyDescriptor(current, "encryption") + sso(REDIRECT, "https://idp.example/sso")), /no signing certificate/],
    [
      "a certificate that is not base64",
      () => idpDocument(`<md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>not*base64</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>${sso(REDIRECT, "https://idp.example/sso")}`),
      /not base64/,
    ],
    ["an EntityDescriptor without an entityID", () => idpDocument(keyDescriptor(current, "signing") + sso(REDIRECT, "https://idp.example/sso"), ""), /no entityID/],
  ];

  it.each(refusals)("refuses %s with InvalidError", (_what, xml, message) => {
    let thrown: unknown;
    try {
      parseIdentityProviderMetadata(xml());
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InvalidError);
    expect((thrown as Error).message).toMatch(message);
  });
});

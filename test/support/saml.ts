import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";

/**
 * SAML fixtures made in the test: identity-provider signing certificates (self-signed, by openssl,
 * as test/saml/connection.test.ts makes them) and metadata documents shaped like the ones Okta and
 * Microsoft Entra ID publish, around those certificates.
 */

/** A self-signed certificate with `CN=<name>`, valid for `days`, as PEM (64-character lines). */
export function certificatePem(name: string, days: number): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "gatehouse-cert-"));
  try {
    const file = path.join(dir, "cert.pem");
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", path.join(dir, "key.pem"), "-out", file, "-days", String(days), "-subj", `/CN=${name}`], {
      stdio: "ignore",
    });
    return readFileSync(file, "utf8").trim();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The base64 DER inside a PEM block, on one line (as Okta and Entra ID write it in metadata). */
export const base64Of = (pem: string) => pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, "").replace(/\s+/g, "");

const keyInfo = (pem: string, prefix = "ds:", declare = true) =>
  `<${prefix}KeyInfo${declare ? ` xmlns${prefix ? `:${prefix.slice(0, -1)}` : ""}="http://www.w3.org/2000/09/xmldsig#"` : ""}><${prefix}X509Data><${prefix}X509Certificate>${base64Of(pem)}</${prefix}X509Certificate></${prefix}X509Data></${prefix}KeyInfo>`;

/**
 * Metadata as Okta's "Identity Provider metadata" link serves it: `md:` prefixes, one signing
 * certificate, POST then Redirect; with `sloUrl` (Single Logout enabled), SingleLogoutServices too.
 */
export function oktaMetadata(options: { appId?: string; certificate: string; postUrl?: string; redirectUrl?: string; sloUrl?: string }): string {
  const appId = options.appId ?? "exk1fcia6d6EMsf331d8";
  const sso = `https://acme.okta.com/app/acme_gatehouse_1/${appId}/sso/saml`;
  return (
    `<?xml version="1.0" encoding="UTF-8"?><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="http://www.okta.com/${appId}">` +
    `<md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">` +
    `<md:KeyDescriptor use="signing">${keyInfo(options.certificate)}</md:KeyDescriptor>` +
    (options.sloUrl
      ? `<md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="${options.sloUrl}"/>` +
        `<md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="${options.sloUrl}"/>`
      : "") +
    `<md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified</md:NameIDFormat>` +
    `<md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>` +
    `<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="${options.postUrl ?? sso}"/>` +
    `<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="${options.redirectUrl ?? sso}"/>` +
    `</md:IDPSSODescriptor></md:EntityDescriptor>`
  );
}

export const ENTRA_TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47";

/**
 * Metadata as Entra ID's "Federation Metadata XML" serves it: default namespace, the document's own
 * signature first, then WS-Federation RoleDescriptors (with their own KeyDescriptors), then the
 * IDPSSODescriptor with one KeyDescriptor per signing certificate (two or three during a rotation),
 * a logout service, and Redirect and POST sign-on services at the same URL.
 */
export function entraMetadata(options: { certificates: readonly string[]; roleDescriptorCertificate?: string; documentSigningCertificate?: string }): string {
  const base = `https://login.microsoftonline.com/${ENTRA_TENANT}`;
  const sts = options.roleDescriptorCertificate ?? options.certificates[0]!;
  const docSigner = options.documentSigningCertificate ?? options.certificates[0]!;
  const signing = (pem: string) => `<KeyDescriptor use="signing">${keyInfo(pem, "", true)}</KeyDescriptor>`;
  return (
    `<?xml version="1.0" encoding="utf-8"?>` +
    `<EntityDescriptor ID="_b3b4f5c7-2f5e-4c1e-9a7b-6f0c4f1d2e3a" entityID="https://sts.windows.net/${ENTRA_TENANT}/" xmlns="urn:oasis:names:tc:SAML:2.0:metadata">` +
    `<Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo><CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>` +
    `<SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><Reference URI="#_b3b4f5c7-2f5e-4c1e-9a7b-6f0c4f1d2e3a"><Transforms>` +
    `<Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></Transforms>` +
    `<DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><DigestValue>3Zk0SUbcXyD4lJ3a9Yv0cMZk0o3Zl3y6p0fDq3u2qW8=</DigestValue></Reference></SignedInfo>` +
    `<SignatureValue>c2lnbmF0dXJlIG9mIHRoZSBtZXRhZGF0YSBkb2N1bWVudA==</SignatureValue>${keyInfo(docSigner, "", false)}</Signature>` +
    `<RoleDescriptor xsi:type="fed:SecurityTokenServiceType" protocolSupportEnumeration="http://docs.oasis-open.org/wsfed/federation/200706" ` +
    `xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:fed="http://docs.oasis-open.org/wsfed/federation/200706">` +
    `${signing(sts)}<fed:ClaimTypesOffered><auth:ClaimType Uri="http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name" xmlns:auth="http://docs.oasis-open.org/wsfed/authorization/200706">` +
    `<auth:DisplayName>Name</auth:DisplayName></auth:ClaimType></fed:ClaimTypesOffered>` +
    `<fed:SecurityTokenServiceEndpoint><wsa:EndpointReference xmlns:wsa="http://www.w3.org/2005/08/addressing"><wsa:Address>${base}/wsfed</wsa:Address></wsa:EndpointReference></fed:SecurityTokenServiceEndpoint>` +
    `<fed:PassiveRequestorEndpoint><wsa:EndpointReference xmlns:wsa="http://www.w3.org/2005/08/addressing"><wsa:Address>${base}/wsfed</wsa:Address></wsa:EndpointReference></fed:PassiveRequestorEndpoint>` +
    `</RoleDescriptor>` +
    `<RoleDescriptor xsi:type="fed:ApplicationServiceType" protocolSupportEnumeration="http://docs.oasis-open.org/wsfed/federation/200706" ` +
    `xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:fed="http://docs.oasis-open.org/wsfed/federation/200706">` +
    `${signing(sts)}<fed:TargetScopes><wsa:EndpointReference xmlns:wsa="http://www.w3.org/2005/08/addressing"><wsa:Address>https://sts.windows.net/${ENTRA_TENANT}/</wsa:Address></wsa:EndpointReference></fed:TargetScopes>` +
    `<fed:ApplicationServiceEndpoint><wsa:EndpointReference xmlns:wsa="http://www.w3.org/2005/08/addressing"><wsa:Address>${base}/wsfed</wsa:Address></wsa:EndpointReference></fed:ApplicationServiceEndpoint>` +
    `</RoleDescriptor>` +
    `<IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">` +
    options.certificates.map(signing).join("") +
    `<SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="${base}/saml2"/>` +
    `<SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="${base}/saml2"/>` +
    `<SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="${base}/saml2"/>` +
    `</IDPSSODescriptor></EntityDescriptor>`
  );
}

/** The service provider's URLs Gatehouse shows for an organization (PUBLIC_BASE_URL https://gatehouse.test). */
export function expectedServiceProvider(organizationId: string) {
  const base = `https://gatehouse.test/auth/saml/${organizationId}`;
  return { entityId: `${base}/metadata`, metadataUrl: `${base}/metadata`, loginUrl: `${base}/login`, acsUrl: `${base}/acs`, logoutUrl: `${base}/logout`, signingCertificate: null };
}

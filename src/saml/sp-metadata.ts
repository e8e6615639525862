import { DOMParser, XMLSerializer } from "@xmldom/xmldom";

/**
 * The service provider's metadata with single logout (SAML Metadata §2.4.2, §2.4.4): the signing
 * certificate (a KeyDescriptor use="signing") and the SingleLogoutService, HTTP-Redirect — added to
 * what node-saml generates, which can only announce single logout with the HTTP-POST binding and,
 * given the key, would also claim that AuthnRequests are signed (Gatehouse signs them only for an
 * identity provider that wants them signed: `authnRequestsSigned`). Only when the service provider has a key: Okta accepts signed
 * logout requests only, so without one there is no single logout to announce.
 */

const MD = "urn:oasis:names:tc:SAML:2.0:metadata";
const DS = "http://www.w3.org/2000/09/xmldsig#";
const REDIRECT_BINDING = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";

export function withSingleLogout(metadataXml: string, options: { certificate: string; logoutUrl: string; authnRequestsSigned?: boolean }): string {
  const document = new DOMParser().parseFromString(metadataXml, "text/xml");
  const descriptor = document.getElementsByTagNameNS(MD, "SPSSODescriptor")[0];
  if (!descriptor) throw new Error("the generated metadata has no SPSSODescriptor");
  descriptor.setAttribute("AuthnRequestsSigned", options.authnRequestsSigned ? "true" : "false");
  for (const existing of Array.from(descriptor.getElementsByTagNameNS(MD, "SingleLogoutService"))) descriptor.removeChild(existing);

  const keyDescriptor = document.createElementNS(MD, "KeyDescriptor");
  keyDescriptor.setAttribute("use", "signing");
  const keyInfo = document.createElementNS(DS, "ds:KeyInfo");
  const x509Data = document.createElementNS(DS, "ds:X509Data");
  const x509Certificate = document.createElementNS(DS, "ds:X509Certificate");
  x509Certificate.appendChild(document.createTextNode(options.certificate.replace(/-----(BEGIN|END) CERTIFICATE-----/g, "").replace(/\s+/g, "")));
  x509Data.appendChild(x509Certificate);
  keyInfo.appendChild(x509Data);
  keyDescriptor.appendChild(keyInfo);

  const logout = document.createElementNS(MD, "SingleLogoutService");
  logout.setAttribute("Binding", REDIRECT_BINDING);
  logout.setAttribute("Location", options.logoutUrl);

  // Schema order (Metadata §2.4.1, §2.4.2): KeyDescriptor first, then SingleLogoutService before NameIDFormat.
  descriptor.insertBefore(keyDescriptor, descriptor.firstChild);
  const nameIdFormat = descriptor.getElementsByTagNameNS(MD, "NameIDFormat")[0] ?? descriptor.getElementsByTagNameNS(MD, "AssertionConsumerService")[0] ?? null;
  descriptor.insertBefore(logout, nameIdFormat);
  return new XMLSerializer().serializeToString(document);
}

import { DOMParser } from "@xmldom/xmldom";
import { InvalidError } from "../errors";

/**
 * An identity provider's SAML 2.0 metadata (SAML 2.0 Metadata, saml-metadata-2.0-os) read into what
 * a SAML connection needs: what administrators download from Okta ("Identity Provider metadata")
 * or Entra ID ("Federation Metadata XML") and would otherwise copy field by field.
 *
 * Pure: a string in, the identity provider's values out, or an InvalidError saying what is missing. Nothing is
 * fetched (no metadata URLs), nothing is stored, and the metadata's own signature is not checked:
 * the administrator who uploads it is trusted as they would be typing the same values in.
 */
export interface IdentityProviderMetadata {
  readonly idpEntityId: string;
  /** The SingleSignOnService location: HTTP-Redirect preferred, then HTTP-POST (Bindings §3.4, §3.5). */
  readonly ssoUrl: string;
  /**
   * The SingleLogoutService location with the HTTP-Redirect binding, when the identity provider has
   * one: the only binding Gatehouse sends logout messages with, so a POST-only service is not taken.
   */
  readonly sloUrl?: string;
  /** Every signing certificate, as PEM, in document order, without duplicates (several during a rotation). */
  readonly certificates: readonly string[];
  /**
   * The IDPSSODescriptor's `WantAuthnRequestsSigned` (Metadata §2.4.3; absent means false): the
   * identity provider refuses AuthnRequests that are not signed.
   */
  readonly signAuthnRequests: boolean;
}

export const METADATA_NS = "urn:oasis:names:tc:SAML:2.0:metadata";
export const XMLDSIG_NS = "http://www.w3.org/2000/09/xmldsig#";
const SAML2_PROTOCOL = "urn:oasis:names:tc:SAML:2.0:protocol";
const REDIRECT_BINDING = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
const POST_BINDING = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";

/** Direct children of `parent` with this namespace and local name (metadata nests, descendants would mix roles). */
function children(parent: Element, localName: string, namespace = METADATA_NS): Element[] {
  const found: Element[] = [];
  for (let node = parent.firstChild; node; node = node.nextSibling) {
    if (node.nodeType === 1 && (node as Element).localName === localName && (node as Element).namespaceURI === namespace) found.push(node as Element);
  }
  return found;
}

/** Wraps base64 DER in PEM armour, 64 characters a line (RFC 7468 §2). */
export function pemCertificate(base64: string): string {
  const body = base64.replace(/\s+/g, "");
  return `-----BEGIN CERTIFICATE-----\n${body.match(/.{1,64}/g)!.join("\n")}\n-----END CERTIFICATE-----`;
}

function parseDocument(xml: string): Document {
  const problems: string[] = [];
  const record = (message: string) => problems.push(message.replace(/^\[xmldom \w+\]\s*/, "").split("\n")[0]!.trim());
  let document: Document | undefined;
  try {
    document = new DOMParser({ errorHandler: { warning: record, error: record, fatalError: record } }).parseFromString(xml, "application/xml");
  } catch (error) {
    record(error instanceof Error ? error.message : String(error));
  }
  // xmldom recovers from much that is not XML; metadata is machine-written, so any complaint is a refusal.
  if (!document?.documentElement || problems.length) {
    throw new InvalidError(`The identity provider's metadata is not well-formed XML${problems.length ? `: ${problems[0]}` : ""}`);
  }
  return document;
}

/** The EntityDescriptor that describes an identity provider: the root, or the first such one of an EntitiesDescriptor. */
function identityProviderEntity(root: Element): { entity: Element; idp: Element } {
  let entities: Element[];
  if (root.namespaceURI === METADATA_NS && root.localName === "EntityDescriptor") entities = [root];
  else if (root.namespaceURI === METADATA_NS && root.localName === "EntitiesDescriptor") entities = Array.from(root.getElementsByTagNameNS(METADATA_NS, "EntityDescriptor"));
  else {
    throw new InvalidError(`This is not SAML 2.0 metadata: expected an EntityDescriptor or EntitiesDescriptor in ${METADATA_NS}, found ${root.localName ?? root.nodeName}`);
  }
  const candidates = entities.flatMap((entity) => children(entity, "IDPSSODescriptor").map((idp) => ({ entity, idp })));
  const saml2 = candidates.find(({ idp }) => (idp.getAttribute("protocolSupportEnumeration") ?? "").split(/\s+/).includes(SAML2_PROTOCOL));
  const chosen = saml2 ?? candidates[0];
  if (!chosen) throw new InvalidError("The metadata has no IDPSSODescriptor: it describes no identity provider (is it the service provider's metadata?)");
  return chosen;
}

function singleSignOnUrl(idp: Element): string {
  const services = children(idp, "SingleSignOnService");
  for (const binding of [REDIRECT_BINDING, POST_BINDING]) {
    const location = services.find((s) => s.getAttribute("Binding") === binding)?.getAttribute("Location")?.trim();
    if (location) return location;
  }
  throw new InvalidError("The IDPSSODescriptor has no SingleSignOnService with the HTTP-Redirect or HTTP-POST binding");
}

function singleLogoutUrl(idp: Element): string | undefined {
  const location = children(idp, "SingleLogoutService").find((s) => s.getAttribute("Binding") === REDIRECT_BINDING)?.getAttribute("Location")?.trim();
  return location || undefined;
}

/** `use="signing"` or no `use` (a key for both purposes, Metadata §2.4.1.1); `encryption` keys are not for us. */
function signingCertificates(idp: Element): string[] {
  const pems: string[] = [];
  for (const descriptor of children(idp, "KeyDescriptor")) {
    const use = descriptor.getAttribute("use");
    if (use && use !== "signing") continue;
    for (const element of Array.from(descriptor.getElementsByTagNameNS(XMLDSIG_NS, "X509Certificate"))) {
      const base64 = (element.textContent ?? "").replace(/\s+/g, "");
      if (!base64) continue;
      if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) throw new InvalidError("A signing certificate in the metadata is not base64");
      const pem = pemCertificate(base64);
      if (!pems.includes(pem)) pems.push(pem);
    }
  }
  if (!pems.length) throw new InvalidError("The IDPSSODescriptor has no signing certificate (KeyDescriptor use=\"signing\" with an X509Certificate)");
  return pems;
}

/** Reads an identity provider's metadata document; InvalidError with a reason an administrator can act on. */
export function parseIdentityProviderMetadata(xml: string): IdentityProviderMetadata {
  const text = xml.replace(/^\uFEFF/, "").trim();
  if (!text) throw new InvalidError("The identity provider's metadata is empty");
  // No DTDs at all: entity declarations are how XML external entity (XXE) and entity-expansion
  // ("billion laughs") attacks start, and metadata is defined by XML Schema, never needs a DTD.
  if (/<!DOCTYPE/i.test(text) || /<!ENTITY/i.test(text)) throw new InvalidError("The metadata contains a DOCTYPE; documents with a DTD are refused");
  if (!text.startsWith("<")) throw new InvalidError("The identity provider's metadata is not XML");
  const document = parseDocument(text);
  if (document.doctype) throw new InvalidError("The metadata contains a DOCTYPE; documents with a DTD are refused");
  const { entity, idp } = identityProviderEntity(document.documentElement);
  const idpEntityId = entity.getAttribute("entityID")?.trim();
  if (!idpEntityId) throw new InvalidError("The identity provider's EntityDescriptor has no entityID");
  const sloUrl = singleLogoutUrl(idp);
  const wants = (idp.getAttribute("WantAuthnRequestsSigned") ?? "").trim();
  // xs:boolean (XML Schema Part 2 §3.2.2): "true" or "1".
  return { idpEntityId, ssoUrl: singleSignOnUrl(idp), ...(sloUrl ? { sloUrl } : {}), certificates: signingCertificates(idp), signAuthnRequests: wants === "true" || wants === "1" };
}

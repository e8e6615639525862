import { DOMParser } from "@xmldom/xmldom";
import { SamlRefusal } from "../domain/saml";

/**
 * Checks on a SAML Response that @node-saml/node-saml 5.1 does not make (../shared/SCIMMY.md):
 * the issuer, the Destination and the Recipient, the signature algorithms, and a document shape
 * that leaves no room for signature wrapping. They run on the raw XML before node-saml verifies
 * the signatures; node-saml then verifies that the one assertion inspected here is signed, and
 * the caller compares its ID with the one verified (`assertionId`).
 */

export const ns = {
  protocol: "urn:oasis:names:tc:SAML:2.0:protocol",
  assertion: "urn:oasis:names:tc:SAML:2.0:assertion",
  dsig: "http://www.w3.org/2000/09/xmldsig#",
};

/** Signature and digest algorithms accepted from an identity provider: SHA-2 only. */
const acceptedSignatureAlgorithms = new Set([
  "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
  "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
  "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
  "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512",
]);
const acceptedDigestAlgorithms = new Set(["http://www.w3.org/2001/04/xmlenc#sha256", "http://www.w3.org/2001/04/xmlenc#sha512"]);

/** Largest SAMLResponse (decoded) accepted: real ones are a few kilobytes, large-group ones tens. */
export const maxResponseBytes = 512 * 1024;

export interface ResponseExpectations {
  idpEntityId: string;
  acsUrl: string;
}

export interface InspectedResponse {
  assertionId: string;
  /** The latest NotOnOrAfter the assertion carries (its bearer confirmation or its conditions). */
  expiresAt?: Date;
  inResponseTo?: string;
}

export type XmlElement = {
  localName: string;
  namespaceURI: string | null;
  getAttribute(name: string): string | null;
  getElementsByTagNameNS(ns: string, name: string): ArrayLike<XmlElement>;
  parentNode: XmlElement | null;
  textContent: string | null;
  childNodes: ArrayLike<{ nodeType: number }>;
};

export const elements = (root: XmlElement, namespace: string, name: string): XmlElement[] => Array.from(root.getElementsByTagNameNS(namespace, name));
export const directChild = (parent: XmlElement, namespace: string, name: string): XmlElement | undefined =>
  Array.from(parent.childNodes as ArrayLike<XmlElement & { nodeType: number }>).find((n) => n.nodeType === 1 && n.localName === name && n.namespaceURI === namespace);

/** Decodes the form's base64 SAMLResponse; a refusal when it is not a plausible one. */
export function decodeSamlResponse(encoded: unknown): string {
  if (typeof encoded !== "string" || !encoded.trim()) throw new SamlRefusal("malformed", "The identity provider's answer is missing.");
  const xml = Buffer.from(encoded, "base64").toString("utf8");
  if (xml.length > maxResponseBytes) throw new SamlRefusal("malformed", "The identity provider's answer is too large.");
  return xml;
}

export function inspectSamlResponse(xml: string, expected: ResponseExpectations): InspectedResponse {
  // No DTDs at all: entity expansion and external entities have no place in SAML (XXE).
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw new SamlRefusal("malformed", "The identity provider's answer is not a valid SAML response.", "document type declaration");
  const errors: string[] = [];
  const document = new DOMParser({ errorHandler: (level: string, message: unknown) => void (level !== "warning" && errors.push(String(message))) }).parseFromString(xml, "text/xml");
  const root = document?.documentElement as unknown as XmlElement | null;
  if (errors.length || !root || root.localName !== "Response" || root.namespaceURI !== ns.protocol) {
    throw new SamlRefusal("malformed", "The identity provider's answer is not a valid SAML response.", errors[0] ?? "not a samlp:Response");
  }

  const status = directChild(root, ns.protocol, "Status");
  const statusCode = status && directChild(status, ns.protocol, "StatusCode")?.getAttribute("Value");
  if (statusCode && statusCode !== "urn:oasis:names:tc:SAML:2.0:status:Success") {
    const message = status && directChild(status, ns.protocol, "StatusMessage")?.textContent?.trim();
    throw new SamlRefusal("idp_error", "The identity provider did not sign you in.", `${statusCode}${message ? `: ${message}` : ""}`);
  }

  if (elements(root, ns.assertion, "EncryptedAssertion").length) {
    throw new SamlRefusal("encrypted_assertion", "The identity provider sent an encrypted assertion, which this connection does not accept.", "EncryptedAssertion");
  }
  // Exactly one Response (the root) and one Assertion (its direct child): every signature-wrapping
  // variant needs a second copy of one of them somewhere in the document.
  const responses = elements(root, ns.protocol, "Response");
  const assertions = elements(root, ns.assertion, "Assertion");
  if (responses.length !== 0 || assertions.length !== 1 || assertions[0]!.parentNode !== root) {
    throw new SamlRefusal("signature_wrapping", "The identity provider's answer is not a valid SAML response.", `${responses.length + 1} Response and ${assertions.length} Assertion elements`);
  }
  const assertion = assertions[0]!;
  // Signatures only where SAML puts them: directly under the Response or the Assertion.
  for (const signature of elements(root, ns.dsig, "Signature")) {
    if (signature.parentNode !== root && signature.parentNode !== assertion) {
      throw new SamlRefusal("signature_wrapping", "The identity provider's answer is not a valid SAML response.", "a Signature outside the Response and the Assertion");
    }
  }
  for (const method of elements(root, ns.dsig, "SignatureMethod")) {
    const algorithm = method.getAttribute("Algorithm") ?? "";
    if (!acceptedSignatureAlgorithms.has(algorithm)) {
      throw new SamlRefusal("weak_signature_algorithm", "The identity provider signed with an algorithm Gatehouse does not accept (use SHA-256).", algorithm);
    }
  }
  for (const method of elements(root, ns.dsig, "DigestMethod")) {
    const algorithm = method.getAttribute("Algorithm") ?? "";
    if (!acceptedDigestAlgorithms.has(algorithm)) {
      throw new SamlRefusal("weak_signature_algorithm", "The identity provider signed with an algorithm Gatehouse does not accept (use SHA-256).", algorithm);
    }
  }

  const responseIssuer = directChild(root, ns.assertion, "Issuer")?.textContent?.trim();
  const assertionIssuer = directChild(assertion, ns.assertion, "Issuer")?.textContent?.trim();
  for (const issuer of [responseIssuer, assertionIssuer]) {
    if (issuer !== undefined && issuer !== expected.idpEntityId) {
      throw new SamlRefusal("wrong_issuer", "The answer comes from an identity provider this organization does not use.", `issuer ${issuer}`);
    }
  }
  if (assertionIssuer === undefined) throw new SamlRefusal("wrong_issuer", "The answer does not say which identity provider sent it.", "no Issuer in the assertion");

  const destination = root.getAttribute("Destination");
  if (destination !== expected.acsUrl) {
    throw new SamlRefusal("wrong_destination", "The answer was addressed to another service.", `Destination ${destination ?? "(none)"}`);
  }

  const subject = directChild(assertion, ns.assertion, "Subject");
  const bearer = subject
    ? elements(subject, ns.assertion, "SubjectConfirmation").filter((c) => c.getAttribute("Method") === "urn:oasis:names:tc:SAML:2.0:cm:bearer")
    : [];
  const confirmations = bearer.map((c) => directChild(c, ns.assertion, "SubjectConfirmationData")).filter((d): d is XmlElement => d !== undefined);
  if (!confirmations.length) throw new SamlRefusal("wrong_recipient", "The answer does not say who it is for.", "no bearer SubjectConfirmationData");
  for (const data of confirmations) {
    const recipient = data.getAttribute("Recipient");
    if (recipient !== expected.acsUrl) throw new SamlRefusal("wrong_recipient", "The answer was addressed to another service.", `Recipient ${recipient ?? "(none)"}`);
  }

  const assertionId = assertion.getAttribute("ID");
  if (!assertionId) throw new SamlRefusal("malformed", "The identity provider's answer is not a valid SAML response.", "assertion without ID");
  const conditions = directChild(assertion, ns.assertion, "Conditions");
  const deadlines = [...confirmations.map((d) => d.getAttribute("NotOnOrAfter")), conditions?.getAttribute("NotOnOrAfter")]
    .filter((v): v is string => Boolean(v))
    .map((v) => new Date(v))
    .filter((d) => !Number.isNaN(d.getTime()));
  const expiresAt = deadlines.length ? new Date(Math.max(...deadlines.map((d) => d.getTime()))) : undefined;
  const inResponseTo = root.getAttribute("InResponseTo") ?? undefined;
  return { assertionId, ...(expiresAt ? { expiresAt } : {}), ...(inResponseTo ? { inResponseTo } : {}) };
}

/** node-saml's error messages, turned into reasons an administrator can act on. */
export function refusalFromValidationError(error: unknown, inspected?: InspectedResponse, clockSkewMs = 0, now = new Date()): SamlRefusal {
  const message = error instanceof Error ? error.message : String(error);
  const is = (pattern: RegExp) => pattern.test(message);
  // node-saml reports a bearer confirmation past its NotOnOrAfter only as "no valid subject confirmation".
  if (is(/subject confirmation/i) && inspected?.expiresAt && inspected.expiresAt.getTime() + clockSkewMs <= now.getTime()) {
    return new SamlRefusal("expired", "The identity provider's answer has expired. Please sign in again.", message);
  }
  if (is(/signature/i)) return new SamlRefusal("invalid_signature", "The identity provider's signature could not be verified.", message);
  if (is(/expired|NotOnOrAfter/i)) return new SamlRefusal("expired", "The identity provider's answer has expired. Please sign in again.", message);
  if (is(/not yet valid|NotBefore/i)) return new SamlRefusal("not_yet_valid", "The identity provider's answer is not valid yet. Check the clocks and sign in again.", message);
  if (is(/audience/i)) return new SamlRefusal("wrong_audience", "The answer was meant for another service.", message);
  if (is(/InResponseTo is missing/i)) return new SamlRefusal("unsolicited", "Sign-ins started at the identity provider are not allowed for this organization. Start from Gatehouse instead.", message);
  if (is(/InResponseTo/i)) return new SamlRefusal("unknown_request", "This sign-in was not started here, or it took too long. Please sign in again.", message);
  if (is(/status/i)) return new SamlRefusal("idp_error", "The identity provider did not sign you in.", message);
  return new SamlRefusal("invalid_response", "The identity provider's answer could not be accepted.", message);
}

import { verify, X509Certificate } from "node:crypto";
import { escape as formEscape } from "node:querystring";
import { inflateRawSync } from "node:zlib";
import { SamlRefusal } from "../domain/saml";

/**
 * The HTTP-Redirect binding (SAML Bindings §3.4) for the logout messages identity providers send:
 * the query string read strictly, the DEFLATE-encoded message inflated within a bound, and the
 * query-string signature (§3.4.4.1) verified over the octets exactly as they arrived.
 *
 * node-saml's own redirect check finds parameters by a substring match over the query, verifies
 * whatever algorithm the sender names (rsa-sha1 included) and accepts a message without any
 * signature; so the signature is verified here, SHA-2 only, and node-saml then validates the
 * message itself (issuer, status, InResponseTo) without a signature of its own to check.
 */

export type RedirectMessageKind = "SAMLRequest" | "SAMLResponse";

/** Largest inflated logout message accepted: real ones are about a kilobyte (a bound against deflate bombs). */
export const maxLogoutMessageBytes = 64 * 1024;

/** Query-string signature algorithms accepted (SAML Bindings §3.4.4.1 SigAlg): RSA with SHA-2 only. */
const signatureAlgorithms: Record<string, string> = {
  "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256": "sha256",
  "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512": "sha512",
};

export interface RedirectSignature {
  /** The SigAlg URI. */
  readonly algorithm: string;
  /** The Signature parameter, base64. */
  readonly value: string;
  /** `SAMLRequest=…&RelayState=…&SigAlg=…` (or SAMLResponse), the encoded values as received. */
  readonly signedOctets: string;
}

export interface RedirectMessage {
  readonly kind: RedirectMessageKind;
  /** The inflated XML message. */
  readonly xml: string;
  /** The decoded RelayState, when the sender gave one. */
  readonly relayState?: string;
  readonly signature?: RedirectSignature;
  /** The decoded message (and RelayState) as node-saml's validateRedirectAsync takes them, without the signature. */
  readonly container: Record<string, string>;
}

const bindingParameters = new Set(["SAMLRequest", "SAMLResponse", "RelayState", "SigAlg", "Signature"]);

const malformed = (detail: string) => new SamlRefusal("malformed", "The identity provider's sign-out message is not a valid SAML message.", detail);

/** The SAML parameter names present in a raw query string (to tell a logout message from a plain sign-out). */
export function samlParameterIn(rawQuery: string): RedirectMessageKind | undefined {
  const names = rawQuery.split("&").map((token) => token.split("=", 1)[0]);
  return names.includes("SAMLRequest") ? "SAMLRequest" : names.includes("SAMLResponse") ? "SAMLResponse" : undefined;
}

/**
 * Reads a Redirect-binding message from the raw query string (the part after `?`, undecoded): one
 * SAMLRequest or SAMLResponse, at most one of each other binding parameter, SigAlg and Signature
 * together or not at all. A SamlRefusal ("malformed") otherwise.
 */
export function parseRedirectQuery(rawQuery: string): RedirectMessage {
  const raw = new Map<string, string>();
  for (const token of rawQuery.split("&")) {
    const separator = token.indexOf("=");
    const name = separator < 0 ? token : token.slice(0, separator);
    if (!bindingParameters.has(name)) continue;
    if (raw.has(name)) throw malformed(`${name} given twice`);
    raw.set(name, separator < 0 ? "" : token.slice(separator + 1));
  }
  const kinds = (["SAMLRequest", "SAMLResponse"] as const).filter((kind) => raw.has(kind));
  if (kinds.length !== 1) throw malformed(kinds.length ? "both SAMLRequest and SAMLResponse" : "no SAMLRequest or SAMLResponse");
  const kind = kinds[0]!;
  const decoded = (name: string): string | undefined => {
    const value = raw.get(name);
    if (value === undefined) return undefined;
    try {
      return decodeURIComponent(value.replace(/\+/g, " "));
    } catch {
      throw malformed(`${name} is not URL-encoded`);
    }
  };
  const encodedMessage = decoded(kind)!;
  if (!encodedMessage || !/^[A-Za-z0-9+/\s]+={0,2}\s*$/.test(encodedMessage)) throw malformed(`${kind} is not base64`);
  let xml: string;
  try {
    xml = inflateRawSync(Buffer.from(encodedMessage, "base64"), { maxOutputLength: maxLogoutMessageBytes }).toString("utf8");
  } catch (error) {
    const tooLarge = (error as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE";
    throw malformed(tooLarge ? `${kind} inflates beyond ${maxLogoutMessageBytes} bytes` : `${kind} is not DEFLATE-encoded`);
  }
  const relayState = decoded("RelayState");
  if (raw.has("SigAlg") !== raw.has("Signature")) throw malformed("SigAlg and Signature must come together");
  const signature: RedirectSignature | undefined = raw.has("Signature")
    ? {
        algorithm: decoded("SigAlg")!,
        value: decoded("Signature")!,
        // §3.4.4.1: the signature covers the parameters as they were URL-encoded, in this order.
        signedOctets: [`${kind}=${raw.get(kind)}`, ...(raw.has("RelayState") ? [`RelayState=${raw.get("RelayState")}`] : []), `SigAlg=${raw.get("SigAlg")}`].join("&"),
      }
    : undefined;
  return {
    kind,
    xml,
    ...(relayState !== undefined ? { relayState } : {}),
    ...(signature ? { signature } : {}),
    container: { [kind]: encodedMessage, ...(relayState !== undefined ? { RelayState: relayState } : {}) },
  };
}

/**
 * Verifies a query-string signature with the identity provider's certificates (any one of them,
 * as during a rotation). A SamlRefusal when the algorithm is not RSA with SHA-256 or better;
 * false when no certificate verifies it.
 */
export function verifyRedirectSignature(signature: RedirectSignature, certificates: readonly string[]): boolean {
  const hash = signatureAlgorithms[signature.algorithm];
  if (!hash) throw new SamlRefusal("weak_signature_algorithm", "The identity provider signed with an algorithm Gatehouse does not accept (use SHA-256).", signature.algorithm);
  const value = Buffer.from(signature.value, "base64");
  return certificates.some((pem) => {
    try {
      return verify(hash, Buffer.from(signature.signedOctets, "utf8"), new X509Certificate(pem).publicKey, value);
    } catch {
      return false;
    }
  });
}

/**
 * A Redirect-binding URL whose query is exactly what was signed. node-saml signs
 * `querystring.stringify` of the parameters but writes them with URLSearchParams, which encodes
 * some characters (`'`, `(`, `)`, `!`, `~`, a space) differently; a RelayState holding one would
 * arrive with a signature over other octets. So the parameters node-saml produced are written
 * again in its signing order and encoding, after the destination's own query, untouched.
 */
export function signedRedirectUrl(nodeSamlUrl: string, destination: string): string {
  const produced = new URL(nodeSamlUrl).searchParams;
  const order = ["SAMLRequest", "SAMLResponse", "RelayState", "SigAlg", "Signature"];
  const query = order.filter((name) => produced.has(name)).map((name) => `${name}=${formEscape(produced.get(name)!)}`);
  return `${destination}${destination.includes("?") ? "&" : "?"}${query.join("&")}`;
}

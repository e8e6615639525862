import { execFileSync } from "node:child_process";
import { randomUUID, sign as cryptoSign, verify as cryptoVerify, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { deflateRawSync, inflateRawSync } from "node:zlib";
import { SignedXml } from "xml-crypto";

/**
 * A test identity provider: a real key pair and self-signed certificate (openssl), and SAML
 * Responses signed with xml-crypto exactly as Okta and Entra ID sign theirs (rsa-sha256, enveloped
 * + exclusive c14n, the signature right after the Issuer) — or deliberately wrong, one defect per
 * attack (../shared/SCIMMY.md, "SAML testing without a live identity provider").
 */

export interface SigningKey {
  privateKey: string;
  certificate: string;
}

export function makeSigningKey(name = "test-idp", days = 365): SigningKey {
  const dir = mkdtempSync(path.join(tmpdir(), "gatehouse-idp-"));
  try {
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", path.join(dir, "key.pem"), "-out", path.join(dir, "cert.pem"), "-days", String(days), "-subj", `/CN=${name}`], {
      stdio: "ignore",
    });
    return { privateKey: readFileSync(path.join(dir, "key.pem"), "utf8"), certificate: readFileSync(path.join(dir, "cert.pem"), "utf8") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface ResponseOptions {
  nameId: string;
  /** The AuthnRequest answered; absent for an IdP-initiated sign-in. */
  inResponseTo?: string;
  issuer?: string;
  assertionIssuer?: string;
  destination?: string | null;
  recipient?: string;
  audience?: string;
  notBefore?: Date;
  notOnOrAfter?: Date;
  attributes?: Record<string, string[]>;
  sign?: "assertion" | "response" | "both" | "none";
  algorithm?: "sha256" | "sha1";
  key?: SigningKey;
  assertionId?: string;
  status?: string;
  /** The AuthnStatement's SessionIndex (random by default). */
  sessionIndex?: string;
}

/** How a Redirect-binding message is signed: by default with the identity provider's key, rsa-sha256. */
export interface RedirectSigning {
  sign?: boolean;
  key?: SigningKey;
  algorithm?: "sha256" | "sha1";
  relayState?: string;
}

export interface LogoutRequestOptions extends RedirectSigning {
  nameId: string;
  sessionIndexes?: string[];
  id?: string;
  issuer?: string;
  /** The service provider's logout URL by default; null leaves the attribute out. */
  destination?: string | null;
  issueInstant?: Date;
}

export interface LogoutResponseOptions extends RedirectSigning {
  /** The LogoutRequest answered; left out, the response answers nothing. */
  inResponseTo?: string;
  issuer?: string;
  destination?: string | null;
  status?: string;
}

/** A Redirect-binding message Gatehouse sent, read back from its Location (test assertions). */
export interface SentRedirectMessage {
  kind: "SAMLRequest" | "SAMLResponse";
  xml: string;
  destination: string;
  relayState: string | null;
  sigAlg: string | null;
  signature: string | null;
  /** `SAMLRequest=…&RelayState=…&SigAlg=…` exactly as the URL carries them: what a signature covers. */
  signedOctets: string;
  /** The message's ID, InResponseTo, NameID (with its Format), SessionIndex and Issuer. */
  id: string;
  inResponseTo?: string;
  nameId?: string;
  nameIdFormat?: string;
  sessionIndex?: string;
  issuer?: string;
  statusCode?: string;
}

const redirectAlgorithms = {
  sha256: "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
  sha1: "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
};

const algorithms = {
  sha256: { signature: "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256", digest: "http://www.w3.org/2001/04/xmlenc#sha256" },
  sha1: { signature: "http://www.w3.org/2000/09/xmldsig#rsa-sha1", digest: "http://www.w3.org/2000/09/xmldsig#sha1" },
};

const escape = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

export class TestIdentityProvider {
  readonly entityId = "http://www.okta.com/exk-test-idp";
  readonly ssoUrl = "https://idp.example.com/app/gatehouse/sso/saml";
  readonly sloUrl = "https://idp.example.com/app/gatehouse/slo/saml";
  readonly key: SigningKey;

  constructor(
    /** The service provider's entity id, assertion consumer and logout URLs Gatehouse advertises. */
    readonly sp: { entityId: string; acsUrl: string; logoutUrl?: string },
    key?: SigningKey,
  ) {
    this.key = key ?? makeSigningKey();
  }

  /** The AuthnRequest id inside the redirect Gatehouse sent the browser to. */
  static requestIdOf(location: string): string {
    const request = new URL(location).searchParams.get("SAMLRequest");
    if (!request) throw new Error(`no SAMLRequest in ${location}`);
    const xml = inflateRawSync(Buffer.from(request, "base64")).toString("utf8");
    const id = /\sID="([^"]+)"/.exec(xml)?.[1];
    if (!id) throw new Error("no ID in the AuthnRequest");
    return id;
  }

  /** The unsigned Response XML. */
  responseXml(options: ResponseOptions): string {
    const now = Date.now();
    const iso = (d: Date) => d.toISOString();
    const notBefore = options.notBefore ?? new Date(now - 30_000);
    const notOnOrAfter = options.notOnOrAfter ?? new Date(now + 5 * 60_000);
    const assertionId = options.assertionId ?? `_a${randomUUID().replace(/-/g, "")}`;
    const inResponseTo = options.inResponseTo ? ` InResponseTo="${escape(options.inResponseTo)}"` : "";
    const destination = options.destination === null ? "" : ` Destination="${escape(options.destination ?? this.sp.acsUrl)}"`;
    const attributes = Object.entries(options.attributes ?? {})
      .map(([name, values]) => `<saml:Attribute Name="${escape(name)}">${values.map((v) => `<saml:AttributeValue>${escape(v)}</saml:AttributeValue>`).join("")}</saml:Attribute>`)
      .join("");
    return (
      `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r${randomUUID().replace(/-/g, "")}" Version="2.0" IssueInstant="${iso(new Date(now))}"${destination}${inResponseTo}>` +
      `<saml:Issuer>${escape(options.issuer ?? this.entityId)}</saml:Issuer>` +
      `<samlp:Status><samlp:StatusCode Value="${options.status ?? "urn:oasis:names:tc:SAML:2.0:status:Success"}"/></samlp:Status>` +
      `<saml:Assertion ID="${assertionId}" Version="2.0" IssueInstant="${iso(new Date(now))}">` +
      `<saml:Issuer>${escape(options.assertionIssuer ?? options.issuer ?? this.entityId)}</saml:Issuer>` +
      `<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">${options.nameId}</saml:NameID>` +
      `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData${inResponseTo} NotOnOrAfter="${iso(notOnOrAfter)}" Recipient="${escape(options.recipient ?? this.sp.acsUrl)}"/></saml:SubjectConfirmation></saml:Subject>` +
      `<saml:Conditions NotBefore="${iso(notBefore)}" NotOnOrAfter="${iso(notOnOrAfter)}"><saml:AudienceRestriction><saml:Audience>${escape(options.audience ?? this.sp.entityId)}</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
      `<saml:AuthnStatement AuthnInstant="${iso(new Date(now))}" SessionIndex="${escape(options.sessionIndex ?? `_s${randomUUID()}`)}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>` +
      (attributes ? `<saml:AttributeStatement>${attributes}</saml:AttributeStatement>` : "") +
      `</saml:Assertion></samlp:Response>`
    );
  }

  /** Signs the Assertion and/or the Response of `xml` (the Assertion first, as identity providers do). */
  sign(xml: string, what: "assertion" | "response" | "both", algorithm: "sha256" | "sha1" = "sha256", key: SigningKey = this.key): string {
    const signOne = (document: string, target: "Assertion" | "Response") => {
      const signed = new SignedXml({
        privateKey: key.privateKey,
        publicCert: key.certificate,
        signatureAlgorithm: algorithms[algorithm].signature,
        canonicalizationAlgorithm: "http://www.w3.org/2001/10/xml-exc-c14n#",
      });
      signed.addReference({
        xpath: `//*[local-name(.)='${target}']`,
        transforms: ["http://www.w3.org/2000/09/xmldsig#enveloped-signature", "http://www.w3.org/2001/10/xml-exc-c14n#"],
        digestAlgorithm: algorithms[algorithm].digest,
      });
      signed.computeSignature(document, { prefix: "ds", location: { reference: `//*[local-name(.)='${target}']/*[local-name(.)='Issuer']`, action: "after" } });
      return signed.getSignedXml();
    };
    let signed = xml;
    if (what !== "response") signed = signOne(signed, "Assertion");
    if (what !== "assertion") signed = signOne(signed, "Response");
    return signed;
  }

  /** A signed Response, base64-encoded as the HTTP-POST binding carries it. */
  response(options: ResponseOptions): string {
    const xml = this.responseXml(options);
    const sign = options.sign ?? "assertion";
    return encode(sign === "none" ? xml : this.sign(xml, sign, options.algorithm, options.key));
  }

  /**
   * A message in the HTTP-Redirect binding (SAML Bindings §3.4.4.1): DEFLATE (raw), base64, URL
   * encoding, and — when signed — the signature over `SAMLRequest=…&RelayState=…&SigAlg=…` as
   * encoded, RSA with the chosen hash. Returns the query string, without `?`.
   */
  redirectQuery(kind: "SAMLRequest" | "SAMLResponse", xml: string, options: RedirectSigning = {}): string {
    const parts = [`${kind}=${encodeURIComponent(deflateRawSync(Buffer.from(xml, "utf8")).toString("base64"))}`];
    if (options.relayState !== undefined) parts.push(`RelayState=${encodeURIComponent(options.relayState)}`);
    if (options.sign === false) return parts.join("&");
    const algorithm = options.algorithm ?? "sha256";
    parts.push(`SigAlg=${encodeURIComponent(redirectAlgorithms[algorithm])}`);
    const signature = cryptoSign(algorithm, Buffer.from(parts.join("&"), "utf8"), (options.key ?? this.key).privateKey).toString("base64");
    return `${parts.join("&")}&Signature=${encodeURIComponent(signature)}`;
  }

  logoutRequestXml(options: LogoutRequestOptions): string {
    const id = options.id ?? `_lr${randomUUID().replace(/-/g, "")}`;
    const destination = options.destination === null ? "" : ` Destination="${escape(options.destination ?? this.sp.logoutUrl ?? "")}"`;
    return (
      `<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${escape(id)}" Version="2.0" IssueInstant="${(options.issueInstant ?? new Date()).toISOString()}"${destination}>` +
      `<saml:Issuer>${escape(options.issuer ?? this.entityId)}</saml:Issuer>` +
      `<saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">${escape(options.nameId)}</saml:NameID>` +
      (options.sessionIndexes ?? []).map((index) => `<samlp:SessionIndex>${escape(index)}</samlp:SessionIndex>`).join("") +
      `</samlp:LogoutRequest>`
    );
  }

  /** A LogoutRequest from the identity provider, as the query of a Redirect to Gatehouse's logout URL. */
  logoutRequest(options: LogoutRequestOptions): string {
    return this.redirectQuery("SAMLRequest", this.logoutRequestXml(options), options);
  }

  logoutResponseXml(options: LogoutResponseOptions): string {
    const destination = options.destination === null ? "" : ` Destination="${escape(options.destination ?? this.sp.logoutUrl ?? "")}"`;
    const inResponseTo = options.inResponseTo ? ` InResponseTo="${escape(options.inResponseTo)}"` : "";
    return (
      `<samlp:LogoutResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_lp${randomUUID().replace(/-/g, "")}" Version="2.0" IssueInstant="${new Date().toISOString()}"${destination}${inResponseTo}>` +
      `<saml:Issuer>${escape(options.issuer ?? this.entityId)}</saml:Issuer>` +
      `<samlp:Status><samlp:StatusCode Value="${options.status ?? "urn:oasis:names:tc:SAML:2.0:status:Success"}"/></samlp:Status>` +
      `</samlp:LogoutResponse>`
    );
  }

  /** The identity provider's answer to Gatehouse's LogoutRequest, as the query of a Redirect to Gatehouse's logout URL. */
  logoutResponse(options: LogoutResponseOptions): string {
    return this.redirectQuery("SAMLResponse", this.logoutResponseXml(options), options);
  }

  /** Reads the LogoutRequest or LogoutResponse Gatehouse sent the browser to the identity provider with. */
  static sentMessageOf(location: string): SentRedirectMessage {
    const at = location.indexOf("?");
    const destination = at < 0 ? location : location.slice(0, at);
    const query = at < 0 ? "" : location.slice(at + 1);
    const raw = new Map(query.split("&").map((token) => [token.slice(0, token.indexOf("=")), token.slice(token.indexOf("=") + 1)] as const));
    const kind = raw.has("SAMLRequest") ? "SAMLRequest" : "SAMLResponse";
    const value = (name: string) => (raw.has(name) ? decodeURIComponent(raw.get(name)!.replace(/\+/g, " ")) : null);
    const xml = inflateRawSync(Buffer.from(value(kind)!, "base64")).toString("utf8");
    const match = (pattern: RegExp) => pattern.exec(xml)?.[1];
    const attribute = (name: string) => match(new RegExp(`\\s${name}="([^"]*)"`));
    const element = (name: string) => match(new RegExp(`<\\w+:${name}[^>]*>([^<]*)</`));
    const nameIdFormat = match(/<\w+:NameID[^>]*\sFormat="([^"]*)"/);
    const statusCode = match(/<\w+:StatusCode[^>]*\sValue="([^"]*)"/);
    const signedOctets = [`${kind}=${raw.get(kind)}`, ...(raw.has("RelayState") ? [`RelayState=${raw.get("RelayState")}`] : []), ...(raw.has("SigAlg") ? [`SigAlg=${raw.get("SigAlg")}`] : [])].join("&");
    return {
      kind,
      xml,
      destination,
      relayState: value("RelayState"),
      sigAlg: value("SigAlg"),
      signature: value("Signature"),
      signedOctets,
      id: attribute("ID")!,
      ...(attribute("InResponseTo") ? { inResponseTo: attribute("InResponseTo") } : {}),
      ...(element("NameID") ? { nameId: element("NameID") } : {}),
      ...(nameIdFormat ? { nameIdFormat } : {}),
      ...(element("SessionIndex") ? { sessionIndex: element("SessionIndex") } : {}),
      ...(element("Issuer") ? { issuer: element("Issuer") } : {}),
      ...(statusCode ? { statusCode } : {}),
    };
  }

  /** Whether a sent message's query-string signature verifies with this certificate (rsa-sha256), as an identity provider checks it. */
  static signatureVerifies(message: SentRedirectMessage, certificate: string): boolean {
    if (!message.signature || message.sigAlg !== redirectAlgorithms.sha256) return false;
    return cryptoVerify("sha256", Buffer.from(message.signedOctets, "utf8"), new X509Certificate(certificate).publicKey, Buffer.from(message.signature, "base64"));
  }
}

export const encode = (xml: string) => Buffer.from(xml, "utf8").toString("base64");
export const decode = (base64: string) => Buffer.from(base64, "base64").toString("utf8");

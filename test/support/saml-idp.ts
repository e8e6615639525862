import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { inflateRawSync } from "node:zlib";
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
}

const algorithms = {
  sha256: { signature: "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256", digest: "http://www.w3.org/2001/04/xmlenc#sha256" },
  sha1: { signature: "http://www.w3.org/2000/09/xmldsig#rsa-sha1", digest: "http://www.w3.org/2000/09/xmldsig#sha1" },
};

const escape = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

export class TestIdentityProvider {
  readonly entityId = "http://www.okta.com/exk-test-idp";
  readonly ssoUrl = "https://idp.example.com/app/gatehouse/sso/saml";
  readonly key: SigningKey;

  constructor(
    /** The service provider's entity id and assertion consumer URL Gatehouse advertises. */
    readonly sp: { entityId: string; acsUrl: string },
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
      `<saml:AuthnStatement AuthnInstant="${iso(new Date(now))}" SessionIndex="_s${randomUUID()}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>` +
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
}

export const encode = (xml: string) => Buffer.from(xml, "utf8").toString("base64");
export const decode = (base64: string) => Buffer.from(base64, "base64").toString("utf8");

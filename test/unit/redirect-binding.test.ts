import { deflateRawSync } from "node:zlib";
import { SamlRefusal } from "../../src/domain/saml";
import { maxLogoutMessageBytes, parseRedirectQuery, samlParameterIn, signedRedirectUrl, verifyRedirectSignature } from "../../src/saml/redirect-binding";
import { makeSigningKey, TestIdentityProvider } from "../support/saml-idp";

/** The HTTP-Redirect binding as read from identity providers (SAML Bindings §3.4.4.1), one rule per row. */

const encoded = (xml: string) => encodeURIComponent(deflateRawSync(Buffer.from(xml)).toString("base64"));
const xml = "<samlp:LogoutResponse xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" ID=\"_1\"/>";

const refusal = (query: string) => {
  try {
    parseRedirectQuery(query);
  } catch (error) {
    if (error instanceof SamlRefusal) return `${error.reason}: ${error.detail}`;
    throw error;
  }
  return "accepted";
};

describe("reading a Redirect-binding query", () => {
  it("inflates the message and keeps the signed octets exactly as they arrived", () => {
    const idp = new TestIdentityProvider({ entityId: "sp", acsUrl: "https://sp/acs", logoutUrl: "https://sp/logout" });
    const query = idp.redirectQuery("SAMLResponse", xml, { relayState: "/a b(c)" });
    const message = parseRedirectQuery(`${query}&utm=ignored`);
    expect(message).toMatchObject({ kind: "SAMLResponse", xml, relayState: "/a b(c)" });
    expect(message.signature!.signedOctets).toBe(query.slice(0, query.indexOf("&Signature=")));
    expect(verifyRedirectSignature(message.signature!, [makeSigningKey("other").certificate, idp.key.certificate])).toBe(true);
    expect(verifyRedirectSignature(message.signature!, [makeSigningKey("other").certificate])).toBe(false);
    expect(message.container).toEqual({ SAMLResponse: decodeURIComponent(encoded(xml)), RelayState: "/a b(c)" });
  });

  it.each([
    ["no message", "RelayState=x", /malformed: no SAMLRequest or SAMLResponse/],
    ["both kinds", `SAMLRequest=${encoded(xml)}&SAMLResponse=${encoded(xml)}`, /both/],
    ["a parameter twice (one signed, one substituted)", `SAMLResponse=${encoded(xml)}&SAMLResponse=${encoded(xml)}`, /SAMLResponse given twice/],
    ["SigAlg without Signature", `SAMLResponse=${encoded(xml)}&SigAlg=x`, /SigAlg and Signature must come together/],
    ["bad URL encoding", `SAMLResponse=%E0%A4%A`, /not URL-encoded/],
    ["not base64", `SAMLResponse=${encodeURIComponent("<xml/>")}`, /not base64/],
    ["not DEFLATE", `SAMLResponse=${encodeURIComponent(Buffer.from(xml).toString("base64"))}`, /not DEFLATE-encoded/],
    ["a deflate bomb", `SAMLResponse=${encodeURIComponent(deflateRawSync(Buffer.alloc(maxLogoutMessageBytes + 1, 32)).toString("base64"))}`, /inflates beyond/],
  ])("refuses %s", (_what, query, expected) => {
    expect(refusal(query)).toMatch(expected);
  });

  it("refuses signature algorithms weaker than SHA-256", () => {
    expect(() => verifyRedirectSignature({ algorithm: "http://www.w3.org/2000/09/xmldsig#rsa-sha1", value: "", signedOctets: "" }, [])).toThrow(
      expect.objectContaining({ reason: "weak_signature_algorithm" }),
    );
  });

  it("tells a logout message from a plain sign-out by the raw parameter names", () => {
    expect(samlParameterIn("SAMLRequest=x&RelayState=y")).toBe("SAMLRequest");
    expect(samlParameterIn("RelayState=y&SAMLResponse=x")).toBe("SAMLResponse");
    expect(samlParameterIn("RelayState=/reports")).toBeUndefined();
    expect(samlParameterIn("")).toBeUndefined();
  });
});

describe("writing a Redirect-binding URL", () => {
  it("keeps the destination's own query and writes the SAML parameters in signing order and encoding", () => {
    const produced = "https://idp.example/slo?wa=wsignout1.0&Signature=s%2B&SAMLRequest=abc%2B%2F%3D&SigAlg=alg&RelayState=%2Fa+%28b%29";
    expect(signedRedirectUrl(produced, "https://idp.example/slo?wa=wsignout1.0")).toBe(
      "https://idp.example/slo?wa=wsignout1.0&SAMLRequest=abc%2B%2F%3D&RelayState=%2Fa%20(b)&SigAlg=alg&Signature=s%2B",
    );
  });
});

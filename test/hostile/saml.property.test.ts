import { deflateRawSync } from "node:zlib";
import fc from "fast-check";
import { serviceProviderUrls } from "../../src/domain/saml";
import { encode, TestIdentityProvider } from "../support/saml-idp";
import { operator, startTestApp, type TestApp } from "../support/app";
import { garbageText, invalidText } from "./arbitraries";
import { percentEncoded, propertyRuns, propertySeed, rawClient, storedState, type RawClient, type RawRequest, type RawResponse } from "./support";

/**
 * The SAML endpoints under hostile input: a few hundred generated forms and queries to the
 * assertion consumer, the logout URL, the metadata and login, every one answered with a 4xx
 * refusal page (HTML, no stack trace) — never a 5xx — and nothing stored changed but the audit
 * trail's record of the refusals. The requests carry no validly signed assertion: subject
 * matching (the saml-hardening branch) is not reached.
 */

let t: TestApp;
let client: RawClient;
let orgId: string;
let idp: TestIdentityProvider;
let validResponseXml: string;
let validLogoutXml: string;

beforeAll(async () => {
  t = await startTestApp();
  orgId = (await t.organization("Hostile SAML")).id;
  idp = new TestIdentityProvider(serviceProviderUrls(t.config.publicBaseUrl, orgId));
  await t.services.saml.configure({ ...operator, organizationId: orgId }, {
    idpEntityId: idp.entityId, ssoUrl: idp.ssoUrl, certificates: [idp.key.certificate], jit: true, groupSync: false, idpInitiated: true, signatures: "assertion",
  });
  // Unsigned: cut short or changed anywhere, it must still be refused (a signed one changed
  // outside what its signature covers is, rightly, accepted).
  validResponseXml = idp.responseXml({ nameId: "someone@example.com" });
  validLogoutXml = idp.logoutRequestXml({ nameId: "someone@example.com" });
  client = await rawClient(t.app);
});
afterAll(async () => {
  await client?.close();
  await t?.close();
});

const form = "application/x-www-form-urlencoded";
const formOf = (fields: [string, string][]) => fields.map(([k, v]) => `${k}=${percentEncoded(v)}`).join("&");

/** XML that is no acceptable SAML Response: truncated, mutated, bombs, nesting, wrong roots. */
const hostileXml = () => fc.oneof(
  fc.integer({ min: 1, max: 4000 }).map((at) => validResponseXml.slice(0, at)),
  fc.tuple(fc.integer({ min: 0, max: 4000 }), fc.constantFrom("x", "<", ">", "&", '"', "\u0000", "\ud800")).map(([at, c]) => validResponseXml.slice(0, at) + c + validResponseXml.slice(at + 1)),
  fc.constant('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><r>&c;</r>'),
  fc.constant('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">&x;</samlp:Response>'),
  fc.integer({ min: 1000, max: 10_000 }).map((depth) => `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">${"<a>".repeat(depth)}${"</a>".repeat(depth)}</samlp:Response>`),
  fc.constantFrom("<Response/>", "<samlp:Response/>", "<html><body>hi</body></html>", '<?xml version="1.0"?>', "", "not xml at all"),
  garbageText,
  invalidText,
);

const acsRequest = (): fc.Arbitrary<RawRequest> => fc.oneof(
  hostileXml().map((xml) => formOf([["SAMLResponse", encode(xml)], ["RelayState", "/"]])),
  fc.constantFrom("%%%", "not base64!", "====", "\u0000", "AAAA", "PHNhbWxwOlJlc3BvbnNl").map((value) => formOf([["SAMLResponse", value]])),
  fc.constant(formOf([["SAMLResponse", encode(validResponseXml)], ["SAMLResponse", encode(validResponseXml)]])),
  fc.constant(formOf([["RelayState", "/"]])),
  fc.constant(formOf([["SAMLResponse", encode("<a/>".repeat(150_000))]])),
  fc.constantFrom("SAMLResponse=%ZZ", "SAMLResponse=%ED%A0%80", "SAMLResponse=%00", "=&=&", "&&&&", "SAMLResponse").map((body) => body),
  invalidText.map((relay) => formOf([["SAMLResponse", "AAAA"], ["RelayState", relay]])),
).map((body) => ({ method: "POST", path: `/${orgId}/acs`, body, headers: { "content-type": form } }));

/** Forms whose headers lie or whose size is out of bounds, on both POST endpoints. */
const unreadableForm = (): fc.Arbitrary<RawRequest> => fc.oneof(
  fc.tuple(fc.constantFrom("acs", "logout"), fc.oneof(
    fc.constantFrom("koi8-r", "utf-16", "latin1", "bogus").map((charset) => ({ headers: { "content-type": `${form}; charset=${charset}` }, body: "SAMLResponse=AAAA" })),
    fc.constantFrom("gzip", "deflate", "br", "x-unknown").map((encoding) => ({ headers: { "content-type": form, "content-encoding": encoding }, body: "SAMLResponse=AAAA" })),
    fc.constantFrom(1_100_000, 2_000_000).map((size) => ({ headers: { "content-type": form }, body: `SAMLResponse=${"a".repeat(size)}` })),
  )),
  // Too many fields: more than 10 at the ACS (a SAMLResponse and a RelayState), more than 1000 at the logout URL.
  fc.tuple(fc.constantFrom("acs", "logout"), fc.integer({ min: 0, max: 1000 })).map(([endpoint, extra]) => [
    endpoint,
    { headers: { "content-type": form }, body: Array.from({ length: (endpoint === "acs" ? 11 : 1001) + extra }, (_, i) => `f${i}=1`).join("&") },
  ] as const),
  // At the ACS only: a POST to the logout URL that carries no readable message is a sign-out started here (200).
  fc.tuple(fc.constant("acs"), fc.constantFrom("application/json", "text/plain", "multipart/form-data; boundary=x", "application/xml").map((type) => ({ headers: { "content-type": type }, body: '{"SAMLResponse":"AAAA"}' }))),
).map(([endpoint, request]) => ({ method: "POST", path: `/${orgId}/${endpoint}`, ...request }));

/** Logout messages in the query (HTTP-Redirect) that are not acceptable, and the HTTP-POST binding. */
const logoutRequest = (): fc.Arbitrary<RawRequest> => fc.oneof(
  fc.tuple(fc.constantFrom("SAMLRequest", "SAMLResponse"), fc.oneof(
    fc.constantFrom("%%%", "AAAA", "", "not-base64", "x".repeat(10_000)),
    hostileXml().map((xml) => deflateRawSync(Buffer.from(xml, "utf8")).toString("base64")),
    fc.integer({ min: 1, max: 500 }).map((at) => deflateRawSync(Buffer.from(validLogoutXml.slice(0, at), "utf8")).toString("base64")),
    fc.constant(deflateRawSync(Buffer.from(validLogoutXml, "utf8")).toString("base64")), // unsigned
    fc.constant(deflateRawSync(Buffer.alloc(2_000_000, 0x61)).toString("base64")), // inflates beyond the limit
  ), fc.constantFrom("", "&SigAlg=nope&Signature=AAAA", "&SigAlg=http%3A%2F%2Fwww.w3.org%2F2000%2F09%2Fxmldsig%23rsa-sha1&Signature=%%%", "&Signature=x&Signature=y", "&RelayState=%ED%A0%80"))
    .map(([kind, value, tail]) => ({ method: "GET", path: `/${orgId}/logout?${kind}=${encodeURIComponent(value)}${tail}` })),
  fc.constantFrom("SAMLRequest", "SAMLResponse").map((kind) => ({ method: "POST", path: `/${orgId}/logout`, headers: { "content-type": form }, body: formOf([[kind, encode(validLogoutXml)]]) })),
);

/** Organization ids that name nothing, some not even decodable. */
const unknownOrganization: fc.Arbitrary<RawRequest> = fc.tuple(
  fc.constantFrom("no-such-org", "%ED%A0%80", "%00", "%FF", "x".repeat(5000), "..%2F..", "%2e%2e"),
  fc.constantFrom("GET metadata", "GET login", "POST acs", "GET logout?SAMLRequest=AAAA", "POST logout"),
).map(([org, route]) => {
  const [method, endpoint] = route.split(" ") as [string, string];
  return { method, path: `/${org}/${endpoint}`, ...(method === "POST" ? { headers: { "content-type": form }, body: "SAMLRequest=AAAA" } : {}) };
});

const send = (request: RawRequest): Promise<RawResponse> => client.send({ ...request, path: `/auth/saml${request.path}` });

function expectRefusalPage(request: RawRequest, res: RawResponse): void {
  const context = `${request.method} ${request.path.slice(0, 160)} ${String(request.body ?? "").slice(0, 160)} → ${res.status} ${res.text.slice(0, 300)}`;
  if (!(res.status >= 400 && res.status < 500)) throw new Error(`not a 4xx: ${context}`);
  if (!/^text\/html/.test(String(res.headers["content-type"])) || !/<h1>[^<]+<\/h1>/.test(res.text)) throw new Error(`not a refusal page: ${context}`);
  if (/at .+\.(js|ts):\d+|Error:/.test(res.text)) throw new Error(`a stack trace or error text on the page: ${context}`);
  if (res.headers["set-cookie"] && String(res.headers["set-cookie"]).includes("gatehouse_session=") && !/Expires=Thu, 01 Jan 1970/.test(String(res.headers["set-cookie"]))) {
    throw new Error(`a session was started: ${context}`);
  }
}

/** Refusals are meant to be audited; everything else stored must stay as it was. */
const refusalActions = ["saml.sign_in_refused", "saml.logout_refused"];

/**
 * Each refused sign-in writes its audit event, so a SAML request costs more than the others: half
 * the runs per property, three properties — still several hundred requests for this edge.
 */
const samlRuns = Math.ceil(propertyRuns / 2);

async function everyAnswerIsARefusal(requests: fc.Arbitrary<RawRequest>): Promise<void> {
  const before = await storedState(t, refusalActions);
  await fc.assert(
    fc.asyncProperty(requests, async (request) => expectRefusalPage(request, await send(request))),
    { seed: propertySeed, numRuns: samlRuns, endOnFailure: true },
  );
  expect(await storedState(t, refusalActions)).toEqual(before);
}

describe("the SAML endpoints under hostile input", () => {
  it("the assertion consumer answers hostile SAMLResponses and forms with a 4xx refusal page and changes nothing", async () => {
    await everyAnswerIsARefusal(acsRequest());
  }, 60_000);

  it("both POST endpoints answer unreadable forms (charset, encoding, fields, size, media type) with a 4xx refusal page", async () => {
    await everyAnswerIsARefusal(unreadableForm());
  }, 60_000);

  it("the logout URL and unknown organizations get a 4xx refusal page for hostile messages and ids", async () => {
    await everyAnswerIsARefusal(fc.oneof(logoutRequest(), unknownOrganization));
  }, 60_000);

  it("audits each refused sign-in with its reason (the refusals above are on record)", async () => {
    const refusals = await t.db.models.AuditEvent.countDocuments({ organizationId: orgId, action: "saml.sign_in_refused" });
    expect(refusals).toBeGreaterThan(samlRuns / 2);
    const reasons = await t.db.models.AuditEvent.distinct("after.reason", { organizationId: orgId, action: "saml.sign_in_refused" });
    expect(reasons).toContain("malformed");
  });
});

import request from "supertest";
import { openApiDocument } from "../../src/admin/router";
import { runCommand } from "../../src/cli/commands";
import { serviceProviderUrls } from "../../src/domain/saml";
import { OpenApiChecker, type Method } from "../support/openapi";
import { TestIdentityProvider } from "../support/saml-idp";
import { buildUser, operator, scimClient, startTestApp, type TestApp } from "../support/app";

/**
 * Every answer of the console's new operations (issue 14), successes and errors, matches the
 * OpenAPI document the console's client is typed from.
 */

let t: TestApp;
let checker: OpenApiChecker;
let token: string;
let orgId: string;

const cliJson = async (...argv: string[]) => JSON.parse((await runCommand(t.services, [...argv, "--json"])).stdout[0]!);

/** Calls `method path` (the document's template, with `url` filled in) and checks the answer against the document. */
async function call(method: Method, template: string, url: string, status: number, body?: object, auth = true) {
  let req = request(t.app)[method](`/api/v1${url}`);
  if (auth) req = req.set("Authorization", `Bearer ${token}`);
  const res = body ? await req.send(body) : await req;
  expect({ call: `${method} ${url}`, status: res.status }).toEqual({ call: `${method} ${url}`, status });
  checker.checkResponse(res, method, template);
  return res;
}

beforeAll(async () => {
  t = await startTestApp();
  checker = new OpenApiChecker(openApiDocument);
  const org = await cliJson("org", "create", "Contract Co", "--owner", "owner@contract.example");
  orgId = org.id;
  token = (await cliJson("user-token", "create", "--org", org.id, "--email", "owner@contract.example")).token as string;
  const scim = scimClient(t.app, org.scimToken);
  const user = (await scim.post("/Users", buildUser({ userName: "m@contract.example", displayName: "M" })).expect(201)).body.id;
  await scim.post("/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "Crew", externalId: "x1", members: [{ value: user }] }).expect(201);
});
afterAll(() => t.close());

it("answers as documented", async () => {
  await call("get", "/email-domains", "/email-domains", 200);
  await call("post", "/email-domains", "/email-domains", 201, { domain: "contract.example" });
  await call("post", "/email-domains", "/email-domains", 409, { domain: "contract.example" });
  await call("post", "/email-domains", "/email-domains", 400, { domain: "nope" });
  await call("post", "/email-domains", "/email-domains", 400, { domian: "x.example" });
  await call("delete", "/email-domains/{domain}", "/email-domains/other.example", 404);
  await call("post", "/sign-in/discover", "/sign-in/discover", 200, { email: "a@contract.example" }, false);
  await call("post", "/sign-in/discover", "/sign-in/discover", 200, { email: "a@elsewhere.example" }, false);
  await call("post", "/sign-in/discover", "/sign-in/discover", 400, { mail: "a" }, false);
  await call("get", "/sign-in-policy", "/sign-in-policy", 200);
  await call("put", "/sign-in-policy", "/sign-in-policy", 200, { requireSso: false });
  const groups = await call("get", "/groups", "/groups", 200);
  await call("get", "/groups", "/groups?count=x", 400);
  await call("get", "/groups/{id}", `/groups/${groups.body.groups[0].id}?count=1`, 200);
  await call("get", "/groups/{id}", "/groups/unknown", 404);
  await call("get", "/provisioning/activity", "/provisioning/activity", 200);
  await call("get", "/provisioning/activity", "/provisioning/activity?days=3", 400);
  await call("post", "/saml-connection/test", "/saml-connection/test", 404);
  const idp = new TestIdentityProvider(serviceProviderUrls(t.config.publicBaseUrl, orgId));
  await t.services.saml.configure({ ...operator, organizationId: orgId }, { idpEntityId: idp.entityId, ssoUrl: idp.ssoUrl, certificates: [idp.key.certificate] });
  const started = await call("post", "/saml-connection/test", "/saml-connection/test", 201);
  await call("get", "/saml-connection/test/{id}", `/saml-connection/test/${started.body.test.id}`, 200);
  await call("get", "/saml-connection/test/{id}", "/saml-connection/test/unknown", 404);
  await call("delete", "/email-domains/{domain}", "/email-domains/contract.example", 204);
});

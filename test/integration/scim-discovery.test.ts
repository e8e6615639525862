import request from "supertest";
import { scimClient, startTestApp, type TestApp } from "../support/app";

let t: TestApp;
let scim: ReturnType<typeof scimClient>;
let token: string;
beforeAll(async () => {
  t = await startTestApp();
  token = (await t.organization()).token;
  scim = scimClient(t.app, token);
});
afterAll(() => t.close());

describe("discovery (RFC 7644 §4)", () => {
  it("advertises what Gatehouse serves in ServiceProviderConfig", async () => {
    const res = await scim.get("/ServiceProviderConfig").expect(200);
    expect(res.body).toMatchObject({
      schemas: ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
      patch: { supported: true },
      filter: { supported: true, maxResults: t.config.scim.maxResults },
      sort: { supported: true },
      etag: { supported: true },
      changePassword: { supported: false },
      bulk: { supported: true, maxOperations: t.config.scim.maxBulkOperations, maxPayloadSize: t.config.scim.maxPayloadBytes },
    });
    expect(res.body.authenticationSchemes[0].type).toBe("oauthbearertoken");
  });

  it("lists the User resource type with the enterprise extension", async () => {
    const res = await scim.get("/ResourceTypes").expect(200);
    const user = res.body.Resources.find((r: { id: string }) => r.id === "User");
    expect(user).toMatchObject({
      endpoint: "/Users",
      schema: "urn:ietf:params:scim:schemas:core:2.0:User",
      schemaExtensions: [{ schema: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", required: false }],
    });
    await scim.get("/ResourceTypes/User").expect(200);
  });

  it("describes the core User and EnterpriseUser schemas", async () => {
    const res = await scim.get("/Schemas").expect(200);
    const ids = res.body.Resources.map((s: { id: string }) => s.id);
    expect(ids).toEqual(expect.arrayContaining(["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]));
    const user = await scim.get("/Schemas/urn:ietf:params:scim:schemas:core:2.0:User").expect(200);
    const userName = user.body.attributes.find((a: { name: string }) => a.name === "userName");
    expect(userName).toMatchObject({ caseExact: false, uniqueness: "server", required: true });
  });

  it("requires the bearer token on discovery too", async () => {
    await request(t.app).get("/scim/v2/ServiceProviderConfig").expect(401);
  });

  it("answers unknown SCIM endpoints with a SCIM 404", async () => {
    const res = await scim.get("/Nothing").expect(404);
    expect(res.body.schemas).toEqual(["urn:ietf:params:scim:api:messages:2.0:Error"]);
  });

  it.each([
    ["POST", "/ServiceProviderConfig"], ["PUT", "/ServiceProviderConfig"], ["PATCH", "/ServiceProviderConfig"], ["DELETE", "/ServiceProviderConfig"],
    ["POST", "/ResourceTypes"], ["PUT", "/ResourceTypes/User"], ["PATCH", "/ResourceTypes"], ["DELETE", "/ResourceTypes/User"],
    ["POST", "/Schemas"], ["PUT", "/Schemas"], ["PATCH", "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User"], ["DELETE", "/Schemas"],
  ])("answers %s %s with 405, an Allow header and a SCIM error", async (method, path) => {
    const res = await request(t.app)[method.toLowerCase() as "post"](`/scim/v2${path}`)
      .set("Authorization", `Bearer ${token}`)
      .set("Content-Type", "application/scim+json")
      .send(method === "DELETE" ? undefined : "{}");
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe("GET, HEAD");
    expect(res.body).toMatchObject({ schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"], status: "405", detail: expect.any(String) });
  });
});

import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { scimClient, startTestApp, type TestApp } from "../support/app";

/**
 * schemas/scim/*.json are the SCIM schema definitions Gatehouse serves (RFC 7643 §7), kept in the
 * repository for people and tools that read schemas without a running server. This test keeps
 * them true: it compares each file with what GET /Schemas/{id} answers. Run with
 * UPDATE_SCHEMA_FILES=1 to rewrite them after a deliberate change.
 */
const directory = path.resolve(__dirname, "..", "..", "schemas", "scim");
const files: Record<string, string> = {
  "urn:ietf:params:scim:schemas:core:2.0:User": "User.json",
  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": "EnterpriseUser.json",
  "urn:ietf:params:scim:schemas:core:2.0:Group": "Group.json",
};

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

it.each(Object.entries(files))("schemas/scim file for %s matches what /Schemas serves", async (id, file) => {
  const scim = scimClient(t.app, (await t.organization()).token);
  const res = await scim.get(`/Schemas/${id}`).expect(200);
  const { meta: _meta, ...served } = res.body;
  const target = path.join(directory, file);
  if (process.env.UPDATE_SCHEMA_FILES) {
    mkdirSync(directory, { recursive: true });
    writeFileSync(target, `${JSON.stringify(served, null, 2)}\n`);
  }
  expect(JSON.parse(readFileSync(target, "utf8"))).toEqual(served);
});

import { buildUser, patchSchema, scimClient, startTestApp, type TestApp } from "../support/app";

/**
 * FerretDB's SQLite backend answers only an exact `{_id: …}` filter from SQLite and scans the
 * collection for anything else (../shared/MONGODB.md); on MongoDB the same filters use the _id
 * index. These tests record every database operation a request makes and require that each filter
 * on the hot paths is exactly {_id}.
 */
let t: TestApp;
let scim: ReturnType<typeof scimClient>;
let operations: { collection: string; method: string; filter: unknown }[] = [];

beforeAll(async () => {
  t = await startTestApp();
  scim = scimClient(t.app, (await t.organization()).token);
  t.db.connection.set("debug", (collection: string, method: string, filter: unknown) => {
    operations.push({ collection, method, filter });
  });
});
afterAll(() => t.close());

const filterMethods = new Set(["find", "findOne", "updateOne", "replaceOne", "deleteOne", "findOneAndUpdate", "countDocuments", "updateMany", "deleteMany"]);

async function recorded(action: () => Promise<unknown>) {
  operations = [];
  await action();
  return operations.filter((o) => filterMethods.has(o.method));
}

function expectOnlyIdFilters(ops: { collection: string; method: string; filter: unknown }[]) {
  expect(ops.length).toBeGreaterThan(0);
  for (const op of ops) {
    const filter = op.filter as Record<string, unknown>;
    expect({ op: `${op.collection}.${op.method}`, keys: Object.keys(filter) }).toEqual({ op: `${op.collection}.${op.method}`, keys: ["_id"] });
    expect(typeof filter._id).toBe("string");
  }
}

describe("hot paths are _id operations", () => {
  let id: string;

  it("POST /Users", async () => {
    const ops = await recorded(async () => {
      const res = await scim.post("/Users", buildUser({ userName: "hot@example.com", externalId: "hot-1" })).expect(201);
      id = res.body.id;
    });
    expectOnlyIdFilters(ops);
  });

  it.each([
    ['userName eq "HOT@example.com"'],
    ['externalId eq "hot-1"'],
  ])("GET /Users?filter=%s", async (expression) => {
    const ops = await recorded(async () => {
      const res = await scim.get(`/Users?filter=${encodeURIComponent(expression)}&startIndex=1&count=100`).expect(200);
      expect(res.body.totalResults).toBe(1);
    });
    expectOnlyIdFilters(ops);
  });

  it("GET, PUT, PATCH and DELETE by id", async () => {
    expectOnlyIdFilters(await recorded(() => scim.get(`/Users/${id}`).expect(200)));
    expectOnlyIdFilters(await recorded(() => scim.put(`/Users/${id}`, buildUser({ userName: "hot@example.com", externalId: "hot-2" })).expect(200)));
    expectOnlyIdFilters(await recorded(() => scim.patch(`/Users/${id}`, { schemas: [patchSchema], Operations: [{ op: "replace", path: "userName", value: "hotter@example.com" }] }).expect(200)));
    expectOnlyIdFilters(await recorded(() => scim.delete(`/Users/${id}`).expect(204)));
  });
});

describe("group hot paths are _id operations", () => {
  let groupId: string;
  let memberId: string;
  const groupSchema = "urn:ietf:params:scim:schemas:core:2.0:Group";

  beforeAll(async () => {
    memberId = (await scim.post("/Users", buildUser({ userName: "hot.member@example.com" })).expect(201)).body.id;
  });

  it("POST /Groups without members, and the displayName / externalId lookups", async () => {
    expectOnlyIdFilters(await recorded(async () => {
      groupId = (await scim.post("/Groups", { schemas: [groupSchema], displayName: "Hot Group", externalId: "hot-g" }).expect(201)).body.id;
    }));
    for (const expression of ['displayName eq "HOT GROUP"', 'externalId eq "hot-g"']) {
      expectOnlyIdFilters(await recorded(async () => {
        const res = await scim.get(`/Groups?excludedAttributes=members&filter=${encodeURIComponent(expression)}`).expect(200);
        expect(res.body.totalResults).toBe(1);
      }));
    }
  });

  it("single-member add and remove PATCHes never read the member list", async () => {
    expectOnlyIdFilters(await recorded(() => scim.patch(`/Groups/${groupId}`, { schemas: [patchSchema], Operations: [{ op: "add", path: "members", value: [{ value: memberId }] }] }).expect(204)));
    expectOnlyIdFilters(await recorded(() => scim.patch(`/Groups/${groupId}`, { schemas: [patchSchema], Operations: [{ op: "remove", path: `members[value eq "${memberId}"]` }] }).expect(204)));
    expectOnlyIdFilters(await recorded(() => scim.patch(`/Groups/${groupId}`, { schemas: [patchSchema], Operations: [{ op: "Remove", path: "members", value: [{ value: memberId }] }] }).expect(204)));
  });

  it("GET /Groups/{id}?excludedAttributes=members reads no member", async () => {
    expectOnlyIdFilters(await recorded(() => scim.get(`/Groups/${groupId}?excludedAttributes=members`).expect(200)));
  });
});

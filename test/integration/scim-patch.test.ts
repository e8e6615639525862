import request from "supertest";
import { buildUser, enterpriseSchema, errorSchema, operator, patchSchema, scimClient, startTestApp, userSchema, type TestApp } from "../support/app";

/**
 * PATCH paths (RFC 7644 §3.5.2): the grammar and the schema's mutability are checked before
 * anything is applied; the enterprise extension's URN works as a path; `remove` of `active`.
 */
let t: TestApp;
let org: { id: string; token: string };
let scim: ReturnType<typeof scimClient>;
const groupSchema = "urn:ietf:params:scim:schemas:core:2.0:Group";

beforeAll(async () => {
  t = await startTestApp();
  org = await t.organization("Patch Paths Inc");
  scim = scimClient(t.app, org.token);
});
afterAll(() => t.close());

const patchUser = (id: string, operations: unknown[]) => scim.patch(`/Users/${id}`, { schemas: [patchSchema], Operations: operations });
const storedUser = (id: string) => t.db.models.User.collection.findOne({ _id: id } as never, { projection: { outbox: 0 } });
const storedGroup = (id: string) => t.db.models.Group.collection.findOne({ _id: id } as never, { projection: { outbox: 0 } });

async function newUser(extra: Record<string, unknown> = {}): Promise<string> {
  return (await scim.post("/Users", buildUser(extra)).expect(201)).body.id;
}

function expectScimError(res: request.Response, status: number, scimType: string) {
  expect({ status: res.status, body: res.body }).toMatchObject({ status, body: { schemas: [errorSchema], status: String(status), scimType, detail: expect.any(String) } });
}

describe("malformed PATCH paths answer 400 invalidPath and change nothing", () => {
  it.each([
    ["name..givenName", "Changed"],
    ["emails[type eq].value", "x@example.com"],
    ['emails[value eq "x]', "x@example.com"],
    ['emails[type eq "work"]value', "x@example.com"],
    ["name.givenName.first", "Changed"],
    [".name", "Changed"],
    ["name.", "Changed"],
    ["nosuchAttribute", "x"],
    ["name.nosuch", "x"],
    ['emails[nosuch eq "x"].value', "x@example.com"],
    ['emails[type eq "work"].nosuch', "x"],
    ['active[value eq "x"]', true],
    ['emails[type eq "work"][primary eq true]', "x"],
    ['emails[value eq "a" and emails[type eq "w"]]', "x"],
    ["urn:example:params:scim:schemas:unknown:User:name", "x"],
    [`${userSchema}`, { displayName: "x" }],
    [`${enterpriseSchema}:nosuch`, "x"],
    [`${enterpriseSchema}.department`, "x"],
  ])("%s", async (path, value) => {
    const id = await newUser();
    const before = await storedUser(id);
    const res = await patchUser(id, [{ op: "replace", path, value }]);
    expectScimError(res, 400, "invalidPath");
    expect(await storedUser(id)).toEqual(before);
  });

  it("refuses the whole PATCH when a later operation's path is malformed", async () => {
    const id = await newUser({ displayName: "Kept" });
    const before = await storedUser(id);
    const res = await patchUser(id, [{ op: "replace", path: "displayName", value: "Changed" }, { op: "remove", path: "name..familyName" }]);
    expectScimError(res, 400, "invalidPath");
    expect(res.body.detail).toMatch(/Operation 2/);
    expect(await storedUser(id)).toEqual(before);
  });
});

describe("paths to readOnly attributes answer 400 mutability and change nothing", () => {
  it.each([
    ["replace", "meta.created", "2020-01-01T00:00:00Z"],
    ["replace", "meta.lastModified", "2020-01-01T00:00:00Z"],
    ["add", "meta", { created: "2020-01-01T00:00:00Z" }],
    ["remove", "meta.version", undefined],
    ["replace", "id", "another-id"],
    ["add", "groups", [{ value: "g1" }]],
    ["replace", `${userSchema}:meta.created`, "2020-01-01T00:00:00Z"],
  ])("%s %s", async (op, path, value) => {
    const id = await newUser();
    const before = await storedUser(id);
    const res = await patchUser(id, [{ op, path, ...(value === undefined ? {} : { value }) }]);
    expectScimError(res, 400, "mutability");
    expect(await storedUser(id)).toEqual(before);
  });
});

describe("value filters in paths are bounded like filters", () => {
  it("answers 400 invalidFilter to a path filter of 101 terms, and changes nothing", async () => {
    const id = await newUser();
    const before = await storedUser(id);
    const terms = Array.from({ length: 101 }, (_, i) => `value eq "v${i}"`).join(" or ");
    const res = await patchUser(id, [{ op: "replace", path: `emails[${terms}].type`, value: "home" }]);
    expectScimError(res, 400, "invalidFilter");
    expect(await storedUser(id)).toEqual(before);
  });

  it("still applies well-formed value paths", async () => {
    const id = await newUser({ emails: [{ value: "a@example.com", type: "work" }, { value: "b@example.com", type: "home" }] });
    const res = await patchUser(id, [{ op: "replace", path: 'emails[type eq "home" or value eq "nobody"].value', value: "c@example.com" }]).expect(200);
    expect(res.body.emails.map((e: { value: string }) => e.value)).toEqual(["a@example.com", "c@example.com"]);
  });
});

describe("Group PATCH paths", () => {
  it.each([
    ["replace", "meta.created", "2020-01-01T00:00:00Z", "mutability"],
    ["replace", "id", "other", "mutability"],
    ["remove", 'members[value eq "x]', undefined, "invalidPath"],
    ["replace", "displayName..x", "x", "invalidPath"],
    ["add", "owners", [{ value: "x" }], "invalidPath"],
  ])("%s %s answers 400 %s and changes nothing", async (op, path, value, scimType) => {
    const member = await newUser();
    const group = (await scim.post("/Groups", { schemas: [groupSchema], displayName: `Paths ${Math.random()}`, members: [{ value: member }] }).expect(201)).body;
    const before = await storedGroup(group.id);
    const res = await scim.patch(`/Groups/${group.id}`, { schemas: [patchSchema], Operations: [{ op, path, ...(value === undefined ? {} : { value }) }] });
    expectScimError(res, 400, scimType);
    expect(await storedGroup(group.id)).toEqual(before);
    expect((await scim.get(`/Groups/${group.id}`).expect(200)).body.members.map((m: { value: string }) => m.value)).toEqual([member]);
  });
});

describe("the enterprise extension's URN as a PATCH path", () => {
  it("adds the extension to a user who has none, with Entra's bare-string manager", async () => {
    const manager = await newUser();
    const id = await newUser();
    const res = await patchUser(id, [{ op: "add", path: enterpriseSchema, value: { department: "Research", employeeNumber: "7", manager } }]).expect(200);
    expect(res.body.schemas).toEqual([userSchema, enterpriseSchema]);
    expect(res.body[enterpriseSchema]).toMatchObject({ department: "Research", employeeNumber: "7", manager: { value: manager } });
    expect(await storedUser(id)).toMatchObject({ enterprise: { department: "Research", employeeNumber: "7", manager: { value: manager } } });
  });

  it("replaces the attributes it names and keeps the others (RFC 7644 §3.5.2.3)", async () => {
    const id = await newUser({ schemas: [userSchema, enterpriseSchema], [enterpriseSchema]: { department: "Sales", costCenter: "42" } });
    const res = await patchUser(id, [{ op: "Replace", path: enterpriseSchema, value: { schemas: [enterpriseSchema], department: "Support" } }]).expect(200);
    expect(res.body[enterpriseSchema]).toEqual({ department: "Support", costCenter: "42" });
    expect((await storedUser(id))?.enterprise).toEqual({ department: "Support", costCenter: "42" });
  });

  it("removes the whole extension without a value, and removing it again is a no-op", async () => {
    const id = await newUser({ schemas: [userSchema, enterpriseSchema], [enterpriseSchema]: { department: "Sales", manager: { value: "m-1" } } });
    const res = await patchUser(id, [{ op: "remove", path: enterpriseSchema }]).expect(200);
    expect(res.body.schemas).toEqual([userSchema]);
    expect(res.body[enterpriseSchema]).toBeUndefined();
    expect((await storedUser(id))?.enterprise).toBeUndefined();
    const again = await patchUser(id, [{ op: "remove", path: enterpriseSchema }]).expect(200);
    expect(again.body.meta.version).toBe(res.body.meta.version);
  });

  it.each([
    ["add", "Research", "invalidValue"],
    ["replace", [{ department: "x" }], "invalidValue"],
    ["add", { nosuch: "x" }, "invalidPath"],
  ])("answers 400 to %s with the value %j, leaking nothing of scimmy", async (op, value, scimType) => {
    const id = await newUser();
    const before = await storedUser(id);
    const res = await patchUser(id, [{ op, path: enterpriseSchema, value }]);
    expectScimError(res, 400, scimType);
    expect(res.body.detail).not.toMatch(/extensible|undefined or null/);
    expect(await storedUser(id)).toEqual(before);
  });
});

describe("PATCH remove of active (RFC 7644 §3.5.2.2)", () => {
  it("leaves the user without access and without the attribute, until active is set again", async () => {
    const serviceToken = (await t.services.scimTokens.issue({ ...operator, organizationId: org.id }, { purpose: "service", name: "product" })).token;
    const access = (userId: string) => request(t.app).get(`/api/v1/users/${userId}/access`).set("Authorization", `Bearer ${serviceToken}`).expect(200);
    const id = await newUser({ active: true });
    expect((await access(id)).body.organizationRole).toBeDefined();

    const res = await patchUser(id, [{ op: "remove", path: "active" }]).expect(200);
    expect(res.body).not.toHaveProperty("active");
    expect((await scim.get(`/Users/${id}`).expect(200)).body).not.toHaveProperty("active");
    expect(await storedUser(id)).toMatchObject({ active: false, activeRemoved: true });
    const denied = (await access(id)).body;
    expect(denied.organizationRole ?? null).toBeNull();
    expect(denied.denial).toMatch(/deactivated/);
    const events = await t.db.models.AuditEvent.find({ organizationId: org.id, "target.id": id }).lean();
    expect(events.map((e) => e.action)).toContain("user.deactivated");

    // A PUT without active keeps it removed; setting it brings the attribute and access back.
    const put = await scim.put(`/Users/${id}`, buildUser({ userName: res.body.userName, active: undefined })).expect(200);
    expect(put.body).not.toHaveProperty("active");
    const back = await patchUser(id, [{ op: "replace", path: "active", value: true }]).expect(200);
    expect(back.body.active).toBe(true);
    expect(await storedUser(id)).not.toHaveProperty("activeRemoved");
    expect((await access(id)).body.organizationRole).toBeDefined();
  });

  it("is accepted with the core schema URN prefix too", async () => {
    const id = await newUser();
    const res = await patchUser(id, [{ op: "remove", path: `${userSchema}:active` }]);
    expect(res.body.detail).toBeUndefined();
    expect(res.body).not.toHaveProperty("active");
    expect(await storedUser(id)).toMatchObject({ active: false });
  });
});

describe("one replace of active (Entra's deactivation), applied without scimmy's PatchOp", () => {
  /** The user as answered and as stored, without what differs between two users by nature. */
  const comparable = async (id: string, answer: Record<string, unknown>) => {
    const { id: _id, userName: _u, externalId: _e, meta, emails: _m, ...rest } = answer as Record<string, unknown> & { meta: Record<string, unknown> };
    const stored = (await storedUser(id)) as unknown as Record<string, unknown>;
    const { _id: _s, userName: _su, userNameLower: _sl, externalId: _se, emails: _sm, created: _c, lastModified: _lm, searchTerms: _st, ...kept } = stored;
    return { answer: { ...rest, meta: { resourceType: meta.resourceType, version: typeof meta.version } }, stored: kept };
  };
  const profile = { name: { givenName: "Lee", familyName: "Ver" }, displayName: "Lee Ver", title: "Engineer", [enterpriseSchema]: { department: "R&D", manager: { value: "m-1" } } };

  it.each([
    ["False", [{ op: "Replace", path: "active", value: "False" }]],
    [false, [{ op: "replace", path: `${userSchema}:active`, value: false }]],
  ])("answers and stores what the general path does for value %p", async (_value, operations) => {
    const direct = await newUser(profile);
    const general = await newUser(profile);
    const before = (await scim.get(`/Users/${direct}`).expect(200)).headers.etag;
    const answered = await patchUser(direct, operations).expect(200);
    // Two operations take scimmy's PatchOp; the second changes nothing.
    const applied = await patchUser(general, [...operations, { op: "replace", path: "title", value: "Engineer" }]).expect(200);
    expect(answered.body.active).toBe(false);
    expect(await comparable(direct, answered.body)).toEqual(await comparable(general, applied.body));
    // A new version, answered as the ETag a read then shows (RFC 7644 §3.14).
    expect(answered.headers.etag).not.toBe(before);
    expect((await scim.get(`/Users/${direct}`).expect(200)).headers.etag).toBe(answered.headers.etag);
  });

  it("reactivates with \"True\", and a replace that changes nothing writes nothing", async () => {
    const id = await newUser(profile);
    await patchUser(id, [{ op: "Replace", path: "active", value: "False" }]).expect(200);
    const version = ((await storedUser(id)) as unknown as { version: number }).version;
    await patchUser(id, [{ op: "Replace", path: "active", value: "False" }]).expect(200);
    expect(((await storedUser(id)) as unknown as { version: number }).version).toBe(version);
    expect((await patchUser(id, [{ op: "Replace", path: "active", value: "True" }]).expect(200)).body.active).toBe(true);
  });

  it("a value that is no boolean is refused as the general path refuses it", async () => {
    const id = await newUser();
    const res = await patchUser(id, [{ op: "replace", path: "active", value: "sometimes" }]);
    expect(res.status).toBe(400);
    expect(((await storedUser(id)) as unknown as { active: boolean }).active).toBe(true);
  });
});

describe("inside Bulk (RFC 7644 §3.7)", () => {
  it("answers the malformed PATCH operation with 400 invalidPath, and the others still apply", async () => {
    const a = await newUser({ displayName: "Bulk A" });
    const b = await newUser({ displayName: "Bulk B" });
    const before = await storedUser(a);
    const res = await scim.post("/Bulk", {
      schemas: ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
      Operations: [
        { method: "PATCH", path: `/Users/${a}`, data: { schemas: [patchSchema], Operations: [{ op: "replace", path: "name..givenName", value: "x" }] } },
        { method: "PATCH", path: `/Users/${b}`, data: { schemas: [patchSchema], Operations: [{ op: "replace", path: "meta.created", value: "2020-01-01T00:00:00Z" }] } },
        { method: "PATCH", path: `/Users/${b}`, data: { schemas: [patchSchema], Operations: [{ op: "replace", path: "displayName", value: "Bulk B2" }] } },
      ],
    }).expect(200);
    const [malformed, readOnly, fine] = res.body.Operations;
    expect(malformed).toMatchObject({ status: "400", response: { schemas: [errorSchema], scimType: "invalidPath" } });
    expect(readOnly).toMatchObject({ status: "400", response: { schemas: [errorSchema], scimType: "mutability" } });
    expect(fine.status).toBe("200");
    expect(await storedUser(a)).toEqual(before);
    expect((await storedUser(b))?.displayName).toBe("Bulk B2");
  });
});

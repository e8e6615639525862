import request from "supertest";
import { runCommand } from "../../src/cli/commands";
import { buildUser, patchSchema, scimClient, startTestApp, type TestApp } from "../support/app";

/**
 * What an administrator sees of provisioning (issue 14): the groups the identity provider pushed,
 * with member counts, members and the mappings that reference them; and the recent SCIM activity
 * per day with the last request's status. Through SCIM and the admin API on the real database.
 */

const groupSchema = "urn:ietf:params:scim:schemas:core:2.0:Group";

let t: TestApp;
let org: { id: string; scimToken: string; ownerId: string };
let ownerToken: string;
let owner: (path: string) => request.Test;
let scim: ReturnType<typeof scimClient>;
const cliJson = async (...argv: string[]) => JSON.parse((await runCommand(t.services, [...argv, "--json"])).stdout[0]!);

beforeAll(async () => {
  t = await startTestApp({}, { residentAuditIndex: true });
  org = await cliJson("org", "create", "Groups Co", "--owner", "owner@groups.example");
  ownerToken = (await cliJson("user-token", "create", "--org", org.id, "--email", "owner@groups.example")).token as string;
  owner = (path: string) => request(t.app).get(`/api/v1${path}`).set("Authorization", `Bearer ${ownerToken}`);
  scim = scimClient(t.app, org.scimToken);
});
afterAll(() => t.close());

describe("groups for administrators", () => {
  let ids: string[];
  let engineering: string;

  beforeAll(async () => {
    ids = [];
    for (let i = 0; i < 5; i++) ids.push((await scim.post("/Users", buildUser({ userName: `member${i}@groups.example` })).expect(201)).body.id);
    engineering = (await scim.post("/Groups", { schemas: [groupSchema], displayName: "engineering", externalId: "ext-eng", members: ids.map((value) => ({ value })) }).expect(201)).body.id;
    await scim.post("/Groups", { schemas: [groupSchema], displayName: "Accounting", members: [{ value: ids[0] }] }).expect(201);
    await scim.post("/Groups", { schemas: [groupSchema], displayName: "Board" }).expect(201);
  });

  it("lists the groups by name, ignoring case, with their member counts, a page at a time", async () => {
    const all = await owner("/groups").expect(200);
    expect(all.body).toEqual({
      totalResults: 3,
      startIndex: 1,
      groups: [
        expect.objectContaining({ displayName: "Accounting", memberCount: 1 }),
        expect.objectContaining({ displayName: "Board", memberCount: 0 }),
        { id: engineering, displayName: "engineering", externalId: "ext-eng", memberCount: 5, created: expect.any(String), lastModified: expect.any(String) },
      ],
    });
    const second = await owner("/groups?startIndex=2&count=1").expect(200);
    expect(second.body).toMatchObject({ totalResults: 3, startIndex: 2, groups: [expect.objectContaining({ displayName: "Board" })] });
    expect((await owner("/groups?count=500").expect(400)).body.error.code).toBe("invalid_request");
    expect((await owner("/groups?filter=x").expect(400)).body.error.code).toBe("invalid_request");
  });

  it("shows one group's members page by page and the mappings that reference it", async () => {
    const post = (path: string, body: object) => request(t.app).post(`/api/v1${path}`).set("Authorization", `Bearer ${ownerToken}`).send(body);
    const byGroup = (await post("/mappings", { match: { kind: "group_id", value: engineering }, organizationRole: "admin" }).expect(201)).body.id;
    const byName = (await post("/mappings", { match: { kind: "display_name", value: "ENGINEERING" }, organizationRole: "user" }).expect(201)).body.id;
    const byExternal = (await post("/mappings", { match: { kind: "external_id", value: "ext-eng" }, organizationRole: "user" }).expect(201)).body.id;
    await post("/mappings", { match: { kind: "display_name", value: "Board" }, organizationRole: "user" }).expect(201);

    const first = await owner(`/groups/${engineering}?count=2`).expect(200);
    expect(first.body).toMatchObject({ id: engineering, displayName: "engineering", memberCount: 5 });
    expect(first.body.members).toHaveLength(2);
    expect(first.body.mappings.map((m: { id: string }) => m.id).sort()).toEqual([byGroup, byName, byExternal].sort());
    const seen = [...first.body.members];
    let after: string | undefined = first.body.nextAfter;
    while (after) {
      const page = await owner(`/groups/${engineering}?count=2&after=${after}`).expect(200);
      seen.push(...page.body.members);
      after = page.body.nextAfter;
    }
    expect(seen.map((m: { id: string }) => m.id)).toEqual([...ids].sort());
    expect(seen[0]).toEqual({ id: expect.any(String), userName: expect.stringMatching(/^member\d@groups\.example$/) });
    await owner("/groups/no-such-group").expect(404);
  });

  it("is for administrators only", async () => {
    await t.services.users.provision({ organizationId: org.id, actor: { type: "operator", id: "t", name: "t" }, source: "cli", requestId: "t" }, { userName: "plain@groups.example" }, "local", { role: "user" });
    const token = (await cliJson("user-token", "create", "--org", org.id, "--email", "plain@groups.example")).token as string;
    await request(t.app).get("/api/v1/groups").set("Authorization", `Bearer ${token}`).expect(403);
    await request(t.app).get(`/api/v1/groups/${engineering}`).set("Authorization", `Bearer ${token}`).expect(403);
  });
});

describe("provisioning activity", () => {
  it("counts today's SCIM creates, updates, deactivations and deletes, and shows the last request and its status", async () => {
    const other = await cliJson("org", "create", "Activity Co", "--owner", "owner@activity.example");
    const token = (await cliJson("user-token", "create", "--org", other.id, "--email", "owner@activity.example")).token as string;
    const activity = () => request(t.app).get("/api/v1/provisioning/activity").set("Authorization", `Bearer ${token}`);
    const before = await activity().expect(200);
    expect(before.body.days).toHaveLength(14);
    expect(before.body.days.every((d: Record<string, number>) => d.creates + d.updates + d.deactivations + d.deletes === 0)).toBe(true);
    expect(before.body).toMatchObject({ lastChange: null, lastTokenUse: null, lastRequest: null });

    const client = scimClient(t.app, other.scimToken);
    const a = (await client.post("/Users", buildUser({ userName: "a@activity.example" })).expect(201)).body.id;
    const b = (await client.post("/Users", buildUser({ userName: "b@activity.example" })).expect(201)).body.id;
    await client.patch(`/Users/${a}`, { schemas: [patchSchema], Operations: [{ op: "replace", path: "displayName", value: "A" }] }).expect(200);
    await client.patch(`/Users/${a}`, { schemas: [patchSchema], Operations: [{ op: "replace", path: "active", value: false }] }).expect(200);
    await client.delete(`/Users/${b}`).expect(204);
    await client.get("/Users/does-not-exist").expect(404);

    const after = await activity().expect(200);
    const today = new Date().toISOString().slice(0, 10);
    expect(after.body.days[13]).toEqual({ date: today, creates: 2, updates: 1, deactivations: 1, deletes: 1 });
    expect(after.body.days[0].date).toBe(new Date(Date.now() - 13 * 86_400_000).toISOString().slice(0, 10));
    expect(after.body.lastChange).toEqual({ at: expect.any(String), action: "user.deleted" });
    expect(after.body.lastTokenUse).toEqual(expect.any(String));
    expect(after.body.lastRequest).toEqual({ at: expect.any(String), method: "GET", status: 404 });
    // Admin-made changes are not provisioning; the first organization's activity is its own.
    expect((await owner("/provisioning/activity").expect(200)).body.days[13]).toMatchObject({ creates: 5 + 3 });
  });

  it("counts the same from the database when no resident index is kept (MongoDB, the CLI)", async () => {
    const plain = await startTestApp({}, { dbName: t.db.connection.name });
    try {
      const report = await plain.services.provisioningActivity.report({ organizationId: org.id });
      expect(report.days[13]).toMatchObject({ creates: 8 });
      const resident = await t.services.provisioningActivity.report({ organizationId: org.id });
      expect(report.days).toEqual(resident.days);
    } finally {
      await plain.close();
    }
  });
});

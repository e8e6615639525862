import request from "supertest";
import { operator, buildUser, patchSchema, scimClient, startTestApp, type TestApp } from "../support/app";
import { InvalidError } from "../../src/errors";

const groupSchema = "urn:ietf:params:scim:schemas:core:2.0:Group";

let t: TestApp;
let org: { id: string; token: string };
let scim: ReturnType<typeof scimClient>;
let serviceToken: string;
const ctx = () => ({ ...operator, organizationId: org.id });

beforeAll(async () => {
  t = await startTestApp();
  org = await t.organization("Access Co");
  scim = scimClient(t.app, org.token);
  serviceToken = (await t.services.scimTokens.issue(ctx(), { purpose: "service", name: "product back end" })).token;
});
afterAll(() => t.close());

const api = {
  access: (userId: string) => request(t.app).get(`/api/v1/users/${userId}/access`).set("Authorization", `Bearer ${serviceToken}`),
  authorize: (body: Record<string, unknown>) => request(t.app).post("/api/v1/authorize").set("Authorization", `Bearer ${serviceToken}`).send(body),
};

async function allowed(userId: string, action: string, projectId?: string): Promise<boolean> {
  const res = await api.authorize({ userId, action, ...(projectId ? { projectId } : {}) }).expect(200);
  expect(typeof res.body.reason).toBe("string");
  return res.body.allowed;
}

async function user(userName: string, extra: Record<string, unknown> = {}): Promise<string> {
  return (await scim.post("/Users", buildUser({ userName, ...extra })).expect(201)).body.id;
}

async function group(displayName: string, extra: Record<string, unknown> = {}): Promise<string> {
  return (await scim.post("/Groups", { schemas: [groupSchema], displayName, ...extra }).expect(201)).body.id;
}

const addMember = (groupId: string, userId: string) =>
  scim.patch(`/Groups/${groupId}`, { schemas: [patchSchema], Operations: [{ op: "add", path: "members", value: [{ value: userId }] }] }).expect(204);
const removeMember = (groupId: string, userId: string) =>
  scim.patch(`/Groups/${groupId}`, { schemas: [patchSchema], Operations: [{ op: "remove", path: `members[value eq "${userId}"]` }] }).expect(204);

describe("authorization answers follow identity-provider groups on the very next request", () => {
  it("gives an unmapped user the organization's default role (Read-Only)", async () => {
    const u = await user("plain@example.com");
    const res = await api.access(u).expect(200);
    expect(res.body).toMatchObject({ userId: u, organizationRole: "read_only", sources: [{ kind: "default", role: "read_only" }], allProjects: false });
    expect(res.body.permissions).toEqual({ view_reports: "all" });
    expect(await allowed(u, "view_reports")).toBe(true);
    expect(await allowed(u, "create_reports")).toBe(false);
  });

  it("grants and withdraws a mapped role as the identity provider adds and removes the member", async () => {
    const u = await user("mapped@example.com");
    const g = await group("Analytics Admins");
    const mapping = await t.services.access.addMapping(ctx(), { match: { kind: "display_name", value: "analytics admins" }, organizationRole: "admin" });
    expect(await allowed(u, "add_users")).toBe(false);

    await addMember(g, u);
    expect(await allowed(u, "add_users")).toBe(true);
    const res = await api.access(u).expect(200);
    expect(res.body.organizationRole).toBe("admin");
    expect(res.body.sources[0]).toEqual({ kind: "mapping", role: "admin", mappingId: mapping.id, groupId: g, groupName: "Analytics Admins" });
    expect(res.body.allProjects).toBe(true);

    await removeMember(g, u);
    expect(await allowed(u, "add_users")).toBe(false);
    expect((await api.access(u).expect(200)).body.organizationRole).toBe("read_only");
  });

  it("keeps an externalId mapping through a rename and drops a displayName mapping", async () => {
    const u = await user("renamed.member@example.com");
    const byExternalId = await group("Engineering", { externalId: "ext-eng" });
    const byName = await group("Support");
    await t.services.access.addMapping(ctx(), { match: { kind: "external_id", value: "ext-eng" }, organizationRole: "user" });
    await t.services.access.addMapping(ctx(), { match: { kind: "display_name", value: "Support" }, organizationRole: "admin" });
    await addMember(byExternalId, u);
    await addMember(byName, u);
    expect((await api.access(u).expect(200)).body.organizationRole).toBe("admin");

    await scim.patch(`/Groups/${byName}`, { schemas: [patchSchema], Operations: [{ op: "replace", path: "displayName", value: "Support (EU)" }] }).expect(204);
    await scim.patch(`/Groups/${byExternalId}`, { schemas: [patchSchema], Operations: [{ op: "replace", path: "displayName", value: "Engineering (EU)" }] }).expect(204);
    const res = await api.access(u).expect(200);
    expect(res.body.organizationRole).toBe("user");
    expect(res.body.sources).toEqual([expect.objectContaining({ kind: "mapping", role: "user", groupName: "Engineering (EU)" })]);
  });

  it("maps Entra app roles sent in the user's roles", async () => {
    await t.services.access.addMapping(ctx(), { match: { kind: "app_role", value: "Analyst" }, organizationRole: "user" });
    const u = await user("app.role@example.com");
    expect(await allowed(u, "create_reports")).toBe(false);
    await scim
      .patch(`/Users/${u}`, { schemas: [patchSchema], Operations: [{ op: "Add", path: "roles", value: [{ primary: "True", type: "WindowsAzureActiveDirectoryRole", value: "Analyst" }] }] })
      .expect(200);
    expect(await allowed(u, "create_reports")).toBe(true);
  });

  it("grants project roles under the organization role's ceiling", async () => {
    const project = await t.services.access.createProject(ctx(), "Web analytics");
    const editors = await group("Web Editors");
    const staff = await group("Web Staff");
    await t.services.access.addMapping(ctx(), { match: { kind: "group_id", value: editors }, projects: [{ projectId: project.id, role: "editor" }] });
    await t.services.access.addMapping(ctx(), { match: { kind: "group_id", value: staff }, organizationRole: "user" });
    const u = await user("project.editor@example.com");
    await addMember(editors, u);
    // Read-Only (the default) caps the Editor role: the project can only be viewed.
    expect(await allowed(u, "view_reports", project.id)).toBe(true);
    expect(await allowed(u, "create_reports", project.id)).toBe(false);
    await addMember(staff, u);
    expect(await allowed(u, "create_reports", project.id)).toBe(true);
    const access = (await api.access(u).expect(200)).body;
    expect(access.projects).toEqual([expect.objectContaining({ projectId: project.id, role: "editor", sources: [expect.objectContaining({ kind: "mapping", groupId: editors })] })]);
    // No access to a project nobody assigned; an unknown project is refused with a reason.
    const other = await t.services.access.createProject(ctx(), "Mobile");
    expect(await allowed(u, "view_reports", other.id)).toBe(false);
    const unknown = await api.authorize({ userId: u, action: "view_reports", projectId: "nope" }).expect(200);
    expect(unknown.body).toEqual({ allowed: false, reason: "no project nope in this organization" });
  });

  it("denies everything to a user the identity provider deactivates, from the next request on", async () => {
    const g = await group("Deactivated Admins");
    await t.services.access.addMapping(ctx(), { match: { kind: "group_id", value: g }, organizationRole: "admin" });
    const u = await user("leaver@example.com");
    await addMember(g, u);
    expect(await allowed(u, "view_reports")).toBe(true);
    await scim.patch(`/Users/${u}`, { schemas: [patchSchema], Operations: [{ op: "replace", value: { active: false } }] }).expect(200);
    const res = await api.authorize({ userId: u, action: "view_reports" }).expect(200);
    expect(res.body.allowed).toBe(false);
    expect(res.body.reason).toMatch(/deactivated/);
    expect((await api.access(u).expect(200)).body).toMatchObject({ organizationRole: null, denial: expect.stringMatching(/deactivated/) });
  });

  it("admits nobody unmapped when the default role is 'none'", async () => {
    const other = await t.organization("Strict Co");
    const strictCtx = { ...operator, organizationId: other.id };
    await t.services.access.setSettings(strictCtx, { defaultRole: "none" });
    const strictToken = (await t.services.scimTokens.issue(strictCtx, { purpose: "service" })).token;
    const u = (await scimClient(t.app, other.token).post("/Users", buildUser({ userName: "nobody@example.com" })).expect(201)).body.id;
    const res = await request(t.app).post("/api/v1/authorize").set("Authorization", `Bearer ${strictToken}`).send({ userId: u, action: "view_reports" }).expect(200);
    expect(res.body.allowed).toBe(false);
  });

  it("never grants ownership through a mapping, and audits mapping changes", async () => {
    await expect(t.services.access.addMapping(ctx(), { match: { kind: "display_name", value: "Owners" }, organizationRole: "owner" as never })).rejects.toBeInstanceOf(InvalidError);
    const mapping = await t.services.access.addMapping(ctx(), { match: { kind: "display_name", value: "Audited" }, organizationRole: "user" });
    await t.services.access.removeMapping(ctx(), mapping.id);
    const events = await t.db.models.AuditEvent.find({ "target.id": mapping.id }).sort({ at: 1 }).lean();
    expect(events.map((e) => e.action)).toEqual(["mapping.created", "mapping.deleted"]);
  });
});

describe("the API's own rules", () => {
  it("accepts only service tokens, and SCIM accepts only SCIM tokens", async () => {
    const u = await user("tokens@example.com");
    await request(t.app).get(`/api/v1/users/${u}/access`).expect(401);
    const withScimToken = await request(t.app).get(`/api/v1/users/${u}/access`).set("Authorization", `Bearer ${org.token}`);
    expect(withScimToken.status).toBe(401);
    expect(withScimToken.body.error.code).toBe("unauthenticated");
    await request(t.app).get("/scim/v2/Users").set("Authorization", `Bearer ${serviceToken}`).expect(401);
  });

  it("answers 404 for a user of another organization and 400 for a malformed request", async () => {
    const stranger = (await scimClient(t.app, (await t.organization("Elsewhere")).token).post("/Users", buildUser({ userName: "stranger@example.com" })).expect(201)).body.id;
    const res = await api.access(stranger);
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe("not_found");
    const bad = await api.authorize({ userId: stranger, action: "fly" });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe("invalid_request");
  });
});

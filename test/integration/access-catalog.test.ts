import path from "node:path";
import request from "supertest";
import { runCommand, UsageError } from "../../src/cli/commands";
import { operator, startTestApp, type TestApp } from "../support/app";

/**
 * A second product, with no code change: Gatehouse started with ACCESS_CATALOG naming the example
 * "workspace" catalog (src/domain/catalogs/workspace.json: other permissions, roles that do not form
 * a chain and have no rank, a project role that manages people inside its workspace). The
 * authorization answers, effective access, the review, the OpenAPI document and the CLI all speak
 * its words.
 */
const workspaceCatalog = path.resolve(__dirname, "..", "..", "src", "domain", "catalogs", "workspace.json");

let t: TestApp;
let org: { id: string; ownerId: string };
let ownerToken: string;
let serviceToken: string;
let workspace: string;
const ctx = () => ({ ...operator, organizationId: org.id });
const cli = async (...argv: string[]) => JSON.parse((await runCommand(t.services, argv)).stdout[0]);
const api = (token: string) => ({
  get: (p: string) => request(t.app).get(`/api/v1${p}`).set("Authorization", `Bearer ${token}`),
  post: (p: string, body: unknown) => request(t.app).post(`/api/v1${p}`).set("Authorization", `Bearer ${token}`).send(body as object),
  put: (p: string, body: unknown) => request(t.app).put(`/api/v1${p}`).set("Authorization", `Bearer ${token}`).send(body as object),
  patch: (p: string, body: unknown) => request(t.app).patch(`/api/v1${p}`).set("Authorization", `Bearer ${token}`).send(body as object),
  delete: (p: string) => request(t.app).delete(`/api/v1${p}`).set("Authorization", `Bearer ${token}`),
});

async function member(userName: string, access?: { role?: string; projects?: { projectId: string; role: string }[] }, appRoles: string[] = []): Promise<{ id: string; token: string }> {
  const user = await t.services.users.provision(ctx(), { userName, ...(appRoles.length ? { roles: appRoles.map((value) => ({ value })) } : {}) }, "local", access);
  const token = (await cli("user-token", "create", "--org", org.id, "--email", userName, "--json")).token as string;
  return { id: user.id, token };
}

beforeAll(async () => {
  t = await startTestApp({ ACCESS_CATALOG: workspaceCatalog });
  org = await cli("org", "create", "Worktable Co", "--owner", "founder@example.com", "--json");
  ownerToken = (await cli("user-token", "create", "--org", org.id, "--email", "founder@example.com", "--json")).token;
  serviceToken = (await cli("service-token", "create", "--org", org.id, "--json")).token;
  workspace = (await cli("project", "create", "--org", org.id, "Design", "--json")).id;
});
afterAll(() => t.close());

describe("a second product's catalog (ACCESS_CATALOG)", () => {
  it("publishes its permission and role names as the OpenAPI enums", async () => {
    const { body } = await request(t.app).get("/api/v1/openapi.json").expect(200);
    const schemas = body.components.schemas;
    expect(schemas.Permission.enum).toEqual([
      "read_docs", "write_docs", "publish_docs", "invite_people", "manage_access", "remove_people",
      "edit_settings", "connect_apps", "see_every_workspace", "view_billing", "close_organization",
    ]);
    // Organization roles: the catalog's, or an organization's custom role (`custom:…`).
    const catalogNames = (schema: { anyOf: [{ enum: string[] }, unknown] }) => schema.anyOf[0].enum;
    expect(catalogNames(schemas.OrganizationRole)).toEqual(["member", "billing", "security", "founder", "guest"]);
    expect(catalogNames(schemas.GrantableRole)).toEqual(["member", "billing", "security", "guest"]);
    expect(catalogNames(schemas.DefaultRole)).toEqual(["member", "billing", "guest", "none"]);
    expect(schemas.ProjectRole.enum).toEqual(["reader", "writer", "steward"]);
    expect(JSON.stringify(body)).not.toContain("view_reports");
  });

  it("answers authorization questions in the product's words: the Owner's role, the default role, unknown permissions refused", async () => {
    const ask = (body: Record<string, unknown>) => api(serviceToken).post("/authorize", body);
    expect((await ask({ userId: org.ownerId, action: "close_organization" })).body).toEqual({ allowed: true, reason: "founder role grants close_organization" });
    const guest = await member("guest@example.com");
    expect((await ask({ userId: guest.id, action: "read_docs" })).body).toEqual({ allowed: true, reason: "guest role grants read_docs" });
    expect((await ask({ userId: guest.id, action: "write_docs" })).body).toEqual({ allowed: false, reason: "guest role does not grant write_docs" });
    const unknown = await ask({ userId: guest.id, action: "view_reports" });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.code).toBe("invalid_request");
    expect(unknown.body.error.message).toMatch(/^action: "view_reports" is not a permission of the access catalog/);
    expect((await ask({ userId: guest.id, action: "read_docs", projectId: "nope" })).body).toEqual({ allowed: false, reason: "no workspace nope in this organization" });
  });

  it("gives a member with several roles the union of their permissions", async () => {
    await t.services.access.addMapping(ctx(), { match: { kind: "app_role", value: "Security" }, organizationRole: "security" });
    const both = await member("both@example.com", { role: "billing" }, ["Security"]);
    const access = (await api(ownerToken).get(`/users/${both.id}/access`).expect(200)).body;
    expect(access.organizationRole).toBe("billing");
    expect(access.permissions).toEqual({ view_billing: "all", connect_apps: "all", remove_people: "all", manage_access: "all" });
    expect(access.sources.map((s: { role: string }) => s.role)).toEqual(["billing", "security"]);
    const answer = (await api(serviceToken).post("/authorize", { userId: both.id, action: "connect_apps" })).body;
    expect(answer).toEqual({ allowed: true, reason: "billing + security roles grant connect_apps" });
    // security grants manage_access: the review marks the member as one who changes others' access.
    const review = (await api(ownerToken).get("/access-review").expect(200)).body;
    const reviewed = review.users.find((u: { id: string }) => u.id === both.id);
    expect(reviewed).toMatchObject({ role: "billing", flags: ["elevated"], roleSources: [{ kind: "local", role: "billing" }, { kind: "mapping", role: "security" }] });
    expect(review.users.find((u: { id: string }) => u.id === org.ownerId)).toMatchObject({ role: "founder", allProjects: true, flags: ["elevated"] });
  });

  it("lets a workspace's steward manage access inside that workspace only, bounded by the member role's ceiling", async () => {
    const steward = await member("steward@example.com", { role: "member", projects: [{ projectId: workspace, role: "steward" }] });
    const ask = (body: Record<string, unknown>) => api(serviceToken).post("/authorize", { userId: steward.id, ...body });
    expect((await ask({ action: "manage_access", projectId: workspace })).body).toEqual({ allowed: true, reason: `steward role in workspace ${workspace} grants manage_access` });
    expect((await ask({ action: "manage_access" })).body.allowed).toBe(false);
    // The organization-wide question is Gatehouse's own admin API too: a member is no administrator.
    expect((await api(steward.token).get("/access-review")).status).toBe(403);
    // A guest made steward gets nothing of it: guest does not allow it even within workspaces.
    const guestSteward = await member("guest.steward@example.com", { role: "guest", projects: [{ projectId: workspace, role: "steward" }] });
    expect((await api(serviceToken).post("/authorize", { userId: guestSteward.id, action: "manage_access", projectId: workspace })).body.allowed).toBe(false);
    expect((await api(serviceToken).post("/authorize", { userId: guestSteward.id, action: "read_docs", projectId: workspace })).body.allowed).toBe(true);
  });

  it("refuses role names the catalog does not declare, and ownership, where roles enter", async () => {
    const someone = await member("someone@example.com", { role: "guest" });
    const asAdmin = await api(ownerToken).put(`/users/${someone.id}`, { role: "admin" });
    expect([asAdmin.status, asAdmin.body.error.code]).toEqual([400, "invalid_request"]);
    expect(asAdmin.body.error.message).toMatch(/^role: "admin" is not an organization role of the access catalog \(member, billing, security, founder, guest\)/);
    const mapping = await api(ownerToken).post("/mappings", { match: { kind: "display_name", value: "Founders" }, organizationRole: "founder" });
    expect([mapping.status, mapping.body.error.code]).toEqual([400, "invalid_request"]);
    const badProject = await api(ownerToken).put(`/users/${someone.id}`, { projects: [{ id: workspace, role: "editor" }] });
    expect([badProject.status, badProject.body.error.code]).toEqual([400, "invalid_request"]);
    // A bare workspace id means the catalog's default project role (writer).
    const given = await api(ownerToken).put(`/users/${someone.id}`, { projects: [workspace] }).expect(200);
    expect(given.body.projects).toEqual([{ id: workspace, role: "writer" }]);
    const settings = await api(ownerToken).patch("/settings", { defaultRole: "security" });
    expect([settings.status, settings.body.error.code]).toEqual([400, "invalid_request"]);
    expect((await api(ownerToken).get("/settings").expect(200)).body.defaultRole).toBe("guest");
  });

  it("lets the CLI take the catalog's roles and refuse others", async () => {
    const mapping = await cli("mapping", "add", "--org", org.id, "--display-name", "Writers", "--role", "member", "--project", `${workspace}:writer`, "--json");
    expect(mapping).toMatchObject({ organizationRole: "member", projects: [{ projectId: workspace, role: "writer" }] });
    await expect(runCommand(t.services, ["mapping", "add", "--org", org.id, "--display-name", "Admins", "--role", "admin"])).rejects.toBeInstanceOf(UsageError);
    await expect(runCommand(t.services, ["mapping", "add", "--org", org.id, "--display-name", "Editors", "--project", `${workspace}:editor`])).rejects.toBeInstanceOf(UsageError);
    expect(JSON.parse((await runCommand(t.services, ["access-settings", "--org", org.id, "--default-role", "none"])).stdout[0]).defaultRole).toBe("none");
  });
});

describe("custom roles an organization adds to the catalog's", () => {
  it("are created within the catalog's permissions and the creator's own access, used like any role, audited, and deleted", async () => {
    const security = await member("sec@example.com", { role: "security" });
    // security may change access, but holds no view_billing: it cannot make a role that has it.
    const above = await api(security.token).post("/custom-roles", { name: "custom:auditor", permissions: { view_billing: "all" } });
    expect([above.status, above.body.error.code]).toEqual([403, "no_self_elevation"]);
    const unknown = await api(ownerToken).post("/custom-roles", { name: "custom:auditor", permissions: { view_reports: "all" } });
    expect([unknown.status, unknown.body.error.code]).toEqual([400, "invalid_request"]);
    const badName = await api(ownerToken).post("/custom-roles", { name: "auditor", permissions: { read_docs: "all" } });
    expect([badName.status, badName.body.error.code]).toEqual([400, "invalid_request"]);

    const created = await api(ownerToken).post("/custom-roles", { name: "custom:auditor", description: "Reads and sees invoices", permissions: { view_billing: "all", read_docs: "all" } }).expect(201);
    expect(created.body).toMatchObject({ name: "custom:auditor", permissions: { read_docs: "all", view_billing: "all" }, createdBy: org.ownerId });
    expect((await api(ownerToken).post("/custom-roles", { name: "custom:auditor", permissions: { read_docs: "all" } })).status).toBe(409);
    expect((await api(ownerToken).get("/custom-roles").expect(200)).body.customRoles.map((r: { name: string }) => r.name)).toEqual(["custom:auditor"]);

    const someone = await member("auditor@example.com", { role: "guest" });
    const assigned = await api(ownerToken).put(`/users/${someone.id}`, { role: "custom:auditor" }).expect(200);
    expect(assigned.body.role).toBe("custom:auditor");
    const ask = () => api(serviceToken).post("/authorize", { userId: someone.id, action: "view_billing" });
    expect((await ask()).body).toEqual({ allowed: true, reason: "custom:auditor role grants view_billing" });
    const { body: openapi } = await request(t.app).get("/api/v1/openapi.json");
    expect(openapi.components.schemas.OrganizationRole.anyOf).toEqual([{ enum: ["member", "billing", "security", "founder", "guest"] }, { pattern: "^custom:[a-z][a-z0-9_.-]{0,63}$" }]);

    const mapping = (await api(ownerToken).post("/mappings", { match: { kind: "display_name", value: "Auditors" }, organizationRole: "custom:auditor" }).expect(201)).body;
    expect((await api(ownerToken).delete("/custom-roles/custom:auditor")).status).toBe(409);
    await api(ownerToken).delete(`/mappings/${mapping.id}`).expect(204);
    await api(ownerToken).delete("/custom-roles/custom:auditor").expect(204);
    expect((await ask()).body.allowed).toBe(false);
    expect((await api(ownerToken).delete("/custom-roles/custom:auditor")).status).toBe(404);

    const { events } = (await api(ownerToken).get("/audit?target=custom:auditor").expect(200)).body;
    expect(events.map((e: { action: string }) => e.action)).toEqual(["custom_role.deleted", "custom_role.created"]);
    expect(events[1]).toMatchObject({ actor: { type: "user", id: org.ownerId }, target: { type: "custom_role", id: "custom:auditor" } });
  });
});

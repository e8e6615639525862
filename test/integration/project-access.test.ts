import path from "node:path";
import request from "supertest";
import { runCommand } from "../../src/cli/commands";
import { buildUser, operator, scimClient, startTestApp, type TestApp } from "../support/app";

/**
 * GET /api/v1/projects/{id}/access: who has access to a project and through what, from the same
 * evaluation as POST /authorize and GET /users/{id}/access — a group mapping, a local grant, a
 * temporary grant with its end, an organization role that reaches every project — through the
 * HTTP API against the real database (and, under test/integration/resident/, the resident directory).
 */

const groupSchema = "urn:ietf:params:scim:schemas:core:2.0:Group";

let t: TestApp;
let org: { id: string; scimToken: string; ownerId: string };
let ownerToken: string;
let serviceToken: string;
let apollo: { id: string; name: string };
let gemini: { id: string; name: string };
const ids: Record<"grace" | "ada" | "linus" | "tim" | "suspended" | "admin" | "other", string> = { grace: "", ada: "", linus: "", tim: "", suspended: "", admin: "", other: "" };
let until: string;

const ctx = () => ({ ...operator, organizationId: org.id });
const cli = async (...argv: string[]) => JSON.parse((await runCommand(t.services, argv)).stdout[0]!);
const as = (token: string) => ({
  get: (path: string) => request(t.app).get(`/api/v1${path}`).set("Authorization", `Bearer ${token}`),
  post: (path: string, body: object = {}) => request(t.app).post(`/api/v1${path}`).set("Authorization", `Bearer ${token}`).send(body),
  delete: (path: string) => request(t.app).delete(`/api/v1${path}`).set("Authorization", `Bearer ${token}`),
});
const owner = () => as(ownerToken);

beforeAll(async () => {
  t = await startTestApp();
  org = await cli("org", "create", "Project Access Co", "--owner", "owner@project-access.example", "--json");
  ownerToken = (await cli("user-token", "create", "--org", org.id, "--email", "owner@project-access.example", "--json")).token;
  serviceToken = (await cli("service-token", "create", "--org", org.id, "--json")).token;
  apollo = (await owner().post("/projects", { name: "Apollo" }).expect(201)).body;
  gemini = (await owner().post("/projects", { name: "Gemini" }).expect(201)).body;

  // Grace: through the identity provider's group "Apollo crew" and a mapping.
  const scim = scimClient(t.app, org.scimToken);
  ids.grace = (await scim.post("/Users", buildUser({ userName: "grace@project-access.example", displayName: "Grace Hopper" })).expect(201)).body.id;
  const group = (await scim.post("/Groups", { schemas: [groupSchema], displayName: "Apollo crew", members: [{ value: ids.grace }] }).expect(201)).body.id;
  await owner().post("/mappings", { match: { kind: "group_id", value: group }, projects: [{ projectId: apollo.id, role: "editor" }] }).expect(201);
  // Ada: a local grant. Linus: a temporary grant. Tim: Gemini only. An admin: every project by the role.
  ids.ada = (await t.services.users.provision(ctx(), { userName: "ada@project-access.example" }, "local", { role: "user", projects: [{ projectId: apollo.id, role: "viewer" }] })).id;
  ids.linus = (await t.services.users.provision(ctx(), { userName: "linus@project-access.example" }, "local", { role: "user" })).id;
  until = new Date(Date.now() + 24 * 3_600_000).toISOString();
  await owner().post(`/users/${ids.linus}/temporary-access`, { projectId: apollo.id, projectRole: "editor", until, reason: "covers the launch" }).expect(201);
  ids.tim = (await t.services.users.provision(ctx(), { userName: "tim@project-access.example" }, "local", { role: "user", projects: [{ projectId: gemini.id, role: "editor" }] })).id;
  ids.suspended = (await t.services.users.provision(ctx(), { userName: "sam@project-access.example" }, "local", { role: "user", projects: [{ projectId: apollo.id, role: "editor" }] })).id;
  await owner().post(`/users/${ids.suspended}/suspend`, { reason: "incident" }).expect(200);
  ids.admin = (await t.services.users.provision(ctx(), { userName: "alan@project-access.example" }, "local", { role: "admin" })).id;
  ids.other = (await t.services.users.provision(ctx(), { userName: "zed@project-access.example" }, "local", { role: "user" })).id;
});
afterAll(() => t.close());

describe("who has access to a project, and through what", () => {
  it("lists the members with access — by mapping, local grant, temporary grant, or a role reaching every project — each with the role and sources", async () => {
    const page = (await owner().get(`/projects/${apollo.id}/access`).expect(200)).body;
    expect(page).toMatchObject({ projectId: apollo.id, projectName: "Apollo", totalResults: 5, startIndex: 1 });
    expect(page.members.map((m: { userName: string }) => m.userName)).toEqual([
      "ada@project-access.example",
      "alan@project-access.example",
      "grace@project-access.example",
      "linus@project-access.example",
      "owner@project-access.example",
    ]);
    const byName = Object.fromEntries(page.members.map((m: { userName: string }) => [m.userName.split("@")[0], m]));
    expect(byName.grace).toMatchObject({ id: ids.grace, managedBy: "scim", organizationRole: "read_only", projectRole: "editor", sources: [{ kind: "mapping", role: "editor", groupName: "Apollo crew" }] });
    expect(byName.grace.allProjectsThrough).toBeUndefined();
    expect(byName.ada).toMatchObject({ projectRole: "viewer", sources: [{ kind: "local", role: "viewer" }] });
    expect(byName.linus).toMatchObject({ projectRole: "editor", sources: [{ kind: "temporary", role: "editor", until }] });
    expect(byName.alan).toMatchObject({ organizationRole: "admin", projectRole: "editor", sources: [], allProjectsThrough: [{ kind: "local", role: "admin" }] });
    expect(byName.owner).toMatchObject({ organizationRole: "owner", allProjectsThrough: [{ kind: "owner", role: "owner" }] });
  });

  it("answers, for every member it lists, what GET /users/{id}/access and POST /authorize answer in that project", async () => {
    const page = (await owner().get(`/projects/${apollo.id}/access`).expect(200)).body;
    for (const member of page.members) {
      const access = (await owner().get(`/users/${member.id}/access`).expect(200)).body;
      const inProject = access.allProjects && !access.projects.some((p: { projectId: string }) => p.projectId === apollo.id) ? access.allProjectsPermissions : access.projects.find((p: { projectId: string }) => p.projectId === apollo.id).permissions;
      expect(member.permissions).toEqual(inProject);
      const editReports = (await as(serviceToken).post("/authorize", { userId: member.id, action: "edit_reports", projectId: apollo.id, ownResource: true }).expect(200)).body.allowed;
      expect(editReports).toBe("edit_reports" in member.permissions);
    }
    // Those it leaves out have no access there: Gemini's editor, the suspended member, a member without projects.
    for (const id of [ids.tim, ids.suspended, ids.other]) {
      expect((await as(serviceToken).post("/authorize", { userId: id, action: "view_reports", projectId: apollo.id }).expect(200)).body.allowed).toBe(false);
    }
  });

  it("pages by startIndex and count, and lists another project's own members", async () => {
    const second = (await owner().get(`/projects/${apollo.id}/access?startIndex=2&count=2`).expect(200)).body;
    expect(second).toMatchObject({ totalResults: 5, startIndex: 2 });
    expect(second.members.map((m: { userName: string }) => m.userName)).toEqual(["alan@project-access.example", "grace@project-access.example"]);
    await owner().get(`/projects/${apollo.id}/access?count=501`).expect(400);
    const geminiPage = (await owner().get(`/projects/${gemini.id}/access`).expect(200)).body;
    expect(geminiPage.members.map((m: { userName: string }) => m.userName)).toEqual(["alan@project-access.example", "owner@project-access.example", "tim@project-access.example"]);
  });

  it("refuses members who may not see other members' access, and service tokens; an unknown project is 404", async () => {
    const adaToken = (await cli("user-token", "create", "--org", org.id, "--email", "ada@project-access.example", "--json")).token;
    expect((await as(adaToken).get(`/projects/${apollo.id}/access`).expect(403)).body.error.code).toBe("forbidden");
    expect((await as(serviceToken).get(`/projects/${apollo.id}/access`).expect(403)).body.error.code).toBe("forbidden");
    expect((await owner().get("/projects/no-such-project/access").expect(404)).body.error.code).toBe("not_found");
  });

  it("is 404 once the project is deleted, and its former members have no access there", async () => {
    const doomed = (await owner().post("/projects", { name: "Mercury" }).expect(201)).body;
    const gus = (await t.services.users.provision(ctx(), { userName: "gus@project-access.example" }, "local", { role: "user", projects: [{ projectId: doomed.id, role: "editor" }] })).id;
    expect((await owner().get(`/projects/${doomed.id}/access`).expect(200)).body.members.map((m: { userName: string }) => m.userName)).toContain("gus@project-access.example");
    await owner().delete(`/projects/${doomed.id}`).expect(204);
    await owner().get(`/projects/${doomed.id}/access`).expect(404);
    expect((await as(serviceToken).post("/authorize", { userId: gus, action: "view_reports", projectId: doomed.id }).expect(200)).body.allowed).toBe(false);
  });
});

describe("a project's manager sees who has access to their project, and no other (workspace catalog)", () => {
  const workspaceCatalog = path.resolve(__dirname, "..", "..", "src", "domain", "catalogs", "workspace.json");
  let w: TestApp;
  let workspaceOrg: { id: string };

  beforeAll(async () => {
    w = await startTestApp({ ACCESS_CATALOG: workspaceCatalog });
    workspaceOrg = JSON.parse((await runCommand(w.services, ["org", "create", "Worktable Co", "--owner", "owner@worktable.example", "--json"])).stdout[0]!);
  });
  afterAll(() => w.close());

  it("answers a steward for their workspace and refuses them another, where they are only a reader", async () => {
    const wctx = { ...operator, organizationId: workspaceOrg.id };
    const cliW = async (...argv: string[]) => JSON.parse((await runCommand(w.services, argv)).stdout[0]!);
    const design = (await cliW("project", "create", "--org", workspaceOrg.id, "Design", "--json")).id as string;
    const finance = (await cliW("project", "create", "--org", workspaceOrg.id, "Finance", "--json")).id as string;
    await w.services.users.provision(wctx, { userName: "steward@worktable.example" }, "local", { role: "member", projects: [{ projectId: design, role: "steward" }, { projectId: finance, role: "reader" }] });
    await w.services.users.provision(wctx, { userName: "colleague@worktable.example" }, "local", { role: "member", projects: [{ projectId: design, role: "reader" }] });
    const steward = (await cliW("user-token", "create", "--org", workspaceOrg.id, "--email", "steward@worktable.example", "--json")).token as string;
    const get = (p: string) => request(w.app).get(`/api/v1${p}`).set("Authorization", `Bearer ${steward}`);

    const page = (await get(`/projects/${design}/access`).expect(200)).body;
    expect(page.members.map((m: { userName: string; projectRole: string }) => [m.userName, m.projectRole])).toEqual(
      expect.arrayContaining([
        ["colleague@worktable.example", "reader"],
        ["steward@worktable.example", "steward"],
      ]),
    );
    expect((await get(`/projects/${finance}/access`).expect(403)).body.error.code).toBe("forbidden");
  });
});

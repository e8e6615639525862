import path from "node:path";
import request from "supertest";
import { runCommand } from "../../src/cli/commands";
import { operator, startTestApp, type TestApp } from "../support/app";

/**
 * Member management inside a project (issue 13 §1): with the example workspace catalog
 * (src/domain/catalogs/workspace.json) a `member` who is `steward` of a workspace holds
 * invite_people and manage_access there only. Through the admin API's ordinary endpoints they
 * invite people into that workspace and change colleagues' roles in it, never above their own,
 * and nothing else: every other change is 403 in the admin error shape and stores nothing.
 */
const workspaceCatalog = path.resolve(__dirname, "..", "..", "src", "domain", "catalogs", "workspace.json");

interface World {
  t: TestApp;
  org: { id: string; ownerId: string };
}
const api = (w: World, token: string) => ({
  post: (p: string, body: unknown) => request(w.t.app).post(`/api/v1${p}`).set("Authorization", `Bearer ${token}`).send(body as object),
  put: (p: string, body: unknown) => request(w.t.app).put(`/api/v1${p}`).set("Authorization", `Bearer ${token}`).send(body as object),
});
const ctxOf = (w: World) => ({ ...operator, organizationId: w.org.id });
const cliOf = (w: World) => async (...argv: string[]) => JSON.parse((await runCommand(w.t.services, argv)).stdout[0]);

async function start(environment: Record<string, string>, orgName: string): Promise<World> {
  const t = await startTestApp(environment);
  const org = JSON.parse((await runCommand(t.services, ["org", "create", orgName, "--owner", "owner@example.com", "--json"])).stdout[0]);
  return { t, org };
}

async function member(w: World, userName: string, access?: { role?: string; projects?: { projectId: string; role: string }[] }): Promise<{ id: string; token: string }> {
  const user = await w.t.services.users.provision(ctxOf(w), { userName }, "local", access);
  const token = (await cliOf(w)("user-token", "create", "--org", w.org.id, "--email", userName, "--json")).token as string;
  return { id: user.id, token };
}

/** What the admin API stores about a member's local grants. */
const stored = async (w: World, userId: string) => (await w.t.services.users.get(ctxOf(w), userId)).localAccess ?? {};
const exists = async (w: World, userName: string) => (await w.t.db.models.User.countDocuments({ organizationId: w.org.id, userNameLower: userName.toLowerCase() })) > 0;

function expectRefused(res: request.Response, code: string, message?: RegExp): void {
  expect(res.status).toBe(403);
  expect(res.body).toEqual({ error: { code, message: expect.any(String) } });
  if (message) expect(res.body.error.message).toMatch(message);
}

describe("a workspace steward manages people inside their workspace (workspace catalog)", () => {
  let w: World;
  let W1: string;
  let W2: string;
  let steward: { id: string; token: string };
  let colleague: { id: string; token: string };

  beforeAll(async () => {
    w = await start({ ACCESS_CATALOG: workspaceCatalog }, "Worktable Co");
    const cli = cliOf(w);
    W1 = (await cli("project", "create", "--org", w.org.id, "Design", "--json")).id;
    W2 = (await cli("project", "create", "--org", w.org.id, "Finance", "--json")).id;
    steward = await member(w, "steward@example.com", { role: "member", projects: [{ projectId: W1, role: "steward" }, { projectId: W2, role: "reader" }] });
    colleague = await member(w, "colleague@example.com", { role: "member", projects: [{ projectId: W1, role: "reader" }, { projectId: W2, role: "writer" }] });
  });
  afterAll(() => w.t.close());

  it("invites someone into their workspace: 201, the organization's default role, audited as the steward's act", async () => {
    const res = await api(w, steward.token).post("/users", { email: "newcomer@example.com", projects: [{ id: W1, role: "reader" }] });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ userName: "newcomer@example.com", role: "guest", managedBy: "local", projects: [{ id: W1, role: "reader" }] });
    expect(await stored(w, res.body.id)).toEqual({ projects: [{ projectId: W1, role: "reader" }] });
    expect(await exists(w, "newcomer@example.com")).toBe(true);
    const [event] = await w.t.db.models.AuditEvent.find({ organizationId: w.org.id, action: "user.provisioned", "target.id": res.body.id }).lean();
    expect(event).toMatchObject({ source: "admin", actor: { type: "user", id: steward.id } });
  });

  it("changes a colleague's role in their workspace up to their own: 200, the other workspace and the organization role kept, audited", async () => {
    const res = await api(w, steward.token).put(`/users/${colleague.id}`, { projects: [{ id: W1, role: "steward" }, { id: W2, role: "writer" }], reason: "runs the design reviews" });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ role: "member" });
    expect(await stored(w, colleague.id)).toEqual({ role: "member", projects: [{ projectId: W1, role: "steward" }, { projectId: W2, role: "writer" }] });
    const [event] = await w.t.db.models.AuditEvent.find({ organizationId: w.org.id, action: "user.local_access_changed", "target.id": colleague.id }).lean();
    expect(event).toMatchObject({ source: "admin", reason: "runs the design reviews", actor: { type: "user", id: steward.id } });
    // …and it is what the authorization answers now say.
    const serviceToken = (await cliOf(w)("service-token", "create", "--org", w.org.id, "--json")).token as string;
    const answer = await api(w, serviceToken).post("/authorize", { userId: colleague.id, action: "manage_access", projectId: W1 });
    expect(answer.body.allowed).toBe(true);
  });

  it("refuses invitations into another workspace, with a role above their own, or with an organization role: 403, nobody created", async () => {
    expectRefused(await api(w, steward.token).post("/users", { email: "w2@example.com", projects: [{ id: W2, role: "reader" }] }), "forbidden", /invite_people is not granted in workspace/);
    expectRefused(await api(w, steward.token).post("/users", { email: "writer@example.com", projects: [{ id: W1, role: "writer" }] }), "forbidden", /above their own/);
    expectRefused(await api(w, steward.token).post("/users", { email: "member@example.com", role: "member", projects: [{ id: W1, role: "reader" }] }), "forbidden", /leave role out/);
    expectRefused(await api(w, steward.token).post("/users", { email: "nowhere@example.com" }), "forbidden");
    for (const email of ["w2@example.com", "writer@example.com", "member@example.com", "nowhere@example.com"]) expect(await exists(w, email)).toBe(false);
  });

  it("refuses changes in another workspace, above their own role, of the organization role, and of the Owner: 403, nothing stored", async () => {
    const before = await stored(w, colleague.id);
    const put = (body: unknown) => api(w, steward.token).put(`/users/${colleague.id}`, body);
    expectRefused(await put({ projects: [{ id: W1, role: "steward" }, { id: W2, role: "reader" }] }), "forbidden", /manage_access is not granted in workspace/);
    expectRefused(await put({ projects: [{ id: W1, role: "writer" }, { id: W2, role: "writer" }] }), "forbidden", /above their own/);
    expectRefused(await put({ role: "security" }), "forbidden", /organization role/);
    expectRefused(await put({ role: null, projects: [{ id: W1, role: "reader" }, { id: W2, role: "writer" }] }), "forbidden", /organization role/);
    expect(await stored(w, colleague.id)).toEqual(before);

    const ownerBefore = await stored(w, w.org.ownerId);
    expectRefused(await api(w, steward.token).put(`/users/${w.org.ownerId}`, { projects: [{ id: W1, role: "reader" }] }), "owner_protected");
    expect(await stored(w, w.org.ownerId)).toEqual(ownerBefore);

    const mineBefore = await stored(w, steward.id);
    expectRefused(await api(w, steward.token).put(`/users/${steward.id}`, { projects: [{ id: W1, role: "steward" }, { id: W2, role: "steward" }] }), "no_self_elevation");
    expect(await stored(w, steward.id)).toEqual(mineBefore);
  });

  it("gives a writer of the workspace (no manage_access there) nothing: 403, nothing stored", async () => {
    const writer = await member(w, "writer.member@example.com", { role: "member", projects: [{ projectId: W1, role: "writer" }] });
    const target = await member(w, "target@example.com", { role: "member", projects: [{ projectId: W1, role: "reader" }] });
    expectRefused(await api(w, writer.token).post("/users", { email: "by.writer@example.com", projects: [{ id: W1, role: "reader" }] }), "forbidden");
    expectRefused(await api(w, writer.token).put(`/users/${target.id}`, { projects: [{ id: W1, role: "writer" }] }), "forbidden");
    expect(await exists(w, "by.writer@example.com")).toBe(false);
    expect(await stored(w, target.id)).toEqual({ role: "member", projects: [{ projectId: W1, role: "reader" }] });
  });
});

describe("the shipped analytics catalog: no project role manages members", () => {
  let w: World;
  afterAll(() => w.t.close());

  it("still refuses a user who is editor of a project to invite or change access there, as before", async () => {
    w = await start({}, "Analytics Co");
    const project = (await cliOf(w)("project", "create", "--org", w.org.id, "Web", "--json")).id as string;
    const editor = await member(w, "editor@example.com", { role: "user", projects: [{ projectId: project, role: "editor" }] });
    const viewer = await member(w, "viewer@example.com", { role: "user", projects: [{ projectId: project, role: "viewer" }] });
    expectRefused(await api(w, editor.token).post("/users", { email: "new@example.com", projects: [{ id: project, role: "viewer" }] }), "forbidden", /^user role does not grant add_users$/);
    expectRefused(await api(w, editor.token).put(`/users/${viewer.id}`, { projects: [{ id: project, role: "editor" }] }), "forbidden");
    expect(await exists(w, "new@example.com")).toBe(false);
    expect(await stored(w, viewer.id)).toEqual({ role: "user", projects: [{ projectId: project, role: "viewer" }] });
  });
});

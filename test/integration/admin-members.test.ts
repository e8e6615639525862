import request from "supertest";
import { runCommand } from "../../src/cli/commands";
import { buildUser, operator, scimClient, startTestApp, type TestApp } from "../support/app";

/**
 * The local admin API on members: SSO-managed users are read-only, local users are edited under
 * the permission matrix and its invariants (ownership moves only by transfer; an Admin never
 * edits the Owner; nobody raises their own access).
 */
let t: TestApp;
let org: { id: string; scimToken: string; ownerId: string };
let ownerToken: string;
const ctx = () => ({ ...operator, organizationId: org.id });
const cli = async (...argv: string[]) => JSON.parse((await runCommand(t.services, argv)).stdout[0]);

beforeAll(async () => {
  t = await startTestApp();
  org = await cli("org", "create", "Members Co", "--owner", "owner@example.com", "--json");
  ownerToken = (await cli("user-token", "create", "--org", org.id, "--email", "owner@example.com", "--json")).token;
});
afterAll(() => t.close());

const as = (token: string) => ({
  get: (path: string) => request(t.app).get(`/api/v1${path}`).set("Authorization", `Bearer ${token}`),
  put: (path: string, body: unknown) => request(t.app).put(`/api/v1${path}`).set("Authorization", `Bearer ${token}`).send(body as object),
});

async function localUser(userName: string, role?: "admin" | "user" | "read_only"): Promise<string> {
  const user = await t.services.users.provision(ctx(), { userName }, "local", role ? { role } : undefined);
  return user.id;
}

async function tokenOf(userName: string): Promise<string> {
  return (await cli("user-token", "create", "--org", org.id, "--email", userName, "--json")).token;
}

describe("members in the local admin API", () => {
  it("bootstraps the Owner from the CLI, with a personal token that works", async () => {
    const me = await as(ownerToken).get(`/users/${org.ownerId}`).expect(200);
    expect(me.body).toMatchObject({ id: org.ownerId, userName: "owner@example.com", role: "owner", isOwner: true, managedBy: "local", allProjects: true, lastLogin: null });
  });

  it("answers 409 managed_by_identity_provider, naming the connection, to edits of an SSO-managed user", async () => {
    const managed = (await scimClient(t.app, org.scimToken).post("/Users", buildUser({ userName: "managed@example.com" })).expect(201)).body.id;
    const view = await as(ownerToken).get(`/users/${managed}`).expect(200);
    expect(view.body).toMatchObject({ managedBy: "scim", managedVia: "Initial SCIM token", editable: false, role: "read_only" });
    const res = await as(ownerToken).put(`/users/${managed}`, { role: "admin" });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe("managed_by_identity_provider");
    expect(res.body.error.message).toContain('SCIM connection "Initial SCIM token"');
    expect((await as(ownerToken).get(`/users/${managed}`).expect(200)).body.role).toBe("read_only");
  });

  it("lets the Owner change a local user's role and projects, audited with the reason", async () => {
    const project = await t.services.access.createProject(ctx(), "Dashboards");
    const u = await localUser("local.member@example.com");
    expect((await as(ownerToken).get(`/users/${u}`).expect(200)).body).toMatchObject({ editable: true, role: "read_only" });
    const res = await as(ownerToken).put(`/users/${u}`, { role: "user", projects: [project.id], reason: "joins the dashboards team" }).expect(200);
    expect(res.body).toMatchObject({ role: "user", projects: [{ id: project.id, role: "editor" }] });
    const [event] = await t.db.models.AuditEvent.find({ "target.id": u, action: "user.local_access_changed" }).lean();
    expect(event).toMatchObject({ source: "admin", reason: "joins the dashboards team", actor: { type: "user", id: org.ownerId }, after: { role: "user" } });
    const [changed] = await t.db.models.AuditEvent.find({ "target.id": u, action: "user.access_changed" }).lean();
    expect(changed).toMatchObject({ reason: "joins the dashboards team", before: { organizationRole: "read_only" }, after: { organizationRole: "user", projects: [{ projectId: project.id, role: "editor" }] }, cause: { action: "user.local_access_changed", eventId: event!._id } });
    const access = await as(ownerToken).get(`/users/${u}/access`).expect(200);
    expect(access.body.sources).toEqual([{ kind: "local", role: "user" }]);
  });

  it("refuses an Admin who edits the Owner or makes anyone Owner, and anyone raising their own access", async () => {
    const admin = await localUser("admin@example.com", "admin");
    const adminToken = await tokenOf("admin@example.com");
    const other = await localUser("other@example.com");
    const ownerEdit = await as(adminToken).put(`/users/${org.ownerId}`, { role: "read_only" });
    expect(ownerEdit.status).toBe(403);
    expect(ownerEdit.body.error.code).toBe("owner_protected");
    const makeOwner = await as(adminToken).put(`/users/${other}`, { role: "owner" });
    expect(makeOwner.status).toBe(403);
    expect(makeOwner.body.error.code).toBe("owner_protected");
    const selfRaise = await as(adminToken).put(`/users/${admin}`, { role: "owner" });
    expect(selfRaise.status).toBe(403);
    const selfProjects = await as(adminToken).put(`/users/${admin}`, { projects: [] });
    expect(selfProjects.body.error.code).toBe("no_self_elevation");
    // An Admin may manage ordinary members.
    await as(adminToken).put(`/users/${other}`, { role: "user" }).expect(200);
  });

  it("refuses members who are not administrators, and lets them read only themselves", async () => {
    const member = await localUser("member@example.com", "user");
    const memberToken = await tokenOf("member@example.com");
    const res = await as(memberToken).put(`/users/${member}`, { role: "admin" });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe("forbidden");
    await as(memberToken).get(`/users/${member}`).expect(200);
    await as(memberToken).get(`/users/${member}/access`).expect(200);
    await as(memberToken).get(`/users/${org.ownerId}`).expect(403);
  });

  it("leaves the Owner unable to demote themselves (transfer first)", async () => {
    const res = await as(ownerToken).put(`/users/${org.ownerId}`, { role: "admin" });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe("owner_protected");
  });

  it("links a local user when SCIM brings their userName: same id, now managed, audited", async () => {
    const local = await localUser("to.link@example.com", "user");
    const created = await scimClient(t.app, org.scimToken).post("/Users", buildUser({ userName: "To.Link@example.com", displayName: "Linked" }));
    expect(created.status).toBe(201);
    expect(created.body.id).toBe(local);
    expect((await as(ownerToken).get(`/users/${local}`).expect(200)).body).toMatchObject({ managedBy: "scim", editable: false, displayName: "Linked", role: "user" });
    const [event] = await t.db.models.AuditEvent.find({ "target.id": local, action: "user.linked" }).lean();
    expect(event).toMatchObject({ source: "scim", before: { managedBy: "local" }, after: { managedBy: "scim" } });
  });

  it("answers 400 to a malformed change and 401 to a personal token whose user is gone", async () => {
    const u = await localUser("malformed@example.com");
    const bad = await as(ownerToken).put(`/users/${u}`, { role: "emperor" });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe("invalid_request");
    const goneToken = await tokenOf("malformed@example.com");
    await t.services.users.remove(ctx(), u);
    await as(goneToken).get(`/users/${u}`).expect(401);
  });
});

describe("local overlays on managed users", () => {
  const post = (token: string, path: string, body: unknown = {}) => request(t.app).post(`/api/v1${path}`).set("Authorization", `Bearer ${token}`).send(body as object);
  const authorize = (userId: string, action: string) => request(t.app).post("/api/v1/authorize").set("Authorization", `Bearer ${ownerToken}`).send({ userId, action });

  it("suspends a managed user at once — denied everywhere while the provider says active — and lifts it", async () => {
    const scim = scimClient(t.app, org.scimToken);
    const id = (await scim.post("/Users", buildUser({ userName: "suspect@example.com" })).expect(201)).body.id;
    const theirToken = await tokenOf("suspect@example.com");
    await as(theirToken).get(`/users/${id}`).expect(200);

    const res = await post(ownerToken, `/users/${id}/suspend`, { reason: "incident 42" }).expect(200);
    expect(res.body.role).toBeNull();
    expect((await authorize(id, "view_reports").expect(200)).body).toMatchObject({ allowed: false, reason: expect.stringMatching(/suspended/) });
    expect((await as(theirToken).get(`/users/${id}`)).status).toBe(401);
    // The identity provider saying "active" again does not lift it.
    await scim.put(`/Users/${id}`, buildUser({ userName: "suspect@example.com", active: true, displayName: "Still suspended" })).expect(200);
    expect((await authorize(id, "view_reports").expect(200)).body.allowed).toBe(false);

    const review = await request(t.app).get("/api/v1/access-review").set("Authorization", `Bearer ${ownerToken}`).expect(200);
    expect(review.body.users.find((u: { id: string }) => u.id === id).flags).toContain("suspended");

    await post(ownerToken, `/users/${id}/unsuspend`).expect(200);
    expect((await authorize(id, "view_reports").expect(200)).body.allowed).toBe(true);
    const actions = (await t.db.models.AuditEvent.find({ "target.id": id }).sort({ at: 1 }).lean()).map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(["user.suspended", "user.access_revoked", "user.unsuspended"]));
  });

  it("grants temporary elevated access that ends by itself, with both ends audited", async () => {
    const id = (await scimClient(t.app, org.scimToken).post("/Users", buildUser({ userName: "oncall@example.com" })).expect(201)).body.id;
    expect((await authorize(id, "configure_tracking").expect(200)).body.allowed).toBe(false);
    const until = new Date(Date.now() + 1500);
    const grant = await post(ownerToken, `/users/${id}/temporary-access`, { role: "admin", until: until.toISOString(), reason: "incident response" }).expect(201);
    expect(grant.body).toMatchObject({ organizationRole: "admin", reason: "incident response", grantedBy: org.ownerId });
    const during = await request(t.app).get(`/api/v1/users/${id}/access`).set("Authorization", `Bearer ${ownerToken}`).expect(200);
    expect(during.body).toMatchObject({ organizationRole: "admin", sources: [expect.objectContaining({ kind: "temporary", grantId: grant.body.id })] });
    expect((await authorize(id, "configure_tracking").expect(200)).body.allowed).toBe(true);

    await new Promise((r) => setTimeout(r, until.getTime() - Date.now() + 50));
    // Enforced when access is evaluated, before any sweep has run …
    expect((await authorize(id, "configure_tracking").expect(200)).body.allowed).toBe(false);
    // … and the sweep writes the end into the audit trail, once.
    const system = { actor: { type: "system" as const, id: "test", name: "test" }, source: "system" as const, requestId: "sweep" };
    expect(await t.services.users.recordEndedGrants(system)).toBe(1);
    expect(await t.services.users.recordEndedGrants(system)).toBe(0);
    const actions = (await t.db.models.AuditEvent.find({ "target.id": id }).sort({ at: 1 }).lean()).map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(["user.temporary_access_granted", "user.temporary_access_expired"]));
  });

  it("refuses temporary access without a reason, in the past, or granted to oneself", async () => {
    const id = await localUser("temp.target@example.com");
    const future = new Date(Date.now() + 3600_000).toISOString();
    expect((await post(ownerToken, `/users/${id}/temporary-access`, { role: "admin", until: future })).status).toBe(400);
    expect((await post(ownerToken, `/users/${id}/temporary-access`, { role: "admin", until: "2000-01-01T00:00:00Z", reason: "x" })).status).toBe(400);
    const admin = await localUser("self.granter@example.com", "admin");
    const res = await post(await tokenOf("self.granter@example.com"), `/users/${admin}/temporary-access`, { role: "admin", until: future, reason: "x" });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe("no_self_elevation");
  });

  it("kills a user's personal tokens when the identity provider deactivates them, and reactivation does not revive them", async () => {
    const scim = scimClient(t.app, org.scimToken);
    const id = (await scim.post("/Users", buildUser({ userName: "offboarded@example.com" })).expect(201)).body.id;
    const theirToken = await tokenOf("offboarded@example.com");
    await as(theirToken).get(`/users/${id}`).expect(200);
    await scim.patch(`/Users/${id}`, { schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op: "replace", value: { active: false } }] }).expect(200);
    await as(theirToken).get(`/users/${id}`).expect(401);
    await scim.patch(`/Users/${id}`, { schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op: "replace", value: { active: true } }] }).expect(200);
    await as(theirToken).get(`/users/${id}`).expect(401);
    const [event] = await t.db.models.AuditEvent.find({ "target.id": id, action: "user.access_revoked" }).lean();
    expect(event.after).toMatchObject({ why: "deactivated", personalTokens: [expect.any(String)] });
  });
});

describe("a deprovisioned Owner", () => {
  it("leaves ownership vacant when the identity provider deactivates the Owner, flagged in audit and review, until break-glass", async () => {
    const vacant = await cli("org", "create", "Vacant Co", "--owner", "boss@vacant.example", "--json");
    const scim = scimClient(t.app, vacant.scimToken);
    // The identity provider takes the Owner over (linking), then HR offboards them.
    await scim.post("/Users", buildUser({ userName: "boss@vacant.example" })).expect(201);
    await scim.post("/Users", buildUser({ userName: "deputy@vacant.example" })).expect(201);
    await scim.patch(`/Users/${vacant.ownerId}`, { schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op: "replace", value: { active: false } }] }).expect(200);
    expect(await t.services.access.ownerOf({ organizationId: vacant.id })).toBeUndefined();
    const [event] = await t.db.models.AuditEvent.find({ organizationId: vacant.id, action: "organization.ownership_vacated" }).lean();
    expect(event).toMatchObject({ before: { ownerUserId: vacant.ownerId }, reason: expect.stringContaining("deactivated") });
    const review = await t.services.accessReview.review({ organizationId: vacant.id });
    expect(review.vacantOwnership).toBe(true);
    await runCommand(t.services, ["org", "set-owner", "--org", vacant.id, "--email", "deputy@vacant.example"]);
    expect((await t.services.accessReview.review({ organizationId: vacant.id })).vacantOwnership).toBe(false);
  });
});

import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import request from "supertest";
import { runCommand } from "../../src/cli/commands";
import { FileChangeJournal } from "../../src/storage/change-journal";
import { buildUser, operator, scimClient, startTestApp, type TestApp } from "../support/app";

let t: TestApp;
let org: { id: string; scimToken: string; ownerId: string };
let ownerToken: string;
const cli = async (...argv: string[]) => JSON.parse((await runCommand(t.services, argv)).stdout[0]);
const api = (token: string) => ({
  get: (path: string) => request(t.app).get(`/api/v1${path}`).set("Authorization", `Bearer ${token}`),
  post: (path: string, body: unknown = {}) => request(t.app).post(`/api/v1${path}`).set("Authorization", `Bearer ${token}`).send(body as object),
  patch: (path: string, body: unknown) => request(t.app).patch(`/api/v1${path}`).set("Authorization", `Bearer ${token}`).send(body as object),
  delete: (path: string) => request(t.app).delete(`/api/v1${path}`).set("Authorization", `Bearer ${token}`),
});

beforeAll(async () => {
  t = await startTestApp();
  org = await cli("org", "create", "Admin Co", "--owner", "owner@admin.example", "--json");
  ownerToken = (await cli("user-token", "create", "--org", org.id, "--email", "owner@admin.example", "--json")).token;
});
afterAll(() => t.close());

describe("the organization in the local admin API", () => {
  it("invites local users, lists and searches them, and removes them", async () => {
    const owner = api(ownerToken);
    const invited = await owner.post("/users", { email: "new.hire@admin.example", displayName: "New Hire", role: "user" }).expect(201);
    expect(invited.body).toMatchObject({ userName: "new.hire@admin.example", role: "user", managedBy: "local", editable: true, active: true });
    await owner.post("/users", { email: "new.hire@admin.example" }).expect(409);
    const listed = await owner.get("/users?q=hire").expect(200);
    expect(listed.body).toMatchObject({ totalResults: 1, users: [expect.objectContaining({ id: invited.body.id })] });
    expect((await owner.get("/users").expect(200)).body.totalResults).toBe(2);
    await owner.delete(`/users/${invited.body.id}?reason=left`).expect(204);
    await owner.get(`/users/${invited.body.id}`).expect(404);
    const [event] = await t.db.models.AuditEvent.find({ "target.id": invited.body.id, action: "user.deleted" }).lean();
    expect(event.reason).toBe("left");
  });

  it("refuses invitations from members without add_users, and invitations above one's own role", async () => {
    await t.services.users.provision({ ...operator, organizationId: org.id }, { userName: "plain@admin.example" }, "local", { role: "user" });
    const plain = api((await cli("user-token", "create", "--org", org.id, "--email", "plain@admin.example", "--json")).token);
    expect((await plain.post("/users", { email: "x@admin.example" })).body.error.code).toBe("forbidden");
    expect((await plain.get("/users")).status).toBe(403);
  });

  it("manages projects and mappings, and the mappings take effect on the next answer", async () => {
    const owner = api(ownerToken);
    const project = (await owner.post("/projects", { name: "Checkout" }).expect(201)).body;
    await owner.patch(`/projects/${project.id}`, { name: "Checkout funnel" }).expect(200);
    expect((await owner.get("/projects").expect(200)).body.projects).toEqual([expect.objectContaining({ id: project.id, name: "Checkout funnel" })]);

    const scim = scimClient(t.app, org.scimToken);
    const member = (await scim.post("/Users", buildUser({ userName: "funnel@admin.example" })).expect(201)).body.id;
    const group = (await scim.post("/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "Funnel Team", members: [{ value: member }] }).expect(201)).body.id;
    const created = await owner.post("/mappings", { match: { kind: "group_id", value: group }, organizationRole: "user", projects: [{ projectId: project.id, role: "editor" }] }).expect(201);
    const authorize = () => owner.post("/authorize", { userId: member, action: "create_reports", projectId: project.id }).expect(200);
    expect((await authorize()).body.allowed).toBe(true);
    expect((await owner.get("/mappings").expect(200)).body.mappings).toHaveLength(1);
    await owner.post("/mappings", { match: { kind: "group_id", value: group }, organizationRole: "owner" }).expect(400);

    await owner.delete(`/mappings/${created.body.id}`).expect(204);
    expect((await authorize()).body.allowed).toBe(false);
    await owner.delete(`/projects/${project.id}`).expect(204);
    expect((await owner.get("/projects").expect(200)).body.projects).toEqual([]);
  });

  it("creates SCIM tokens with an expiry, shows them once, lists them without secrets, and revokes them", async () => {
    const owner = api(ownerToken);
    const expires = new Date(Date.now() + 86_400_000).toISOString();
    const issued = (await owner.post("/scim-tokens", { name: "Entra ID", expires }).expect(201)).body;
    expect(issued).toMatchObject({ name: "Entra ID", expires, token: expect.stringMatching(/^gsc_/) });
    await scimClient(t.app, issued.token).get("/Users").expect(200);
    const listed = (await owner.get("/scim-tokens").expect(200)).body.tokens;
    expect(listed.map((x: { name: string }) => x.name)).toEqual(expect.arrayContaining(["Initial SCIM token", "Entra ID"]));
    expect(JSON.stringify(listed)).not.toContain(issued.token);
    await owner.delete(`/scim-tokens/${issued.id}`).expect(200);
    await scimClient(t.app, issued.token).get("/Users").expect(401);
  });

  it("transfers ownership only from the Owner; the former Owner stays an Admin", async () => {
    const successor = (await api(ownerToken).post("/users", { email: "successor@admin.example", role: "admin" }).expect(201)).body.id;
    const successorToken = (await cli("user-token", "create", "--org", org.id, "--email", "successor@admin.example", "--json")).token;
    expect((await api(successorToken).post("/ownership/transfer", { userId: successor })).status).toBe(403);
    const res = await api(ownerToken).post("/ownership/transfer", { userId: successor }).expect(200);
    expect(res.body).toMatchObject({ id: successor, role: "owner", isOwner: true });
    expect((await api(successorToken).get(`/users/${org.ownerId}`).expect(200)).body).toMatchObject({ role: "admin", isOwner: false });
    const [event] = await t.db.models.AuditEvent.find({ organizationId: org.id, action: "organization.ownership_transferred", "after.ownerUserId": successor }).lean();
    expect(event.before).toEqual({ ownerUserId: org.ownerId });
  });
});

describe("request bodies the API refuses", () => {
  it("answers 413 and 415 for oversized or undecodable bodies, before authentication, never 500", async () => {
    const big = await request(t.app).post("/api/v1/authorize").set("Content-Type", "application/json").send(JSON.stringify({ pad: "x".repeat(200_000) }));
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe("payload_too_large");
    const charset = await request(t.app).post("/api/v1/authorize").set("Content-Type", "application/json; charset=latin9").send("{}");
    expect(charset.status).toBe(415);
    const encoding = await request(t.app).post("/api/v1/authorize").set("Content-Type", "application/json").set("Content-Encoding", "br2").send("{}");
    expect(encoding.status).toBe(415);
  });

  it("refuses a SCIM token that would expire in the past", async () => {
    const res = await api(ownerToken).post("/scim-tokens", { name: "Old", expires: "2001-01-01T00:00:00Z" });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("invalid_request");
  });
});

describe("seat limits", () => {
  it("counts active users: SCIM create and reactivation get 403 naming the limit, invitations a clear error", async () => {
    const limited = await cli("org", "create", "Small Co", "--owner", "owner@small.example", "--json");
    const owner = api((await cli("user-token", "create", "--org", limited.id, "--email", "owner@small.example", "--json")).token);
    await cli("access-settings", "--org", limited.id, "--seat-limit", "2");
    expect((await owner.get("/settings").expect(200)).body).toMatchObject({ seatLimit: 2, seatsUsed: 1 });
    const scim = scimClient(t.app, limited.scimToken);
    const a = (await scim.post("/Users", buildUser({ userName: "a@small.example" })).expect(201)).body.id;

    const full = await scim.post("/Users", buildUser({ userName: "b@small.example" }));
    expect(full.status).toBe(403);
    expect(full.body).toMatchObject({ schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"], status: "403", detail: expect.stringContaining("seat limit of 2") });
    const invite = await owner.post("/users", { email: "c@small.example" });
    expect(invite.status).toBe(403);
    expect(invite.body.error).toMatchObject({ code: "seat_limit_reached", message: expect.stringContaining("2") });
    // An inactive user takes no seat.
    await scim.post("/Users", buildUser({ userName: "inactive@small.example", active: false })).expect(201);

    const patch = (id: string, active: boolean) =>
      scim.patch(`/Users/${id}`, { schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op: "replace", value: { active } }] });
    await patch(a, false).expect(200);
    const b = (await scim.post("/Users", buildUser({ userName: "b@small.example" })).expect(201)).body.id;
    const reactivation = await patch(a, true);
    expect(reactivation.status).toBe(403);
    expect(reactivation.body.detail).toContain("seat limit of 2");
    expect((await t.db.models.User.findById(a).lean())!.active).toBe(false);

    await cli("access-settings", "--org", limited.id, "--seat-limit", "none");
    await patch(a, true).expect(200);
    expect(b).toEqual(expect.any(String));
  });
});

describe("the organization's name in the settings", () => {
  it("is answered by GET /settings and changed by PATCH /settings, trimmed, stored and audited as organization.renamed", async () => {
    const named = await cli("org", "create", "Name Co", "--owner", "owner@name.example", "--json");
    const owner = api((await cli("user-token", "create", "--org", named.id, "--email", "owner@name.example", "--json")).token);
    expect((await owner.get("/settings").expect(200)).body.name).toBe("Name Co");

    const renamed = await owner.patch("/settings", { name: "  Name Company Ltd  " }).expect(200);
    expect(renamed.body).toMatchObject({ name: "Name Company Ltd", seatsUsed: 1, seatLimit: null });
    expect((await owner.get("/settings").expect(200)).body.name).toBe("Name Company Ltd");
    expect((await t.services.organizations.get(named.id))?.name).toBe("Name Company Ltd");
    const events = await t.db.models.AuditEvent.find({ organizationId: named.id, action: "organization.renamed" }).lean();
    expect(events).toEqual([
      expect.objectContaining({ target: expect.objectContaining({ type: "organization", id: named.id }), before: { name: "Name Co" }, after: { name: "Name Company Ltd" } }),
    ]);
    // A rename changes nobody's access: it is not an access-settings change.
    expect(await t.db.models.AuditEvent.countDocuments({ organizationId: named.id, action: "organization.access_settings_changed" })).toBe(0);

    // The same name again writes nothing; 100 characters are taken.
    await owner.patch("/settings", { name: "Name Company Ltd" }).expect(200);
    expect(await t.db.models.AuditEvent.countDocuments({ organizationId: named.id, action: "organization.renamed" })).toBe(1);
    const longest = "N".repeat(100);
    expect((await owner.patch("/settings", { name: longest }).expect(200)).body.name).toBe(longest);
    await owner.patch("/settings", { name: "Name Company Ltd" }).expect(200);
  });

  it("refuses an empty or too long name, and a change whose other part is refused, storing nothing", async () => {
    const named = await cli("org", "create", "Refusing Co", "--owner", "owner@refusing.example", "--json");
    const owner = api((await cli("user-token", "create", "--org", named.id, "--email", "owner@refusing.example", "--json")).token);
    for (const name of ["", "   ", "x".repeat(101)]) {
      const refused = await owner.patch("/settings", { name, readOnlyMayComment: true });
      expect(refused.status).toBe(400);
      expect(refused.body.error).toMatchObject({ code: "invalid_request", message: expect.stringContaining("name") });
    }
    const unknownRole = await owner.patch("/settings", { name: "Renamed Co", defaultRole: "emperor" });
    expect(unknownRole.status).toBe(400);
    expect(unknownRole.body.error.message).toContain("emperor");
    expect((await owner.get("/settings").expect(200)).body).toMatchObject({ name: "Refusing Co", readOnlyMayComment: false });
    expect(await t.db.models.AuditEvent.countDocuments({ organizationId: named.id, action: { $in: ["organization.renamed", "organization.access_settings_changed"] } })).toBe(0);
  });

  it("is answered renamed at once by a server that keeps the organization resident (the embedded database's one server)", async () => {
    const journal = FileChangeJournal.startFresh(path.join(mkdtempSync(path.join(os.tmpdir(), "gatehouse-rename-")), "change-journal.ndjson"));
    const resident = await startTestApp({}, { resident: { journal } });
    try {
      const created = JSON.parse((await runCommand(resident.services, ["org", "create", "Resident Co", "--owner", "owner@resident.example", "--json"])).stdout[0]!);
      await runCommand(resident.services, ["email-domain", "add", "resident.example", "--org", created.id]);
      const token = JSON.parse((await runCommand(resident.services, ["user-token", "create", "--org", created.id, "--email", "owner@resident.example", "--json"])).stdout[0]!).token;
      const owner = (r: request.Test) => r.set("Authorization", `Bearer ${token}`);
      expect((await owner(request(resident.app).get("/api/v1/settings")).expect(200)).body.name).toBe("Resident Co");
      await owner(request(resident.app).patch("/api/v1/settings")).send({ name: "Resident Company" }).expect(200);
      expect((await owner(request(resident.app).get("/api/v1/settings")).expect(200)).body.name).toBe("Resident Company");
      const discovered = await request(resident.app).post("/api/v1/sign-in/discover").send({ email: "a@resident.example" }).expect(200);
      expect(discovered.body.organization).toEqual({ id: created.id, name: "Resident Company" });
    } finally {
      await resident.close();
    }
  });

  it("is changed only by those with modify_account_settings", async () => {
    await t.services.users.provision({ ...operator, organizationId: org.id }, { userName: "reader@admin.example" }, "local", { role: "user" });
    const plain = api((await cli("user-token", "create", "--org", org.id, "--email", "reader@admin.example", "--json")).token);
    await plain.patch("/settings", { name: "Taken Over" }).expect(403);
    expect((await t.services.organizations.get(org.id))?.name).toBe("Admin Co");
  });
});

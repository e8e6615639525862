import request from "supertest";
import { runCommand } from "../../src/cli/commands";
import { buildUser, operator, scimClient, startTestApp, type TestApp } from "../support/app";

/**
 * Issue 13 §2, what administrators tripped over: a grant nobody could remove, a seat limit the
 * tenant could raise, suspension invisible in the member API, temporary access without a bound,
 * and an ownerless organization nobody noticed. Through the HTTP API, against the real database.
 */
let t: TestApp;
const cli = async (...argv: string[]) => JSON.parse((await runCommand(t.services, argv)).stdout[0]);

beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

interface Org {
  id: string;
  scimToken: string;
  ownerId: string;
  ownerToken: string;
  ctx: () => typeof operator & { organizationId: string };
}

async function organization(name: string): Promise<Org> {
  const org = await cli("org", "create", name, "--owner", `owner@${name.toLowerCase().replace(/\W/g, "")}.example`, "--json");
  const ownerToken = (await cli("user-token", "create", "--org", org.id, "--email", `owner@${name.toLowerCase().replace(/\W/g, "")}.example`, "--json")).token;
  return { ...org, ownerToken, ctx: () => ({ ...operator, organizationId: org.id }) };
}

const as = (token: string) => ({
  get: (path: string) => request(t.app).get(`/api/v1${path}`).set("Authorization", `Bearer ${token}`),
  put: (path: string, body: unknown) => request(t.app).put(`/api/v1${path}`).set("Authorization", `Bearer ${token}`).send(body as object),
  post: (path: string, body: unknown = {}) => request(t.app).post(`/api/v1${path}`).set("Authorization", `Bearer ${token}`).send(body as object),
  patch: (path: string, body: unknown) => request(t.app).patch(`/api/v1${path}`).set("Authorization", `Bearer ${token}`).send(body as object),
});

async function localUser(org: Org, userName: string, role?: string, projects?: { projectId: string; role: string }[]): Promise<string> {
  const user = await t.services.users.provision(org.ctx(), { userName }, "local", role || projects ? { ...(role ? { role } : {}), ...(projects ? { projects } : {}) } : undefined);
  return user.id;
}

async function tokenOf(org: Org, userName: string): Promise<string> {
  return (await cli("user-token", "create", "--org", org.id, "--email", userName, "--json")).token;
}

const eventsOf = (org: Org, targetId: string, action: string) => t.db.models.AuditEvent.find({ organizationId: org.id, "target.id": targetId, action }).lean();

describe("a grant made here can always be removed here", () => {
  let org: Org;
  beforeAll(async () => {
    org = await organization("Grants Co");
  });

  it("keeps a linked member's local grants as explicit local grants, and says so in the audit trail", async () => {
    const project = await t.services.access.createProject(org.ctx(), "Billing dashboards");
    const local = await localUser(org, "ines@grants.example", "admin", [{ projectId: project.id, role: "editor" }]);
    const linked = await scimClient(t.app, org.scimToken).post("/Users", buildUser({ userName: "ines@grants.example" })).expect(201);
    expect(linked.body.id).toBe(local);
    const access = await as(org.ownerToken).get(`/users/${local}/access`).expect(200);
    expect(access.body.organizationRole).toBe("admin");
    expect(access.body.sources).toContainEqual({ kind: "local", role: "admin" });
    const [event] = await eventsOf(org, local, "user.linked");
    expect(event).toMatchObject({
      source: "scim",
      before: { managedBy: "local", localAccess: { role: "admin", projects: [{ projectId: project.id, role: "editor" }] } },
      after: { managedBy: "scim", localAccess: { role: "admin", projects: [{ projectId: project.id, role: "editor" }] } },
      reason: "local grants kept as explicit local grants: administrators may lower or remove them, never raise them",
    });
  });

  it("lets the Owner lower a linked member's local admin role to read_only (it answered 409 before), audited", async () => {
    const local = await localUser(org, "amal@grants.example", "admin");
    await scimClient(t.app, org.scimToken).post("/Users", buildUser({ userName: "amal@grants.example" })).expect(201);
    const lowered = await as(org.ownerToken).put(`/users/${local}`, { role: "read_only", reason: "no group grants admin" }).expect(200);
    expect(lowered.body).toMatchObject({ managedBy: "scim", role: "read_only" });
    const [event] = await eventsOf(org, local, "user.local_access_changed");
    expect(event).toMatchObject({ source: "admin", actor: { id: org.ownerId }, before: { role: "admin" }, after: { role: "read_only" }, reason: "no group grants admin" });
    const [effective] = await eventsOf(org, local, "user.access_changed");
    expect(effective).toMatchObject({ before: { organizationRole: "admin" }, after: { organizationRole: "read_only" }, cause: { action: "user.local_access_changed" } });
  });

  it("lets an administrator remove a linked member's local role and projects altogether", async () => {
    const project = await t.services.access.createProject(org.ctx(), "Web");
    const local = await localUser(org, "bo@grants.example", "user", [{ projectId: project.id, role: "editor" }]);
    await scimClient(t.app, org.scimToken).post("/Users", buildUser({ userName: "bo@grants.example" })).expect(201);
    const admin = await localUser(org, "admin@grants.example", "admin");
    const adminToken = await tokenOf(org, "admin@grants.example");
    expect(admin).toBeTruthy();
    // Lowering a project role is allowed too: editor → viewer, then nothing.
    await as(adminToken).put(`/users/${local}`, { projects: [{ id: project.id, role: "viewer" }] }).expect(200);
    const removed = await as(adminToken).put(`/users/${local}`, { role: null, projects: [] }).expect(200);
    // Nothing granted here any more: the organization's default role (read_only) remains.
    expect(removed.body).toMatchObject({ role: "read_only", projects: [] });
    const access = await as(adminToken).get(`/users/${local}/access`).expect(200);
    expect(access.body.sources).toEqual([{ kind: "default", role: "read_only" }]);
    const stored = await t.db.models.User.findById(local).lean();
    expect(stored?.localAccess).toEqual({ projects: [] });
  });

  it("never lets an administrator raise a linked member's local grants: 409 managed_by_identity_provider", async () => {
    const project = await t.services.access.createProject(org.ctx(), "Raised");
    const local = await localUser(org, "cy@grants.example", "read_only", [{ projectId: project.id, role: "viewer" }]);
    await scimClient(t.app, org.scimToken).post("/Users", buildUser({ userName: "cy@grants.example" })).expect(201);
    for (const body of [{ role: "user" }, { projects: [{ id: project.id, role: "editor" }] }, { projects: [{ id: project.id, role: "viewer" }, { id: (await t.services.access.createProject(org.ctx(), "Other")).id, role: "viewer" }] }]) {
      const raised = await as(org.ownerToken).put(`/users/${local}`, body);
      expect(raised.status).toBe(409);
      expect(raised.body.error.code).toBe("managed_by_identity_provider");
      expect(raised.body.error.message).toContain("can only be lowered or removed, never raised");
    }
    const stored = await t.db.models.User.findById(local).lean();
    expect(stored?.localAccess).toEqual({ role: "read_only", projects: [{ projectId: project.id, role: "viewer" }] });
    // A managed member with no local role at all has nothing here to lower: a role is raising.
    const fresh = (await scimClient(t.app, org.scimToken).post("/Users", buildUser({ userName: "dee@grants.example" })).expect(201)).body.id;
    expect((await as(org.ownerToken).put(`/users/${fresh}`, { role: "read_only" })).status).toBe(409);
  });

  it("lets the new Owner lower an SSO-managed former Owner after a transfer", async () => {
    const other = await organization("Transfer Co");
    const sso = (await scimClient(t.app, other.scimToken).post("/Users", buildUser({ userName: "founder@transfer.example" })).expect(201)).body.id;
    await t.services.organizations.transferOwnership(other.ctx(), sso);
    const ssoToken = await tokenOf(other, "founder@transfer.example");
    // The SSO-managed Owner hands ownership to a local member; they keep Admin as a local grant.
    const heir = await localUser(other, "heir@transfer.example", "admin");
    await as(ssoToken).post("/ownership/transfer", { userId: heir }).expect(200);
    const heirToken = await tokenOf(other, "heir@transfer.example");
    expect((await as(heirToken).get(`/users/${sso}`).expect(200)).body).toMatchObject({ managedBy: "scim", isOwner: false, role: "admin" });
    const lowered = await as(heirToken).put(`/users/${sso}`, { role: "user" }).expect(200);
    expect(lowered.body.role).toBe("user");
    await as(heirToken).put(`/users/${sso}`, { role: null }).expect(200);
    expect((await as(heirToken).get(`/users/${sso}/access`).expect(200)).body.sources).toEqual([{ kind: "default", role: "read_only" }]);
  });
});

describe("the seat limit is the operator's", () => {
  let org: Org;
  let adminToken: string;
  beforeAll(async () => {
    org = await organization("Seats Co");
    await localUser(org, "admin@seats.example", "admin");
    adminToken = await tokenOf(org, "admin@seats.example");
  });

  it("refuses administrators who change it: 403, with nothing changed and nothing audited", async () => {
    for (const token of [adminToken, org.ownerToken]) {
      const raised = await as(token).patch("/settings", { readOnlyMayComment: true, seatLimit: 500 });
      expect(raised.status).toBe(403);
      expect(raised.body.error).toEqual({ code: "forbidden", message: expect.stringContaining("The seat limit is set by the operator, not by administrators: nothing was changed") });
      expect(raised.body.error.message).toContain(`gatehouse access-settings --org ${org.id} --seat-limit`);
      const removed = await as(token).patch("/settings", { seatLimit: null });
      expect(removed.status).toBe(403);
    }
    const stored = await t.db.models.Organization.findById(org.id).lean();
    expect(stored?.seatLimit).toBeUndefined();
    expect(stored?.accessSettings?.readOnlyMayComment).not.toBe(true);
    expect(await t.db.models.AuditEvent.countDocuments({ organizationId: org.id, action: { $in: ["organization.seat_limit_changed", "organization.access_settings_changed"] } })).toBe(0);
    expect((await as(adminToken).get("/settings").expect(200)).body).toMatchObject({ readOnlyMayComment: false, seatLimit: null });
  });

  it("is set by the operator's CLI; administrators see it and the seats taken in GET /settings", async () => {
    const printed = JSON.parse((await runCommand(t.services, ["access-settings", "--org", org.id, "--seat-limit", "3"])).stdout[0]!);
    expect(printed.seatLimit).toBe(3);
    const settings = await as(adminToken).get("/settings").expect(200);
    expect(settings.body).toMatchObject({ seatLimit: 3, seatsUsed: 2 });
    const [event] = await t.db.models.AuditEvent.find({ organizationId: org.id, action: "organization.seat_limit_changed" }).lean();
    expect(event).toMatchObject({ source: "cli", actor: { type: "operator" }, before: { seatLimit: null }, after: { seatLimit: 3 } });
  });

  it("counts suspended members (a suspension never makes room), not deactivated ones", async () => {
    const third = await localUser(org, "third@seats.example", "user");
    await as(org.ownerToken).post(`/users/${third}/suspend`, { reason: "laptop stolen" }).expect(200);
    expect((await as(adminToken).get("/settings").expect(200)).body.seatsUsed).toBe(3);
    const full = await as(org.ownerToken).post("/users", { email: "fourth@seats.example" });
    expect([full.status, full.body.error.code]).toEqual([403, "seat_limit_reached"]);
    // Lifting a suspension needs no seat: the member already holds one.
    await as(org.ownerToken).post(`/users/${third}/unsuspend`).expect(200);
    // A deactivated member frees their seat.
    const scim = scimClient(t.app, org.scimToken);
    await scim.post("/Users", buildUser({ userName: "gone@seats.example", active: false })).expect(201);
    expect((await as(adminToken).get("/settings").expect(200)).body.seatsUsed).toBe(3);
    await t.services.users.update(org.ctx(), third, async (u) => ({ ...u, active: false }));
    expect((await as(adminToken).get("/settings").expect(200)).body.seatsUsed).toBe(2);
    await as(org.ownerToken).post("/users", { email: "fourth@seats.example" }).expect(201);
  });
});

describe("suspension in the member API", () => {
  let org: Org;
  let ids: Record<"active" | "suspended" | "deactivated" | "both", string>;
  beforeAll(async () => {
    org = await organization("Suspense Co");
    const scim = scimClient(t.app, org.scimToken);
    ids = {
      active: await localUser(org, "a.active@suspense.example", "user"),
      suspended: await localUser(org, "b.suspended@suspense.example", "user"),
      deactivated: (await scim.post("/Users", buildUser({ userName: "c.deactivated@suspense.example", active: false })).expect(201)).body.id,
      both: (await scim.post("/Users", buildUser({ userName: "d.both@suspense.example" })).expect(201)).body.id,
    };
    await as(org.ownerToken).post(`/users/${ids.suspended}/suspend`, { reason: "phishing incident INC-42" }).expect(200);
    await as(org.ownerToken).post(`/users/${ids.both}/suspend`).expect(200);
    const patch = { schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op: "replace", value: { active: false } }] };
    await scim.patch(`/Users/${ids.both}`, patch).expect(200);
  });

  it("shows who suspended a member, when and why, in GET /users/{id}; null when not suspended", async () => {
    const before = Date.now();
    const other = await localUser(org, "e.later@suspense.example");
    const suspended = await as(org.ownerToken).post(`/users/${other}/suspend`, { reason: "left a session open" }).expect(200);
    expect(suspended.body).toMatchObject({ status: "suspended", role: null, suspended: { by: { type: "user", id: org.ownerId, name: "owner@suspenseco.example" }, reason: "left a session open" } });
    expect(Date.parse(suspended.body.suspended.since)).toBeGreaterThanOrEqual(before - 1000);
    const read = await as(org.ownerToken).get(`/users/${ids.suspended}`).expect(200);
    expect(read.body).toMatchObject({ status: "suspended", suspended: { reason: "phishing incident INC-42", by: { id: org.ownerId } } });
    expect((await as(org.ownerToken).get(`/users/${ids.both}`).expect(200)).body).toMatchObject({ status: "deactivated", suspended: { reason: null } });
    expect((await as(org.ownerToken).get(`/users/${ids.active}`).expect(200)).body).toMatchObject({ status: "active", suspended: null });
    // Lifting it clears the record, in the stored user too.
    const lifted = await as(org.ownerToken).post(`/users/${other}/unsuspend`).expect(200);
    expect(lifted.body).toMatchObject({ status: "active", suspended: null, role: "read_only" });
    const stored = await t.db.models.User.findById(other).lean();
    expect(stored?.suspended).toBeUndefined();
    expect(stored?.suspension).toBeUndefined();
  });

  it("filters the member list by status, and shows the suspension in the list", async () => {
    const list = async (query: string) => (await as(org.ownerToken).get(`/users?${query}`).expect(200)).body;
    const names = (page: { users: { userName: string }[] }) => page.users.map((u) => u.userName);
    expect(names(await list("status=suspended"))).toEqual(["b.suspended@suspense.example"]);
    expect((await list("status=suspended")).users[0]).toMatchObject({ suspended: { reason: "phishing incident INC-42", by: { id: org.ownerId } } });
    expect(names(await list("status=deactivated"))).toEqual(["c.deactivated@suspense.example", "d.both@suspense.example"]);
    expect(names(await list("status=active"))).toEqual(["a.active@suspense.example", "e.later@suspense.example", "owner@suspenseco.example"]);
    expect((await list("status=active")).totalResults).toBe(3);
    // With a search, and a page at a time.
    expect(names(await list("status=active&q=later"))).toEqual(["e.later@suspense.example"]);
    const first = await list("status=active&count=2");
    expect(names(first)).toEqual(["a.active@suspense.example", "e.later@suspense.example"]);
    expect(names(await list(`status=active&count=2&cursor=${first.nextCursor}`))).toEqual(["owner@suspenseco.example"]);
    const bad = await as(org.ownerToken).get("/users?status=frozen");
    expect([bad.status, bad.body.error.code]).toEqual([400, "invalid_request"]);
  });

  it("describes status and suspended in the OpenAPI document", async () => {
    const document = (await request(t.app).get("/api/v1/openapi.json").expect(200)).body;
    const member = document.components.schemas.Member;
    expect(member.required).toEqual(expect.arrayContaining(["status", "suspended"]));
    expect(JSON.stringify(member.properties.suspended)).toContain("Suspension");
    expect(document.components.schemas.Suspension.properties).toHaveProperty("since");
    expect(document.components.schemas.MemberStatus.enum).toEqual(["active", "suspended", "deactivated"]);
    const listUsers = document.paths["/users"].get.parameters.find((p: { name: string }) => p.name === "status");
    expect(JSON.stringify(listUsers.schema)).toContain("MemberStatus");
  });
});

describe("temporary access with a bound", () => {
  let org: Org;
  let adminToken: string;
  const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();
  beforeAll(async () => {
    org = await organization("Temp Co");
    await localUser(org, "admin@temp.example", "admin");
    adminToken = await tokenOf(org, "admin@temp.example");
  });

  it("refuses a grant beyond the organization's maximum (7 days by default) with 400 naming the bound", async () => {
    expect((await as(adminToken).get("/settings").expect(200)).body.temporaryAccessMaximumDays).toBe(7);
    const member = await localUser(org, "m1@temp.example", "read_only");
    const decade = await as(adminToken).post(`/users/${member}/temporary-access`, { role: "user", until: "2036-01-01T00:00:00Z", reason: "cover" });
    expect(decade.status).toBe(400);
    expect(decade.body.error).toEqual({ code: "invalid", message: expect.stringContaining("temporary access in this organization lasts at most 7 days") });
    expect((await as(adminToken).post(`/users/${member}/temporary-access`, { role: "user", until: inDays(7.5), reason: "cover" })).status).toBe(400);
    const stored = await t.db.models.User.findById(member).lean();
    expect(stored?.temporaryGrants ?? []).toEqual([]);
    const week = await as(adminToken).post(`/users/${member}/temporary-access`, { role: "user", until: inDays(6.9), reason: "cover for a colleague" });
    expect(week.status).toBe(201);
  });

  it("lets an administrator lower or raise the maximum within the 90-day cap, audited", async () => {
    const member = await localUser(org, "m2@temp.example", "read_only");
    const raised = await as(adminToken).patch("/settings", { temporaryAccessMaximumDays: 30 }).expect(200);
    expect(raised.body.temporaryAccessMaximumDays).toBe(30);
    await as(adminToken).post(`/users/${member}/temporary-access`, { role: "user", until: inDays(29), reason: "quarter close" }).expect(201);
    const [event] = await t.db.models.AuditEvent.find({ organizationId: org.id, action: "organization.access_settings_changed" }).lean();
    expect(event).toMatchObject({ before: { temporaryAccessMaximumDays: 7 }, after: { temporaryAccessMaximumDays: 30 } });
    for (const days of [91, 0, -1, "7"]) {
      const refused = await as(adminToken).patch("/settings", { temporaryAccessMaximumDays: days });
      expect([refused.status, refused.body.error.code]).toEqual([400, "invalid_request"]);
    }
    await as(adminToken).patch("/settings", { temporaryAccessMaximumDays: 90 }).expect(200);
    await as(adminToken).patch("/settings", { temporaryAccessMaximumDays: 0.5 }).expect(200);
    const halfDay = await as(adminToken).post(`/users/${member}/temporary-access`, { role: "admin", until: inDays(1), reason: "incident" });
    expect(halfDay.status).toBe(400);
    expect(halfDay.body.error.message).toContain("at most 0.5 days");
    await as(adminToken).patch("/settings", { temporaryAccessMaximumDays: 7 }).expect(200);
  });

  it("refuses a grant that raises nothing: 409 conflict, nothing stored", async () => {
    const project = await t.services.access.createProject(org.ctx(), "Ops");
    const admin = await localUser(org, "other.admin@temp.example", "admin");
    const editor = await localUser(org, "editor@temp.example", "user", [{ projectId: project.id, role: "editor" }]);
    const cases: [string, Record<string, unknown>][] = [
      [admin, { role: "read_only" }],
      [admin, { role: "admin" }],
      [admin, { projectId: project.id, projectRole: "editor" }],
      [editor, { projectId: project.id, projectRole: "viewer" }],
      [editor, { projectId: project.id, projectRole: "editor" }],
      [editor, { role: "read_only" }],
    ];
    for (const [id, grant] of cases) {
      const refused = await as(org.ownerToken).post(`/users/${id}/temporary-access`, { ...grant, until: inDays(1), reason: "nothing" });
      expect([refused.status, refused.body.error.code]).toEqual([409, "conflict"]);
      expect(refused.body.error.message).toContain("This temporary grant raises nothing");
    }
    expect(await t.db.models.AuditEvent.countDocuments({ organizationId: org.id, "target.id": { $in: [admin, editor] }, action: "user.temporary_access_granted" })).toBe(0);
    // What does raise something is granted: admin to the editor, a project to a member without it.
    await as(org.ownerToken).post(`/users/${editor}/temporary-access`, { role: "admin", until: inDays(1), reason: "incident" }).expect(201);
    const other = await t.services.access.createProject(org.ctx(), "Other");
    const user = await localUser(org, "user@temp.example", "user");
    await as(org.ownerToken).post(`/users/${user}/temporary-access`, { projectId: other.id, projectRole: "viewer", until: inDays(1), reason: "review" }).expect(201);
  });
});

describe("a loud ownerless vacancy", () => {
  it("records the vacancy, flags it in every administrator's GET /settings with the break-glass, until the operator restores an Owner", async () => {
    const org = await organization("Vacancy Co");
    const scim = scimClient(t.app, org.scimToken);
    // The identity provider takes the Owner over (linking), and an Admin it also manages.
    await scim.post("/Users", buildUser({ userName: "owner@vacancyco.example" })).expect(201);
    await scim.post("/Users", buildUser({ userName: "deputy@vacancy.example" })).expect(201);
    await localUser(org, "admin@vacancy.example", "admin");
    const adminToken = await tokenOf(org, "admin@vacancy.example");
    expect((await as(adminToken).get("/settings").expect(200)).body).toMatchObject({ ownerVacant: false });
    expect((await as(adminToken).get("/settings").expect(200)).body).not.toHaveProperty("ownerVacancy");

    // HR offboards the Owner: security first, ownership ends with their access.
    const offboard = { schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op: "replace", value: { active: false } }] };
    await scim.patch(`/Users/${org.ownerId}`, offboard).expect(200);
    const [event] = await t.db.models.AuditEvent.find({ organizationId: org.id, action: "organization.ownership_vacated" }).lean();
    expect(event).toMatchObject({ source: "scim", before: { ownerUserId: org.ownerId }, after: { ownerUserId: null }, reason: expect.stringContaining(`gatehouse org set-owner --org ${org.id}`) });

    const settings = (await as(adminToken).get("/settings").expect(200)).body;
    expect(settings.ownerVacant).toBe(true);
    expect(settings.ownerVacancy).toContain("This organization has no Owner");
    expect(settings.ownerVacancy).toContain(`gatehouse org set-owner --org ${org.id} --email`);
    // The answer to a PATCH says it too; and nobody inside can take ownership.
    expect((await as(adminToken).patch("/settings", { readOnlyMayComment: true }).expect(200)).body.ownerVacant).toBe(true);
    const taken = await as(adminToken).post("/ownership/transfer", { userId: (await t.services.users.findByUserName(org.ctx(), "admin@vacancy.example"))!.id });
    expect([taken.status, taken.body.error.code]).toEqual([403, "forbidden"]);
    expect(taken.body.error.message).toContain("gatehouse org set-owner");

    // The operator's break-glass ends the vacancy.
    await runCommand(t.services, ["org", "set-owner", "--org", org.id, "--email", "deputy@vacancy.example"]);
    const restored = (await as(adminToken).get("/settings").expect(200)).body;
    expect(restored.ownerVacant).toBe(false);
    expect(restored).not.toHaveProperty("ownerVacancy");
  });
});

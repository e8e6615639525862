import request from "supertest";
import { runCommand } from "../../src/cli/commands";
import { buildUser, operator, patchSchema, scimClient, startTestApp, type TestApp } from "../support/app";
import type { AuditEventDocument } from "../../src/storage/models";

/**
 * `user.access_changed` (services/access-changes.ts): every change of a member's effective access
 * is in the audit trail — exactly one event per member whose access changed, with the access before
 * and after as the authorization answers work it out, and the cause; none when nothing changed.
 * And the mapping edit and preview of admin/mapping-routes.ts.
 */
const groupSchema = "urn:ietf:params:scim:schemas:core:2.0:Group";

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

interface Org {
  id: string;
  ownerId: string;
  scim: ReturnType<typeof scimClient>;
  ownerToken: string;
}

const cli = async (...argv: string[]) => JSON.parse((await runCommand(t.services, argv)).stdout[0]);

async function organization(name: string): Promise<Org> {
  const org = await cli("org", "create", name, "--owner", `owner@${name}.example`, "--json");
  const ownerToken = (await cli("user-token", "create", "--org", org.id, "--email", `owner@${name}.example`, "--json")).token;
  return { id: org.id, ownerId: org.ownerId, scim: scimClient(t.app, org.scimToken), ownerToken };
}

const api = (org: Org) => {
  const auth = (r: request.Test) => r.set("Authorization", `Bearer ${org.ownerToken}`);
  return {
    get: (path: string) => auth(request(t.app).get(`/api/v1${path}`)),
    post: (path: string, body: object) => auth(request(t.app).post(`/api/v1${path}`)).send(body),
    put: (path: string, body: object) => auth(request(t.app).put(`/api/v1${path}`)).send(body),
    patch: (path: string, body: object) => auth(request(t.app).patch(`/api/v1${path}`)).send(body),
    delete: (path: string) => auth(request(t.app).delete(`/api/v1${path}`)),
  };
};

async function scimUser(org: Org, userName: string): Promise<string> {
  return (await org.scim.post("/Users", buildUser({ userName })).expect(201)).body.id;
}

async function scimGroup(org: Org, displayName: string, members: string[] = []): Promise<string> {
  return (await org.scim.post("/Groups", { schemas: [groupSchema], displayName, members: members.map((value) => ({ value })) }).expect(201)).body.id;
}

const patchMembers = (org: Org, groupId: string, operations: object[]) => org.scim.patch(`/Groups/${groupId}`, { schemas: [patchSchema], Operations: operations }).expect(204);

/** The organization's access_changed events, oldest first (the trail as stored). */
async function accessEvents(org: Org): Promise<AuditEventDocument[]> {
  return t.db.models.AuditEvent.find({ organizationId: org.id, action: "user.access_changed" }).sort({ at: 1, _id: 1 }).lean<AuditEventDocument[]>();
}

/** The events written since `count` were there, by member id. */
async function newEvents(org: Org, count: number): Promise<Map<string, AuditEventDocument>> {
  const events = (await accessEvents(org)).slice(count);
  const byMember = new Map<string, AuditEventDocument>();
  for (const event of events) {
    expect(byMember.has(event.target.id)).toBe(false); // exactly one per member
    byMember.set(event.target.id, event);
  }
  return byMember;
}

const role = (event: AuditEventDocument | undefined, side: "before" | "after") => (event?.[side] as { organizationRole: string | null } | undefined)?.organizationRole;

describe("user.access_changed, cause by cause", () => {
  it("records a SCIM membership add and remove for the members whose access changes, and nothing for a group nobody maps", async () => {
    const org = await organization("members");
    const [ada, bob] = [await scimUser(org, "ada@members.example"), await scimUser(org, "bob@members.example")];
    const admins = await scimGroup(org, "Admins");
    const unmapped = await scimGroup(org, "Book club");
    await api(org).post("/mappings", { match: { kind: "group_id", value: admins }, organizationRole: "admin" }).expect(201);
    let seen = (await accessEvents(org)).length;

    await patchMembers(org, admins, [{ op: "add", path: "members", value: [{ value: ada }, { value: bob }] }]);
    let events = await newEvents(org, seen);
    expect([...events.keys()].sort()).toEqual([ada, bob].sort());
    const adaEvent = events.get(ada)!;
    expect(adaEvent).toMatchObject({
      source: "scim",
      target: { type: "user", id: ada, display: "ada@members.example" },
      before: { organizationRole: "read_only", organizationRoles: ["read_only"], allProjects: false, projects: [] },
      after: { organizationRole: "admin", organizationRoles: ["admin"], allProjects: true, projects: [] },
      cause: { action: "group.members_changed", target: { type: "group", id: admins, display: "Admins" } },
    });
    const [membersChanged] = await t.db.models.AuditEvent.find({ organizationId: org.id, action: "group.members_changed", "target.id": admins }).lean();
    expect(adaEvent.cause!.eventId).toBe(membersChanged!._id);
    expect(adaEvent.requestId).toBe(membersChanged!.requestId);
    seen += 2;

    // A group no mapping matches changes nobody's access: no event.
    await patchMembers(org, unmapped, [{ op: "add", path: "members", value: [{ value: ada }] }]);
    expect((await accessEvents(org)).length).toBe(seen);

    await patchMembers(org, admins, [{ op: "remove", path: `members[value eq "${bob}"]` }]);
    events = await newEvents(org, seen);
    expect([...events.keys()]).toEqual([bob]);
    expect([role(events.get(bob), "before"), role(events.get(bob), "after")]).toEqual(["admin", "read_only"]);
  });

  it("records a PUT of the member list (replace) and a group deletion", async () => {
    const org = await organization("replace");
    const [ada, bob, cyd] = [await scimUser(org, "ada@replace.example"), await scimUser(org, "bob@replace.example"), await scimUser(org, "cyd@replace.example")];
    const users = await scimGroup(org, "Users", [ada, bob]);
    await api(org).post("/mappings", { match: { kind: "display_name", value: "users" }, organizationRole: "user" }).expect(201);
    let seen = (await accessEvents(org)).length;

    await org.scim.put(`/Groups/${users}`, { schemas: [groupSchema], displayName: "Users", members: [{ value: bob }, { value: cyd }] }).expect(200);
    let events = await newEvents(org, seen);
    expect([...events.keys()].sort()).toEqual([ada, cyd].sort());
    expect([role(events.get(ada), "before"), role(events.get(ada), "after")]).toEqual(["user", "read_only"]);
    expect([role(events.get(cyd), "before"), role(events.get(cyd), "after")]).toEqual(["read_only", "user"]);
    seen += 2;

    await org.scim.delete(`/Groups/${users}`).expect(204);
    events = await newEvents(org, seen);
    expect([...events.keys()].sort()).toEqual([bob, cyd].sort());
    expect(events.get(bob)).toMatchObject({ before: { organizationRole: "user" }, after: { organizationRole: "read_only" }, cause: { action: "group.deleted", target: { id: users } } });
  });

  it("records a mapping created, edited and deleted, and nothing for an edit that changes no one's access", async () => {
    const org = await organization("mappings");
    const project = (await api(org).post("/projects", { name: "Finance" }).expect(201)).body;
    const [ada, bob] = [await scimUser(org, "ada@mappings.example"), await scimUser(org, "bob@mappings.example")];
    const leads = await scimGroup(org, "Leads", [ada, bob]);
    let seen = (await accessEvents(org)).length;

    const mapping = (await api(org).post("/mappings", { match: { kind: "group_id", value: leads }, organizationRole: "user" }).expect(201)).body;
    let events = await newEvents(org, seen);
    expect([...events.keys()].sort()).toEqual([ada, bob].sort());
    expect(events.get(ada)).toMatchObject({ source: "admin", actor: { type: "user", id: org.ownerId }, before: { organizationRole: "read_only" }, after: { organizationRole: "user" }, cause: { action: "mapping.created", target: { type: "mapping", id: mapping.id } } });
    seen += 2;

    const edited = await api(org).patch(`/mappings/${mapping.id}`, { projects: [{ projectId: project.id, role: "viewer" }] }).expect(200);
    expect(edited.body).toMatchObject({ id: mapping.id, organizationRole: "user", projects: [{ projectId: project.id, role: "viewer" }], created: mapping.created });
    events = await newEvents(org, seen);
    expect(events.get(bob)).toMatchObject({
      before: { organizationRole: "user", projects: [] },
      after: { organizationRole: "user", projects: [{ projectId: project.id, role: "viewer", roles: ["viewer"] }] },
      cause: { action: "mapping.changed" },
    });
    seen += 2;
    const [changed] = await t.db.models.AuditEvent.find({ organizationId: org.id, action: "mapping.changed" }).lean();
    expect(changed).toMatchObject({ target: { type: "mapping", id: mapping.id }, before: { organizationRole: "user" }, after: { organizationRole: "user", projects: [{ projectId: project.id, role: "viewer" }] } });

    // The same role again: the mapping is saved (and audited), nobody's access changes.
    await api(org).patch(`/mappings/${mapping.id}`, { organizationRole: "user" }).expect(200);
    expect((await accessEvents(org)).length).toBe(seen);

    await api(org).delete(`/mappings/${mapping.id}`).expect(204);
    events = await newEvents(org, seen);
    expect(events.get(ada)).toMatchObject({ before: { organizationRole: "user", projects: [{ projectId: project.id }] }, after: { organizationRole: "read_only", projects: [] }, cause: { action: "mapping.deleted" } });
  });

  it("records a project's deletion for every member it gave access to, through a mapping or a local grant", async () => {
    const org = await organization("projectgone");
    const [apollo, zeus] = [(await api(org).post("/projects", { name: "Apollo" }).expect(201)).body, (await api(org).post("/projects", { name: "Zeus" }).expect(201)).body];
    const [ada, bob, cy] = [await scimUser(org, "ada@projectgone.example"), await scimUser(org, "bob@projectgone.example"), await scimUser(org, "cy@projectgone.example")];
    const crew = await scimGroup(org, "Crew", [ada]);
    await api(org).post("/mappings", { match: { kind: "group_id", value: crew }, projects: [{ projectId: apollo.id, role: "editor" }, { projectId: zeus.id, role: "viewer" }] }).expect(201);
    const local = (await api(org).post("/users", { email: "dee@projectgone.example", projects: [{ id: apollo.id, role: "viewer" }] }).expect(201)).body.id;
    const seen = (await accessEvents(org)).length;

    await api(org).delete(`/projects/${apollo.id}`).expect(204);
    const events = await newEvents(org, seen);
    // Ada (through the mapping) and Dee (a local grant) lose Apollo; Bob and Cy never had it.
    expect([...events.keys()].sort()).toEqual([ada, local].sort());
    expect(events.get(ada)).toMatchObject({
      // Projects are listed by id.
      before: { projects: [{ projectId: apollo.id, role: "editor" }, { projectId: zeus.id, role: "viewer" }].sort((a, b) => (a.projectId < b.projectId ? -1 : 1)) },
      after: { projects: [{ projectId: zeus.id, role: "viewer" }] },
      cause: { action: "project.deleted", target: { type: "project", id: apollo.id } },
    });
    expect(events.get(local)).toMatchObject({ before: { projects: [{ projectId: apollo.id, role: "viewer" }] }, after: { projects: [] } });
    expect([bob, cy].some((id) => events.has(id))).toBe(false);
  });

  it("answers PATCH /mappings/:id errors in the API's shape", async () => {
    const org = await organization("patcherrors");
    const mapping = (await api(org).post("/mappings", { match: { kind: "display_name", value: "x" }, organizationRole: "user" }).expect(201)).body;
    expect((await api(org).patch("/mappings/nope", { organizationRole: "admin" }).expect(404)).body.error.code).toBe("not_found");
    expect((await api(org).patch(`/mappings/${mapping.id}`, { organizationRole: "owner" }).expect(400)).body.error.code).toBe("invalid_request");
    expect((await api(org).patch(`/mappings/${mapping.id}`, { organizationRole: null }).expect(400)).body.error.code).toBe("invalid");
    expect((await api(org).patch(`/mappings/${mapping.id}`, { colour: "red" }).expect(400)).body.error.code).toBe("invalid_request");
    expect((await api(org).get("/mappings").expect(200)).body.mappings).toEqual([mapping]);
  });

  it("records a default-role change for everyone it concerns, and not for a member a mapping gives more", async () => {
    const org = await organization("defaults");
    const [ada, bob] = [await scimUser(org, "ada@defaults.example"), await scimUser(org, "bob@defaults.example")];
    const admins = await scimGroup(org, "Admins", [bob]);
    await api(org).post("/mappings", { match: { kind: "group_id", value: admins }, organizationRole: "admin" }).expect(201);
    const seen = (await accessEvents(org)).length;

    await api(org).patch("/settings", { defaultRole: "user" }).expect(200);
    const events = await newEvents(org, seen);
    expect([...events.keys()]).toEqual([ada]);
    expect(events.get(ada)).toMatchObject({ before: { organizationRole: "read_only" }, after: { organizationRole: "user" }, cause: { action: "organization.access_settings_changed" } });
    // The same settings again: nothing changes.
    await api(org).patch("/settings", { defaultRole: "user" }).expect(200);
    expect((await accessEvents(org)).length).toBe(seen + 1);
  });

  it("records a temporary grant starting, ended by an admin, and running out (noticed by the maintenance sweep)", async () => {
    const org = await organization("grants");
    const ada = await scimUser(org, "ada@grants.example");
    let seen = (await accessEvents(org)).length;

    const grant = (await api(org).post(`/users/${ada}/temporary-access`, { role: "admin", until: new Date(Date.now() + 3_600_000).toISOString(), reason: "incident 42" }).expect(201)).body;
    let events = await newEvents(org, seen);
    expect(events.get(ada)).toMatchObject({ reason: "incident 42", before: { organizationRole: "read_only" }, after: { organizationRole: "admin" }, cause: { action: "user.temporary_access_granted" } });
    seen += 1;

    await api(org).delete(`/users/${ada}/temporary-access/${grant.id}`).expect(204);
    events = await newEvents(org, seen);
    expect(events.get(ada)).toMatchObject({ before: { organizationRole: "admin" }, after: { organizationRole: "read_only" }, cause: { action: "user.temporary_access_revoked" } });
    seen += 1;

    const until = new Date(Date.now() + 1_500);
    await api(org).post(`/users/${ada}/temporary-access`, { role: "user", until: until.toISOString(), reason: "cover" }).expect(201);
    seen += 1;
    await new Promise((resolve) => setTimeout(resolve, 1_700));
    // The authorization answer stops honouring the grant at `until`, before anything is written ...
    expect((await api(org).get(`/users/${ada}/access`).expect(200)).body.organizationRole).toBe("read_only");
    expect((await accessEvents(org)).length).toBe(seen);
    // ... and the maintenance timer's sweep (main.ts, every minute) records the end and the change.
    await t.services.users.recordEndedGrants({ actor: { type: "system", id: "maintenance", name: "Gatehouse maintenance" }, source: "system", requestId: "maintenance" });
    events = await newEvents(org, seen);
    const expired = events.get(ada)!;
    expect(expired).toMatchObject({ source: "system", before: { organizationRole: "user" }, after: { organizationRole: "read_only" }, cause: { action: "user.temporary_access_expired" } });
    expect(new Date(expired.cause!.effectiveAt!).getTime()).toBe(until.getTime());
    // The sweep again: nothing more.
    await t.services.users.recordEndedGrants({ actor: { type: "system", id: "maintenance", name: "Gatehouse maintenance" }, source: "system", requestId: "maintenance" });
    expect((await accessEvents(org)).length).toBe(seen + 1);
  });

  it("records a local edit (PUT /users/:id), and nothing for an edit that leaves the effective access as it was", async () => {
    const org = await organization("local");
    const local = (await t.services.users.provision({ ...operator, organizationId: org.id }, { userName: "lee@local.example" }, "local")).id;
    const seen = (await accessEvents(org)).length;
    await api(org).put(`/users/${local}`, { role: "user", reason: "joins the team" }).expect(200);
    const events = await newEvents(org, seen);
    expect(events.get(local)).toMatchObject({ reason: "joins the team", before: { organizationRole: "read_only" }, after: { organizationRole: "user" }, cause: { action: "user.local_access_changed" } });
    // read_only is also the default role: assigning it locally to a member with no other role changes nothing.
    const other = (await t.services.users.provision({ ...operator, organizationId: org.id }, { userName: "max@local.example" }, "local")).id;
    await api(org).put(`/users/${other}`, { role: "read_only" }).expect(200);
    expect((await accessEvents(org)).length).toBe(seen + 1);
    expect(await t.db.models.AuditEvent.countDocuments({ organizationId: org.id, action: "user.local_access_changed", "target.id": other })).toBe(1);
  });

  it("records an Entra ID app role assigned through the user's SCIM roles, and nothing for other profile edits", async () => {
    const org = await organization("approles");
    await api(org).post("/mappings", { match: { kind: "app_role", value: "Gatehouse.Admin" }, organizationRole: "admin" }).expect(201);
    const ada = await scimUser(org, "ada@approles.example");
    const seen = (await accessEvents(org)).length;
    await org.scim.patch(`/Users/${ada}`, { schemas: [patchSchema], Operations: [{ op: "replace", path: "title", value: "Engineer" }] }).expect(200);
    expect((await accessEvents(org)).length).toBe(seen);
    await org.scim.patch(`/Users/${ada}`, { schemas: [patchSchema], Operations: [{ op: "add", path: "roles", value: [{ value: "Gatehouse.Admin" }] }] }).expect(200);
    const events = await newEvents(org, seen);
    expect(events.get(ada)).toMatchObject({ before: { organizationRole: "read_only" }, after: { organizationRole: "admin" }, cause: { action: "user.updated" } });
  });

  it("presents the event in GET /audit with its cause", async () => {
    const org = await organization("presented");
    const ada = await scimUser(org, "ada@presented.example");
    await scimGroup(org, "Admins", [ada]);
    await api(org).post("/mappings", { match: { kind: "display_name", value: "Admins" }, organizationRole: "admin" }).expect(201);
    const res = await api(org).get(`/audit?action=user.access_changed&target=${ada}`).expect(200);
    expect(res.body.events).toHaveLength(1);
    expect(res.body.events[0]).toMatchObject({
      action: "user.access_changed",
      target: { type: "user", id: ada, display: "ada@presented.example" },
      before: { organizationRole: "read_only" },
      after: { organizationRole: "admin" },
      cause: { action: "mapping.created", target: { type: "mapping" } },
    });
  });
});

describe("no change of access is lost when the derivation is cut short", () => {
  it("leaves the cause's event in its document, and recovery writes each member's event exactly once", async () => {
    const org = await organization("recovery");
    const members = [];
    for (let i = 0; i < 5; i++) members.push(await scimUser(org, `m${i}@recovery.example`));
    const group = await scimGroup(org, "Staff", members);
    const seen = (await accessEvents(org)).length;

    // The move dies after writing part of the derived events, and not the cause's own (as a crash
    // would leave it): the members' events travel in the same insert as the cause's event.
    const trail = t.db.models.AuditEvent.collection;
    const insertMany = trail.insertMany.bind(trail);
    trail.insertMany = (async (documents: Parameters<typeof insertMany>[0], options: Parameters<typeof insertMany>[1]) => {
      const derived = documents.filter((document) => document.action === "user.access_changed");
      if (!derived.length) return insertMany(documents, options);
      await insertMany(derived.slice(0, 2), options);
      throw new Error("the process died here");
    }) as typeof trail.insertMany;
    try {
      await api(org).post("/mappings", { match: { kind: "group_id", value: group }, organizationRole: "user" }).expect(201);
    } finally {
      trail.insertMany = insertMany;
    }
    await t.services.settle();
    expect((await accessEvents(org)).length).toBe(seen + 2);
    const organizationDocument = await t.db.models.Organization.findById(org.id).lean();
    expect((organizationDocument!.outbox ?? []).map((e) => e.action)).toEqual(["mapping.created"]);

    // Outbox recovery (start-up, the five-minute timer, seconds after a failure) finishes it.
    await t.services.recoverAuditOutbox();
    await t.services.recoverAuditOutbox();
    const events = await newEvents(org, seen);
    expect([...events.keys()].sort()).toEqual([...members].sort());
    for (const event of events.values()) expect([role(event, "before"), role(event, "after")]).toEqual(["read_only", "user"]);
    expect((await t.db.models.Organization.findById(org.id).lean())!.outbox ?? []).toEqual([]);
  });
});

describe("the mapping preview", () => {
  it("says who gains and who loses which access, and POST /authorize answers the same after saving", async () => {
    const org = await organization("preview");
    const project = (await api(org).post("/projects", { name: "Ops" }).expect(201)).body;
    const [ada, bob, cyd, dee] = [
      await scimUser(org, "ada@preview.example"),
      await scimUser(org, "bob@preview.example"),
      await scimUser(org, "cyd@preview.example"),
      await scimUser(org, "dee@preview.example"),
    ];
    const ops = await scimGroup(org, "Ops", [ada, bob, cyd]);
    const admins = await scimGroup(org, "Admins", [cyd]);
    await api(org).post("/mappings", { match: { kind: "group_id", value: admins }, organizationRole: "admin" }).expect(201);
    const service = (await t.services.scimTokens.issue({ ...operator, organizationId: org.id }, { purpose: "service", name: "product" })).token;
    const authorize = async (userId: string, action: string, projectId?: string) =>
      (await request(t.app).post("/api/v1/authorize").set("Authorization", `Bearer ${service}`).send({ userId, action, ...(projectId ? { projectId } : {}) }).expect(200)).body.allowed as boolean;
    const accessOf = async (userId: string) => (await api(org).get(`/users/${userId}/access`).expect(200)).body;

    const proposal = { match: { kind: "group_id", value: ops }, organizationRole: "user", projects: [{ projectId: project.id, role: "editor" }] };
    const preview = await api(org).post("/mappings/preview", { change: "create", mapping: proposal }).expect(200);
    expect(preview.body.totalResults).toBe(3);
    expect(preview.body.changes.map((c: { userName: string }) => c.userName)).toEqual(["ada@preview.example", "bob@preview.example", "cyd@preview.example"]);
    expect(preview.body.changes[0]).toEqual({
      userId: ada,
      userName: "ada@preview.example",
      before: { organizationRole: "read_only", organizationRoles: ["read_only"], allProjects: false, projects: [] },
      after: { organizationRole: "user", organizationRoles: ["user"], allProjects: false, projects: [{ projectId: project.id, role: "editor", roles: ["editor"] }] },
      gained: { organizationRoles: ["user"], projects: [{ projectId: project.id, role: "editor" }] },
      lost: { organizationRoles: ["read_only"], projects: [] },
    });
    // cyd is an admin already: only the project assignment is new.
    expect(preview.body.changes[2]).toMatchObject({ userId: cyd, gained: { organizationRoles: ["user"], projects: [{ projectId: project.id, role: "editor" }] }, lost: { organizationRoles: [] } });
    // Paged, with the total.
    const page = await api(org).post("/mappings/preview?startIndex=2&count=1", { change: "create", mapping: proposal }).expect(200);
    expect(page.body).toMatchObject({ totalResults: 3, startIndex: 2, changes: [{ userId: bob }] });
    // The preview saved nothing.
    expect(await authorize(ada, "create_dashboards", project.id)).toBe(false);

    const saved = (await api(org).post("/mappings", proposal).expect(201)).body;
    for (const change of preview.body.changes as { userId: string; after: { organizationRole: string; projects: unknown[] } }[]) {
      const access = await accessOf(change.userId);
      expect(access.organizationRole).toBe(change.after.organizationRole);
      expect(access.projects.map((p: { projectId: string; role: string }) => ({ projectId: p.projectId, role: p.role }))).toEqual(change.after.projects.map((p) => ({ projectId: (p as { projectId: string }).projectId, role: (p as { role: string }).role })));
    }
    expect(await authorize(ada, "create_dashboards", project.id)).toBe(true);
    expect(await authorize(bob, "create_reports")).toBe(true);
    expect(await authorize(dee, "create_reports")).toBe(false);
    // The events written on saving are the preview's changes.
    const events = await accessEvents(org);
    const fromSave = events.filter((e) => e.cause?.target.id === saved.id);
    expect(fromSave.map((e) => e.target.id).sort()).toEqual([ada, bob, cyd].sort());

    // An edit and a deletion, previewed and then saved.
    const editPreview = await api(org).post("/mappings/preview", { change: "edit", mappingId: saved.id, mapping: { organizationRole: "admin" } }).expect(200);
    // cyd holds admin (Admins) and user (Ops) now; after the edit, admin alone: a change of roles held.
    expect(editPreview.body.changes.map((c: { userId: string }) => c.userId).sort()).toEqual([ada, bob, cyd].sort());
    expect(editPreview.body.changes[0].after.organizationRole).toBe("admin");
    expect(editPreview.body.changes[2]).toMatchObject({ userId: cyd, before: { organizationRoles: ["admin", "user"] }, after: { organizationRoles: ["admin"] }, lost: { organizationRoles: ["user"] } });
    await api(org).patch(`/mappings/${saved.id}`, { organizationRole: "admin" }).expect(200);
    expect(await authorize(ada, "add_users")).toBe(true);
    expect(await authorize(bob, "add_users")).toBe(true);

    const deletePreview = await api(org).post("/mappings/preview", { change: "delete", mappingId: saved.id }).expect(200);
    expect(deletePreview.body.totalResults).toBe(3);
    expect(deletePreview.body.changes.find((c: { userId: string }) => c.userId === ada).after.organizationRole).toBe("read_only");
    expect(deletePreview.body.changes.find((c: { userId: string }) => c.userId === cyd)).toMatchObject({ after: { organizationRole: "admin", projects: [] }, lost: { organizationRoles: [], projects: [{ projectId: project.id, role: "editor" }] } });
  });

  it("validates the proposal as saving would", async () => {
    const org = await organization("previewerrors");
    expect((await api(org).post("/mappings/preview", { change: "create", mapping: { match: { kind: "group_id", value: "g" } } }).expect(400)).body.error.code).toBe("invalid");
    expect((await api(org).post("/mappings/preview", { change: "delete", mappingId: "nope" }).expect(404)).body.error.code).toBe("not_found");
    expect((await api(org).post("/mappings/preview", { change: "rename" }).expect(400)).body.error.code).toBe("invalid_request");
    expect((await api(org).post("/mappings/preview?count=5000", { change: "delete", mappingId: "x" }).expect(400)).body.error.code).toBe("invalid_request");
  });
});

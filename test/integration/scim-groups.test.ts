import { buildUser, errorSchema, patchSchema, scimClient, startTestApp, type TestApp } from "../support/app";

const groupSchema = "urn:ietf:params:scim:schemas:core:2.0:Group";

let t: TestApp;
let org: { id: string; token: string; tokenId: string };
let scim: ReturnType<typeof scimClient>;

beforeAll(async () => {
  t = await startTestApp();
  org = await t.organization("Groups Inc");
  scim = scimClient(t.app, org.token);
});
afterAll(() => t.close());

async function user(userName: string, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await scim.post("/Users", buildUser({ userName, ...extra })).expect(201);
  return res.body.id;
}

async function group(displayName: string, members: string[] = [], extra: Record<string, unknown> = {}) {
  const res = await scim.post("/Groups", { schemas: [groupSchema], displayName, members: members.map((value) => ({ value })), ...extra });
  expect(res.status).toBe(201);
  return res.body;
}

async function memberIds(groupId: string): Promise<string[]> {
  const res = await scim.get(`/Groups/${groupId}`).expect(200);
  return (res.body.members ?? []).map((m: { value: string }) => m.value).sort();
}

const patch = (groupId: string, Operations: unknown[]) => scim.patch(`/Groups/${groupId}`, { schemas: [patchSchema], Operations });

describe("groups (RFC 7643 §4.2)", () => {
  it("creates a group with members that carry value, display, absolute $ref and type", async () => {
    const ada = await user("ada.g@example.com", { displayName: "Ada G" });
    const created = await group("Engineering", [ada], { externalId: "eng-1" });
    expect(created).toMatchObject({
      schemas: [groupSchema],
      displayName: "Engineering",
      externalId: "eng-1",
      members: [{ value: ada, display: "Ada G", $ref: `https://gatehouse.test/scim/v2/Users/${ada}`, type: "User" }],
      meta: { resourceType: "Group", version: 'W/"1"', location: `https://gatehouse.test/scim/v2/Groups/${created.id}` },
    });
    const read = await scim.get(`/Groups/${created.id}`).expect(200);
    expect(read.headers.etag).toBe('W/"1"');
    expect(read.body.members).toHaveLength(1);
  });

  it("answers 409 uniqueness for a displayName that differs only in case", async () => {
    await group("Finance");
    const res = await scim.post("/Groups", { schemas: [groupSchema], displayName: "FINANCE" });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ schemas: [errorSchema], status: "409", scimType: "uniqueness" });
    const renamed = await group("Finance 2");
    await patch(renamed.id, [{ op: "replace", path: "displayName", value: "finance" }]).expect(409);
    expect((await scim.get(`/Groups/${renamed.id}`).expect(200)).body.displayName).toBe("Finance 2");
  });

  it("leaves members out for excludedAttributes=members and for attributes without members", async () => {
    const u = await user("excluded@example.com");
    const g = await group("Excluded", [u]);
    const excluded = await scim.get(`/Groups/${g.id}?excludedAttributes=members`).expect(200);
    expect(excluded.body.members).toBeUndefined();
    expect(excluded.body.displayName).toBe("Excluded");
    const only = await scim.get(`/Groups?filter=${encodeURIComponent('displayName eq "excluded"')}&attributes=displayName`).expect(200);
    expect(only.body.totalResults).toBe(1);
    expect(only.body.Resources[0].members).toBeUndefined();
    expect(only.body.Resources[0].id).toBe(g.id);
  });

  it("filters by displayName, externalId and members[value eq]", async () => {
    const u = await user("filtered@example.com");
    const g = await group("Filtered", [u], { externalId: "filtered-ext" });
    await group("Unrelated");
    const byName = await scim.get(`/Groups?filter=${encodeURIComponent('displayName eq "FILTERED"')}`).expect(200);
    expect(byName.body.Resources.map((r: { id: string }) => r.id)).toEqual([g.id]);
    const byExternalId = await scim.get(`/Groups?filter=${encodeURIComponent('externalId eq "filtered-ext"')}`).expect(200);
    expect(byExternalId.body.totalResults).toBe(1);
    const byMember = await scim.get(`/Groups?filter=${encodeURIComponent(`members[value eq "${u}"]`)}`).expect(200);
    expect(byMember.body.Resources.map((r: { id: string }) => r.id)).toEqual([g.id]);
    const bad = await scim.get(`/Groups?filter=${encodeURIComponent('members[display co "x"]')}`);
    expect(bad.status).toBe(400);
    expect(bad.body.scimType).toBe("invalidFilter");
  });

  it("orders a direct lookup by sortBy, as a query would be ordered (RFC 7644 §3.4.2.3)", async () => {
    const alpha = await group("Sort Alpha", [], { externalId: "shared-sort-ext" });
    const beta = await group("Sort Beta", [], { externalId: "shared-sort-ext" });
    const filter = encodeURIComponent('externalId eq "shared-sort-ext"');
    const descending = await scim.get(`/Groups?filter=${filter}&sortBy=displayName&sortOrder=descending`).expect(200);
    expect(descending.body.Resources.map((r: { id: string }) => r.id)).toEqual([beta.id, alpha.id]);
    const ascending = await scim.get(`/Groups?filter=${filter}&sortBy=displayName&sortOrder=ascending`).expect(200);
    expect(ascending.body.Resources.map((r: { id: string }) => r.id)).toEqual([alpha.id, beta.id]);
  });

  it("shows a user's groups as read-only direct memberships", async () => {
    const u = await user("member.of@example.com");
    const g = await group("Shown", [u]);
    const res = await scim.get(`/Users/${u}`).expect(200);
    expect(res.body.groups).toEqual([{ value: g.id, display: "Shown", $ref: `https://gatehouse.test/scim/v2/Groups/${g.id}`, type: "direct" }]);
    // groups is read-only: a PUT carrying other groups changes nothing about memberships.
    await scim.put(`/Users/${u}`, buildUser({ userName: "member.of@example.com", groups: [] })).expect(200);
    expect(await memberIds(g.id)).toEqual([u]);
  });
});

describe("membership changes by delta (RFC 7644 §3.5.2)", () => {
  it("adds (Okta and Entra shapes) and answers 204", async () => {
    const [a, b] = [await user("add.a@example.com"), await user("add.b@example.com")];
    const g = await group("Adders");
    await patch(g.id, [{ op: "add", path: "members", value: [{ value: a, display: "add.a@example.com" }] }]).expect(204);
    await patch(g.id, [{ op: "Add", path: "members", value: [{ $ref: null, value: b }] }]).expect(204);
    expect(await memberIds(g.id)).toEqual([a, b].sort());
    // Adding an existing member again is harmless.
    await patch(g.id, [{ op: "add", path: "members", value: [{ value: a }] }]).expect(204);
    expect(await memberIds(g.id)).toEqual([a, b].sort());
  });

  it("removes by Okta's members[value eq] path, by Entra's value array, and all members without a value", async () => {
    const [a, b, c] = [await user("rm.a@example.com"), await user("rm.b@example.com"), await user("rm.c@example.com")];
    const g = await group("Removers", [a, b, c]);
    await patch(g.id, [{ op: "remove", path: `members[value eq "${a}"]` }]).expect(204);
    expect(await memberIds(g.id)).toEqual([b, c].sort());
    await patch(g.id, [{ op: "Remove", path: "members", value: [{ $ref: null, value: b }] }]).expect(204);
    expect(await memberIds(g.id)).toEqual([c]);
    await patch(g.id, [{ op: "remove", path: "members" }]).expect(204);
    expect(await memberIds(g.id)).toEqual([]);
  });

  it("renames with Okta's path-less replace and Entra's displayName path, keeping members", async () => {
    const a = await user("rename@example.com");
    const g = await group("Before", [a]);
    await patch(g.id, [{ op: "replace", value: { id: g.id, displayName: "After" } }]).expect(204);
    await patch(g.id, [{ op: "Replace", path: "displayName", value: "After (EU)" }]).expect(204);
    const res = await scim.get(`/Groups/${g.id}`).expect(200);
    expect(res.body.displayName).toBe("After (EU)");
    expect(res.body.members.map((m: { value: string }) => m.value)).toEqual([a]);
    await group("Before");
  });

  it("answers 200 with the group when attributes are requested", async () => {
    const a = await user("attrs@example.com");
    const g = await group("With Body");
    const res = await scim.patch(`/Groups/${g.id}?attributes=displayName,members`, { schemas: [patchSchema], Operations: [{ op: "add", path: "members", value: [{ value: a }] }] }).expect(200);
    expect(res.body.members.map((m: { value: string }) => m.value)).toEqual([a]);
    expect(res.body.meta).toBeUndefined();
    expect(res.headers.etag).toBe('W/"2"');
  });

  it("answers 200 with the group but without members when excludedAttributes is given", async () => {
    const a = await user("excluded.member@example.com");
    const g = await group("Excluding", [a]);
    const op = (value: string) => ({ schemas: [patchSchema], Operations: [{ op: "replace", path: "displayName", value }] });
    const withoutMembers = await scim.patch(`/Groups/${g.id}?excludedAttributes=members`, op("Excluding 2")).expect(200);
    expect(withoutMembers.body).toMatchObject({ id: g.id, displayName: "Excluding 2", meta: { version: 'W/"2"' } });
    expect(withoutMembers.body.members).toBeUndefined();
    // Members come only when attributes names them, even when another attribute is excluded.
    const otherExcluded = await scim.patch(`/Groups/${g.id}?excludedAttributes=externalId`, op("Excluding 3")).expect(200);
    expect(otherExcluded.body.displayName).toBe("Excluding 3");
    expect(otherExcluded.body.members).toBeUndefined();
    const named = await scim.patch(`/Groups/${g.id}?attributes=members`, op("Excluding 4")).expect(200);
    expect(named.body.members.map((m: { value: string }) => m.value)).toEqual([a]);
    expect(named.body.displayName).toBeUndefined();
    const plain = await scim.patch(`/Groups/${g.id}`, op("Excluding 5")).expect(204);
    expect(plain.text).toBe("");
    expect((await scim.get(`/Groups/${g.id}`).expect(200)).body).toMatchObject({ displayName: "Excluding 5", members: [{ value: a }] });
  });

  it("validates every operation before writing: an unknown member fails the whole PATCH", async () => {
    const a = await user("valid@example.com");
    const g = await group("Atomic");
    const res = await patch(g.id, [
      { op: "add", path: "members", value: [{ value: a }] },
      { op: "replace", path: "displayName", value: "Atomic renamed" },
      { op: "add", path: "members", value: [{ value: "00000000-0000-4000-8000-000000000000" }] },
    ]);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ schemas: [errorSchema], scimType: "invalidValue" });
    const after = await scim.get(`/Groups/${g.id}`).expect(200);
    expect(after.body.displayName).toBe("Atomic");
    expect(after.body.members).toBeUndefined();
    expect(after.body.meta.version).toBe('W/"1"');
  });

  it("refuses nested groups and users of another organization", async () => {
    const g = await group("Parent");
    const child = await group("Child");
    await patch(g.id, [{ op: "add", path: "members", value: [{ value: child.id, type: "Group" }] }]).expect(400);
    await patch(g.id, [{ op: "add", path: "members", value: [{ value: child.id }] }]).expect(400);
    const other = await t.organization("Elsewhere");
    const stranger = (await scimClient(t.app, other.token).post("/Users", buildUser({ userName: "stranger@example.com" })).expect(201)).body.id;
    const res = await patch(g.id, [{ op: "add", path: "members", value: [{ value: stranger }] }]);
    expect(res.status).toBe(400);
    expect(res.body.scimType).toBe("invalidValue");
    expect(await memberIds(g.id)).toEqual([]);
  });

  it("applies a whole-group PUT as a difference: members kept throughout are neither removed nor re-added", async () => {
    const [keep, drop, join] = [await user("keep@example.com"), await user("drop@example.com"), await user("join@example.com")];
    const g = await group("Replaced", [keep, drop]);
    const res = await scim.put(`/Groups/${g.id}`, { schemas: [groupSchema], id: g.id, displayName: "Replaced", members: [{ value: keep }, { value: join }] }).expect(200);
    expect(res.body.members.map((m: { value: string }) => m.value).sort()).toEqual([keep, join].sort());
    const [event] = await t.db.models.AuditEvent.find({ "target.id": g.id, action: "group.members_changed" }).lean();
    expect(event.after).toEqual({ added: [join], removed: [drop] });
    const kept = await t.db.models.User.findById(keep).lean();
    expect(kept!.groups).toEqual([g.id]);
  });

  it("replaces members with a path-less replace carrying members", async () => {
    const [a, b] = [await user("pl.a@example.com"), await user("pl.b@example.com")];
    const g = await group("Pathless", [a]);
    await patch(g.id, [{ op: "replace", value: { displayName: "Pathless", members: [{ value: b }] } }]).expect(204);
    expect(await memberIds(g.id)).toEqual([b]);
  });

  it("answers 412 to a stale If-Match and bumps the version on member changes", async () => {
    const a = await user("etag.member@example.com");
    const g = await group("Versioned");
    await patch(g.id, [{ op: "add", path: "members", value: [{ value: a }] }]).expect(204);
    expect((await scim.get(`/Groups/${g.id}`).expect(200)).headers.etag).toBe('W/"2"');
    await patch(g.id, [{ op: "remove", path: "members" }]).set("If-Match", 'W/"1"').expect(412);
    expect(await memberIds(g.id)).toEqual([a]);
  });

  it("refuses paths it cannot change", async () => {
    const g = await group("Strict");
    const res = await patch(g.id, [{ op: "replace", path: "nonsense", value: 1 }]);
    expect(res.status).toBe(400);
    expect(res.body.scimType).toBe("invalidPath");
    await patch(g.id, [{ op: "remove", path: "displayName" }]).expect(400);
  });
});

describe("deleting", () => {
  it("deletes a group at once and sweeps its memberships afterwards, repeatably", async () => {
    const a = await user("swept@example.com");
    const g = await group("Doomed", [a]);
    await scim.delete(`/Groups/${g.id}`).expect(204);
    await scim.get(`/Groups/${g.id}`).expect(404);
    const shown = await scim.get(`/Users/${a}`).expect(200);
    expect(shown.body.groups).toBeUndefined();
    await t.services.groups.sweep();
    await t.services.groups.sweep();
    expect((await t.db.models.User.findById(a).lean())!.groups).toEqual([]);
    expect(await t.db.models.GroupSweep.countDocuments()).toBe(0);
    await group("Doomed");
  });

  it("removes a deleted user's memberships", async () => {
    const [a, b] = [await user("leaver@example.com"), await user("stayer@example.com")];
    const g = await group("Leavers", [a, b]);
    await scim.delete(`/Users/${a}`).expect(204);
    expect(await memberIds(g.id)).toEqual([b]);
  });

  it("hides groups from other organizations", async () => {
    const g = await group("Private group");
    const other = scimClient(t.app, (await t.organization("Nosy")).token);
    await other.get(`/Groups/${g.id}`).expect(404);
    await other.patch(`/Groups/${g.id}`, { schemas: [patchSchema], Operations: [{ op: "replace", path: "displayName", value: "x" }] }).expect(404);
    await other.delete(`/Groups/${g.id}`).expect(404);
    expect((await other.get(`/Groups?filter=${encodeURIComponent('displayName eq "Private group"')}`).expect(200)).body.totalResults).toBe(0);
  });
});

describe("audit", () => {
  it("records group creation, renames, member changes and deletion", async () => {
    const a = await user("audited.member@example.com");
    const g = await group("Audited");
    await patch(g.id, [{ op: "add", path: "members", value: [{ value: a }] }]).expect(204);
    await patch(g.id, [{ op: "replace", path: "displayName", value: "Audited 2" }]).expect(204);
    await scim.delete(`/Groups/${g.id}`).expect(204);
    const events = await t.db.models.AuditEvent.find({ "target.id": g.id }).sort({ at: 1 }).lean();
    expect(events.map((e) => e.action)).toEqual(["group.created", "group.members_changed", "group.updated", "group.deleted"]);
    expect(events[1].after).toEqual({ added: [a], removed: [] });
    expect(events[2]).toMatchObject({ before: { displayName: "Audited" }, after: { displayName: "Audited 2" }, source: "scim" });
  });
});

describe("retries after a crash", () => {
  it("completes a PATCH that a dead process applied halfway when the identity provider retries it", async () => {
    const [a, b, c] = [await user("retry.a@example.com"), await user("retry.b@example.com"), await user("retry.c@example.com")];
    const g = await group("Retried");
    // The process died after writing a's membership, before b, c and the group's version.
    await t.db.models.User.updateOne({ _id: a }, { $addToSet: { groups: g.id } });
    const body = [{ op: "add", path: "members", value: [{ value: a }, { value: b }, { value: c }] }];
    await patch(g.id, body).expect(204);
    expect(await memberIds(g.id)).toEqual([a, b, c].sort());
    // A second retry of the same request changes nothing more.
    await patch(g.id, body).expect(204);
    expect(await memberIds(g.id)).toEqual([a, b, c].sort());
    for (const id of [a, b, c]) expect((await t.db.models.User.findById(id).lean())!.groups).toEqual([g.id]);
  });
});

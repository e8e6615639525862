import request from "supertest";
import { runCommand } from "../../src/cli/commands";
import { profileOf } from "../../src/domain/user";
import { buildUser, operator, patchSchema, scimClient, startTestApp, type TestApp } from "../support/app";

/**
 * Where the organization requires a mapped group for access, the identity provider removing a
 * user from their last mapped group is a deprovisioning: every way in ends before the SCIM answer,
 * and regaining the group does not revive it (issue 5, item 4).
 */

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

test("removal from the last mapped group ends the user's tokens and sessions at once; re-adding does not revive them", async () => {
  const org = await t.organization("Mapped Co");
  const ctx = { ...operator, organizationId: org.id };
  const scim = scimClient(t.app, org.token);
  const userId = (await scim.post("/Users", buildUser({ userName: "mapped@example.com" })).expect(201)).body.id as string;
  const groupId = (await scim.post("/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "Analysts", members: [{ value: userId }] }).expect(201)).body.id as string;
  await t.services.access.addMapping(ctx, { match: { kind: "group_id", value: groupId }, organizationRole: "user" });
  await t.services.access.setSettings(ctx, { requireMappingForAccess: true });

  const token = JSON.parse((await runCommand(t.services, ["user-token", "create", "--org", org.id, "--email", "mapped@example.com", "--json"])).stdout[0]!).token as string;
  const epochBefore = (await t.services.users.get(ctx, userId)).sessionEpoch ?? 0;
  await request(t.app).get(`/api/v1/users/${userId}/access`).set("Authorization", `Bearer ${token}`).expect(200);

  await scim.patch(`/Groups/${groupId}`, { schemas: [patchSchema], Operations: [{ op: "remove", path: `members[value eq "${userId}"]` }] }).expect(204);

  const refused = await request(t.app).get(`/api/v1/users/${userId}/access`).set("Authorization", `Bearer ${token}`).expect(401);
  expect(refused.body.error.message).toMatch(/revoked/);
  expect((await t.services.users.get(ctx, userId)).sessionEpoch).toBe(epochBefore + 1);
  const actions = (await t.db.models.AuditEvent.find({ "target.id": userId }).sort({ at: 1 }).lean()).map((e) => e.action);
  expect(actions).toEqual(expect.arrayContaining(["user.sessions_ended", "user.access_revoked"]));
  const [revoked] = await t.db.models.AuditEvent.find({ "target.id": userId, action: "user.access_revoked" }).lean();
  expect(revoked?.after).toMatchObject({ why: "unmapped", personalTokens: [expect.any(String)] });

  // Back in the group: access again, but the old token stays dead.
  await scim.patch(`/Groups/${groupId}`, { schemas: [patchSchema], Operations: [{ op: "add", path: "members", value: [{ value: userId }] }] }).expect(204);
  expect((await t.services.access.accessOf(ctx, userId)).organizationRole).toBe("user");
  await request(t.app).get(`/api/v1/users/${userId}/access`).set("Authorization", `Bearer ${token}`).expect(401);
});

test("deleting the last mapped group of its members ends their tokens too, where a mapping is required", async () => {
  const org = await t.organization("Deleted Group Co");
  const ctx = { ...operator, organizationId: org.id };
  const scim = scimClient(t.app, org.token);
  const userId = (await scim.post("/Users", buildUser({ userName: "orphan@example.com" })).expect(201)).body.id as string;
  const groupId = (await scim.post("/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "Doomed Team", members: [{ value: userId }] }).expect(201)).body.id as string;
  await t.services.access.addMapping(ctx, { match: { kind: "group_id", value: groupId }, organizationRole: "user" });
  await t.services.access.setSettings(ctx, { requireMappingForAccess: true });
  const token = JSON.parse((await runCommand(t.services, ["user-token", "create", "--org", org.id, "--email", "orphan@example.com", "--json"])).stdout[0]!).token as string;
  await request(t.app).get(`/api/v1/users/${userId}/access`).set("Authorization", `Bearer ${token}`).expect(200);

  await scim.delete(`/Groups/${groupId}`).expect(204);
  await request(t.app).get(`/api/v1/users/${userId}/access`).set("Authorization", `Bearer ${token}`).expect(401);
  expect(await t.db.models.AuditEvent.countDocuments({ "target.id": userId, action: "user.sessions_ended" })).toBe(1);
});

test("without the requirement, leaving a group changes access but ends nothing", async () => {
  const org = await t.organization("Open Co");
  const ctx = { ...operator, organizationId: org.id };
  const scim = scimClient(t.app, org.token);
  const userId = (await scim.post("/Users", buildUser({ userName: "open@example.com" })).expect(201)).body.id as string;
  const groupId = (await scim.post("/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "Editors", members: [{ value: userId }] }).expect(201)).body.id as string;
  await t.services.access.addMapping(ctx, { match: { kind: "group_id", value: groupId }, organizationRole: "user" });
  const token = JSON.parse((await runCommand(t.services, ["user-token", "create", "--org", org.id, "--email", "open@example.com", "--json"])).stdout[0]!).token as string;

  await scim.patch(`/Groups/${groupId}`, { schemas: [patchSchema], Operations: [{ op: "remove", path: `members[value eq "${userId}"]` }] }).expect(204);
  const access = await request(t.app).get(`/api/v1/users/${userId}/access`).set("Authorization", `Bearer ${token}`).expect(200);
  expect(access.body.organizationRole).toBe("read_only");
  expect(await t.db.models.AuditEvent.countDocuments({ "target.id": userId, action: "user.sessions_ended" })).toBe(0);
});

test("a write from a stale read of the user never lowers the session epoch (sessions stay dead)", async () => {
  const org = await t.organization("Race Co");
  const ctx = { ...operator, organizationId: org.id };
  const scim = scimClient(t.app, org.token);
  const userId = (await scim.post("/Users", buildUser({ userName: "racer@example.com" })).expect(201)).body.id as string;
  const stale = await t.services.users.get(ctx, userId);

  await scim.patch(`/Users/${userId}`, { schemas: [patchSchema], Operations: [{ op: "replace", path: "active", value: false }] }).expect(200);
  expect((await t.services.users.get(ctx, userId)).sessionEpoch).toBe(1);

  // What a concurrent request that read the user before the deactivation would write back.
  const store = (t.services.users as unknown as { store: import("../../src/storage/users").UserStore }).store;
  // It is refused: the write is conditioned on the version it was computed from.
  expect(await store.replace(stale, { ...stale, displayName: "Stale Write", version: stale.version + 1 }, [t.services.audit.event(ctx, { action: "user.updated", target: { type: "user", id: userId } })])).toBe(false);
  await store.recordSignIn(userId, new Date(), undefined, t.services.audit.event(ctx, { action: "user.signed_in", target: { type: "user", id: userId } }));
  const after = await t.services.users.get(ctx, userId);
  expect(after.displayName).not.toBe("Stale Write");
  expect(after.active).toBe(false);
  expect(after.sessionEpoch).toBe(1);
});

test("a profile write from a read taken before a suspension (a racing SCIM PUT) does not lift it, nor drop local access", async () => {
  const org = await t.organization("Overlay Race Co");
  const ctx = { ...operator, organizationId: org.id };
  const scim = scimClient(t.app, org.token);
  const userId = (await scim.post("/Users", buildUser({ userName: "overlay@example.com" })).expect(201)).body.id as string;
  const stale = await t.services.users.get(ctx, userId);

  await t.services.users.setSuspended(ctx, userId, true, "incident 7");
  await t.services.users.setLocalAccess(ctx, userId, { projects: [{ projectId: "p1", role: "viewer" }] });

  const store = (t.services.users as unknown as { store: import("../../src/storage/users").UserStore }).store;
  // Refused as computed from an older version; the PUT's retry reads the suspended user again.
  expect(await store.replace(stale, { ...stale, displayName: "Racing PUT", version: stale.version + 1 }, [t.services.audit.event(ctx, { action: "user.updated", target: { type: "user", id: userId } })])).toBe(false);
  await t.services.users.replace({ ...ctx, source: "scim" }, userId, { ...profileOf(stale), displayName: "Racing PUT" });

  const after = await t.services.users.get(ctx, userId);
  expect(after.displayName).toBe("Racing PUT");
  expect(after.suspended).toBe(true);
  expect(after.localAccess).toEqual({ projects: [{ projectId: "p1", role: "viewer" }] });
  expect((await t.services.access.accessOf(ctx, userId)).organizationRole).toBeUndefined();
});

/**
 * Every way a user loses access runs the one deprovisioning use-case (services/deprovisioning.ts):
 * each path leaves the same trace — the personal token dead at once, the user's sessions ended
 * (their epoch raised) and exactly one `user.access_revoked` event naming why.
 */
describe("every path that takes access runs the same deprovisioning", () => {
  const groupSchema = "urn:ietf:params:scim:schemas:core:2.0:Group";
  const paths: Array<{ why: string; name: string; take: (s: { scim: ReturnType<typeof scimClient>; ctx: typeof operator & { organizationId: string }; userId: string; groupId: string }) => Promise<unknown> }> = [
    { why: "deactivated", name: "SCIM deactivation (PATCH active false)", take: ({ scim, userId }) => scim.patch(`/Users/${userId}`, { schemas: [patchSchema], Operations: [{ op: "replace", path: "active", value: false }] }).expect(200) },
    { why: "deleted", name: "SCIM deletion", take: ({ scim, userId }) => scim.delete(`/Users/${userId}`).expect(204) },
    { why: "suspended", name: "suspension", take: ({ ctx, userId }) => t.services.users.setSuspended(ctx, userId, true, "incident 9") },
    { why: "unmapped", name: "leaving the last mapped group", take: ({ scim, userId, groupId }) => scim.patch(`/Groups/${groupId}`, { schemas: [patchSchema], Operations: [{ op: "remove", path: `members[value eq "${userId}"]` }] }).expect(204) },
    { why: "unmapped", name: "deletion of the last mapped group", take: ({ scim, groupId }) => scim.delete(`/Groups/${groupId}`).expect(204) },
  ];

  it.each(paths)("$name: token dead, sessions ended, one user.access_revoked ($why)", async ({ why, name, take }) => {
    const org = await t.organization(`Paths ${name}`);
    const ctx = { ...operator, organizationId: org.id };
    const scim = scimClient(t.app, org.token);
    const userName = `path-${why}-${org.id.slice(0, 8)}@example.com`;
    const userId = (await scim.post("/Users", buildUser({ userName })).expect(201)).body.id as string;
    const groupId = (await scim.post("/Groups", { schemas: [groupSchema], displayName: "Mapped", members: [{ value: userId }] }).expect(201)).body.id as string;
    await t.services.access.addMapping(ctx, { match: { kind: "group_id", value: groupId }, organizationRole: "user" });
    await t.services.access.setSettings(ctx, { requireMappingForAccess: true });
    const token = JSON.parse((await runCommand(t.services, ["user-token", "create", "--org", org.id, "--email", userName, "--json"])).stdout[0]!).token as string;
    await request(t.app).get(`/api/v1/users/${userId}/access`).set("Authorization", `Bearer ${token}`).expect(200);
    const epochBefore = (await t.services.users.get(ctx, userId)).sessionEpoch ?? 0;

    await take({ scim, ctx, userId, groupId });

    await request(t.app).get(`/api/v1/users/${userId}/access`).set("Authorization", `Bearer ${token}`).expect(401);
    const revoked = await t.db.models.AuditEvent.find({ "target.id": userId, action: "user.access_revoked" }).lean();
    expect(revoked).toHaveLength(1);
    expect(revoked[0]?.after).toEqual({ why, sessions: "all ended", personalTokens: [expect.any(String)] });
    // A deleted user's sessions have no user left to resolve to; every other path raises the epoch.
    const stored = await t.db.models.User.findById(userId).lean();
    if (why === "deleted") expect(stored).toBeNull();
    else expect(stored?.sessionEpoch).toBe(epochBefore + 1);
  });
});

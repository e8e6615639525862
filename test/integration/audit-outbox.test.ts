import request from "supertest";
import { runCommand } from "../../src/cli/commands";
import { createServices, type Services } from "../../src/services";
import type { AuditEventDocument } from "../../src/storage/models";
import { insertIntoTrail, Outbox } from "../../src/storage/outbox";
import { buildUser, patchSchema, scimClient, startTestApp, type TestApp } from "../support/app";

/**
 * No change exists without its audit event, even when the process dies between the change and
 * the event (issue 4; ../shared/MONGODB.md, "Scale without transactions"). A process "dies" here
 * at the exact step under test: an Outbox whose move into the trail (or whose deletion after the
 * tombstone) never happens. A second set of services on the same database plays the restarted
 * instance and runs the recovery that the maintenance timer runs on every instance.
 */

/** An outbox whose process dies right after the write that makes the change. */
class DiesBeforeTheMove extends Outbox {
  dead = true;
  override async append(events: readonly AuditEventDocument[]): Promise<void> {
    if (this.dead) throw new Error("the process died before the event reached the trail");
    return super.append(events);
  }
}

/** An outbox whose process dies right after a deletion's tombstone (and its event) is written. */
class DiesAfterTheTombstone extends Outbox {
  override async tombstone(...args: Parameters<Outbox["tombstone"]>): Promise<boolean> {
    await super.tombstone(...args);
    throw new Error("the process died before the deletion finished");
  }
}

let crashing: TestApp;
let restarted: Services;
let dying: DiesBeforeTheMove;

beforeAll(async () => {
  crashing = await startTestApp({}, { outbox: (db) => (dying = new DiesBeforeTheMove(db.models)) });
  restarted = createServices(crashing.db, { authFailureWindowSeconds: 60, publicBaseUrl: "https://gatehouse.test" });
});
afterAll(async () => {
  await restarted.settle();
  await crashing.close();
});

const trailFor = async (targetId: string) => (await crashing.db.models.AuditEvent.find({ "target.id": targetId }).sort({ at: 1 }).lean()).map((e) => e.action);
const outboxOf = async (model: "User" | "Group" | "Organization" | "ScimToken", id: string) =>
  ((await crashing.db.models[model].collection.findOne({ _id: id } as never)) as { outbox?: AuditEventDocument[] } | null)?.outbox ?? [];

describe("a process that dies between a change and its move into the audit trail", () => {
  test("SCIM provisioning, deactivation and group changes: each change is stored with its event and recovery moves each event exactly once", async () => {
    const org = await crashing.organization("Crash Co");
    const scim = scimClient(crashing.app, org.token);

    const created = await scim.post("/Users", buildUser({ userName: "crash.victim@example.com" })).expect(201);
    const userId = created.body.id as string;
    await scim.patch(`/Users/${userId}`, { schemas: [patchSchema], Operations: [{ op: "replace", path: "active", value: false }] }).expect(200);
    const group = await scim.post("/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "Crash Testers", members: [{ value: userId }] }).expect(201);
    const groupId = group.body.id as string;
    await scim.patch(`/Groups/${groupId}`, { schemas: [patchSchema], Operations: [{ op: "replace", value: { displayName: "Crash Testers 2" } }] }).expect(204);
    await scim.patch(`/Groups/${groupId}`, { schemas: [patchSchema], Operations: [{ op: "remove", path: `members[value eq "${userId}"]` }] }).expect(204);

    // The changes are made, and the trail has not heard of them...
    expect(await trailFor(userId)).toEqual([]);
    expect(await trailFor(groupId)).toEqual([]);
    // ...but each changed document carries the events of its changes (a deactivation that left
    // nothing else to cut carries the summary of what it revoked too).
    expect((await outboxOf("User", userId)).map((e) => e.action)).toEqual(["user.provisioned", "user.deactivated", "user.access_revoked"]);
    expect((await outboxOf("Group", groupId)).map((e) => e.action)).toEqual(["group.created", "group.updated", "group.members_changed"]);
    const carried = await outboxOf("User", userId);
    expect(carried[1]).toMatchObject({ organizationId: org.id, source: "scim", before: expect.objectContaining({ active: true }), after: expect.objectContaining({ active: false }) });

    expect(await restarted.recoverAuditOutbox()).toBeGreaterThanOrEqual(2);
    // The deactivation's effective-access change is derived as its event is moved (services/access-changes.ts).
    expect((await trailFor(userId)).sort()).toEqual(["user.access_changed", "user.access_revoked", "user.deactivated", "user.provisioned"]);
    const [accessChanged] = await crashing.db.models.AuditEvent.find({ "target.id": userId, action: "user.access_changed" }).lean();
    expect(accessChanged).toMatchObject({ before: { organizationRole: "read_only" }, after: { organizationRole: null, denial: "user is deactivated" }, cause: { action: "user.deactivated", eventId: carried[1]!._id } });
    expect(await trailFor(groupId)).toEqual(["group.created", "group.updated", "group.members_changed"]);
    // The moved events are the carried ones (same ids), and the documents no longer carry them.
    const moved = await crashing.db.models.AuditEvent.find({ "target.id": userId, action: { $ne: "user.access_changed" } }).lean();
    expect(moved.map((e) => e._id).sort()).toEqual(carried.map((e) => e._id).sort());
    expect(await outboxOf("User", userId)).toEqual([]);
    expect(await outboxOf("Group", groupId)).toEqual([]);

    // Recovery is idempotent: running it again (or on another instance) adds nothing.
    await restarted.recoverAuditOutbox();
    expect((await trailFor(userId)).sort()).toEqual(["user.access_changed", "user.access_revoked", "user.deactivated", "user.provisioned"]);
  });

  test("organization, project and token changes from the CLI and the admin API are recovered the same way", async () => {
    const created = JSON.parse((await runCommand(crashing.services, ["org", "create", "Crash Admin Co", "--owner", "owner@crash.example", "--json"])).stdout[0]!);
    const ownerToken = JSON.parse((await runCommand(crashing.services, ["user-token", "create", "--org", created.id, "--email", "owner@crash.example", "--json"])).stdout[0]!).token;
    const project = await request(crashing.app).post("/api/v1/projects").set("Authorization", `Bearer ${ownerToken}`).send({ name: "Funnels" }).expect(201);
    await request(crashing.app).delete(`/api/v1/scim-tokens/${created.scimTokenId}`).set("Authorization", `Bearer ${ownerToken}`).expect(200);

    expect(await trailFor(created.id)).toEqual([]);
    expect((await outboxOf("Organization", created.id)).map((e) => e.action)).toEqual(["organization.created", "organization.ownership_transferred", "project.created"]);
    await restarted.recoverAuditOutbox();
    expect(await trailFor(created.id)).toEqual(["organization.created", "organization.ownership_transferred"]);
    expect(await trailFor(project.body.id)).toEqual(["project.created"]);
    expect(await trailFor(created.scimTokenId)).toEqual(["scim_token.created", "scim_token.revoked"]);
  });

  test("a crash after the move but before the event left its document does not duplicate it", async () => {
    dying.dead = false;
    try {
      const org = await crashing.organization("Half Crash Co");
      const scim = scimClient(crashing.app, org.token);
      const id = (await scim.post("/Users", buildUser({ userName: "half@example.com" })).expect(201)).body.id as string;
      await crashing.services.settle();
      const [event] = await crashing.db.models.AuditEvent.find({ "target.id": id }).lean();
      // The state that process would have left: the event in the trail and still in the document.
      await crashing.db.models.User.collection.updateOne({ _id: id } as never, { $push: { outbox: event } } as never);

      await restarted.recoverAuditOutbox();
      expect(await trailFor(id)).toEqual(["user.provisioned"]);
      expect(await outboxOf("User", id)).toEqual([]);
    } finally {
      dying.dead = true;
    }
  });
});

describe("a process that dies in the middle of a deletion", () => {
  let t: TestApp;
  let recovery: Services;
  beforeAll(async () => {
    t = await startTestApp({}, { outbox: (db) => new DiesAfterTheTombstone(db.models) });
    recovery = createServices(t.db, { authFailureWindowSeconds: 60, publicBaseUrl: "https://gatehouse.test" });
  });
  afterAll(async () => {
    await recovery.settle();
    await t.close();
  });

  test("a deleted user is gone at once, the event is kept, the userName is free, and recovery finishes the deletion", async () => {
    const org = await t.organization("Delete Crash Co");
    const scim = scimClient(t.app, org.token);
    const id = (await scim.post("/Users", buildUser({ userName: "leaver@example.com", externalId: "ext-leaver" })).expect(201)).body.id as string;

    await scim.delete(`/Users/${id}`).expect(500);

    // The deletion has happened as far as anyone can see, and its event is in the trail.
    await scim.get(`/Users/${id}`).expect(404);
    expect((await scim.get(`/Users?filter=${encodeURIComponent('userName eq "leaver@example.com"')}`).expect(200)).body.totalResults).toBe(0);
    expect((await scim.get(`/Users?filter=${encodeURIComponent('externalId eq "ext-leaver"')}`).expect(200)).body.totalResults).toBe(0);
    expect((await scim.get(`/Users`).expect(200)).body.totalResults).toBe(0);
    expect(await (async () => (await t.db.models.AuditEvent.find({ "target.id": id }).lean()).map((e) => e.action))()).toEqual(["user.provisioned", "user.deleted"]);

    // A new hire with the same userName can be provisioned before recovery runs.
    const rehired = (await scim.post("/Users", buildUser({ userName: "leaver@example.com" })).expect(201)).body.id as string;

    expect(await recovery.recoverAuditOutbox()).toBe(1);
    expect(await t.db.models.User.collection.findOne({ _id: id } as never)).toBeNull();
    expect((await t.db.models.AuditEvent.find({ "target.id": id }).lean()).map((e) => e.action)).toEqual(["user.provisioned", "user.deleted"]);
    // The rehired user keeps the userName: finishing the old deletion released only what was the old user's.
    expect((await scim.get(`/Users?filter=${encodeURIComponent('userName eq "leaver@example.com"')}`).expect(200)).body.Resources.map((u: { id: string }) => u.id)).toEqual([rehired]);
    expect(await recovery.recoverAuditOutbox()).toBe(0);
  });

  test("a deleted group stops granting at once and its memberships are swept once recovery finishes the deletion", async () => {
    const org = await t.organization("Group Crash Co");
    const scim = scimClient(t.app, org.token);
    const userId = (await scim.post("/Users", buildUser({ userName: "member@example.com" })).expect(201)).body.id as string;
    const groupId = (await scim.post("/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "Doomed", members: [{ value: userId }] }).expect(201)).body.id as string;

    await scim.delete(`/Groups/${groupId}`).expect(500);
    await scim.get(`/Groups/${groupId}`).expect(404);
    expect((await scim.get(`/Users/${userId}`).expect(200)).body.groups ?? []).toEqual([]);
    await scim.post("/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "Doomed" }).expect(201);

    await recovery.recoverAuditOutbox();
    await recovery.groups.sweep();
    expect(await t.db.models.Group.collection.findOne({ _id: groupId } as never)).toBeNull();
    expect((await t.db.models.User.collection.findOne({ _id: userId } as never))?.groups ?? []).toEqual([]);
    expect((await t.db.models.AuditEvent.find({ "target.id": groupId }).lean()).map((e) => e.action)).toEqual(["group.created", "group.deleted"]);
  });
});

describe("in normal operation", () => {
  test("each event reaches the trail before the answer and leaves no document carrying it", async () => {
    const t = await startTestApp();
    try {
      const org = await t.organization("Calm Co");
      const scim = scimClient(t.app, org.token);
      const id = (await scim.post("/Users", buildUser({ userName: "calm@example.com" })).expect(201)).body.id as string;
      expect((await t.db.models.AuditEvent.find({ "target.id": id }).lean()).map((e) => e.action)).toEqual(["user.provisioned"]);
      await scim.patch(`/Users/${id}`, { schemas: [patchSchema], Operations: [{ op: "replace", path: "displayName", value: "Calm" }] }).expect(200);
      await scim.post("/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "Calm Group", members: [{ value: id }] }).expect(201);
      await scim.delete(`/Users/${id}`).expect(204);
      await t.services.settle();
      for (const model of [t.db.models.User, t.db.models.Group, t.db.models.Organization, t.db.models.ScimToken]) {
        expect(await model.collection.countDocuments({ "outbox._id": { $exists: true } })).toBe(0);
      }
      expect(await t.services.recoverAuditOutbox()).toBe(0);
      expect((await t.db.models.AuditEvent.find({ "target.id": id }).lean()).map((e) => e.action).sort()).toEqual(["user.access_revoked", "user.deleted", "user.provisioned", "user.updated"]);
    } finally {
      await t.close();
    }
  });
});

describe("moving events into the trail", () => {
  test("events handed in while an insert is under way go together in the next one; an event already there is left as it is", async () => {
    const organizationId = `trail-${Date.now()}`;
    const event = (id: string) => ({ _id: `${organizationId}-${id}`, organizationId, at: new Date(), actor: { type: "operator", id: "t", name: "t" }, source: "cli", action: "user.updated", target: { type: "user", id }, requestId: "r" }) as unknown as AuditEventDocument;
    const trail = crashing.db.models.AuditEvent.collection;
    const insertMany = trail.insertMany.bind(trail);
    const inserted: number[] = [];
    trail.insertMany = ((documents: Parameters<typeof insertMany>[0], options: Parameters<typeof insertMany>[1]) => {
      inserted.push(documents.length);
      return insertMany(documents, options);
    }) as typeof trail.insertMany;
    try {
      await insertIntoTrail(crashing.db.models, [event("a0")]);
      // Sixteen requests at once (one of them moving an event already there, as recovery may).
      await Promise.all(Array.from({ length: 16 }, (_, i) => insertIntoTrail(crashing.db.models, i === 5 ? [event("a0"), event(`b${i}`)] : [event(`b${i}`)])));
    } finally {
      trail.insertMany = insertMany;
    }
    expect(inserted).toEqual([1, 1, 16]);
    const stored = await crashing.db.models.AuditEvent.find({ organizationId }).lean();
    expect(stored.map((e) => e.target.id).sort()).toEqual(["a0", ...Array.from({ length: 16 }, (_, i) => `b${i}`)].sort());
  });
});

import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import request from "supertest";
import { runCommand } from "../../src/cli/commands";
import { createServices } from "../../src/services";
import { FileChangeJournal } from "../../src/storage/change-journal";
import type { AuditEventDocument } from "../../src/storage/models";
import { Outbox } from "../../src/storage/outbox";
import { trailSettled } from "../../src/storage/trail-moves";
import { buildUser, patchSchema, scimClient, secondInstance, startTestApp, type TestApp } from "../support/app";

/**
 * On the embedded database the one server answers a change once the change and its events are in
 * the changed document, and moves the events into the trail after the answer (storage/trail-moves.ts).
 * What an administrator, a webhook receiver or an auditor observes must be what they observed when
 * the request waited for the move: these tests hold the move back and read through every door.
 */

const journal = () => ({ journal: FileChangeJournal.startFresh(path.join(mkdtempSync(path.join(os.tmpdir(), "gatehouse-journal-")), "change-journal.ndjson")) });
const oneServer = () => ({ resident: journal(), residentDirectory: true, residentAuditIndex: true });

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({}, oneServer());
});
afterAll(() => t.close());

const cli = async (services: TestApp["services"], ...argv: string[]) => JSON.parse((await runCommand(services, argv)).stdout[0]!);
const api = (app: TestApp["app"], token: string) => ({ get: (p: string) => request(app).get(`/api/v1${p}`).set("Authorization", `Bearer ${token}`) });
const deactivation = { schemas: [patchSchema], Operations: [{ op: "replace", path: "active", value: false }] };

/** Holds every move into the trail (its first insert) until the returned function is called. */
function holdTheTrail(app: TestApp): () => void {
  const collection = app.db.models.DirectoryEvent.collection;
  const insertMany = collection.insertMany;
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  collection.insertMany = (async (...args: Parameters<typeof insertMany>) => {
    await held;
    return insertMany.apply(collection, args);
  }) as typeof insertMany;
  return () => {
    release();
    collection.insertMany = insertMany;
  };
}

/** Whether `promise` is still pending after a short while. */
async function stillPending(promise: Promise<unknown>, ms = 150): Promise<boolean> {
  return Promise.race([promise.then(() => false), new Promise<boolean>((resolve) => setTimeout(() => resolve(true), ms))]);
}

async function organization(app: TestApp = t) {
  const org = await cli(app.services, "org", "create", `Leavers ${Math.random().toString(36).slice(2, 8)}`, "--owner", "owner@example.com", "--json");
  const scim = (await cli(app.services, "token", "create", "--org", org.id, "--json")).token as string;
  const owner = (await cli(app.services, "user-token", "create", "--org", org.id, "--email", "owner@example.com", "--json")).token as string;
  const events = (await cli(app.services, "service-token", "create", "--org", org.id, "--scope", "events:read", "--json")).token as string;
  return { id: org.id as string, scim, owner, events };
}

describe("a deactivation answered before its move into the trail", () => {
  test("the audit log and the event feed read right after the 200 wait for the move and show the deactivation", async () => {
    const org = await organization();
    const userId = (await scimClient(t.app, org.scim).post("/Users", buildUser({ userName: "leaver@example.com" })).expect(201)).body.id as string;
    await t.services.settle();

    const release = holdTheTrail(t);
    let audit: Promise<request.Response>;
    let feed: Promise<request.Response>;
    try {
      await scimClient(t.app, org.scim).patch(`/Users/${userId}`, deactivation).expect(200);
      audit = api(t.app, org.owner).get(`/audit?target=${userId}`).then((r) => r);
      feed = api(t.app, org.events).get("/events?limit=100").then((r) => r);
      // The move is held: both readers wait at the barrier rather than answer without the change.
      expect(await stillPending(audit)).toBe(true);
      expect(await stillPending(feed)).toBe(true);
    } finally {
      release();
    }
    const auditPage = (await audit).body as { events: { action: string }[] };
    expect(auditPage.events.map((e) => e.action).sort()).toEqual(["user.access_changed", "user.access_revoked", "user.deactivated", "user.provisioned"]);
    const feedPage = (await feed).body as { events: { type: string; data: { id: string } }[] };
    expect(feedPage.events.filter((e) => e.data.id === userId).map((e) => e.type)).toEqual(["member.provisioned", "member.deactivated", "member.access_changed", "session.revoked"]);
  });

  test("consecutive changes of one member are published in the order they were answered", async () => {
    const org = await organization();
    const scim = scimClient(t.app, org.scim);
    const userId = (await scim.post("/Users", buildUser({ userName: "back.and.forth@example.com" })).expect(201)).body.id as string;
    for (const active of [false, true, false]) await scim.patch(`/Users/${userId}`, { schemas: [patchSchema], Operations: [{ op: "replace", path: "active", value: active }] }).expect(200);
    const feed = (await api(t.app, org.events).get("/events?limit=100").expect(200)).body as { events: { type: string; data: { id: string } }[] };
    expect(feed.events.filter((e) => e.data.id === userId && /deactivated|reactivated|provisioned/.test(e.type)).map((e) => e.type)).toEqual([
      "member.provisioned",
      "member.deactivated",
      "member.reactivated",
      "member.deactivated",
    ]);
  });

  test("a member holding a personal token: the summary naming the revoked token, recorded after the write, follows the deactivation", async () => {
    const org = await organization();
    const scim = scimClient(t.app, org.scim);
    const userId = (await scim.post("/Users", buildUser({ userName: "token.holder@example.com" })).expect(201)).body.id as string;
    await cli(t.services, "user-token", "create", "--org", org.id, "--email", "token.holder@example.com", "--json");
    const [token] = await t.services.scimTokens.personalTokensOf({ organizationId: org.id }, userId);
    await scim.patch(`/Users/${userId}`, deactivation).expect(200);
    const events = ((await api(t.app, org.owner).get(`/audit?target=${userId}`).expect(200)).body as { events: { id: string; action: string; after?: { personalTokens?: string[] } }[] }).events;
    const revoked = events.filter((e) => e.action === "user.access_revoked");
    expect(revoked.map((e) => e.after?.personalTokens)).toEqual([[token!.id]]);
    const feed = (await api(t.app, org.events).get("/events?limit=100").expect(200)).body as { events: { type: string; data: { id: string; auditAction?: string } }[] };
    const actions = feed.events.filter((e) => e.data.id === userId).map((e) => e.data.auditAction);
    expect(actions.indexOf("user.deactivated")).toBeGreaterThanOrEqual(0);
    if (actions.includes("user.access_revoked")) expect(actions.indexOf("user.access_revoked")).toBeGreaterThan(actions.indexOf("user.deactivated"));
  });
});

describe("changes answered in quick succession move into the trail together", () => {
  /** Counts the inserts into directory_events from now on. */
  function countInserts(app: TestApp): { count: () => number; stop: () => void } {
    const collection = app.db.models.DirectoryEvent.collection;
    const insertMany = collection.insertMany;
    let count = 0;
    collection.insertMany = ((...args: Parameters<typeof insertMany>) => {
      count++;
      return insertMany.apply(collection, args);
    }) as typeof insertMany;
    return { count: () => count, stop: () => (collection.insertMany = insertMany) };
  }

  test("three deactivations answered one after another: one insert for all of them, and a reader of the trail does not wait for the linger", async () => {
    // A linger of a minute: only the reader can start the batch, so the test sees exactly that.
    const lingering = await secondInstance(t, {}, { ...oneServer(), outbox: (db) => new Outbox(db.models, undefined, { oneServer: true, lingerMs: 60_000 }) });
    try {
      const org = await organization(lingering);
      const scim = scimClient(lingering.app, org.scim);
      const ids: string[] = [];
      for (const name of ["first", "second", "third"]) ids.push((await scim.post("/Users", buildUser({ userName: `${name}.leaver@example.com` })).expect(201)).body.id as string);
      await lingering.services.settle();

      const inserts = countInserts(lingering);
      try {
        for (const id of ids) await scim.patch(`/Users/${id}`, deactivation).expect(200);
        // Nothing has moved yet: the events wait in their documents.
        expect(inserts.count()).toBe(0);
        expect(await t.db.models.AuditEvent.countDocuments({ "target.id": { $in: ids }, action: "user.deactivated" })).toBe(0);
        const started = Date.now();
        const feed = (await api(lingering.app, org.events).get("/events?limit=100").expect(200)).body as { events: { type: string; data: { id: string } }[] };
        expect(Date.now() - started).toBeLessThan(30_000);
        expect(feed.events.filter((e) => e.type === "member.deactivated").map((e) => e.data.id)).toEqual(ids);
        expect(inserts.count()).toBe(1);
      } finally {
        inserts.stop();
      }
      const audit = ((await api(lingering.app, org.owner).get("/audit?action=user.deactivated").expect(200)).body as { events: { target: { id: string } }[] }).events;
      expect(audit.map((e) => e.target.id).sort()).toEqual([...ids].sort());
      await lingering.services.settle();
      for (const id of ids) expect(((await t.db.models.User.collection.findOne({ _id: id } as never)) as { outbox?: unknown[] } | null)?.outbox ?? []).toEqual([]);
    } finally {
      await lingering.close();
    }
  });

  test("with no reader, the lingering move still reaches the trail by itself, soon after the change", async () => {
    const org = await organization();
    const userId = (await scimClient(t.app, org.scim).post("/Users", buildUser({ userName: "unobserved@example.com" })).expect(201)).body.id as string;
    await scimClient(t.app, org.scim).patch(`/Users/${userId}`, deactivation).expect(200);
    const deadline = Date.now() + 10_000;
    // Read the database itself, not through the barrier: nothing hurries the move.
    while (!(await t.db.models.AuditEvent.countDocuments({ "target.id": userId, action: "user.deactivated" })) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(await t.db.models.AuditEvent.countDocuments({ "target.id": userId, action: "user.deactivated" })).toBe(1);
  });
});

describe("the pull of delivered events, deferred until the server is quiet", () => {
  test("a document changed again and again carries at most two changes' events, not all of them", async () => {
    // The pulls alone: moves that do not linger (with the linger, the changes answered within it
    // also wait in the document until their batch moves).
    const eager = await secondInstance(t, {}, { ...oneServer(), outbox: (db) => new Outbox(db.models, undefined, { oneServer: true, lingerMs: 0 }) });
    try {
      const org = await organization(eager);
      const scim = scimClient(eager.app, org.scim);
      const groupId = (await scim.post("/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "Busy 0" }).expect(201)).body.id as string;
      for (let i = 1; i <= 8; i++) await scim.patch(`/Groups/${groupId}`, { schemas: [patchSchema], Operations: [{ op: "replace", value: { displayName: `Busy ${i}` } }] }).expect(204);
      await trailSettled(eager.db.models);
      const carried = ((await t.db.models.Group.collection.findOne({ _id: groupId } as never)) as { outbox?: AuditEventDocument[] } | null)?.outbox ?? [];
      expect(carried.length).toBeLessThanOrEqual(2);
      await eager.services.settle();
      expect(((await t.db.models.Group.collection.findOne({ _id: groupId } as never)) as { outbox?: AuditEventDocument[] } | null)?.outbox ?? []).toEqual([]);
    } finally {
      await eager.close();
    }
  });
});

describe("a process that dies between the user's write and the move into the trail", () => {
  test("the deactivation was answered 200, its events wait in the user's document, and recovery moves each exactly once", async () => {
    class DiesBeforeTheMove extends Outbox {
      override async append(): Promise<void> {
        throw new Error("the process died before the events reached the trail");
      }
    }
    const crashing = await secondInstance(t, {}, { ...oneServer(), outbox: (db) => new DiesBeforeTheMove(db.models, undefined, { oneServer: true }) });
    try {
      const org = await organization(crashing);
      const userId = (await scimClient(crashing.app, org.scim).post("/Users", buildUser({ userName: "crash@example.com" })).expect(201)).body.id as string;
      await scimClient(crashing.app, org.scim).patch(`/Users/${userId}`, deactivation).expect(200);
      await trailSettled(crashing.db.models);
      const outbox = ((await t.db.models.User.collection.findOne({ _id: userId } as never)) as { outbox?: AuditEventDocument[] } | null)?.outbox ?? [];
      expect(outbox.map((e) => e.action).sort()).toEqual(["user.access_revoked", "user.deactivated", "user.provisioned"]);
      expect(await t.db.models.AuditEvent.countDocuments({ "target.id": userId })).toBe(0);

      const restarted = createServices(t.db, { authFailureWindowSeconds: 60, publicBaseUrl: "https://gatehouse.test" });
      await restarted.recoverAuditOutbox();
      await restarted.recoverAuditOutbox();
      await restarted.settle();
      const trail = await t.db.models.AuditEvent.find({ "target.id": userId }).lean();
      expect(trail.map((e) => e.action).sort()).toEqual(["user.access_changed", "user.access_revoked", "user.deactivated", "user.provisioned"]);
      const published = (await t.db.models.DirectoryEvent.find({ organizationId: org.id }).lean()).filter((d) => d.event?.data.id === userId);
      expect(published.map((d) => d.event!.type)).toEqual(["member.provisioned", "member.deactivated", "member.access_changed", "session.revoked"]);
      expect(((await t.db.models.User.collection.findOne({ _id: userId } as never)) as { outbox?: unknown[] } | null)?.outbox ?? []).toEqual([]);
    } finally {
      await crashing.close();
    }
  });

  test("recovery running while delivered events wait for their pull publishes nothing twice", async () => {
    // The pull waits for a quiet moment; a long one here, so a slow machine cannot pull before we look.
    const patient = await secondInstance(t, {}, { ...oneServer(), outbox: (db) => new Outbox(db.models, undefined, { oneServer: true, pullIdleMs: 60_000, pullMaxDelayMs: 60_000 }) });
    try {
      const org = await organization(patient);
      const userId = (await scimClient(patient.app, org.scim).post("/Users", buildUser({ userName: "pull.pending@example.com" })).expect(201)).body.id as string;
      // The creation's events pulled first: a document that still waits for a pull is pulled at its next change.
      await patient.services.settle();
      await scimClient(patient.app, org.scim).patch(`/Users/${userId}`, deactivation).expect(200);
      await trailSettled(patient.db.models);
      // Moved, not yet pulled.
      const carried = ((await t.db.models.User.collection.findOne({ _id: userId } as never)) as { outbox?: AuditEventDocument[] } | null)?.outbox ?? [];
      expect(carried.length).toBeGreaterThan(0);
      await patient.services.recoverAuditOutbox();
      await patient.services.settle();
      const published = (await t.db.models.DirectoryEvent.find({ organizationId: org.id }).lean()).filter((d) => d.event?.data.id === userId);
      expect(published.map((d) => d.event!.type)).toEqual(["member.provisioned", "member.deactivated", "member.access_changed", "session.revoked"]);
      expect(((await t.db.models.User.collection.findOne({ _id: userId } as never)) as { outbox?: unknown[] } | null)?.outbox ?? []).toEqual([]);
    } finally {
      await patient.close();
    }
  });
});

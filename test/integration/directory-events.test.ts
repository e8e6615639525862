import request from "supertest";
import { runCommand } from "../../src/cli/commands";
import { createServices } from "../../src/services";
import type { AuditEventDocument } from "../../src/storage/models";
import { Outbox } from "../../src/storage/outbox";
import { DirectoryEventLog } from "../../src/storage/directory-events";
import { buildUser, patchSchema, scimClient, secondInstance, startTestApp, type TestApp } from "../support/app";

/**
 * Directory events (issue 15 §1): derived from the audit events the outbox moves, one ordered
 * sequence per organization, followed with GET /api/v1/events by service tokens holding `events:read`.
 */

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t.close();
});

const cli = async (services: TestApp["services"], ...argv: string[]) => JSON.parse((await runCommand(services, argv)).stdout[0]!);
const api = (app: TestApp["app"], token: string) => ({
  get: (path: string) => request(app).get(`/api/v1${path}`).set("Authorization", `Bearer ${token}`),
  post: (path: string, body: unknown) => request(app).post(`/api/v1${path}`).set("Authorization", `Bearer ${token}`).send(body as object),
});

interface EventPage {
  events: { id: string; type: string; version: number; occurredAt: string; organizationId: string; data: { id: string; object: string; auditAction: string; before?: unknown; after?: unknown } }[];
  cursor: string;
}

/** Follows the organization's events from `after` to the end, as a product would. */
async function follow(app: TestApp["app"], token: string, after?: string, query = ""): Promise<EventPage> {
  const all: EventPage["events"] = [];
  let cursor = after;
  for (;;) {
    const res = await api(app, token).get(`/events?limit=3${cursor ? `&after=${cursor}` : ""}${query}`).expect(200);
    const page = res.body as EventPage;
    all.push(...page.events);
    if (!page.events.length) return { events: all, cursor: page.cursor };
    cursor = page.cursor;
  }
}

async function organizationWithEventsToken(app: TestApp = t) {
  const org = await app.organization(`Events ${Math.random().toString(36).slice(2, 8)}`);
  const events = (await cli(app.services, "service-token", "create", "--org", org.id, "--scope", "events:read", "--json")).token as string;
  return { ...org, events };
}

describe("scopes of service tokens", () => {
  test("a token without events:read is answered 403 in the admin error shape; one issued without scopes keeps what service tokens could always do", async () => {
    const org = await t.organization("Scopes Co");
    const legacy = (await cli(t.services, "service-token", "create", "--org", org.id, "--json")).token as string;
    const refused = await api(t.app, legacy).get("/events").expect(403);
    expect(refused.body).toEqual({ error: { code: "forbidden", message: expect.stringContaining("events:read") } });

    const user = await scimClient(t.app, org.token).post("/Users", buildUser()).expect(201);
    await api(t.app, legacy).post("/authorize", { userId: user.body.id, action: "view_reports" }).expect(200);

    const eventsOnly = (await cli(t.services, "service-token", "create", "--org", org.id, "--scope", "events:read", "--json")).token as string;
    await api(t.app, eventsOnly).get("/events").expect(200);
    const noAuthorize = await api(t.app, eventsOnly).post("/authorize", { userId: user.body.id, action: "view_reports" }).expect(403);
    expect(noAuthorize.body.error.message).toContain("authorize");
  });

  test("a token stored before scopes existed (no scopes field) still authorizes and still cannot read events", async () => {
    const org = await t.organization("Old Token Co");
    const token = (await cli(t.services, "service-token", "create", "--org", org.id, "--json")).token as string;
    const id = token.split("_")[1]!;
    await t.db.models.ScimToken.collection.updateOne({ _id: id } as never, { $unset: { scopes: "" } });
    const user = await scimClient(t.app, org.token).post("/Users", buildUser()).expect(201);
    await api(t.app, token).post("/authorize", { userId: user.body.id, action: "view_reports" }).expect(200);
    await api(t.app, token).get("/events").expect(403);
  });

  test("the CLI refuses an unknown scope", async () => {
    const org = await t.organization("Bad Scope Co");
    await expect(runCommand(t.services, ["service-token", "create", "--org", org.id, "--scope", "everything"])).rejects.toThrow(/Scopes are/);
  });
});

describe("GET /api/v1/events", () => {
  test("every change the product cares about, in order, with a versioned schema, continued by cursor and filtered by type", async () => {
    const org = await organizationWithEventsToken();
    const scim = scimClient(t.app, org.token);
    const user = (await scim.post("/Users", buildUser({ userName: "ev.one@example.com" })).expect(201)).body.id as string;
    const group = (await scim.post("/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "Readers", members: [{ value: user }] }).expect(201)).body.id as string;
    await scim.patch(`/Groups/${group}`, { schemas: [patchSchema], Operations: [{ op: "replace", value: { displayName: "Writers" } }] }).expect(204);
    await scim.patch(`/Users/${user}`, { schemas: [patchSchema], Operations: [{ op: "replace", path: "active", value: false }] }).expect(200);
    await scim.patch(`/Users/${user}`, { schemas: [patchSchema], Operations: [{ op: "replace", path: "active", value: true }] }).expect(200);
    await scim.delete(`/Groups/${group}`).expect(204);
    await scim.delete(`/Users/${user}`).expect(204);

    const { events, cursor } = await follow(t.app, org.events);
    expect(events.map((e) => e.type)).toEqual([
      "member.provisioned",
      "group.created",
      "group.renamed",
      "member.deactivated",
      "member.access_changed",
      "session.revoked",
      "member.reactivated",
      "member.access_changed",
      "group.deleted",
      "member.deleted",
      "session.revoked",
    ]);
    expect(events[0]).toMatchObject({ version: 1, organizationId: org.id, data: { object: "user", id: user, auditAction: "user.provisioned" } });
    // The effective access a deactivation took (derived from its cause, issue 13's user.access_changed).
    expect(events[4]).toMatchObject({ data: { object: "user", id: user, auditAction: "user.access_changed", before: { organizationRole: "read_only" }, after: { organizationRole: null } } });
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    // The audit trail is the one source: every event's id is an audit event's id.
    const audit = await t.db.models.AuditEvent.find({ _id: { $in: events.map((e) => e.id) } }).lean();
    expect(audit).toHaveLength(events.length);

    // Nothing new: the same cursor comes back, and later changes continue from it.
    const empty = (await api(t.app, org.events).get(`/events?after=${cursor}`).expect(200)).body as EventPage;
    expect(empty).toEqual({ events: [], cursor });
    await scim.post("/Users", buildUser({ userName: "ev.two@example.com" })).expect(201);
    expect((await follow(t.app, org.events, cursor)).events.map((e) => e.type)).toEqual(["member.provisioned"]);

    const onlyMembers = await follow(t.app, org.events, undefined, "&types=member.deactivated,member.reactivated");
    expect(onlyMembers.events.map((e) => e.type)).toEqual(["member.deactivated", "member.reactivated"]);
  });

  test("another organization's events are never listed", async () => {
    const a = await organizationWithEventsToken();
    const b = await organizationWithEventsToken();
    await scimClient(t.app, a.token).post("/Users", buildUser()).expect(201);
    expect((await follow(t.app, b.events)).events).toEqual([]);
  });

  test("a cursor it did not give, an unknown type and a limit out of range are 400", async () => {
    const org = await organizationWithEventsToken();
    for (const query of ["after=nonsense", "types=member.exploded", "limit=0", "limit=501", "colour=red"]) {
      const res = await api(t.app, org.events).get(`/events?${query}`).expect(400);
      expect(res.body.error.code).toMatch(/^invalid/);
    }
  });

  test("the Owner may read the events with a personal token; a member without admin rights may not", async () => {
    const owned = (await cli(t.services, "org", "create", "Owned Co", "--owner", "owner@example.com", "--json")) as { id: string };
    const ownerToken = (await cli(t.services, "user-token", "create", "--org", owned.id, "--email", "owner@example.com", "--json")).token as string;
    const page = (await api(t.app, ownerToken).get("/events").expect(200)).body as EventPage;
    expect(page.events.map((e) => e.type)).toContain("member.provisioned");
    await api(t.app, ownerToken).post("/users", { email: "viewer@example.com" }).expect(201);
    const viewerToken = (await cli(t.services, "user-token", "create", "--org", owned.id, "--email", "viewer@example.com", "--json")).token as string;
    const refused = await api(t.app, viewerToken).get("/events").expect(403);
    expect(refused.body.error.code).toBe("forbidden");
  });
});

describe("one sequence across instances, restarts and crashes", () => {
  test("events written by two instances at once form one gap-free sequence, and a restarted instance continues it", async () => {
    const org = await organizationWithEventsToken();
    const other = await secondInstance(t);
    try {
      await Promise.all(
        Array.from({ length: 12 }, (_, i) => scimClient(i % 2 ? other.app : t.app, org.token).post("/Users", buildUser({ userName: `both.${i}@example.com` })).expect(201)),
      );
      const first = await follow(other.app, org.events);
      expect(first.events).toHaveLength(12);
      const sequences = (await t.db.models.DirectoryEvent.find({ organizationId: org.id, event: { $exists: true } }).lean()).map((d) => d.sequence).sort((a, b) => a - b);
      expect(sequences).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));

      // A restart: a new process, with nothing in memory, continues the sequence after the cursor.
      const restarted = await secondInstance(t);
      try {
        await scimClient(restarted.app, org.token).post("/Users", buildUser({ userName: "after.restart@example.com" })).expect(201);
        const next = await follow(t.app, org.events, first.cursor);
        expect(next.events.map((e) => e.type)).toEqual(["member.provisioned"]);
        expect(next.events[0]!.data.id).toBeDefined();
      } finally {
        await restarted.close();
      }
    } finally {
      await other.close();
    }
  });

  test("deactivations on two instances at once, each publishing its events in one insert, still form one gap-free sequence with each deactivation's events in order", async () => {
    const org = await organizationWithEventsToken();
    const other = await secondInstance(t);
    try {
      const ids: string[] = [];
      for (let i = 0; i < 10; i++) ids.push((await scimClient(t.app, org.token).post("/Users", buildUser({ userName: `leaver.${i}@example.com` })).expect(201)).body.id);
      await Promise.all(ids.map((id, i) => scimClient(i % 2 ? other.app : t.app, org.token).patch(`/Users/${id}`, { schemas: [patchSchema], Operations: [{ op: "replace", path: "active", value: false }] }).expect(200)));
      await Promise.all([t.services.settle(), other.services.settle()]);
      const stored = (await t.db.models.DirectoryEvent.find({ organizationId: org.id, event: { $exists: true } }).lean()).sort((a, b) => a.sequence - b.sequence);
      expect(stored.map((d) => d.sequence)).toEqual(Array.from({ length: stored.length }, (_, i) => i + 1));
      // Each event once: 10 provisioned, and per deactivation its own event, the access change, the sessions' end.
      expect(new Set(stored.map((d) => d.event!.id)).size).toBe(stored.length);
      expect(stored).toHaveLength(40);
      for (const id of ids) {
        const types = stored.filter((d) => d.event!.data.id === id).map((d) => d.event!.type);
        expect(types).toEqual(["member.provisioned", "member.deactivated", "member.access_changed", "session.revoked"]);
      }
    } finally {
      await other.close();
    }
  });

  test("publications made while an insert is under way go together in the next one, numbered in order", async () => {
    const organizationId = `together-${Date.now()}`;
    const audit = (id: string) => ({ _id: id, organizationId, at: new Date(), actor: { type: "operator", id: "t", name: "t" }, source: "cli", action: "user.provisioned", target: { type: "user", id }, requestId: "r" }) as unknown as AuditEventDocument;
    const log = new DirectoryEventLog(t.db.models);
    const collection = t.db.models.DirectoryEvent.collection;
    const insertMany = collection.insertMany.bind(collection);
    const inserted: number[] = [];
    collection.insertMany = ((documents: Parameters<typeof insertMany>[0], options: Parameters<typeof insertMany>[1]) => {
      inserted.push(documents.length);
      return insertMany(documents, options);
    }) as typeof collection.insertMany;
    try {
      // Sixteen requests publishing at once: the first goes alone, the other fifteen wait for it and go together.
      const numbers = await Promise.all(Array.from({ length: 16 }, (_, i) => log.publishAll([audit(`u${i}`), audit(`v${i}`)])));
      expect(numbers).toEqual(Array.from({ length: 16 }, (_, i) => [2 * i + 1, 2 * i + 2]));
    } finally {
      collection.insertMany = insertMany;
    }
    expect(inserted).toEqual([2, 30]);
    const stored = (await t.db.models.DirectoryEvent.find({ organizationId }).lean()).sort((a, b) => a.sequence - b.sequence);
    expect(stored.map((d) => d.event!.data.id)).toEqual(Array.from({ length: 16 }, (_, i) => [`u${i}`, `v${i}`]).flat());
  });

  test("a batch whose insert meets a number another process took stores what came before it and continues after that number", async () => {
    const organizationId = `batch-${Date.now()}`;
    const audit = (id: string) => ({ _id: id, organizationId, at: new Date(), actor: { type: "operator", id: "t", name: "t" }, source: "cli", action: "user.provisioned", target: { type: "user", id }, requestId: "r" }) as unknown as AuditEventDocument;
    const log = new DirectoryEventLog(t.db.models);
    expect(await log.publishAll([audit("u1")])).toEqual([1]);
    // Another process took number 3 (as one would whose insert of 2 lost to this one's, a moment ago).
    const taken = (await log.page(organizationId, { limit: 1 })).events[0];
    await t.db.models.DirectoryEvent.collection.insertOne({ _id: DirectoryEventLog.idOf(organizationId, 3), organizationId, sequence: 3, event: { ...taken, data: { ...taken!.data, id: "other" } } } as never);
    expect(await log.publishAll([audit("x"), audit("y"), audit("z")])).toEqual([2, 4, 5]);
    const stored = (await t.db.models.DirectoryEvent.find({ organizationId }).lean()).sort((a, b) => a.sequence - b.sequence);
    expect(stored.map((d) => [d.sequence, d.event!.data.id])).toEqual([[1, "u1"], [2, "x"], [3, "other"], [4, "y"], [5, "z"]]);
  });

  test("a change whose process died before its event reached the trail is listed once recovery runs, exactly once", async () => {
    class DiesBeforeTheMove extends Outbox {
      override async append(): Promise<void> {
        throw new Error("the process died before the event reached the trail");
      }
    }
    const crashing = await secondInstance(t, {}, { outbox: (db) => new DiesBeforeTheMove(db.models) });
    const org = await organizationWithEventsToken();
    try {
      const before = await follow(t.app, org.events);
      await scimClient(crashing.app, org.token).post("/Users", buildUser({ userName: "crash@example.com" })).expect(201);
      expect((await follow(t.app, org.events, before.cursor)).events).toEqual([]);

      const restarted = createServices(t.db, { authFailureWindowSeconds: 60, publicBaseUrl: "https://gatehouse.test" });
      await restarted.recoverAuditOutbox();
      await restarted.recoverAuditOutbox();
      await restarted.settle();
      const after = await follow(t.app, org.events, before.cursor);
      expect(after.events.map((e) => [e.type, e.data.auditAction])).toEqual([["member.provisioned", "user.provisioned"]]);
    } finally {
      await crashing.close();
    }
  });
});

describe("retention", () => {
  test("events older than the retention are emptied oldest first; a listing without a cursor starts at the oldest kept", async () => {
    const org = await organizationWithEventsToken();
    await scimClient(t.app, org.token).post("/Users", buildUser()).expect(201);
    const old = (await follow(t.app, org.events)).events;
    expect(old).toHaveLength(1);
    // Make it look 31 days old.
    const id = `${org.id}/000000000001`;
    const stored = (await t.db.models.DirectoryEvent.collection.findOne({ _id: id } as never)) as unknown as { event: AuditEventDocument & { occurredAt: string } };
    await t.db.models.DirectoryEvent.collection.updateOne({ _id: id } as never, { $set: { "event.occurredAt": new Date(Date.now() - 31 * 86_400_000).toISOString() } });
    expect(stored.event).toBeDefined();
    await scimClient(t.app, org.token).post("/Users", buildUser()).expect(201);
    expect(await t.services.directoryEvents.sweep({ organizationId: org.id })).toBe(1);
    const kept = (await follow(t.app, org.events)).events;
    expect(kept).toHaveLength(1);
    expect(kept[0]!.id).not.toBe(old[0]!.id);
    // A new event after the sweep still takes the next number.
    await scimClient(t.app, org.token).post("/Users", buildUser()).expect(201);
    expect((await follow(t.app, org.events)).events).toHaveLength(2);
  });
});

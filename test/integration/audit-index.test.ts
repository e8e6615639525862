import { randomUUID } from "node:crypto";
import request from "supertest";
import { AuditTrail } from "../../src/audit/audit-trail";
import { runCommand } from "../../src/cli/commands";
import type { Actor } from "../../src/domain/context";
import type { ChangeJournal, ChangedIds } from "../../src/storage/change-journal";
import { residentAuditIndexOf } from "../../src/storage/audit-index";
import type { AuditEventDocument } from "../../src/storage/models";
import { buildUser, scimClient, secondInstance, startTestApp, type TestApp } from "../support/app";

/**
 * The audit log's keyset paging, answered two ways from the same stored trail: from the database
 * (MongoDB, tests, the CLI) and from the resident audit index the embedded server keeps in memory
 * (storage/audit-index.ts). Both must give an administrator exactly the same pages, the resident
 * one must show the server's own writes at once, and a walk through the pages must see each event
 * once however many events arrive meanwhile.
 */

/** A change journal a test drives by hand: ids "another process" wrote, delivered on the next catchUp. */
class HandDrivenJournal implements ChangeJournal {
  readonly pending: string[] = [];
  private readonly refreshers = new Map<string, (ids: ChangedIds) => Promise<void>>();
  subscribe(collection: string, refresh: (ids: ChangedIds) => Promise<void>): void {
    this.refreshers.set(collection, refresh);
  }
  async catchUp(): Promise<void> {
    const ids = this.pending.splice(0);
    if (ids.length) await this.refreshers.get("audit_events")!(ids);
  }
}

let database: TestApp;
let resident: TestApp;
let journal: HandDrivenJournal;
let org: { id: string; scimToken: string };
let otherOrg: { id: string };
let ownerToken: string;
let seeded: AuditEventDocument[];

const modes = ["the database", "the resident index"] as const;
const appFor = (mode: (typeof modes)[number]) => (mode === "the database" ? database : resident);

/** A small deterministic generator, so a failure can be replayed. */
function numbers(seed: number) {
  // mulberry32
  let state = seed >>> 0;
  return (below: number) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * below);
  };
}

const actions = ["user.provisioned", "user.updated", "user.deactivated", "group.members_changed"];
const actors: Actor[] = [
  { type: "scim_token", id: "token-okta", name: "Okta" },
  { type: "user", id: "user-grace", name: "grace@example.com" },
  { type: "operator", id: "ops", name: "CLI operator" },
];
const sourceOf: Record<string, string> = { scim_token: "scim", user: "admin", operator: "cli" };
const base = Date.UTC(2019, 5, 1);

/** Events written straight into the trail, as years of use leave them: four to a millisecond often, out of insertion order. */
function trailOf(organizationId: string, count: number, seed: number): AuditEventDocument[] {
  const pick = numbers(seed);
  return Array.from({ length: count }, () => {
    const actor = actors[pick(actors.length)]!;
    return {
      _id: randomUUID(),
      organizationId,
      at: new Date(base + pick(count / 4) * 1000),
      actor,
      source: sourceOf[actor.type]!,
      action: actions[pick(actions.length)]!,
      target: { type: "user", id: `u-${pick(12)}`, display: "someone@example.com" },
      requestId: `seed-${seed}`,
      after: { active: pick(2) === 0 },
    } as AuditEventDocument;
  });
}

const newestFirst = (a: { at: Date; _id: string }, b: { at: Date; _id: string }) => b.at.getTime() - a.at.getTime() || (a._id < b._id ? 1 : a._id > b._id ? -1 : 0);

beforeAll(async () => {
  database = await startTestApp();
  const cli = async (...argv: string[]) => JSON.parse((await runCommand(database.services, argv)).stdout[0]!);
  org = await cli("org", "create", "Index Co", "--owner", "owner@example.com", "--json");
  otherOrg = await cli("org", "create", "Elsewhere", "--json");
  ownerToken = (await cli("user-token", "create", "--org", org.id, "--email", "owner@example.com", "--json")).token;
  seeded = trailOf(org.id, 400, 7);
  await database.db.models.AuditEvent.collection.insertMany([...seeded, ...trailOf(otherOrg.id, 100, 11)] as never[]);
  journal = new HandDrivenJournal();
  // The embedded server's wiring on the same stored trail; startTestApp loads its index.
  resident = await secondInstance(database, {}, { residentAuditIndex: true, changeJournal: journal });
});
afterAll(async () => {
  await resident.close();
  await database.close();
});

const auditPage = (t: TestApp, query: string) => request(t.app).get(`/api/v1/audit?${query}`).set("Authorization", `Bearer ${ownerToken}`);

/** Every page of `query`, `limit` at a time: the events in the order seen, and each page's cursor. */
async function walk(t: TestApp, query: string, limit: number, between?: () => Promise<void>) {
  const events: { id: string }[] = [];
  const cursors: string[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 500; pages++) {
    const res = await auditPage(t, `${query}&limit=${limit}${cursor ? `&cursor=${cursor}` : ""}`).expect(200);
    events.push(...res.body.events);
    cursor = res.body.nextCursor;
    if (!cursor) return { events, cursors };
    cursors.push(cursor);
    await between?.();
  }
  throw new Error("more than 500 pages");
}

const window = "from=2019-06-01&to=2019-07-01";

describe("the audit log answered from the resident index", () => {
  it("is in use: the index is loaded, and an event written behind its back is not seen until the journal reports it", async () => {
    expect(residentAuditIndexOf(resident.db.models)?.ready).toBe(true);
    expect(residentAuditIndexOf(database.db.models)).toBeUndefined();
    const [behindItsBack] = trailOf(org.id, 1, 99).map((e) => ({ ...e, at: new Date(base - 1000) }));
    await database.db.models.AuditEvent.collection.insertOne(behindItsBack as never);
    const query = `to=${encodeURIComponent(new Date(base).toISOString())}`;

    expect((await auditPage(database, query).expect(200)).body.events.map((e: { id: string }) => e.id)).toEqual([behindItsBack!._id]);
    expect((await auditPage(resident, query).expect(200)).body.events).toEqual([]);
    journal.pending.push(behindItsBack!._id);
    expect((await auditPage(resident, query).expect(200)).body.events.map((e: { id: string }) => e.id)).toEqual([behindItsBack!._id]);
  });

  it.each([
    ["no filter", ""],
    ["an action", "action=user.deactivated"],
    ["an actor", "actor=user-grace"],
    ["a target", "target=u-3"],
    ["a source", "source=cli"],
    ["an action and an actor", "action=user.updated&actor=token-okta"],
    ["actor, target and source together", "actor=ops&target=u-5&source=cli"],
    ["a source the actor never used", "actor=ops&source=scim"],
    ["a narrower window", "from=2019-06-01T00:10:00Z&to=2019-06-01T00:40:00.500Z"],
    ["a window and an action", "from=2019-06-01T00:05:00Z&action=user.provisioned"],
    ["an action nobody took", "action=user.deleted"],
    ["a target no event names", "target=nobody"],
  ])("pages %s exactly as the database does, first page and every page after", async (_what, filter) => {
    const query = filter.includes("from=") ? filter : `${window}&${filter}`;
    for (const limit of [29, 100]) {
      const fromDatabase = await walk(database, query, limit);
      const fromMemory = await walk(resident, query, limit);
      expect(fromMemory.events).toEqual(fromDatabase.events);
      expect(fromMemory.cursors).toEqual(fromDatabase.cursors);
    }
    // The database path scans the trail for every page (FerretDB): slow on a loaded machine.
  }, 120_000);

  it.each(modes)("combines filters with paging through %s: the matching events, newest first, each once", async (mode) => {
    const t = appFor(mode);
    const expected = seeded.filter((e) => e.action === "user.updated" && e.actor.id === "token-okta").sort(newestFirst).map((e) => e._id);
    expect(expected.length).toBeGreaterThan(10);
    const { events } = await walk(t, `${window}&action=user.updated&actor=token-okta`, 4);
    expect(events.map((e) => e.id)).toEqual(expected);
  });

  it.each(modes)(
    "walks every event exactly once through %s while new events arrive between pages",
    async (mode) => {
      const t = appFor(mode);
      const before = (await auditPage(t, "limit=1000").expect(200)).body.events.map((e: { id: string }) => e.id);
      expect(before.length).toBeGreaterThan(400);
      const scim = scimClient(t.app, org.scimToken);
      let added = 0;
      const { events } = await walk(t, "", 60, async () => {
        // The server's own writes (now, newer than any page read) and a late event from the outbox at
        // a time the walk has already passed: neither may appear in, nor shift, the pages still to come.
        await scim.post("/Users", buildUser()).expect(201);
        await new AuditTrail(t.db.models, () => new Date(Date.now() - 60_000)).record(
          { organizationId: org.id, actor: actors[0]!, source: "scim", requestId: "late" },
          { action: "user.updated", target: { type: "user", id: `late-${added++}` } },
        );
      });
      expect(events.map((e) => e.id)).toEqual(before);
      expect(added).toBeGreaterThan(5);
    },
    60_000,
  );

  it.each(modes)("answers 25 events through %s when no limit is given, with a cursor to the rest", async (mode) => {
    const res = await auditPage(appFor(mode), window).expect(200);
    expect(res.body.events).toHaveLength(25);
    expect(res.body.nextCursor).toEqual(expect.any(String));
  });

  it("shows the server's own write on the first page at once: a SCIM create, then the GET", async () => {
    const created = await scimClient(resident.app, org.scimToken).post("/Users", buildUser({ userName: "fresh@example.com" })).expect(201);
    const first = (await auditPage(resident, "limit=5").expect(200)).body.events;
    expect(first[0]).toMatchObject({ action: "user.provisioned", target: { type: "user", id: created.body.id, display: "fresh@example.com" }, source: "scim" });
    const byTarget = (await auditPage(resident, `target=${created.body.id}`).expect(200)).body.events;
    expect(byTarget.map((e: { action: string }) => e.action)).toEqual(["user.provisioned"]);
  });

  it("puts an event recorded late at its place in time, not at the top", async () => {
    const late = await new AuditTrail(resident.db.models, () => new Date(base + 30_500)).record(
      { organizationId: org.id, actor: actors[2]!, source: "cli", requestId: "late" },
      { action: "user.reactivated", target: { type: "user", id: "u-late" } },
    );
    const query = "from=2019-06-01T00:00:30Z&to=2019-06-01T00:00:31Z";
    const fromMemory = (await auditPage(resident, query).expect(200)).body.events;
    expect(fromMemory).toEqual((await auditPage(database, query).expect(200)).body.events);
    expect(fromMemory.map((e: { id: string }) => e.id)).toContain(late.id);
    expect((await auditPage(resident, "limit=50").expect(200)).body.events.map((e: { id: string }) => e.id)).not.toContain(late.id);
  });

  it("never shows another organization's events", async () => {
    const { events } = await walk(resident, window, 100);
    expect(events.length).toBeGreaterThan(400);
    const theirs = new Set(((await database.db.models.AuditEvent.collection.find({ organizationId: otherOrg.id }).toArray()) as unknown as AuditEventDocument[]).map((e) => e._id));
    for (const event of events) expect(theirs.has(event.id)).toBe(false);
  });

  it.each([
    ["a cursor this server never issued", "cursor=not-a-cursor"],
    ["a cursor of the right encoding but the wrong content", `cursor=${Buffer.from(JSON.stringify(["x", 1])).toString("base64url")}`],
    ["an empty cursor", "cursor="],
  ])("answers 400 invalid_request as admin JSON to %s", async (_what, query) => {
    const res = await auditPage(resident, query).expect(400);
    expect(res.headers["content-type"]).toMatch(/^application\/json/);
    expect(res.body.error.code).toBe("invalid_request");
  });

  it("exports the same CSV from memory as from the database", async () => {
    const csv = async (t: TestApp) => (await request(t.app).get(`/api/v1/audit/export.csv?${window}&source=scim`).set("Authorization", `Bearer ${ownerToken}`).expect(200)).text;
    const fromMemory = await csv(resident);
    expect(fromMemory.split("\r\n").length).toBeGreaterThan(50);
    expect(fromMemory).toBe(await csv(database));
  });
});

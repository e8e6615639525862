import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { appendChange, FileChangeJournal } from "../../src/storage/change-journal";
import { buildUser, patchSchema, scimClient, startTestApp, type TestApp } from "../support/app";

/**
 * FerretDB's SQLite backend answers only an exact `{_id: …}` filter from SQLite and scans the
 * collection for anything else (../shared/MONGODB.md); on MongoDB the same filters use the _id
 * index. These tests record every database operation a request makes and require that each filter
 * on the hot paths is exactly {_id}.
 */
let t: TestApp;
let scim: ReturnType<typeof scimClient>;
let operations: { collection: string; method: string; filter: unknown }[] = [];

beforeAll(async () => {
  t = await startTestApp();
  scim = scimClient(t.app, (await t.organization()).token);
  t.db.connection.set("debug", (collection: string, method: string, filter: unknown) => {
    operations.push({ collection, method, filter });
  });
});
afterAll(() => t.close());

const filterMethods = new Set(["find", "findOne", "updateOne", "replaceOne", "deleteOne", "findOneAndUpdate", "countDocuments", "updateMany", "deleteMany"]);

async function recorded(action: () => Promise<unknown>) {
  operations = [];
  await action();
  return operations.filter((o) => filterMethods.has(o.method));
}

function expectOnlyIdFilters(ops: { collection: string; method: string; filter: unknown }[]) {
  expect(ops.length).toBeGreaterThan(0);
  for (const op of ops) {
    const filter = op.filter as Record<string, unknown>;
    expect({ op: `${op.collection}.${op.method}`, keys: Object.keys(filter) }).toEqual({ op: `${op.collection}.${op.method}`, keys: ["_id"] });
    expect(typeof filter._id).toBe("string");
  }
}

describe("hot paths are _id operations", () => {
  let id: string;

  it("POST /Users", async () => {
    const ops = await recorded(async () => {
      const res = await scim.post("/Users", buildUser({ userName: "hot@example.com", externalId: "hot-1" })).expect(201);
      id = res.body.id;
    });
    expectOnlyIdFilters(ops);
  });

  it.each([
    ['userName eq "HOT@example.com"'],
    ['externalId eq "hot-1"'],
  ])("GET /Users?filter=%s", async (expression) => {
    const ops = await recorded(async () => {
      const res = await scim.get(`/Users?filter=${encodeURIComponent(expression)}&startIndex=1&count=100`).expect(200);
      expect(res.body.totalResults).toBe(1);
    });
    expectOnlyIdFilters(ops);
  });

  it("GET, PUT, PATCH and DELETE by id", async () => {
    expectOnlyIdFilters(await recorded(() => scim.get(`/Users/${id}`).expect(200)));
    expectOnlyIdFilters(await recorded(() => scim.put(`/Users/${id}`, buildUser({ userName: "hot@example.com", externalId: "hot-2" })).expect(200)));
    expectOnlyIdFilters(await recorded(() => scim.patch(`/Users/${id}`, { schemas: [patchSchema], Operations: [{ op: "replace", path: "userName", value: "hotter@example.com" }] }).expect(200)));
    expectOnlyIdFilters(await recorded(() => scim.delete(`/Users/${id}`).expect(204)));
  });
});

describe("group hot paths are _id operations", () => {
  let groupId: string;
  let memberId: string;
  const groupSchema = "urn:ietf:params:scim:schemas:core:2.0:Group";

  beforeAll(async () => {
    memberId = (await scim.post("/Users", buildUser({ userName: "hot.member@example.com" })).expect(201)).body.id;
  });

  it("POST /Groups without members, and the displayName / externalId lookups", async () => {
    expectOnlyIdFilters(await recorded(async () => {
      groupId = (await scim.post("/Groups", { schemas: [groupSchema], displayName: "Hot Group", externalId: "hot-g" }).expect(201)).body.id;
    }));
    for (const expression of ['displayName eq "HOT GROUP"', 'externalId eq "hot-g"']) {
      expectOnlyIdFilters(await recorded(async () => {
        const res = await scim.get(`/Groups?excludedAttributes=members&filter=${encodeURIComponent(expression)}`).expect(200);
        expect(res.body.totalResults).toBe(1);
      }));
    }
  });

  it("single-member add and remove PATCHes never read the member list", async () => {
    expectOnlyIdFilters(await recorded(() => scim.patch(`/Groups/${groupId}`, { schemas: [patchSchema], Operations: [{ op: "add", path: "members", value: [{ value: memberId }] }] }).expect(204)));
    expectOnlyIdFilters(await recorded(() => scim.patch(`/Groups/${groupId}`, { schemas: [patchSchema], Operations: [{ op: "remove", path: `members[value eq "${memberId}"]` }] }).expect(204)));
    expectOnlyIdFilters(await recorded(() => scim.patch(`/Groups/${groupId}`, { schemas: [patchSchema], Operations: [{ op: "Remove", path: "members", value: [{ value: memberId }] }] }).expect(204)));
  });

  it("GET /Groups/{id}?excludedAttributes=members reads no member", async () => {
    expectOnlyIdFilters(await recorded(() => scim.get(`/Groups/${groupId}?excludedAttributes=members`).expect(200)));
  });
});

/**
 * What one deactivation (Entra's `PATCH active:false`) sends to the database, command by command,
 * as the embedded database's one server runs it (resident directory, tokens, organizations and
 * audit index): before it answers, only the user's write carrying its event and the summary of
 * what it ended (and the member's personal-token key, read once: it is remembered, absent too).
 * The move into the trail — one insert of the directory events (the deactivation, the member's
 * access change, the sessions' end), then one of their audit events — follows the answer
 * (storage/trail-moves.ts), and the pull of the delivered events off the user waits for a quiet
 * moment. Every round trip on FerretDB costs ≥ 1.3 ms, an insert ~4–10 ms (../shared/MONGODB.md).
 */
describe("a deactivation's round trips on the embedded database", () => {
  let server: TestApp;
  let commands: { name: string; target: string; documents?: number; pull: boolean }[] = [];

  let journalPath: string;

  beforeAll(async () => {
    journalPath = path.join(mkdtempSync(path.join(os.tmpdir(), "gatehouse-journal-")), "change-journal.ndjson");
    const journal = FileChangeJournal.startFresh(journalPath);
    server = await startTestApp({}, { resident: { journal }, residentDirectory: true, residentAuditIndex: true, monitorCommands: true });
    server.db.connection.getClient().on("commandStarted", (event) => {
      const documents = event.command.documents as unknown[] | undefined;
      const updates = event.command.updates as { u?: { $pullAll?: unknown } }[] | undefined;
      commands.push({ name: event.commandName, target: String(event.command[event.commandName]), ...(documents ? { documents: documents.length } : {}), pull: Boolean(updates?.[0]?.u?.$pullAll) });
    });
  });
  afterAll(() => server.close());

  const deactivate = (client: ReturnType<typeof scimClient>, id: string) => client.patch(`/Users/${id}`, { schemas: [patchSchema], Operations: [{ op: "replace", path: "active", value: false }] }).expect(200);
  const named = (list: typeof commands) => list.map(({ name, target, documents, pull }) => `${name} ${target}${documents ? ` ×${documents}` : ""}${pull ? " (pull)" : ""}`);

  /**
   * The commands sent before the answer, and those sent after it until everything settled. The
   * trail's first insert is held until the answer has arrived, so a command the request waited
   * for cannot pass for one that followed it (the request would never answer).
   */
  async function requestCommands(action: () => Promise<unknown>) {
    await server.services.settle();
    const collection = server.db.models.DirectoryEvent.collection;
    const insertMany = collection.insertMany;
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    collection.insertMany = (async (...args: Parameters<typeof insertMany>) => {
      await held;
      return insertMany.apply(collection, args);
    }) as typeof insertMany;
    commands = [];
    try {
      await action();
    } finally {
      release();
      collection.insertMany = insertMany;
    }
    const before = named(commands);
    commands = [];
    await server.services.settle();
    return { before, after: named(commands) };
  }

  it("answers after one write of the user; its three events reach the trail in two inserts after the answer, then the pull; the member's token key is read only when this server does not know it", async () => {
    const org = await server.organization("Round Trips");
    const client = scimClient(server.app, org.token);
    const first = (await client.post("/Users", buildUser({ userName: "leaver.1@example.com" })).expect(201)).body.id as string;
    const second = (await client.post("/Users", buildUser({ userName: "leaver.2@example.com" })).expect(201)).body.id as string;
    // Another process (the CLI) wrote the first member's personal-token key: the server reads it again.
    appendChange(journalPath, { collection: "lookup_keys", ids: [`${org.id}/user.personalTokens/${first}`] });

    const moved = ["insert directory_events ×3", "insert audit_events ×3", "update users (pull)"];
    expect(await requestCommands(() => deactivate(client, first))).toEqual({ before: ["find lookup_keys", "update users"], after: moved });
    // A member this server created holds no token it did not see issued: nothing is read.
    expect(await requestCommands(() => deactivate(client, second))).toEqual({ before: ["update users"], after: moved });
    const trail = await server.db.models.AuditEvent.find({ "target.id": second }).lean();
    expect(trail.map((e) => e.action).sort()).toEqual(["user.access_changed", "user.access_revoked", "user.deactivated", "user.provisioned"]);
    // The pull did follow: the user carries no event.
    expect(((await server.db.models.User.collection.findOne({ _id: second } as never)) as { outbox?: unknown[] } | null)?.outbox ?? []).toEqual([]);
  });
});

describe("a SCIM token's last use", () => {
  it("is written once for a burst of requests that all read the token before its use was recorded", async () => {
    const fresh = await t.organization("Burst");
    const client = scimClient(t.app, fresh.token);
    const ops = await recorded(() => Promise.all(Array.from({ length: 12 }, () => client.get("/Users?count=1").expect(200))));
    expect(ops.filter((op) => op.collection === "scim_tokens" && op.method === "updateOne")).toHaveLength(1);
    const stored = await t.db.models.ScimToken.findById(fresh.tokenId).lean<{ lastUsedAt?: Date }>();
    expect(stored?.lastUsedAt).toBeInstanceOf(Date);
  });
});

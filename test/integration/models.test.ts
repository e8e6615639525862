import { connectDatabase, type Database } from "../../src/storage/connection";
import { isFerretDb } from "../../src/storage/write-queue";
import { testServerUri, uniqueDatabaseName } from "../support/database";

/**
 * The stored shape the models give the database (src/storage/models.ts), checked in the real
 * embedded FerretDB: the collections and their indexes, written out here by hand rather than read
 * from the schemas, and what a write through a model stores. FerretDB has no TTL, partial or text
 * indexes (../shared/MONGODB.md), so none may be declared.
 */
let db: Database;

beforeAll(async () => {
  db = await connectDatabase(testServerUri(), { dbName: uniqueDatabaseName("models"), timeoutMs: 5_000 });
});
afterAll(async () => {
  await db.connection.dropDatabase();
  await db.close();
});

const outbox = { key: { "outbox._id": 1 }, sparse: true };

const expectedIndexes: Record<string, { key: Record<string, number>; unique?: boolean; sparse?: boolean }[]> = {
  organizations: [outbox, { key: { createdAt: 1 } }],
  scim_tokens: [outbox, { key: { organizationId: 1, createdAt: 1 } }],
  users: [
    { key: { organizationId: 1, userNameLower: 1 }, unique: true },
    { key: { organizationId: 1, userNameLower: 1, _id: 1 } },
    { key: { organizationId: 1, externalId: 1 } },
    { key: { organizationId: 1, created: 1, _id: 1 } },
    { key: { organizationId: 1, groups: 1, _id: 1 } },
    { key: { "temporaryGrants.until": 1 }, sparse: true },
    { key: { organizationId: 1, active: 1, userNameLower: 1 } },
    { key: { organizationId: 1, suspended: 1, userNameLower: 1 } },
    { key: { organizationId: 1, searchTerms: 1 } },
    outbox,
  ],
  groups: [
    outbox,
    { key: { organizationId: 1, displayNameLower: 1 }, unique: true },
    { key: { organizationId: 1, externalId: 1 } },
    { key: { organizationId: 1, created: 1, _id: 1 } },
    { key: { organizationId: 1, displayNameLower: 1, _id: 1 } },
  ],
  group_sweeps: [{ key: { requested: 1 } }],
  lookup_keys: [],
  audit_events: [
    { key: { organizationId: 1, at: -1, _id: -1 } },
    { key: { organizationId: 1, action: 1, at: -1, _id: -1 } },
    { key: { organizationId: 1, "actor.id": 1, at: -1, _id: -1 } },
    { key: { organizationId: 1, "target.id": 1, at: -1, _id: -1 } },
    { key: { organizationId: 1, source: 1, at: -1, _id: -1 } },
  ],
  auth_failures: [{ key: { expiresAt: 1 } }],
  saml_requests: [{ key: { expiresAt: 1 } }],
  saml_assertions: [{ key: { expiresAt: 1 } }],
  sessions: [outbox, { key: { absoluteExpiresAt: 1 } }, { key: { lastSeenAt: 1 } }, { key: { endedAt: 1 }, sparse: true }],
  offboardings: [outbox, { key: { organizationId: 1, created: -1, _id: -1 } }],
  offboarding_agenda: [{ key: { wakeAt: 1 } }],
  offboarding_claims: [{ key: { claimedAt: 1 } }],
  email_domains: [outbox, { key: { organizationId: 1, _id: 1 } }],
  sign_in_links: [outbox, { key: { expiresAt: 1 } }],
  saml_tests: [outbox, { key: { expiresAt: 1 } }],
  // Read and written by exact _id only (storage/directory-events.ts, storage/webhooks.ts).
  directory_events: [],
  webhook_endpoints: [],
  webhook_attempts: [],
};

describe("the models' stored shape", () => {
  it("keeps every collection under its name", () => {
    const names = Object.values(db.models).map((model) => model.collection.collectionName);
    expect(names.sort()).toEqual(Object.keys(expectedIndexes).sort());
  });

  // FerretDB v1.24.2 accepts `sparse` and does not keep it, so keys and uniqueness are compared.
  // On FerretDB only the unique ones: there a secondary index serves no query (storage/connection.ts).
  it.each(Object.keys(expectedIndexes))("creates exactly the declared indexes of %s (on FerretDB the unique ones), none TTL, partial or text", async (name) => {
    const exists = (await db.connection.db!.listCollections({ name }).toArray()).length > 0;
    const indexes = exists ? await db.connection.db!.collection(name).indexes() : [];
    const declared = indexes.filter((index) => index.name !== "_id_");
    const ferretDb = await isFerretDb(db.connection.db!);
    const expected = expectedIndexes[name]!.filter(({ unique }) => unique || !ferretDb).map(({ key, unique }) => ({ key, ...(unique ? { unique } : {}) }));
    expect(declared.map((index) => ({ key: index.key, ...(index.unique ? { unique: true } : {}) }))).toEqual(expect.arrayContaining(expected));
    expect(declared).toHaveLength(expected.length);
    for (const index of declared) {
      expect(index).not.toHaveProperty("expireAfterSeconds");
      expect(index).not.toHaveProperty("partialFilterExpression");
      expect(Object.values(index.key)).not.toContain("text");
    }
  });

  it("drops, on FerretDB, the non-unique indexes an earlier version created, and keeps the unique ones and the data", async () => {
    if (!(await isFerretDb(db.connection.db!))) return; // MongoDB keeps every declared index (above)
    const dbName = uniqueDatabaseName("models-upgrade");
    const raw = db.connection.getClient().db(dbName);
    await raw.collection("users").createIndex({ organizationId: 1, created: 1, _id: 1 });
    await raw.collection("users").createIndex({ organizationId: 1, userNameLower: 1 }, { unique: true });
    await raw.collection("users").insertOne({ _id: "u-1" as never, organizationId: "o", userNameLower: "ada" });
    const upgraded = await connectDatabase(testServerUri(), { dbName, timeoutMs: 5_000 });
    try {
      const indexes = await raw.collection("users").indexes();
      expect(indexes.map((index) => ({ key: index.key, unique: index.unique === true })).filter((index) => JSON.stringify(index.key) !== '{"_id":1}')).toEqual([{ key: { organizationId: 1, userNameLower: 1 }, unique: true }]);
      expect(await raw.collection("users").countDocuments({})).toBe(1);
      await expect(raw.collection("users").insertOne({ _id: "u-2" as never, organizationId: "o", userNameLower: "ada" })).rejects.toMatchObject({ code: 11000 });
    } finally {
      await upgraded.connection.dropDatabase();
      await upgraded.close();
    }
  });

  it("stores a model write with its string _id, no version key, and Mixed values exactly as given", async () => {
    const at = new Date("2026-01-02T03:04:05.000Z");
    const event = { _id: "event-1", organizationId: "org-1", at, actor: { type: "admin", id: "u-0", name: "Ada" }, source: "admin", action: "session.created", target: { type: "session", id: "s-1" }, requestId: "r-1" };
    await db.models.Session.create({
      _id: "s-1", organizationId: "org-1", userId: "u-1", userEpoch: 3, via: "saml", secretHash: "h", createdAt: at, lastSeenAt: at, absoluteExpiresAt: at,
      saml: { nameId: "ada@example.com" }, outbox: [event],
    });
    const stored = await db.connection.db!.collection("sessions").findOne({ _id: "s-1" as never });
    expect(stored).toEqual({
      _id: "s-1", organizationId: "org-1", userId: "u-1", userEpoch: 3, via: "saml", secretHash: "h", createdAt: at, lastSeenAt: at, absoluteExpiresAt: at,
      saml: { nameId: "ada@example.com" }, outbox: [event],
    });
  });

  it("refuses a model write of a field no schema declares, and stores nothing", async () => {
    await expect(
      db.models.AuthFailure.create({ _id: "f-1", count: 1, expiresAt: new Date(), unexpected: true } as never),
    ).rejects.toThrow(/unexpected/);
    expect(await db.connection.db!.collection("auth_failures").countDocuments({ _id: "f-1" as never })).toBe(0);
  });

  it("refuses a model write that lacks a required field", async () => {
    await expect(db.models.GroupSweep.create({ _id: "sweep-1", organizationId: "org-1" } as never)).rejects.toThrow(/requested/);
    expect(await db.connection.db!.collection("group_sweeps").countDocuments({ _id: "sweep-1" as never })).toBe(0);
  });
});

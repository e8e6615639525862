import type { ChangedIds, ChangeJournal } from "../../src/storage/change-journal";
import { buildUser, enterpriseSchema, patchSchema, scimClient, secondInstance, startTestApp, userSchema, type TestApp } from "../support/app";

/**
 * The resident directory (storage/resident-directory.ts) against the database's own answers: one
 * database, two instances of the app — `resident` answers users and groups from memory, `queried`
 * asks the database (FerretDB) for every read. Every write goes through `resident`, so each
 * comparison also shows that memory was written through.
 */
const groupSchema = "urn:ietf:params:scim:schemas:core:2.0:Group";

/** A change journal the test drives: what another process's writes would announce. */
class TestJournal implements ChangeJournal {
  private readonly refreshers = new Map<string, (ids: ChangedIds) => Promise<void>>();
  private pending: { collection: string; ids: ChangedIds }[] = [];
  subscribe(collection: string, refresh: (ids: ChangedIds) => Promise<void>): void {
    this.refreshers.set(collection, refresh);
  }
  announce(collection: string, ids: ChangedIds): void {
    this.pending.push({ collection, ids });
  }
  async catchUp(): Promise<void> {
    const pending = this.pending;
    this.pending = [];
    for (const { collection, ids } of pending) await this.refreshers.get(collection)?.(ids);
  }
}

let resident: TestApp;
let queried: TestApp;
let journal: TestJournal;
let org: { id: string; token: string };
const ids: string[] = [];
const groupIds: string[] = [];

const pause = () => new Promise((resolve) => setTimeout(resolve, 3));

beforeAll(async () => {
  journal = new TestJournal();
  resident = await startTestApp({}, { residentDirectory: true, changeJournal: journal });
  queried = await secondInstance(resident, {}, { residentDirectory: false });
  org = await resident.organization("Resident Inc");
  const scim = scimClient(resident.app, org.token);
  const titles = ["Engineer", "engineer", "Manager", undefined];
  const departments = ["Engineering", "Sales", undefined];
  for (let i = 0; i < 24; i++) {
    const title = titles[i % titles.length];
    const department = departments[i % departments.length];
    const body = buildUser({
      schemas: [userSchema, enterpriseSchema],
      userName: `${["alice", "Bob", "carol", "dave", "Eve", "frank"][i % 6]}${i}@example.com`,
      ...(i % 3 ? { externalId: `ext-${i % 5}` } : {}),
      ...(i % 4 ? { displayName: `Person ${String.fromCharCode(90 - i)}${i}` } : {}),
      ...(title ? { title } : {}),
      name: i % 5 ? { givenName: `Given${i % 7}`, familyName: `Family${(i * 7) % 11}` } : { givenName: `Given${i}` },
      emails: i % 6 ? [{ value: `p${i}@work.example`, type: "work", primary: i % 2 === 0 }, { value: `p${i}@home.example`, type: "home" }] : [],
      active: i % 3 !== 1,
      ...(department ? { [enterpriseSchema]: { department, employeeNumber: String(100 + i) } } : {}),
    });
    ids.push((await scim.post("/Users", body).expect(201)).body.id);
    await pause();
  }
  for (let g = 0; g < 4; g++) {
    const members = ids.filter((_, i) => i % (g + 2) === 0).map((value) => ({ value }));
    groupIds.push((await scim.post("/Groups", { schemas: [groupSchema], displayName: `Team ${g}`, ...(g % 2 ? { externalId: `grp-${g}` } : {}), members }).expect(201)).body.id);
  }
});
afterAll(async () => {
  await queried?.close();
  await resident?.close();
});

/** The same request to both instances; the answers must agree. */
async function bothAnswer(path: string): Promise<unknown> {
  const [fromMemory, fromDatabase] = await Promise.all([scimClient(resident.app, org.token).get(path), scimClient(queried.app, org.token).get(path)]);
  const order = (body: { totalResults?: number; Resources?: { id: string }[] }) => ({ total: body.totalResults, ids: body.Resources?.map((r) => r.id) });
  expect({ path, ...order(fromMemory.body) }).toEqual({ path, ...order(fromDatabase.body) });
  expect({ path, status: fromMemory.status, body: fromMemory.body }).toEqual({ path, status: fromDatabase.status, body: fromDatabase.body });
  return fromMemory.body;
}

const filters = [
  undefined,
  'userName eq "CAROL2@example.com"',
  'userName co "a"',
  'userName sw "b"',
  'userName gt "d"',
  'displayName ew "1"',
  "displayName pr",
  "not (displayName pr)",
  'title eq "engineer"',
  'title ne "engineer"',
  "title pr",
  'externalId eq "ext-1"',
  'externalId ne "ext-1"',
  'emails.value co "work"',
  'emails[type eq "home" and value sw "p1"]',
  "emails[primary eq true]",
  "emails pr",
  "active eq false",
  'name.familyName le "Family5"',
  '(active eq true and title pr) or externalId eq "ext-3"',
  'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "engineering"',
];
const sorts = ["userName", "displayName", "title", "name.familyName", "emails.value", "externalId", "meta.created", "meta.lastModified"];

describe("a resident listing answers exactly what the database answers", () => {
  test.each(filters)("filter %s, every sort and direction, first and deeper pages", async (filter) => {
    const pages: [string | undefined, string | undefined, number, number][] = [
      [undefined, undefined, 1, 5],
      [undefined, undefined, 18, 10],
      [undefined, undefined, 1, 0],
      ...sorts.flatMap((sortBy): [string, string, number, number][] => [
        [sortBy!, "ascending", 1, 5],
        [sortBy!, "descending", 4, 7],
      ]),
    ];
    for (const [sortBy, order, startIndex, count] of pages) {
      const query = [
        filter ? `filter=${encodeURIComponent(filter)}` : undefined,
        sortBy ? `sortBy=${sortBy}` : undefined,
        order ? `sortOrder=${order}` : undefined,
        `startIndex=${startIndex}`,
        `count=${count}`,
      ];
      await bothAnswer(`/Users?${query.filter(Boolean).join("&")}`);
    }
  });

  test.each([undefined, 'displayName eq "team 1"', 'displayName co "1"', 'externalId pr', `members[value eq "${"x"}"]`, "members pr", "not (members pr)"])(
    "groups, filter %s",
    async (filter) => {
      for (const sortBy of [undefined, "displayName", "externalId"]) {
        const query = [filter ? `filter=${encodeURIComponent(filter)}` : undefined, sortBy ? `sortBy=${sortBy}` : undefined, "count=3", "startIndex=2"];
        await bothAnswer(`/Groups?${query.filter(Boolean).join("&")}`);
      }
    },
  );

  it("answers a group's members and a member's groups as the database does", async () => {
    await bothAnswer(`/Users?filter=${encodeURIComponent(`groups.value eq "${groupIds[1]}"`)}&count=50`);
    for (const id of groupIds) await bothAnswer(`/Groups/${id}`);
    await bothAnswer(`/Groups?filter=${encodeURIComponent(`members[value eq "${ids[6]}"]`)}`);
  });

  it("refuses a filter the database would refuse, with the same error", async () => {
    const tooMany = Array.from({ length: 6 }, (_, i) => `emails[type ne "x${i}"]`).join(" or ");
    const body = (await bothAnswer(`/Users?filter=${encodeURIComponent(tooMany)}`)) as { status: string };
    expect(body.status).toBe("400");
  });
});

describe("every write is in memory when it answers", () => {
  const scim = () => scimClient(resident.app, org.token);

  it("a PATCH, a PUT, a rename and a deactivation", async () => {
    const id = ids[3]!;
    await scim().patch(`/Users/${id}`, { schemas: [patchSchema], Operations: [{ op: "replace", path: "title", value: "Director" }] }).expect(200);
    await bothAnswer(`/Users/${id}`);
    await bothAnswer(`/Users?filter=${encodeURIComponent('title eq "director"')}`);
    const current = (await scim().get(`/Users/${id}`).expect(200)).body;
    await scim().put(`/Users/${id}`, { ...current, userName: "renamed@example.com", displayName: "Renamed Person" }).expect(200);
    await bothAnswer(`/Users?filter=${encodeURIComponent('userName eq "RENAMED@example.com"')}`);
    expect((await scim().get(`/Users?filter=${encodeURIComponent(`userName eq "${current.userName}"`)}`).expect(200)).body.totalResults).toBe(0);
    await scim().patch(`/Users/${id}`, { schemas: [patchSchema], Operations: [{ op: "replace", path: "active", value: false }] }).expect(200);
    await bothAnswer(`/Users/${id}`);
    await bothAnswer(`/Users?filter=active%20eq%20false&sortBy=userName`);
  });

  it("a create and a deletion (the name is free again at once)", async () => {
    const created = (await scim().post("/Users", buildUser({ userName: "brand-new@example.com", externalId: "ext-new" })).expect(201)).body;
    await bothAnswer(`/Users?filter=${encodeURIComponent('externalId eq "ext-new"')}`);
    await bothAnswer(`/Users?sortBy=userName&count=100`);
    await scim().delete(`/Users/${created.id}`).expect(204);
    await scim().get(`/Users/${created.id}`).expect(404);
    await bothAnswer(`/Users?filter=${encodeURIComponent('userName eq "brand-new@example.com"')}`);
    await bothAnswer(`/Users?count=100`);
    await scim().post("/Users", buildUser({ userName: "brand-new@example.com" })).expect(201);
  });

  it("an externalId shared by several users, then by one, then by none", async () => {
    const filter = `/Users?filter=${encodeURIComponent('externalId eq "ext-shared"')}&sortBy=userName`;
    const answer = async () => (await bothAnswer(filter)) as { totalResults: number; Resources?: { id: string }[] };
    const first = (await scim().post("/Users", buildUser({ userName: "shared-1@example.com", externalId: "ext-shared" })).expect(201)).body;
    await bothAnswer(filter);
    const second = (await scim().post("/Users", buildUser({ userName: "shared-2@example.com", externalId: "ext-shared" })).expect(201)).body;
    const third = (await scim().post("/Users", buildUser({ userName: "shared-3@example.com", externalId: "ext-shared" })).expect(201)).body;
    expect((await answer()).totalResults).toBe(3);
    await scim().delete(`/Users/${second.id}`).expect(204);
    await scim().patch(`/Users/${third.id}`, { schemas: [patchSchema], Operations: [{ op: "replace", path: "externalId", value: "ext-moved" }] }).expect(200);
    expect((await answer()).Resources?.map((u) => u.id)).toEqual([first.id]);
    await scim().delete(`/Users/${first.id}`).expect(204);
    expect((await answer()).totalResults).toBe(0);
    await scim().delete(`/Users/${third.id}`).expect(204);
  });

  it("membership changes, a group's rename and its deletion", async () => {
    const groupId = groupIds[2]!;
    await scim()
      .patch(`/Groups/${groupId}`, { schemas: [patchSchema], Operations: [{ op: "add", path: "members", value: [{ value: ids[1] }] }, { op: "remove", path: `members[value eq "${ids[0]}"]` }] })
      .expect((res) => expect([200, 204]).toContain(res.status));
    await bothAnswer(`/Groups/${groupId}`);
    await bothAnswer(`/Users/${ids[1]}`);
    await bothAnswer(`/Users?filter=${encodeURIComponent(`groups.value eq "${groupId}"`)}`);
    await scim().patch(`/Groups/${groupId}`, { schemas: [patchSchema], Operations: [{ op: "replace", path: "displayName", value: "Team Renamed" }] }).expect((res) => expect([200, 204]).toContain(res.status));
    await bothAnswer(`/Groups?filter=${encodeURIComponent('displayName eq "team renamed"')}`);
    await scim().delete(`/Groups/${groupId}`).expect(204);
    await bothAnswer(`/Groups?count=10`);
    await resident.services.groups.sweep();
    await bothAnswer(`/Users/${ids[1]}`);
    await bothAnswer(`/Users?filter=${encodeURIComponent(`groups.value eq "${groupId}"`)}`);
  });
});

describe("changes made by another process", () => {
  it("are answered once the journal announces them, by _id", async () => {
    const id = ids[5]!;
    await queried.db.models.User.updateOne({ _id: id }, { $set: { title: "Changed elsewhere", version: 99 } });
    // Not announced yet: memory still has the old title (the journal is what makes it coherent).
    expect((await scimClient(resident.app, org.token).get(`/Users/${id}`).expect(200)).body.title).not.toBe("Changed elsewhere");
    journal.announce("users", [id]);
    await bothAnswer(`/Users/${id}`);
    await bothAnswer(`/Users?filter=${encodeURIComponent('title eq "changed elsewhere"')}`);
  });

  it("a deletion elsewhere, and a reload of everything", async () => {
    const id = ids[7]!;
    await queried.db.models.User.deleteOne({ _id: id });
    journal.announce("users", [id]);
    await scimClient(resident.app, org.token).get(`/Users/${id}`).expect(404);
    await queried.db.models.Group.updateOne({ _id: groupIds[0] }, { $set: { displayName: "Reloaded", displayNameLower: "reloaded" } });
    journal.announce("groups", "all");
    // (`co`, not `eq`: the database's instance answers `eq` through lookup keys, which a direct write leaves behind.)
    await bothAnswer(`/Groups?filter=${encodeURIComponent('displayName co "reloaded"')}`);
    await bothAnswer(`/Users?count=100`);
  });
});

describe("a write whose outcome is unknown", () => {
  it("is not guessed: the user is re-read by _id before the next answer, and 503 while the database cannot say", async () => {
    const { ResidentDirectory } = await import("../../src/storage/resident-directory");
    const { UnavailableError } = await import("../../src/errors");
    const collection = resident.db.models.User.collection;
    const directory = new ResidentDirectory<{ _id: string; organizationId: string; created: Date; version: number; userNameLower: string; title?: string }>(
      collection,
      { collectionName: "users", nameLowerOf: (d) => d.userNameLower, externalIdOf: () => undefined },
      { subscribe() {}, catchUp: () => Promise.resolve() },
    );
    await directory.load();
    const id = ids[9]!;
    // The database applied the write, but its answer was lost (a stall, a cut connection).
    await expect(
      directory.written([id], async () => {
        await collection.updateOne({ _id: id } as never, { $set: { title: "Applied after all" } });
        throw new UnavailableError("The database did not answer");
      }),
    ).rejects.toBeInstanceOf(UnavailableError);
    await directory.ready();
    expect(directory.get(id)?.title).toBe("Applied after all");

    // And while the database cannot be read, memory answers nothing rather than a guess.
    await expect(directory.written([id], () => Promise.reject(new UnavailableError("gone")))).rejects.toBeInstanceOf(UnavailableError);
    const failing = new ResidentDirectory(
      { ...collection, find: collection.find.bind(collection), findOne: () => Promise.reject(new UnavailableError("still gone")) } as never,
      { collectionName: "users", nameLowerOf: () => "", externalIdOf: () => undefined },
      { subscribe() {}, catchUp: () => Promise.resolve() },
    );
    await failing.load();
    failing.markStale([id]);
    await expect(failing.ready()).rejects.toBeInstanceOf(UnavailableError);
  });
});

describe("the load", () => {
  type Stored = {
    _id: string;
    organizationId: string;
    created: Date;
    version: number;
    userName?: string;
    userNameLower: string;
    managedBy?: string;
    emails?: { value: string; type?: string; primary?: boolean }[];
    title?: string;
    deletedAt?: Date;
    outbox?: unknown;
    searchTerms?: string[];
  };
  const spec = { collectionName: "users", nameLowerOf: (d: Stored) => d.userNameLower, externalIdOf: () => undefined, notHeld: ["searchTerms"], sharedValues: ["managedBy", "type"] };
  const noJournal = { subscribe() {}, catchUp: () => Promise.resolve() };

  it("streams more documents than one batch, holds none of the fields memory does without, and lists them by created then id", async () => {
    const { ResidentDirectory, loadBatchSize } = await import("../../src/storage/resident-directory");
    const collection = resident.db.models.User.db.collection("resident_load_users");
    const base = Date.UTC(2026, 0, 1);
    // Stored out of listing order, with ties on created (then _id decides), a few deleted ones.
    const docs: Stored[] = Array.from({ length: 2 * loadBatchSize + 500 }, (_, i) => ({
      _id: `u-${String((i * 7919) % 10007).padStart(5, "0")}`,
      organizationId: i % 10 === 0 ? "org-b" : "org-a",
      created: new Date(base + ((i * 31) % 600) * 1000),
      version: 1,
      userName: `user${i}@example.com`,
      userNameLower: `user${i}@example.com`,
      managedBy: i % 2 ? "scim" : "local",
      emails: [{ value: `user${i}@example.com`, type: "work", primary: true }, { value: `u${i}@home.example`, type: i % 4 ? "home" : "other" }],
      searchTerms: [`user${i}`],
      ...(i % 3 === 0 ? { outbox: [{ type: "user.created" }] } : {}),
      ...(i % 97 === 0 ? { deletedAt: new Date(base) } : {}),
    }));
    await collection.insertMany(docs as never[]);
    const asked: unknown[] = [];
    const observed = new Proxy(collection, {
      get: (target, name) => (name === "find" ? (filter: unknown, options: unknown) => (asked.push(options), target.find(filter as never, options as never)) : Reflect.get(target, name, target)),
    });
    const directory = new ResidentDirectory<Stored>(observed as never, spec, noJournal);
    await directory.load();

    expect(asked).toEqual([{ projection: { outbox: 0, searchTerms: 0 }, batchSize: loadBatchSize }]);
    const live = docs.filter((d) => !d.deletedAt);
    const listingOrder = (organizationId: string) =>
      live
        .filter((d) => d.organizationId === organizationId)
        .sort((a, b) => a.created.getTime() - b.created.getTime() || (a._id < b._id ? -1 : 1))
        .map((d) => d._id);
    expect(directory.all("org-a").map((d) => d._id)).toEqual(listingOrder("org-a"));
    expect(directory.all("org-b").map((d) => d._id)).toEqual(listingOrder("org-b"));
    const held = [...directory.all("org-a"), ...directory.all("org-b")];
    expect(held.filter((d) => "outbox" in d || "searchTerms" in d)).toEqual([]);
    // Every field as stored (equal strings are held once: userNameLower and userName, the shared values).
    const stored = new Map(live.map(({ outbox: _outbox, searchTerms: _terms, ...doc }) => [doc._id, doc]));
    expect(held.length).toBe(stored.size);
    for (const doc of held) expect(doc).toEqual(stored.get(doc._id));
    expect(directory.byName("org-a", "user1@example.com")?._id).toBe(docs[1]!._id);
    expect(directory.byName("org-b", "user0@example.com")).toBeUndefined(); // deleted
    // A document created afterwards goes to its place in the listing order.
    directory.inserted({ _id: "u-00000", organizationId: "org-b", created: new Date(base + 1500), version: 1, userNameLower: "late@example.com" });
    expect(directory.all("org-b").map((d) => d._id)).toEqual([...listingOrder("org-b").filter((id) => live.find((d) => d._id === id)!.created.getTime() <= base + 1500), "u-00000", ...listingOrder("org-b").filter((id) => live.find((d) => d._id === id)!.created.getTime() > base + 1500)]);
    await collection.drop();
  });

  it("re-reads by _id a document written while a reload streamed, rather than keep the older state the scan read", async () => {
    const { ResidentDirectory } = await import("../../src/storage/resident-directory");
    const collection = resident.db.models.User.collection;
    const id = ids[11]!;
    const before = (await collection.find({}).toArray()) as unknown as Stored[];
    let gate = Promise.resolve();
    // A scan that read the collection before the write below, and yields only once the gate opens.
    const scanning = new Proxy(collection, {
      get: (target, name) =>
        name === "find"
          ? () => ({
              async *[Symbol.asyncIterator]() {
                await gate;
                yield* before.map((doc) => ({ ...doc }));
              },
            })
          : Reflect.get(target, name, target),
    });
    const directory = new ResidentDirectory<Stored>(scanning as never, spec, noJournal);
    await directory.load();
    const original = directory.get(id)!;

    let open!: () => void;
    gate = new Promise((resolve) => (open = resolve));
    const reloading = directory.load();
    // The write lands in the database and is applied to memory while the scan is under way.
    await directory.written(
      [id],
      () => collection.updateOne({ _id: id } as never, { $set: { title: "Written meanwhile" }, $inc: { version: 1 } }), () =>
      directory.inserted({ ...original, title: "Written meanwhile", version: original.version + 1 }),
    );
    open();
    await reloading;
    await directory.ready();
    expect(directory.get(id)).toMatchObject({ title: "Written meanwhile", version: original.version + 1 });
    expect(await directory.versionOf(id)).toEqual({ version: original.version + 1 });
  });
});

import type { Response } from "supertest";
import { buildUser, patchSchema, residentMode, scimClient, startTestApp, type TestApp } from "../support/app";

/**
 * What a SCIM client may rely on when it writes one resource from several requests at once
 * (README "How it is built", Concurrency), through the HTTP API on the real embedded database:
 *
 * - every write answered as made is in the stored resource, and each answer carries a version of
 *   its own (no two answers share an ETag);
 * - of several writes sent with the same If-Match, at most one is made; the others get 412;
 * - a rename racing other writes never leaves the userName key and the stored userName apart;
 * - all of it still holds after the driver reconnects (mongoose re-creates its collection objects).
 *
 * Each case runs several rounds: before the fix each round failed most of the time (measured rates
 * are in the comments), so together they fail on every run against the old code.
 */

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

const groupSchema = "urn:ietf:params:scim:schemas:core:2.0:Group";
const versionIn = (etag: string | undefined) => Number(/W\/"(\d+)"/.exec(etag ?? "")?.[1]);
const versionOf = (res: Response) => versionIn(res.headers.etag);

/**
 * What the driver does when it reconnects: it reports the server unknown, then known again, and
 * mongoose answers by re-creating the native collection object of every model
 * (`NativeCollection#onOpen`). The test checks that the objects really were replaced, so it
 * cannot pass on a reconnect that did nothing.
 */
function reconnect(): void {
  const nativeOf = () => (t.db.models.Group.collection as unknown as { collection: object }).collection;
  const before = nativeOf();
  const client = t.db.connection.getClient();
  client.emit("serverDescriptionChanged", { newDescription: { type: "Unknown" } } as never);
  client.emit("serverDescriptionChanged", { newDescription: { type: "Standalone" } } as never);
  expect(nativeOf()).not.toBe(before);
}

describe("after the driver reconnects, writes of one document stay serialized (issue 10, item 1)", () => {
  // Before the fix (write queue patched onto the driver's collection objects), 3 of 3 rounds lost
  // version increments and memberships after a reconnect; on a fresh connection none did.
  test.each([1, 2, 3])("round %i: concurrent member changes each raise the version and none is undone", async (round) => {
    const org = await t.organization(`Reconnect ${round}`);
    const scim = scimClient(t.app, org.token);
    const users = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => (await scim.post("/Users", buildUser({ userName: `member-${round}-${i}@example.com` })).expect(201)).body.id as string),
    );
    const leaving = (await scim.post("/Groups", { schemas: [groupSchema], displayName: "Leaving", members: users.map((value) => ({ value })) }).expect(201)).body;
    const joining = (await scim.post("/Groups", { schemas: [groupSchema], displayName: "Joining" }).expect(201)).body;
    reconnect();

    // 80 changes at once: each user leaves one group and joins the other; both touch the user's document.
    const answers = await Promise.all(
      users.flatMap((value) => [
        scim.patch(`/Groups/${leaving.id}`, { schemas: [patchSchema], Operations: [{ op: "remove", path: `members[value eq "${value}"]` }] }),
        scim.patch(`/Groups/${joining.id}`, { schemas: [patchSchema], Operations: [{ op: "add", path: "members", value: [{ value }] }] }),
      ]),
    );
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 204));

    const left = await scim.get(`/Groups/${leaving.id}`).expect(200);
    const joined = await scim.get(`/Groups/${joining.id}`).expect(200);
    expect(versionOf(left)).toBe(versionIn(leaving.meta.version) + 40);
    expect(versionOf(joined)).toBe(versionIn(joining.meta.version) + 40);
    expect(left.body.members ?? []).toEqual([]);
    expect((joined.body.members as { value: string }[]).map((m) => m.value).sort()).toEqual([...users].sort());
    for (const id of users) {
      const user = await scim.get(`/Users/${id}`).expect(200);
      expect((user.body.groups as { value: string }[]).map((g) => g.value)).toEqual([joining.id]);
    }
    await t.services.settle();
    const events = await t.db.models.AuditEvent.countDocuments({ organizationId: org.id, action: "group.members_changed" });
    expect(events).toBe(80);
  });
});

describe("concurrent PATCHes of one user (issue 10, item 2)", () => {
  const attributes = ["displayName", "nickName", "title", "userType", "preferredLanguage", "locale", "timezone", "profileUrl"] as const;
  const valueFor = (attribute: string, round: number) => (attribute === "profileUrl" ? `https://example.com/${round}` : attribute === "locale" ? "en-GB" : attribute === "timezone" ? "Europe/London" : `${attribute}-${round}`);

  // Before the fix, 5 of 5 rounds lost changes answered 200 (31–35 of 40 lost over 5 rounds).
  test.each([1, 2, 3, 4, 5])("round %i: eight PATCHes of different attributes are all kept, each answered with a version of its own", async (round) => {
    const org = await t.organization(`Patches ${round}`);
    const scim = scimClient(t.app, org.token);
    const created = await scim.post("/Users", buildUser({ userName: `patched-${round}@example.com` })).expect(201);
    const answers = await Promise.all(
      attributes.map((attribute) => scim.patch(`/Users/${created.body.id}`, { schemas: [patchSchema], Operations: [{ op: "replace", path: attribute, value: valueFor(attribute, round) }] })),
    );
    expect(answers.map((a) => a.status)).toEqual(attributes.map(() => 200));
    // Each answer shows its own change, and the versions are 2..9, one each.
    answers.forEach((a, i) => expect(a.body[attributes[i]]).toBe(valueFor(attributes[i], round)));
    expect(answers.map(versionOf).sort((a, b) => a - b)).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);

    const stored = await scim.get(`/Users/${created.body.id}`).expect(200);
    for (const attribute of attributes) expect(stored.body[attribute]).toBe(valueFor(attribute, round));
    expect(versionOf(stored)).toBe(9);
    await t.services.settle();
    expect(await t.db.models.AuditEvent.countDocuments({ organizationId: org.id, action: "user.updated", "target.id": created.body.id })).toBe(8);
  });

  test("concurrent PUTs of one user: the stored user is one of them whole, and the version counts every answer", async () => {
    const org = await t.organization("Puts");
    const scim = scimClient(t.app, org.token);
    const created = await scim.post("/Users", buildUser({ userName: "put@example.com" })).expect(201);
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) => scim.put(`/Users/${created.body.id}`, buildUser({ userName: "put@example.com", title: `title-${i}`, nickName: `nick-${i}` }))),
    );
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
    expect(answers.map(versionOf).sort((a, b) => a - b)).toEqual([2, 3, 4, 5, 6, 7]);
    const stored = await scim.get(`/Users/${created.body.id}`).expect(200);
    const last = answers.find((a) => versionOf(a) === 7)!;
    expect([stored.body.title, stored.body.nickName]).toEqual([last.body.title, last.body.nickName]);
  });
});

describe("If-Match is atomic (issue 10, item 3)", () => {
  // Before the fix, 5 of 5 rounds let 2 to 8 of the 8 conditional PATCHes through.
  test.each([1, 2, 3, 4, 5])("round %i: of eight user PATCHes sent with the same If-Match, one wins and seven get 412", async (round) => {
    const org = await t.organization(`If-Match ${round}`);
    const scim = scimClient(t.app, org.token);
    const created = await scim.post("/Users", buildUser({ userName: `conditional-${round}@example.com` })).expect(201);
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        scim.patch(`/Users/${created.body.id}`, { schemas: [patchSchema], Operations: [{ op: "replace", path: "title", value: `title-${i}` }] }).set("If-Match", created.headers.etag),
      ),
    );
    expect(answers.map((a) => a.status).sort()).toEqual([200, 412, 412, 412, 412, 412, 412, 412]);
    const winner = answers.find((a) => a.status === 200)!;
    const stored = await scim.get(`/Users/${created.body.id}`).expect(200);
    expect(stored.body.title).toBe(winner.body.title);
    expect(versionOf(stored)).toBe(versionOf(created) + 1);
    await t.services.settle();
    expect(await t.db.models.AuditEvent.countDocuments({ organizationId: org.id, action: "user.updated" })).toBe(1);
  });

  test.each([1, 2, 3])("round %i: of eight group PATCHes sent with the same If-Match, one wins and seven get 412", async (round) => {
    const org = await t.organization(`Group If-Match ${round}`);
    const scim = scimClient(t.app, org.token);
    const users = await Promise.all(Array.from({ length: 8 }, async (_, i) => (await scim.post("/Users", buildUser({ userName: `g${round}-${i}@example.com` })).expect(201)).body.id as string));
    const group = await scim.post("/Groups", { schemas: [groupSchema], displayName: `Conditional ${round}` }).expect(201);
    const answers = await Promise.all(
      users.map((value) => scim.patch(`/Groups/${group.body.id}`, { schemas: [patchSchema], Operations: [{ op: "add", path: "members", value: [{ value }] }] }).set("If-Match", group.headers.etag)),
    );
    expect(answers.map((a) => a.status).sort()).toEqual([204, 412, 412, 412, 412, 412, 412, 412]);
    const stored = await scim.get(`/Groups/${group.body.id}`).expect(200);
    expect(stored.body.members).toHaveLength(1);
    expect(versionOf(stored)).toBe(versionOf(group) + 1);
  });

  test("a rename of a group under a stale If-Match is refused and changes nothing", async () => {
    const org = await t.organization("Group rename If-Match");
    const scim = scimClient(t.app, org.token);
    const group = await scim.post("/Groups", { schemas: [groupSchema], displayName: "Before" }).expect(201);
    const answers = await Promise.all(
      ["After A", "After B", "After C", "After D"].map((displayName) =>
        scim.patch(`/Groups/${group.body.id}`, { schemas: [patchSchema], Operations: [{ op: "replace", path: "displayName", value: displayName }] }).set("If-Match", group.headers.etag),
      ),
    );
    expect(answers.map((a) => a.status).sort()).toEqual([204, 412, 412, 412]);
    const stored = await scim.get(`/Groups/${group.body.id}`).expect(200);
    // Only the winner's name finds the group; the losers' names are free again.
    for (const name of ["Before", "After A", "After B", "After C", "After D"]) {
      const found = await scim.get(`/Groups?filter=${encodeURIComponent(`displayName eq "${name}"`)}`).expect(200);
      expect(found.body.totalResults).toBe(name === stored.body.displayName ? 1 : 0);
    }
  });
});

describe("a rename racing other PATCHes keeps the user reachable (issue 10, item 4)", () => {
  const byName = (scim: ReturnType<typeof scimClient>, userName: string) => scim.get(`/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`).expect(200);

  // Before the fix, 4 of 6 rounds left the user stored under its old userName with no key for it.
  test.each([1, 2, 3, 4, 5, 6])("round %i: the stored userName finds the user, the other name is free, and the repair pass finds nothing to repair", async (round) => {
    const org = await t.organization(`Rename ${round}`);
    const scim = scimClient(t.app, org.token);
    const oldName = `conc-${round}@example.com`;
    const newName = `renamed-${round}@example.com`;
    const created = await scim.post("/Users", buildUser({ userName: oldName })).expect(201);
    const id = created.body.id as string;
    const answers = await Promise.all([
      scim.patch(`/Users/${id}`, { schemas: [patchSchema], Operations: [{ op: "replace", path: "userName", value: newName }] }),
      ...["title", "nickName", "displayName", "userType", "preferredLanguage"].map((attribute) =>
        scim.patch(`/Users/${id}`, { schemas: [patchSchema], Operations: [{ op: "replace", path: attribute, value: `${attribute}-${round}` }] }),
      ),
    ]);
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));

    // First what broke: the name the user is stored under must find them, whatever it is.
    const stored = await scim.get(`/Users/${id}`).expect(200);
    expect((await byName(scim, stored.body.userName)).body.totalResults).toBe(1);
    expect(stored.body.userName).toBe(newName);
    expect(stored.body.title).toBe(`title-${round}`);
    expect((await byName(scim, newName)).body.Resources.map((r: { id: string }) => r.id)).toEqual([id]);
    expect((await byName(scim, oldName)).body.totalResults).toBe(0);
    await scim.post("/Users", buildUser({ userName: oldName })).expect(201);
    await scim.post("/Users", buildUser({ userName: newName })).expect(409);
    expect(await t.services.users.repairUserNameKeys(org.id)).toEqual({ restored: [], removed: [] });
  });

  test.each([1, 2, 3])("round %i: a rename and a rename back racing each other leave the key of whichever name is stored", async (round) => {
    const org = await t.organization(`Rename back ${round}`);
    const scim = scimClient(t.app, org.token);
    const [a, b] = [`a-${round}@example.com`, `b-${round}@example.com`];
    const id = (await scim.post("/Users", buildUser({ userName: a })).expect(201)).body.id as string;
    await Promise.all(
      [b, a, b, a, b].map((userName) => scim.patch(`/Users/${id}`, { schemas: [patchSchema], Operations: [{ op: "replace", path: "userName", value: userName }] }).expect(200)),
    );
    const stored = (await scim.get(`/Users/${id}`).expect(200)).body.userName as string;
    const other = stored === a ? b : a;
    expect((await byName(scim, stored)).body.totalResults).toBe(1);
    expect((await byName(scim, other)).body.totalResults).toBe(0);
    expect(await t.services.users.repairUserNameKeys(org.id)).toEqual({ restored: [], removed: [] });
    await scim.post("/Users", buildUser({ userName: other })).expect(201);
  });

  test("the repair pass restores a missing userName key and removes keys that name the wrong user", async () => {
    const org = await t.organization("Repair");
    const scim = scimClient(t.app, org.token);
    const id = (await scim.post("/Users", buildUser({ userName: "kept@example.com" })).expect(201)).body.id as string;
    const keyOf = (userName: string) => `${org.id}/user.userName/${userName}`;
    // What a crash between the writes of a rename (or an older Gatehouse) could leave behind.
    await t.db.models.LookupKey.deleteOne({ _id: keyOf("kept@example.com") });
    await t.db.models.LookupKey.collection.insertOne({ _id: keyOf("former@example.com"), owners: [id] } as never);
    await t.db.models.LookupKey.collection.insertOne({ _id: keyOf("ghost@example.com"), owners: ["no-such-user"] } as never);
    // Lookups go through the keys — except in resident mode, which answers them from memory.
    if (!residentMode()) expect((await byName(scim, "kept@example.com")).body.totalResults).toBe(0);

    const repaired = await t.services.users.repairUserNameKeys(org.id);
    expect(repaired.restored).toEqual([keyOf("kept@example.com")]);
    expect(repaired.removed.sort()).toEqual([keyOf("former@example.com"), keyOf("ghost@example.com")]);
    expect((await byName(scim, "kept@example.com")).body.Resources[0].id).toBe(id);
    expect(await t.db.models.LookupKey.countDocuments({ _id: { $in: [keyOf("former@example.com"), keyOf("ghost@example.com")] } })).toBe(0);
    expect(await t.services.users.repairUserNameKeys(org.id)).toEqual({ restored: [], removed: [] });
  });
});

describe("a deletion under If-Match is atomic too (RFC 7644 §3.14)", () => {
  // Before the fix, 3 of 3 rounds made several of these writes (and wrote several audit events).
  test.each([1, 2, 3])("round %i: of DELETEs and PATCHes sent with the same If-Match, exactly one is made", async (round) => {
    const org = await t.organization(`Delete If-Match ${round}`);
    const scim = scimClient(t.app, org.token);
    const created = await scim.post("/Users", buildUser({ userName: `deleted-${round}@example.com` })).expect(201);
    const patch = (i: number) => scim.patch(`/Users/${created.body.id}`, { schemas: [patchSchema], Operations: [{ op: "replace", path: "title", value: `title-${i}` }] });
    const remove = () => scim.delete(`/Users/${created.body.id}`);
    const answers = await Promise.all([patch(0), remove(), patch(1), remove(), patch(2), remove(), patch(3), remove()].map((r) => r.set("If-Match", created.headers.etag)));
    const made = answers.filter((a) => a.status === 200 || a.status === 204);
    expect(made).toHaveLength(1);
    // The others are refused: 412, or 404 for a request that read the user after a deletion won.
    for (const refused of answers.filter((a) => a !== made[0])) expect([404, 412]).toContain(refused.status);
    const stored = await scim.get(`/Users/${created.body.id}`);
    if (made[0]!.status === 204) expect(stored.status).toBe(404);
    else expect([stored.status, stored.body.title]).toEqual([200, made[0]!.body.title]);
    await t.services.settle();
    expect(await t.db.models.AuditEvent.countDocuments({ organizationId: org.id, action: { $in: ["user.deleted", "user.updated"] } })).toBe(1);
  });
});

describe("claims of a stale userName key", () => {
  // Before the takeover became compare-and-set, several claimants could each take the stale key
  // over; the losers then gave it back and the winner's key was gone (2 of 3 rounds failed).
  test.each([1, 2, 3, 4, 5])("round %i: of six creates racing for a name whose key is stale, at most one wins and the name finds the user", async (round) => {
    const org = await t.organization(`Stale key ${round}`);
    const scim = scimClient(t.app, org.token);
    const userName = `taken-${round}@example.com`;
    // What a crash right after a claim leaves: a key whose owner never came to exist.
    await t.db.models.LookupKey.collection.insertOne({ _id: `${org.id}/user.userName/${userName}`, owners: ["crashed-before-insert"] } as never);
    const answers = await Promise.all(Array.from({ length: 6 }, () => scim.post("/Users", buildUser({ userName }))));
    // At most one wins. Under heavy load all six may lose (each undoes its half-made create on a
    // conflict): then the name is free, and the identity provider's retry creates the user.
    const created = answers.filter((a) => a.status === 201);
    expect(created.length).toBeLessThanOrEqual(1);
    expect(answers.filter((a) => a.status !== 201).map((a) => a.status)).toEqual(answers.slice(created.length).map(() => 409));
    const winner = created[0] ?? (await scim.post("/Users", buildUser({ userName })).expect(201));
    const found = await scim.get(`/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`).expect(200);
    expect(found.body.Resources.map((r: { id: string }) => r.id)).toEqual([winner.body.id]);
    expect(await t.services.users.repairUserNameKeys(org.id)).toEqual({ restored: [], removed: [] });
  });
});

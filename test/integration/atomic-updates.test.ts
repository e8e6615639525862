import { buildUser, operator, patchSchema, scimClient, startTestApp, type TestApp } from "../support/app";

/**
 * Single-document updates must be atomic, even under concurrency: on FerretDB (the embedded
 * database these tests run on) they are not by themselves, and storage/write-queue.ts makes them
 * so. Each case here lost writes before it. (Version-conditioned writes through the HTTP API:
 * concurrent-writes.test.ts.)
 */

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

test("concurrent increments of one document through the write queue are all kept", async () => {
  await t.db.models.AuthFailure.collection.insertOne({ _id: "counter", count: 0, expiresAt: new Date() } as never);
  await Promise.all(
    Array.from({ length: 100 }, () => t.db.writes.document("auth_failures", "counter", () => t.db.models.AuthFailure.collection.updateOne({ _id: "counter" } as never, { $inc: { count: 1 } }))),
  );
  expect((await t.db.models.AuthFailure.collection.findOne({ _id: "counter" } as never))?.count).toBe(100);
});

test("the write queue holds across a reconnect, when mongoose re-creates its collection objects", async () => {
  await t.db.models.AuthFailure.collection.insertOne({ _id: "after-reconnect", count: 0, expiresAt: new Date() } as never);
  const native = () => (t.db.models.AuthFailure.collection as unknown as { collection: object }).collection;
  const before = native();
  // What the driver reports on a reconnect; mongoose then calls NativeCollection#onOpen on every model.
  t.db.connection.getClient().emit("serverDescriptionChanged", { newDescription: { type: "Unknown" } } as never);
  t.db.connection.getClient().emit("serverDescriptionChanged", { newDescription: { type: "Standalone" } } as never);
  expect(native()).not.toBe(before);
  await Promise.all(
    Array.from({ length: 100 }, () =>
      t.db.writes.document("auth_failures", "after-reconnect", () => t.db.models.AuthFailure.collection.updateOne({ _id: "after-reconnect" } as never, { $inc: { count: 1 } })),
    ),
  );
  expect((await t.db.models.AuthFailure.collection.findOne({ _id: "after-reconnect" } as never))?.count).toBe(100);
});

test("one write that may touch many documents waits for, and is waited for by, the writes of each document", async () => {
  const order: string[] = [];
  const step = (name: string, ms: number) => () => new Promise<void>((resolve) => setTimeout(() => (order.push(name), resolve()), ms));
  await Promise.all([
    t.db.writes.document("users", "a", step("a1", 30)),
    t.db.writes.exclusive("users", step("all", 1)),
    t.db.writes.document("users", "a", step("a2", 1)),
    t.db.writes.document("users", "b", step("b1", 1)),
  ]);
  expect(order.slice(0, 2)).toEqual(["a1", "all"]);
  expect(order.slice(2).sort()).toEqual(["a2", "b1"]);
});

test("mappings added at the same time are all kept, each with its audit event", async () => {
  const org = await t.organization("Concurrent Co");
  const ctx = { ...operator, organizationId: org.id };
  const added = await Promise.all(
    Array.from({ length: 12 }, (_, i) => t.services.access.addMapping(ctx, { match: { kind: "display_name", value: `Group ${i}` }, organizationRole: "user" })),
  );
  expect((await t.services.access.mappings(ctx)).map((m) => m.id).sort()).toEqual(added.map((m) => m.id).sort());
  await t.services.settle();
  expect(await t.db.models.AuditEvent.countDocuments({ organizationId: org.id, action: "mapping.created" })).toBe(12);
  expect(await t.services.recoverAuditOutbox()).toBe(0);
});

test("one user added to many groups at once is a member of each", async () => {
  const org = await t.organization("Busy Co");
  const scim = scimClient(t.app, org.token);
  const userId = (await scim.post("/Users", buildUser({ userName: "busy@example.com" })).expect(201)).body.id as string;
  const groups = await Promise.all(
    Array.from({ length: 10 }, async (_, i) => (await scim.post("/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: `Team ${i}` }).expect(201)).body.id as string),
  );
  await Promise.all(groups.map((g) => scim.patch(`/Groups/${g}`, { schemas: [patchSchema], Operations: [{ op: "add", path: "members", value: [{ value: userId }] }] }).expect(204)));
  const user = await scim.get(`/Users/${userId}`).expect(200);
  expect(user.body.groups.map((g: { value: string }) => g.value).sort()).toEqual([...groups].sort());
});

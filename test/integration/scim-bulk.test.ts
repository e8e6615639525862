import { buildUser, errorSchema, patchSchema, scimClient, startTestApp, type TestApp } from "../support/app";

/** Bulk operations (RFC 7644 §3.7) through POST /scim/v2/Bulk. */

const bulkRequestSchema = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
const bulkResponseSchema = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";
const groupSchema = "urn:ietf:params:scim:schemas:core:2.0:Group";
const base = "https://gatehouse.test/scim/v2";

interface BulkOperation {
  method: string;
  path: string;
  bulkId?: string;
  version?: string;
  data?: unknown;
}

interface BulkResult {
  method: string;
  bulkId?: string;
  location?: string;
  version?: string;
  status: string;
  response?: { schemas: string[]; status: string; scimType?: string; detail?: string };
}

type Client = ReturnType<typeof scimClient>;

const bulk = (client: Client, Operations: BulkOperation[], extra: Record<string, unknown> = {}) =>
  client.post("/Bulk", { schemas: [bulkRequestSchema], ...extra, Operations });

const results = (body: { Operations?: BulkResult[] }): BulkResult[] => body.Operations ?? [];

/** A SCIM list filtered by userName; `count` of matches. */
async function usersNamed(client: Client, userName: string): Promise<number> {
  const res = await client.get(`/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`);
  expect(res.status).toBe(200);
  return res.body.totalResults as number;
}

async function groupsNamed(client: Client, displayName: string): Promise<number> {
  const res = await client.get(`/Groups?filter=${encodeURIComponent(`displayName eq "${displayName}"`)}`);
  expect(res.status).toBe(200);
  return res.body.totalResults as number;
}

/*
 * scimmy keeps the service provider configuration (and so the bulk limits) in one process-wide
 * object that every app built in this file reconfigures. Each describe below therefore starts its
 * own app in its beforeAll, which jest runs only when that describe begins, after the previous one
 * has finished.
 */

describe("bulk operations (RFC 7644 §3.7)", () => {
  let t: TestApp;
  let org: { id: string; token: string; tokenId: string };
  let scim: Client;

  beforeAll(async () => {
    t = await startTestApp();
    org = await t.organization("Bulk Org");
    scim = scimClient(t.app, org.token);
  });

  afterAll(async () => {
    await t?.close();
  });

  it("advertises the configured bulk limits in ServiceProviderConfig", async () => {
    const spc = await scim.get("/ServiceProviderConfig");
    expect(spc.status).toBe(200);
    expect(spc.body.bulk).toEqual({ supported: true, maxOperations: t.config.scim.maxBulkOperations, maxPayloadSize: t.config.scim.maxPayloadBytes });
    expect(spc.body.bulk).toEqual({ supported: true, maxOperations: 1000, maxPayloadSize: 1024 * 1024 });
  });

  it("creates a user and a group whose member is the user's bulkId", async () => {
    const res = await bulk(scim, [
      { method: "POST", path: "/Users", bulkId: "u1", data: buildUser({ userName: "bulk.alice@example.com", displayName: "Bulk Alice" }) },
      { method: "POST", path: "/Groups", bulkId: "g1", data: { schemas: [groupSchema], displayName: "Bulk Tour Guides", members: [{ type: "User", value: "bulkId:u1" }] } },
    ]);
    expect(res.status).toBe(200);
    expect(res.body.schemas).toEqual([bulkResponseSchema]);
    const [user, group] = results(res.body);
    expect(results(res.body)).toHaveLength(2);

    expect(user).toMatchObject({ method: "POST", bulkId: "u1", status: "201" });
    expect(user.location).toMatch(new RegExp(`^${base}/Users/[^/]+$`));
    expect(group).toMatchObject({ method: "POST", bulkId: "g1", status: "201" });
    expect(group.location).toMatch(new RegExp(`^${base}/Groups/[^/]+$`));

    const userId = user.location!.split("/").pop()!;
    const groupId = group.location!.split("/").pop()!;
    const readUser = await scim.get(`/Users/${userId}`);
    expect(readUser.status).toBe(200);
    expect(readUser.body.userName).toBe("bulk.alice@example.com");
    const readGroup = await scim.get(`/Groups/${groupId}`);
    expect(readGroup.status).toBe(200);
    expect(readGroup.body.displayName).toBe("Bulk Tour Guides");
    expect(readGroup.body.members).toEqual([{ value: userId, display: "Bulk Alice", $ref: `${base}/Users/${userId}`, type: "User" }]);
    expect(((await t.db.models.User.findById(userId).lean())?.groups ?? []) as string[]).toEqual([groupId]);
    expect(readUser.body.groups).toEqual([
      { value: groupId, display: "Bulk Tour Guides", $ref: `${base}/Groups/${groupId}`, type: "direct" },
    ]);
  });

  it("resolves a bulkId referenced by an operation that comes before the one creating it", async () => {
    // RFC 7644 §3.7.2: the service provider resolves bulkId references between the operations of
    // one request, even circular ones; a reference to a later POST is the simple case.
    const res = await bulk(scim, [
      { method: "POST", path: "/Groups", bulkId: "g2", data: { schemas: [groupSchema], displayName: "Bulk Forward Group", members: [{ type: "User", value: "bulkId:u2" }] } },
      { method: "POST", path: "/Users", bulkId: "u2", data: buildUser({ userName: "bulk.forward@example.com" }) },
    ]);
    expect(res.status).toBe(200);
    const [group, user] = results(res.body);
    expect(user).toMatchObject({ method: "POST", bulkId: "u2", status: "201" });
    expect(group).toMatchObject({ method: "POST", bulkId: "g2", status: "201" });
    expect(await groupsNamed(scim, "Bulk Forward Group")).toBe(1);
    const groupId = group.location!.split("/").pop()!;
    const userId = user.location!.split("/").pop()!;
    const readGroup = await scim.get(`/Groups/${groupId}`);
    expect((readGroup.body.members ?? []).map((m: { value: string }) => m.value)).toEqual([userId]);
  });

  it("applies PUT, PATCH and DELETE to existing resources", async () => {
    const alice = await scim.post("/Users", buildUser({ userName: "bulk.put@example.com", displayName: "Before Put" }));
    const bob = await scim.post("/Users", buildUser({ userName: "bulk.delete@example.com" }));
    const team = await scim.post("/Groups", { schemas: [groupSchema], displayName: "Bulk Patched Group" });
    expect([alice.status, bob.status, team.status]).toEqual([201, 201, 201]);
    const aliceId: string = alice.body.id;
    const bobId: string = bob.body.id;
    const teamId: string = team.body.id;

    const res = await bulk(scim, [
      { method: "PUT", path: `/Users/${aliceId}`, data: buildUser({ userName: "bulk.put@example.com", displayName: "After Put", name: { givenName: "Alice", familyName: "Put" } }) },
      { method: "PATCH", path: `/Users/${aliceId}`, data: { schemas: [patchSchema], Operations: [{ op: "replace", path: "title", value: "Tour Guide" }] } },
      { method: "PATCH", path: `/Groups/${teamId}`, data: { schemas: [patchSchema], Operations: [{ op: "add", path: "members", value: [{ value: aliceId }] }] } },
      { method: "DELETE", path: `/Users/${bobId}` },
    ]);
    expect(res.status).toBe(200);
    expect(res.body.schemas).toEqual([bulkResponseSchema]);
    const [put, patchUser, patchGroup, del] = results(res.body);
    expect(results(res.body)).toHaveLength(4);
    expect(put).toMatchObject({ method: "PUT", status: "200", location: `${base}/Users/${aliceId}` });
    expect(patchUser).toMatchObject({ method: "PATCH", status: "200", location: `${base}/Users/${aliceId}` });
    expect(patchGroup).toMatchObject({ method: "PATCH", location: `${base}/Groups/${teamId}` });
    expect(["200", "204"]).toContain(patchGroup.status);
    expect(del).toMatchObject({ method: "DELETE", status: "204", location: `${base}/Users/${bobId}` });
    for (const result of results(res.body)) expect(result.response?.schemas ?? []).not.toContain(errorSchema);

    const readAlice = await scim.get(`/Users/${aliceId}`);
    expect(readAlice.body).toMatchObject({ displayName: "After Put", title: "Tour Guide", name: { givenName: "Alice", familyName: "Put" } });
    expect(readAlice.body.groups).toEqual([expect.objectContaining({ value: teamId })]);
    const readTeam = await scim.get(`/Groups/${teamId}`);
    expect((readTeam.body.members ?? []).map((m: { value: string }) => m.value)).toEqual([aliceId]);
    expect((await scim.get(`/Users/${bobId}`)).status).toBe(404);
    expect(await t.db.models.User.findById(bobId).lean()).toBeNull();
  });

  it("refuses an operation whose version no longer matches with 412, like If-Match", async () => {
    // RFC 7644 §3.7: an operation's `version` is used when the service provider supports ETags
    // (Gatehouse does: etag.supported is true, and If-Match is honoured on single requests).
    const carol = await scim.post("/Users", buildUser({ userName: "bulk.version@example.com", displayName: "Version One" }));
    expect(carol.status).toBe(201);
    const carolId: string = carol.body.id;
    const current: string = carol.body.meta.version;
    const changed = await scim.put(`/Users/${carolId}`, buildUser({ userName: "bulk.version@example.com", displayName: "Version Two" }));
    expect(changed.status).toBe(200);
    expect(changed.body.meta.version).not.toBe(current);

    const res = await bulk(scim, [
      { method: "PUT", path: `/Users/${carolId}`, version: current, data: buildUser({ userName: "bulk.version@example.com", displayName: "Stale Write" }) },
    ]);
    expect(res.status).toBe(200);
    const [stale] = results(res.body);
    expect(stale).toMatchObject({ method: "PUT", status: "412", location: `${base}/Users/${carolId}` });
    expect(stale.response?.schemas).toContain(errorSchema);
    expect((await scim.get(`/Users/${carolId}`)).body.displayName).toBe("Version Two");
  });

  it("reports a failing operation (409 uniqueness) and goes on with the others without failOnErrors", async () => {
    const existing = await scim.post("/Users", buildUser({ userName: "bulk.taken@example.com" }));
    expect(existing.status).toBe(201);
    const res = await bulk(scim, [
      { method: "POST", path: "/Users", bulkId: "dup", data: buildUser({ userName: "BULK.TAKEN@example.com" }) },
      { method: "POST", path: "/Users", bulkId: "fresh", data: buildUser({ userName: "bulk.fresh@example.com" }) },
    ]);
    expect(res.status).toBe(200);
    expect(res.body.schemas).toEqual([bulkResponseSchema]);
    const [dup, fresh] = results(res.body);
    expect(results(res.body)).toHaveLength(2);
    expect(dup).toMatchObject({ method: "POST", bulkId: "dup", status: "409" });
    expect(dup.location).toBeUndefined();
    expect(dup.response).toMatchObject({ status: "409", scimType: "uniqueness" });
    expect(dup.response?.schemas).toContain(errorSchema);
    expect(fresh).toMatchObject({ method: "POST", bulkId: "fresh", status: "201" });
    expect(await usersNamed(scim, "bulk.taken@example.com")).toBe(1);
    expect(await usersNamed(scim, "bulk.fresh@example.com")).toBe(1);
  });

  it("stops after the first error with failOnErrors: 1", async () => {
    const existing = await scim.post("/Users", buildUser({ userName: "bulk.stop@example.com" }));
    expect(existing.status).toBe(201);
    const res = await bulk(
      scim,
      [
        { method: "POST", path: "/Users", bulkId: "before", data: buildUser({ userName: "bulk.before-error@example.com" }) },
        { method: "POST", path: "/Users", bulkId: "dup", data: buildUser({ userName: "bulk.stop@example.com" }) },
        { method: "POST", path: "/Users", bulkId: "after", data: buildUser({ userName: "bulk.after-error@example.com" }) },
        { method: "POST", path: "/Groups", bulkId: "afterGroup", data: { schemas: [groupSchema], displayName: "Bulk After Error" } },
      ],
      { failOnErrors: 1 },
    );
    expect(res.status).toBe(200);
    expect(res.body.schemas).toEqual([bulkResponseSchema]);
    const ops = results(res.body);
    expect(ops.map((o) => o.bulkId)).toEqual(["before", "dup"]);
    expect(ops[0]).toMatchObject({ status: "201" });
    expect(ops[1]).toMatchObject({ status: "409", response: { scimType: "uniqueness" } });
    expect(await usersNamed(scim, "bulk.before-error@example.com")).toBe(1);
    expect(await usersNamed(scim, "bulk.after-error@example.com")).toBe(0);
    expect(await groupsNamed(scim, "Bulk After Error")).toBe(0);
  });
});

describe("bulk maxOperations (RFC 7644 §3.7.4)", () => {
  let t: TestApp;
  let scim: Client;
  let orgId: string;

  beforeAll(async () => {
    t = await startTestApp({ SCIM_BULK_MAX_OPERATIONS: "2" });
    const org = await t.organization("Bulk Small Org");
    orgId = org.id;
    scim = scimClient(t.app, org.token);
  });

  afterAll(async () => {
    await t?.close();
  });

  it("advertises maxOperations 2", async () => {
    const spc = await scim.get("/ServiceProviderConfig");
    expect(spc.status).toBe(200);
    expect(spc.body.bulk).toEqual({ supported: true, maxOperations: 2, maxPayloadSize: t.config.scim.maxPayloadBytes });
  });

  it("answers 413 with a SCIM error for more operations than maxOperations, and creates nothing", async () => {
    const res = await bulk(
      scim,
      [1, 2, 3].map((i) => ({ method: "POST", path: "/Users", bulkId: `op${i}`, data: buildUser({ userName: `bulk.limit${i}@example.com` }) })),
    );
    expect(res.status).toBe(413);
    expect(res.body.schemas).toContain(errorSchema);
    expect(res.body.status).toBe("413");
    expect(await t.db.models.User.countDocuments({ organizationId: orgId })).toBe(0);
    expect(await t.db.models.AuditEvent.countDocuments({ organizationId: orgId, action: "user.provisioned" })).toBe(0);
  });

  it("accepts exactly maxOperations operations", async () => {
    const res = await bulk(
      scim,
      [1, 2].map((i) => ({ method: "POST", path: "/Users", bulkId: `ok${i}`, data: buildUser({ userName: `bulk.within${i}@example.com` }) })),
    );
    expect(res.status).toBe(200);
    expect(results(res.body).map((o) => o.status)).toEqual(["201", "201"]);
  });
});

describe("bulk maxPayloadSize (RFC 7644 §3.7.4)", () => {
  let t: TestApp;
  let scim: Client;
  let orgId: string;

  beforeAll(async () => {
    t = await startTestApp({ SCIM_MAX_PAYLOAD_BYTES: "2048" });
    const org = await t.organization("Bulk Tight Org");
    orgId = org.id;
    scim = scimClient(t.app, org.token);
  });

  afterAll(async () => {
    await t?.close();
  });

  it("advertises maxPayloadSize 2048", async () => {
    const spc = await scim.get("/ServiceProviderConfig");
    expect(spc.status).toBe(200);
    expect(spc.body.bulk).toEqual({ supported: true, maxOperations: t.config.scim.maxBulkOperations, maxPayloadSize: 2048 });
  });

  it("answers 413 with a SCIM error for a body larger than maxPayloadSize, and creates nothing", async () => {
    const Operations = [1, 2, 3, 4, 5, 6].map((i) => ({
      method: "POST",
      path: "/Users",
      bulkId: `big${i}`,
      data: buildUser({ userName: `bulk.big${i}@example.com`, displayName: `Big ${"x".repeat(200)}` }),
    }));
    expect(JSON.stringify({ schemas: [bulkRequestSchema], Operations }).length).toBeGreaterThan(2048);
    const res = await bulk(scim, Operations);
    expect(res.status).toBe(413);
    expect(res.body.schemas).toContain(errorSchema);
    expect(res.body.status).toBe("413");
    expect(await t.db.models.User.countDocuments({ organizationId: orgId })).toBe(0);
  });

  it("accepts a bulk request within maxPayloadSize", async () => {
    const Operations = [{ method: "POST", path: "/Users", bulkId: "small", data: buildUser({ userName: "bulk.small@example.com" }) }];
    expect(JSON.stringify({ schemas: [bulkRequestSchema], Operations }).length).toBeLessThan(2048);
    const res = await bulk(scim, Operations);
    expect(res.status).toBe(200);
    expect(results(res.body)).toEqual([expect.objectContaining({ bulkId: "small", status: "201" })]);
  });
});

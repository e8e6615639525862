import request from "supertest";
import { buildUser, errorSchema, patchSchema, scimClient, startTestApp, userSchema, type TestApp } from "../support/app";

let t: TestApp;
let org: { id: string; token: string; tokenId: string };
let scim: ReturnType<typeof scimClient>;

beforeAll(async () => {
  t = await startTestApp();
  org = await t.organization("Users Inc");
  scim = scimClient(t.app, org.token);
});
afterAll(() => t.close());

async function storedUser(id: string) {
  return t.db.models.User.collection.findOne({ _id: id } as never);
}

function expectScimError(body: Record<string, unknown>, status: number, scimType?: string) {
  expect(body.schemas).toEqual([errorSchema]);
  expect(body.status).toBe(String(status));
  if (scimType) expect(body.scimType).toBe(scimType);
  expect(typeof body.detail).toBe("string");
}

describe("creating users (RFC 7644 §3.3)", () => {
  it("answers 201 with id, absolute meta.location, meta.version, ETag and Location", async () => {
    const res = await scim.post("/Users", buildUser({ userName: "create@example.com", externalId: "ext-create" }));
    expect(res.status).toBe(201);
    expect(res.headers["content-type"]).toMatch(/application\/scim\+json/);
    expect(res.body.id).toEqual(expect.any(String));
    expect(res.body.schemas).toEqual([userSchema]);
    expect(res.body.externalId).toBe("ext-create");
    expect(res.body.meta).toMatchObject({
      resourceType: "User",
      location: `https://gatehouse.test/scim/v2/Users/${res.body.id}`,
      version: 'W/"1"',
    });
    expect(new Date(res.body.meta.created).toISOString()).toBe(res.body.meta.created);
    expect(res.headers.etag).toBe('W/"1"');
    expect(res.headers.location).toBe(res.body.meta.location);
    expect(await storedUser(res.body.id)).toMatchObject({ userName: "create@example.com", organizationId: org.id });
  });

  it("answers 409 uniqueness when the userName differs only in case, and stores nothing", async () => {
    await scim.post("/Users", buildUser({ userName: "Unique.Person@example.com" })).expect(201);
    const before = await t.db.models.User.countDocuments({ organizationId: org.id });
    const res = await scim.post("/Users", buildUser({ userName: "unique.person@EXAMPLE.com" }));
    expect(res.status).toBe(409);
    expectScimError(res.body, 409, "uniqueness");
    expect(await t.db.models.User.countDocuments({ organizationId: org.id })).toBe(before);
  });

  it("takes over a userName claim left behind by a crash (its owner does not exist)", async () => {
    await t.db.models.LookupKey.collection.insertOne({ _id: `${org.id}/user.userName/ghost@example.com`, owners: ["no-such-user"] } as never);
    const res = await scim.post("/Users", buildUser({ userName: "Ghost@example.com" }));
    expect(res.status).toBe(201);
    const found = await scim.get(`/Users?filter=${encodeURIComponent('userName eq "ghost@example.com"')}`).expect(200);
    expect(found.body.Resources.map((u: { id: string }) => u.id)).toEqual([res.body.id]);
  });

  it("finds every user that shares an externalId (externalId is not unique)", async () => {
    const a = await scim.post("/Users", buildUser({ userName: "shared.a@example.com", externalId: "shared-ext" })).expect(201);
    const b = await scim.post("/Users", buildUser({ userName: "shared.b@example.com", externalId: "shared-ext" })).expect(201);
    const found = await scim.get(`/Users?filter=${encodeURIComponent('externalId eq "shared-ext"')}`).expect(200);
    expect(found.body.Resources.map((u: { id: string }) => u.id).sort()).toEqual([a.body.id, b.body.id].sort());
    await scim.delete(`/Users/${a.body.id}`).expect(204);
    const after = await scim.get(`/Users?filter=${encodeURIComponent('externalId eq "shared-ext"')}`).expect(200);
    expect(after.body.Resources.map((u: { id: string }) => u.id)).toEqual([b.body.id]);
  });

  it("answers 400 when userName is missing", async () => {
    const res = await scim.post("/Users", { schemas: [userSchema], active: true });
    expect(res.status).toBe(400);
    expectScimError(res.body, 400);
  });

  it("never stores or returns a password", async () => {
    const res = await scim.post("/Users", buildUser({ userName: "pw@example.com", password: "Sup3r-secret!" })).expect(201);
    expect(JSON.stringify(res.body)).not.toContain("Sup3r-secret!");
    expect(JSON.stringify(await storedUser(res.body.id))).not.toContain("Sup3r-secret!");
    const events = await t.db.models.AuditEvent.find({ organizationId: org.id }).lean();
    expect(JSON.stringify(events)).not.toContain("Sup3r-secret!");
  });

  it("keeps the enterprise extension, with manager as a reference", async () => {
    const manager = await scim.post("/Users", buildUser({ userName: "boss@example.com" })).expect(201);
    const res = await scim.post("/Users", buildUser({
      schemas: [userSchema, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
      userName: "report@example.com",
      "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": { department: "Analytics", employeeNumber: "42", manager: { value: manager.body.id } },
    })).expect(201);
    const ext = res.body["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"];
    expect(ext).toMatchObject({ department: "Analytics", employeeNumber: "42", manager: { value: manager.body.id, $ref: `https://gatehouse.test/scim/v2/Users/${manager.body.id}` } });
    expect(res.body.schemas).toContain("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User");
  });
});

describe("reading, replacing, patching and deleting", () => {
  it("answers 404 with a SCIM error for an unknown id", async () => {
    const res = await scim.get("/Users/5c1f0000-0000-4000-8000-000000000000");
    expect(res.status).toBe(404);
    expectScimError(res.body, 404);
  });

  it("replaces a user with PUT and increments the version; an identical PUT changes nothing", async () => {
    const created = await scim.post("/Users", buildUser({ userName: "put@example.com", title: "Engineer" })).expect(201);
    const replaced = await scim.put(`/Users/${created.body.id}`, buildUser({ userName: "put@example.com", displayName: "Put Person" })).expect(200);
    expect(replaced.body.displayName).toBe("Put Person");
    expect(replaced.body.title).toBeUndefined();
    expect(replaced.body.meta.version).toBe('W/"2"');
    expect(replaced.body.meta.created).toBe(created.body.meta.created);
    const again = await scim.put(`/Users/${created.body.id}`, buildUser({ userName: "put@example.com", displayName: "Put Person" })).expect(200);
    expect(again.body.meta.version).toBe('W/"2"');
  });

  it("answers 409 uniqueness when PUT or PATCH renames onto another user's userName, and changes nothing", async () => {
    await scim.post("/Users", buildUser({ userName: "taken@example.com" })).expect(201);
    const other = await scim.post("/Users", buildUser({ userName: "other@example.com" })).expect(201);
    const put = await scim.put(`/Users/${other.body.id}`, buildUser({ userName: "TAKEN@example.com" }));
    expect(put.status).toBe(409);
    expectScimError(put.body, 409, "uniqueness");
    const patch = await scim.patch(`/Users/${other.body.id}`, { schemas: [patchSchema], Operations: [{ op: "replace", path: "userName", value: "Taken@Example.com" }] });
    expect(patch.status).toBe(409);
    expectScimError(patch.body, 409, "uniqueness");
    expect(await storedUser(other.body.id)).toMatchObject({ userName: "other@example.com", version: 1 });
  });

  it("keeps a deactivated user deactivated when a PUT leaves active out", async () => {
    const user = await scim.post("/Users", buildUser({ userName: "stays.off@example.com", active: false })).expect(201);
    const { active: _active, ...withoutActive } = buildUser({ userName: "stays.off@example.com", displayName: "Still Off" });
    const res = await scim.put(`/Users/${user.body.id}`, withoutActive).expect(200);
    expect(res.body).toMatchObject({ active: false, displayName: "Still Off" });
  });

  it("renames a user and frees the old userName", async () => {
    const user = await scim.post("/Users", buildUser({ userName: "old.name@example.com" })).expect(201);
    await scim.patch(`/Users/${user.body.id}`, { schemas: [patchSchema], Operations: [{ op: "replace", path: "userName", value: "new.name@example.com" }] }).expect(200);
    const found = await scim.get(`/Users?filter=${encodeURIComponent('userName eq "NEW.NAME@example.com"')}`).expect(200);
    expect(found.body.totalResults).toBe(1);
    await scim.post("/Users", buildUser({ userName: "old.name@example.com" })).expect(201);
  });

  it("applies PATCH add, replace and remove (RFC 7644 §3.5.2)", async () => {
    const user = await scim.post("/Users", buildUser({ userName: "patch@example.com", title: "Intern" })).expect(201);
    const res = await scim.patch(`/Users/${user.body.id}`, {
      schemas: [patchSchema],
      Operations: [
        { op: "add", path: "nickName", value: "Patchy" },
        { op: "replace", path: "name.givenName", value: "Grace" },
        { op: "remove", path: "title" },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ nickName: "Patchy", name: { givenName: "Grace", familyName: "Lovelace" } });
    expect(res.body.title).toBeUndefined();
    expect(res.headers.etag).toBe('W/"2"');
  });

  it("deletes a user: GET answers 404 and the userName can be created again", async () => {
    const user = await scim.post("/Users", buildUser({ userName: "gone@example.com" })).expect(201);
    await scim.delete(`/Users/${user.body.id}`).expect(204);
    await scim.get(`/Users/${user.body.id}`).expect(404);
    await scim.delete(`/Users/${user.body.id}`).expect(404);
    await scim.post("/Users", buildUser({ userName: "Gone@example.com" })).expect(201);
  });
});

describe("ETags (RFC 7644 §3.14)", () => {
  it("sends an ETag on GET and answers 304 to a matching If-None-Match", async () => {
    const user = await scim.post("/Users", buildUser({ userName: "etag@example.com" })).expect(201);
    const read = await scim.get(`/Users/${user.body.id}`).expect(200);
    expect(read.headers.etag).toBe('W/"1"');
    const notModified = await scim.get(`/Users/${user.body.id}`).set("If-None-Match", 'W/"1"');
    expect(notModified.status).toBe(304);
    await scim.get(`/Users/${user.body.id}`).set("If-None-Match", 'W/"7"').expect(200);
  });

  it("answers 412 to a stale If-Match on PUT, PATCH and DELETE, and changes nothing", async () => {
    const user = await scim.post("/Users", buildUser({ userName: "ifmatch@example.com" })).expect(201);
    await scim.patch(`/Users/${user.body.id}`, { schemas: [patchSchema], Operations: [{ op: "replace", path: "title", value: "v2" }] }).expect(200);
    const put = await scim.put(`/Users/${user.body.id}`, buildUser({ userName: "ifmatch@example.com", title: "stale" })).set("If-Match", 'W/"1"');
    expect(put.status).toBe(412);
    expectScimError(put.body, 412);
    await scim.patch(`/Users/${user.body.id}`, { schemas: [patchSchema], Operations: [{ op: "replace", path: "title", value: "stale" }] }).set("If-Match", 'W/"1"').expect(412);
    await scim.delete(`/Users/${user.body.id}`).set("If-Match", 'W/"1"').expect(412);
    expect(await storedUser(user.body.id)).toMatchObject({ title: "v2", version: 2 });
    await scim.patch(`/Users/${user.body.id}`, { schemas: [patchSchema], Operations: [{ op: "replace", path: "title", value: "v3" }] }).set("If-Match", 'W/"2"').expect(200);
    await scim.delete(`/Users/${user.body.id}`).set("If-Match", 'W/"3"').expect(204);
  });
});

describe("listing: filters, sorting, paging, attributes (RFC 7644 §3.4.2)", () => {
  let listing: { token: string };
  let client: ReturnType<typeof scimClient>;
  const names = Array.from({ length: 25 }, (_, i) => `member${String(i + 1).padStart(2, "0")}@list.example`);

  beforeAll(async () => {
    const o = await t.organization("Listing Co");
    listing = { token: o.token };
    client = scimClient(t.app, listing.token);
    for (const [i, userName] of names.entries()) {
      await client.post("/Users", buildUser({
        userName,
        externalId: `ext-${i + 1}`,
        active: i % 5 !== 0,
        title: i < 3 ? "Manager (a.*b)" : "Staff",
        emails: [{ value: `${userName}`, type: i % 2 ? "home" : "work", primary: true }],
      })).expect(201);
    }
  });

  const list = (query: string) => client.get(`/Users?${query}`);
  const filter = (expression: string, extra = "") => list(`filter=${encodeURIComponent(expression)}${extra}`);

  it.each([
    ['userName eq "MEMBER01@list.example"', 1],
    ['userName ne "member01@list.example"', 24],
    ['userName co "MBER1"', 10],
    ['userName sw "member2"', 6],
    ['userName ew "05@list.example"', 1],
    ["title pr", 25],
    ['userName gt "member20@list.example"', 5],
    ['userName ge "member20@list.example"', 6],
    ['userName lt "member03@list.example"', 2],
    ['userName le "member03@list.example"', 3],
    ["active eq false", 5],
    ['externalId eq "ext-7"', 1],
    ['title eq "Manager (a.*b)"', 3],
    ['title co ".*"', 3],
    ['emails[type eq "work" and value co "member1"]', 5],
    ['emails[type eq "work"] and emails[value ew "02@list.example"]', 0],
    ['not (active eq false or title eq "Staff")', 2],
    ['(userName sw "member0" or userName sw "member1") and not (active eq true)', 4],
    ['meta.created gt "2000-01-01T00:00:00Z"', 25],
  ])("filter %s matches %i users", async (expression, expected) => {
    const res = await filter(expression, "&count=100");
    expect(res.status).toBe(200);
    expect(res.body.totalResults).toBe(expected);
    expect(res.body.Resources).toHaveLength(expected);
  });

  it("matches attribute names case-insensitively and extension attributes by URN", async () => {
    await filter('USERNAME eq "member01@list.example"').expect(200).then((r) => expect(r.body.totalResults).toBe(1));
    await filter('urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department pr').expect(200).then((r) => expect(r.body.totalResults).toBe(0));
  });

  it.each(['userName eq', 'nosuchattribute eq "x"', 'userName xx "a"', 'active gt true', '((userName eq "a"'])("answers 400 invalidFilter to %s", async (expression) => {
    const res = await filter(expression);
    expect(res.status).toBe(400);
    expectScimError(res.body, 400, "invalidFilter");
  });

  it("pages once, in the database, with correct totalResults, itemsPerPage and startIndex", async () => {
    const seen: string[] = [];
    for (let startIndex = 1; startIndex <= 25; startIndex += 10) {
      const res = await list(`startIndex=${startIndex}&count=10&sortBy=userName`).expect(200);
      expect(res.body.totalResults).toBe(25);
      expect(res.body.startIndex).toBe(startIndex);
      expect(res.body.itemsPerPage).toBe(res.body.Resources.length);
      seen.push(...res.body.Resources.map((u: { userName: string }) => u.userName));
    }
    expect(seen).toEqual(names);
    const middle = await list("startIndex=2&count=5&sortBy=userName").expect(200);
    expect(middle.body.Resources.map((u: { userName: string }) => u.userName)).toEqual(names.slice(1, 6));
  });

  it("sorts descending", async () => {
    const res = await list("sortBy=userName&sortOrder=descending&count=3").expect(200);
    expect(res.body.Resources.map((u: { userName: string }) => u.userName)).toEqual([names[24], names[23], names[22]]);
  });

  it("answers count=0 with the total only, and beyond the end with an empty page", async () => {
    const total = await list("count=0").expect(200);
    expect(total.body).toMatchObject({ totalResults: 25, itemsPerPage: 0, Resources: [] });
    const beyond = await list("startIndex=100&count=10").expect(200);
    expect(beyond.body).toMatchObject({ totalResults: 25, startIndex: 100, itemsPerPage: 0 });
  });

  it("caps count at the advertised maximum", async () => {
    const small = await startTestApp({ SCIM_MAX_RESULTS: "5" });
    try {
      const o = await small.organization();
      const c = scimClient(small.app, o.token);
      for (let i = 0; i < 7; i++) await c.post("/Users", buildUser({ userName: `cap${i}@example.com` })).expect(201);
      const res = await c.get("/Users?count=50").expect(200);
      expect(res.body.totalResults).toBe(7);
      expect(res.body.Resources).toHaveLength(5);
      const spc = await c.get("/ServiceProviderConfig").expect(200);
      expect(spc.body.filter).toEqual({ supported: true, maxResults: 5 });
    } finally {
      await small.close();
    }
  });

  it("returns only the requested attributes, always with id and schemas", async () => {
    const res = await filter('userName eq "member02@list.example"', "&attributes=userName").expect(200);
    const [user] = res.body.Resources;
    expect(user.userName).toBe("member02@list.example");
    expect(user.id).toEqual(expect.any(String));
    expect(user.schemas).toEqual(["urn:ietf:params:scim:schemas:core:2.0:User"]);
    expect(user.emails).toBeUndefined();
    expect(user.name).toBeUndefined();
  });

  it("leaves out excludedAttributes", async () => {
    const res = await filter('userName eq "member02@list.example"', "&excludedAttributes=emails,name").expect(200);
    const [user] = res.body.Resources;
    expect(user.userName).toBe("member02@list.example");
    expect(user.emails).toBeUndefined();
    expect(user.name).toBeUndefined();
  });

  it("searches with POST /Users/.search", async () => {
    const res = await client
      .post("/Users/.search", { schemas: ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], filter: 'userName sw "member1"', sortBy: "userName", startIndex: 2, count: 3 })
      .expect(200);
    expect(res.body.totalResults).toBe(10);
    expect(res.body.startIndex).toBe(2);
    expect(res.body.Resources.map((u: { userName: string }) => u.userName)).toEqual(["member11@list.example", "member12@list.example", "member13@list.example"]);
  });
});

describe("organizations are isolated", () => {
  it("hides one organization's users from another's token", async () => {
    const user = await scim.post("/Users", buildUser({ userName: "private@example.com" })).expect(201);
    const other = await t.organization("Other Org");
    const intruder = scimClient(t.app, other.token);
    await intruder.get(`/Users/${user.body.id}`).expect(404);
    await intruder.put(`/Users/${user.body.id}`, buildUser({ userName: "private@example.com" })).expect(404);
    await intruder.patch(`/Users/${user.body.id}`, { schemas: [patchSchema], Operations: [{ op: "replace", path: "active", value: false }] }).expect(404);
    await intruder.delete(`/Users/${user.body.id}`).expect(404);
    const list = await intruder.get(`/Users?filter=${encodeURIComponent('userName eq "private@example.com"')}`).expect(200);
    expect(list.body.totalResults).toBe(0);
    const all = await intruder.get("/Users").expect(200);
    expect(all.body.Resources.map((u: { id: string }) => u.id)).not.toContain(user.body.id);
    // The same userName is free in the other organization.
    await intruder.post("/Users", buildUser({ userName: "private@example.com" })).expect(201);
    expect(await storedUser(user.body.id)).toMatchObject({ active: true, version: 1, organizationId: org.id });
  });
});

describe("authentication", () => {
  it("answers 401 with a SCIM error without a token, with a wrong one, and after revocation", async () => {
    const missing = await request(t.app).get("/scim/v2/Users");
    expect(missing.status).toBe(401);
    expectScimError(missing.body, 401);
    expect(missing.headers["www-authenticate"]).toMatch(/^Bearer/);
    await request(t.app).get("/scim/v2/Users").set("Authorization", `Bearer ${org.token}x`).expect(401);

    const o = await t.organization("Revoking");
    const c = scimClient(t.app, o.token);
    await c.get("/Users").expect(200);
    await t.services.scimTokens.revoke({ organizationId: o.id, actor: { type: "operator", id: "t", name: "t" }, source: "cli", requestId: "r" }, o.tokenId);
    const revoked = await c.get("/Users");
    expect(revoked.status).toBe(401);
    expect(revoked.body.detail).toMatch(/revoked/);
  });

  it("answers 429 with Retry-After after repeated failures from one client, counted in the database", async () => {
    const limited = await startTestApp({ AUTH_FAILURE_LIMIT: "3" });
    try {
      for (let i = 0; i < 3; i++) await request(limited.app).get("/scim/v2/Users").set("Authorization", "Bearer nope").expect(401);
      const blocked = await request(limited.app).get("/scim/v2/Users").set("Authorization", "Bearer nope");
      expect(blocked.status).toBe(429);
      expect(Number(blocked.headers["retry-after"])).toBeGreaterThan(0);
      expectScimError(blocked.body, 429);
      expect(await limited.db.models.AuthFailure.countDocuments()).toBeGreaterThan(0);
      // The identity provider's valid token still works from the same address.
      const o = await limited.organization();
      await scimClient(limited.app, o.token).get("/Users").expect(200);
    } finally {
      await limited.close();
    }
  });

  it("counts failures per client address behind a configured proxy", async () => {
    const proxied = await startTestApp({ AUTH_FAILURE_LIMIT: "2", TRUST_PROXY_HOPS: "1" });
    try {
      const attempt = (ip: string) => request(proxied.app).get("/scim/v2/Users").set("Authorization", "Bearer nope").set("X-Forwarded-For", ip);
      await attempt("203.0.113.1").expect(401);
      await attempt("203.0.113.1").expect(401);
      await attempt("203.0.113.1").expect(429);
      await attempt("203.0.113.2").expect(401);
    } finally {
      await proxied.close();
    }
  });
});

describe("errors", () => {
  it("answers malformed JSON with 400 invalidSyntax", async () => {
    const res = await request(t.app).post("/scim/v2/Users").set("Authorization", `Bearer ${org.token}`).set("Content-Type", "application/scim+json").send('{"userName": ');
    expect(res.status).toBe(400);
    expectScimError(res.body, 400, "invalidSyntax");
  });

  it("answers a body that is not JSON with 400 invalidSyntax", async () => {
    const res = await request(t.app).post("/scim/v2/Users").set("Authorization", `Bearer ${org.token}`).set("Content-Type", "text/plain").send("userName=x");
    expect(res.status).toBe(400);
    expectScimError(res.body, 400, "invalidSyntax");
  });

  it("answers a body over the limit with 413 and stores nothing", async () => {
    const small = await startTestApp({ SCIM_MAX_PAYLOAD_BYTES: "2048" });
    try {
      const o = await small.organization();
      const res = await scimClient(small.app, o.token).post("/Users", buildUser({ userName: "big@example.com", displayName: "x".repeat(4096) }));
      expect(res.status).toBe(413);
      expectScimError(res.body, 413);
      expect(await small.db.models.User.countDocuments()).toBe(0);
    } finally {
      await small.close();
    }
  });

  it("answers 503, not 404, when the database is unreachable", async () => {
    const broken = await startTestApp();
    const o = await broken.organization();
    const dbName = broken.db.connection.name;
    await broken.db.close();
    try {
      const res = await scimClient(broken.app, o.token).get("/Users/anything");
      expect(res.status).toBe(503);
      expectScimError(res.body, 503);
      expect(Number(res.headers["retry-after"])).toBeGreaterThan(0);
      await request(broken.app).get("/readyz").expect(503);
    } finally {
      const { connectDatabase } = await import("../../src/storage/connection");
      const { testServerUri } = await import("../support/database");
      const cleanup = await connectDatabase(testServerUri(), { dbName, timeoutMs: 5000 });
      await cleanup.connection.dropDatabase();
      await cleanup.close();
    }
  });
});

describe("audit", () => {
  it("records every SCIM write with actor, source, request id, before and after", async () => {
    const user = await scim.post("/Users", buildUser({ userName: "audited@example.com" })).set("X-Request-Id", "req-audit-1").expect(201);
    await scim.patch(`/Users/${user.body.id}`, { schemas: [patchSchema], Operations: [{ op: "replace", path: "active", value: false }] }).set("X-Request-Id", "req-audit-2").expect(200);
    await scim.delete(`/Users/${user.body.id}`).set("X-Request-Id", "req-audit-3").expect(204);
    const events = await t.db.models.AuditEvent.find({ "target.id": user.body.id }).sort({ at: 1 }).lean();
    // Deprovisioning also says what it revoked (sessions, personal tokens), in the same request.
    expect(events.map((e) => `${e.requestId} ${e.action}`).sort()).toEqual([
      "req-audit-1 user.provisioned",
      "req-audit-2 user.access_changed",
      "req-audit-2 user.access_revoked",
      "req-audit-2 user.deactivated",
      "req-audit-3 user.access_revoked",
      "req-audit-3 user.deleted",
    ]);
    for (const event of events) {
      expect(event).toMatchObject({ organizationId: org.id, source: "scim", actor: { type: "scim_token", id: org.tokenId, name: "Initial SCIM token" } });
    }
    const deactivated = events.find((e) => e.action === "user.deactivated")!;
    expect(deactivated.before).toMatchObject({ active: true });
    expect(deactivated.after).toMatchObject({ active: false });
    expect(events.find((e) => e.action === "user.deleted")!.before).toMatchObject({ userName: "audited@example.com" });
  });
});

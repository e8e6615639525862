import { createHash } from "node:crypto";
import request from "supertest";
import { runCommand } from "../../src/cli/commands";
import { buildUser, operator, scimClient, startTestApp, type TestApp } from "../support/app";

/**
 * Members manage their own personal API tokens (issue 13 §2): create with an expiry within the
 * organization's maximum, shown once and stored hashed; list and revoke their own, never another's;
 * each token acts with its member's own access. Administrators revoke a member's token under the
 * sign-out-everywhere rules. `GET /me` and `GET /me/access` say who the caller is and why.
 */
let t: TestApp;
let org: { id: string; scimToken: string; ownerId: string };
let ownerToken: string;
let adminToken: string;
let memberId: string;
let memberToken: string;
let otherId: string;
let otherToken: string;
const ctx = () => ({ ...operator, organizationId: org.id });
const cli = async (...argv: string[]) => JSON.parse((await runCommand(t.services, argv)).stdout[0]!);
const dayMs = 24 * 60 * 60 * 1000;
const inDays = (days: number) => new Date(Date.now() + days * dayMs).toISOString();

beforeAll(async () => {
  t = await startTestApp();
  org = await cli("org", "create", "Tokens Co", "--owner", "owner@example.com", "--json");
  ownerToken = (await cli("user-token", "create", "--org", org.id, "--email", "owner@example.com", "--json")).token;
  await t.services.users.provision(ctx(), { userName: "admin@example.com" }, "local", { role: "admin" });
  adminToken = (await cli("user-token", "create", "--org", org.id, "--email", "admin@example.com", "--json")).token;
  memberId = (await t.services.users.provision(ctx(), { userName: "member@example.com" }, "local", { role: "user" })).id;
  memberToken = (await cli("user-token", "create", "--org", org.id, "--email", "member@example.com", "--json")).token;
  otherId = (await t.services.users.provision(ctx(), { userName: "other@example.com" }, "local", { role: "user" })).id;
  otherToken = (await cli("user-token", "create", "--org", org.id, "--email", "other@example.com", "--json")).token;
});
afterAll(() => t.close());

const as = (token: string) => ({
  get: (path: string) => request(t.app).get(`/api/v1${path}`).set("Authorization", `Bearer ${token}`),
  post: (path: string, body?: unknown) => request(t.app).post(`/api/v1${path}`).set("Authorization", `Bearer ${token}`).send(body as object),
  put: (path: string, body: unknown) => request(t.app).put(`/api/v1${path}`).set("Authorization", `Bearer ${token}`).send(body as object),
  patch: (path: string, body: unknown) => request(t.app).patch(`/api/v1${path}`).set("Authorization", `Bearer ${token}`).send(body as object),
  delete: (path: string) => request(t.app).delete(`/api/v1${path}`).set("Authorization", `Bearer ${token}`),
});

describe("GET /me and /me/access", () => {
  it("answers who the caller is and where each grant comes from, as GET /users/{id} and /access do about oneself", async () => {
    const me = await as(memberToken).get("/me").expect(200);
    expect(me.body).toMatchObject({ id: memberId, userName: "member@example.com", role: "user", isOwner: false });
    expect(me.body).toEqual((await as(memberToken).get(`/users/${memberId}`).expect(200)).body);
    const access = await as(memberToken).get("/me/access").expect(200);
    expect(access.body).toMatchObject({ userId: memberId, organizationRole: "user", sources: [{ kind: "local", role: "user" }] });
    expect(access.body).toEqual((await as(memberToken).get(`/users/${memberId}/access`).expect(200)).body);
  });

  it("shows a temporary grant with its end and a mapped group as the source", async () => {
    const scimUser = (await scimClient(t.app, org.scimToken).post("/Users", buildUser({ userName: "mapped@example.com" })).expect(201)).body.id as string;
    const group = (await scimClient(t.app, org.scimToken)
      .post("/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "Analysts", members: [{ value: scimUser }] })
      .expect(201)).body.id as string;
    const mapping = await as(ownerToken).post("/mappings", { match: { kind: "group_id", value: group }, organizationRole: "user" }).expect(201);
    const until = inDays(2);
    await as(ownerToken).post(`/users/${scimUser}/temporary-access`, { role: "admin", until, reason: "quarter close" }).expect(201);
    const token = (await cli("user-token", "create", "--org", org.id, "--email", "mapped@example.com", "--json")).token;
    const access = (await as(token).get("/me/access").expect(200)).body;
    expect(access.organizationRole).toBe("admin");
    expect(access.sources).toEqual([
      { kind: "temporary", role: "admin", grantId: expect.any(String), until: new Date(until).toISOString() },
      { kind: "mapping", role: "user", mappingId: mapping.body.id, groupId: group, groupName: "Analysts" },
    ]);
  });

  it("refuses a service token: it is nobody", async () => {
    const service = (await cli("service-token", "create", "--org", org.id, "--json")).token;
    expect((await as(service).get("/me").expect(403)).body.error.code).toBe("forbidden");
    expect((await as(service).post("/me/tokens", { expires: inDays(1) }).expect(403)).body.error.code).toBe("forbidden");
  });
});

describe("a member's own personal API tokens", () => {
  it("creates one shown exactly once, stored as a hash, that works as the member and appears in the list without its secret", async () => {
    const expires = inDays(30);
    const created = await as(memberToken).post("/me/tokens", { name: "reporting script", expires }).expect(201);
    expect(created.body).toMatchObject({ userId: memberId, name: "reporting script", expires: new Date(expires).toISOString() });
    expect(created.body.token).toMatch(new RegExp(`^gpt_${created.body.id}_[A-Za-z0-9_-]{43}$`));

    const stored = await t.db.models.ScimToken.findById(created.body.id).lean();
    const secret = (created.body.token as string).split("_").slice(2).join("_");
    expect(stored).toMatchObject({ purpose: "personal", userId: memberId, secretHash: createHash("sha256").update(secret).digest("hex") });
    expect(JSON.stringify(stored)).not.toContain(secret);

    expect((await as(created.body.token).get("/me").expect(200)).body.id).toBe(memberId);
    const list = (await as(memberToken).get("/me/tokens").expect(200)).body.tokens as Record<string, unknown>[];
    const listed = list.find((token) => token.id === created.body.id);
    expect(listed).toEqual({ id: created.body.id, userId: memberId, name: "reporting script", created: expect.any(String), lastUsed: expect.any(String), expires: new Date(expires).toISOString() });
    expect(JSON.stringify(list)).not.toContain(secret);

    const [event] = await t.db.models.AuditEvent.find({ action: "personal_token.created", "target.id": created.body.id }).lean();
    expect(event).toMatchObject({ actor: { type: "user", id: memberId, name: "member@example.com" }, source: "admin" });
    expect(JSON.stringify(event)).not.toContain(secret);
  });

  it("requires an expiry, in the future, within the organization's maximum (90 days unless changed)", async () => {
    expect((await as(memberToken).post("/me/tokens", { name: "forever" }).expect(400)).body.error).toMatchObject({ code: "invalid_request", message: expect.stringContaining("expires") });
    expect((await as(memberToken).post("/me/tokens", { expires: new Date(Date.now() - 1000).toISOString() }).expect(400)).body.error).toMatchObject({ code: "invalid", message: "expires must be in the future" });
    const tooLong = await as(memberToken).post("/me/tokens", { expires: inDays(91) }).expect(400);
    expect(tooLong.body.error).toMatchObject({ code: "invalid", message: expect.stringContaining("maximum of 90 days") });
    await as(memberToken).post("/me/tokens", { expires: inDays(89) }).expect(201);
  });

  it("lets an administrator change the maximum within the hard cap of 365 days, audited; members may not", async () => {
    expect((await as(ownerToken).get("/settings").expect(200)).body.personalTokenMaximumDays).toBe(90);
    expect((await as(ownerToken).patch("/settings", { personalTokenMaximumDays: 366 }).expect(400)).body.error.code).toBe("invalid_request");
    expect((await as(memberToken).patch("/settings", { personalTokenMaximumDays: 365 }).expect(403)).body.error.code).toBe("forbidden");
    expect((await as(adminToken).patch("/settings", { personalTokenMaximumDays: 7 }).expect(200)).body.personalTokenMaximumDays).toBe(7);
    const events = await t.db.models.AuditEvent.find({ organizationId: org.id, action: "organization.access_settings_changed" }).lean();
    expect(events.some((e) => (e.after as { personalTokenMaximumDays?: number }).personalTokenMaximumDays === 7)).toBe(true);
    expect((await as(memberToken).post("/me/tokens", { expires: inDays(8) }).expect(400)).body.error.message).toContain("maximum of 7 days");
    await as(memberToken).post("/me/tokens", { expires: inDays(6) }).expect(201);
    await as(adminToken).patch("/settings", { personalTokenMaximumDays: 90 }).expect(200);
  });

  it("acts with the member's own access, never more, and follows it when it changes", async () => {
    const own = (await as(memberToken).post("/me/tokens", { expires: inDays(10) }).expect(201)).body.token as string;
    expect((await as(own).get("/users").expect(403)).body.error.code).toBe("forbidden");
    expect((await as(own).get("/audit").expect(403)).body.error.code).toBe("forbidden");
    await as(ownerToken).put(`/users/${memberId}`, { role: "read_only" }).expect(200);
    expect((await as(own).get("/me/access").expect(200)).body.organizationRole).toBe("read_only");
    await as(ownerToken).put(`/users/${memberId}`, { role: "user" }).expect(200);
  });

  it("revokes one of the caller's own tokens at once, audited; another member's token is not found", async () => {
    const mine = (await as(memberToken).post("/me/tokens", { expires: inDays(5) }).expect(201)).body;
    const theirs = (await as(otherToken).post("/me/tokens", { expires: inDays(5) }).expect(201)).body;
    expect((await as(memberToken).delete(`/me/tokens/${theirs.id}`).expect(404)).body.error.code).toBe("not_found");
    await as(theirs.token).get("/me").expect(200);
    expect((await as(memberToken).get("/me/tokens").expect(200)).body.tokens.map((x: { id: string }) => x.id)).not.toContain(theirs.id);

    const revoked = await as(memberToken).delete(`/me/tokens/${mine.id}`).expect(200);
    expect(revoked.body).toMatchObject({ id: mine.id, revoked: expect.any(String) });
    expect((await as(mine.token).get("/me").expect(401)).body.error.code).toBe("unauthenticated");
    const [event] = await t.db.models.AuditEvent.find({ action: "personal_token.revoked", "target.id": mine.id }).lean();
    expect(event).toMatchObject({ actor: { type: "user", id: memberId } });
  });

  it("does not let a member list or revoke another member's tokens; an administrator may, never an Admin the Owner's", async () => {
    const theirs = (await as(otherToken).post("/me/tokens", { expires: inDays(5) }).expect(201)).body;
    expect((await as(memberToken).get(`/users/${otherId}/tokens`).expect(403)).body.error.code).toBe("forbidden");
    expect((await as(memberToken).delete(`/users/${otherId}/tokens/${theirs.id}`).expect(403)).body.error.code).toBe("forbidden");
    expect((await as(adminToken).get(`/users/${otherId}/tokens`).expect(200)).body.tokens.map((x: { id: string }) => x.id)).toContain(theirs.id);
    await as(adminToken).delete(`/users/${otherId}/tokens/${theirs.id}`).expect(200);
    await as(theirs.token).get("/me").expect(401);
    // A token id that exists but belongs to someone else is not found under this member.
    const mine = (await as(memberToken).post("/me/tokens", { expires: inDays(5) }).expect(201)).body;
    expect((await as(adminToken).delete(`/users/${otherId}/tokens/${mine.id}`).expect(404)).body.error.code).toBe("not_found");

    const ownersOwn = (await as(ownerToken).post("/me/tokens", { expires: inDays(5) }).expect(201)).body;
    expect((await as(adminToken).get(`/users/${org.ownerId}/tokens`).expect(403)).body.error.code).toBe("owner_protected");
    expect((await as(adminToken).delete(`/users/${org.ownerId}/tokens/${ownersOwn.id}`).expect(403)).body.error.code).toBe("owner_protected");
    await as(ownersOwn.token).get("/me").expect(200);
  });

  it("leaves a suspended member without tokens and unable to create one until the suspension is lifted", async () => {
    const id = (await t.services.users.provision(ctx(), { userName: "suspect@example.com" }, "local", { role: "user" })).id;
    const bootstrap = (await cli("user-token", "create", "--org", org.id, "--email", "suspect@example.com", "--json")).token;
    const own = (await as(bootstrap).post("/me/tokens", { expires: inDays(5) }).expect(201)).body.token as string;
    await as(ownerToken).post(`/users/${id}/suspend`, { reason: "incident 7" }).expect(200);
    expect((await as(own).post("/me/tokens", { expires: inDays(5) }).expect(401)).body.error.code).toBe("unauthenticated");
    // A token the suspension could not reach (the operator's, minted during it) is refused all the same.
    const minted = (await cli("user-token", "create", "--org", org.id, "--email", "suspect@example.com", "--json")).token;
    expect((await as(minted).post("/me/tokens", { expires: inDays(5) }).expect(403)).body.error.code).toBe("forbidden");
    await as(ownerToken).post(`/users/${id}/unsuspend`, {}).expect(200);
    await as(minted).post("/me/tokens", { expires: inDays(5) }).expect(201);
  });

  it("refuses a member deactivated by the identity provider", async () => {
    const scim = scimClient(t.app, org.scimToken);
    const id = (await scim.post("/Users", buildUser({ userName: "leaver@example.com" })).expect(201)).body.id as string;
    await scim.put(`/Users/${id}`, buildUser({ userName: "leaver@example.com", active: false })).expect(200);
    const minted = (await cli("user-token", "create", "--org", org.id, "--email", "leaver@example.com", "--json")).token;
    expect((await as(minted).post("/me/tokens", { expires: inDays(5) }).expect(403)).body.error.code).toBe("forbidden");
    expect(await t.db.models.ScimToken.countDocuments({ organizationId: org.id, userId: id, purpose: "personal" })).toBe(1);
  });
});

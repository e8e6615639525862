import request from "supertest";
import { runCommand } from "../../src/cli/commands";
import type { AuditEventDocument } from "../../src/storage/models";
import { buildUser, operator, scimClient, startTestApp, type TestApp } from "../support/app";

/**
 * Personal data erasure (issue 13 §3): once a member is deleted, the Owner (admin API) or the
 * operator (CLI) replaces their names, emails, userName and id in every audit event with one stable
 * pseudonym, keeping the trail's counts, times, actions and the pseudonymous actor; audited without
 * the data, irreversible, confirmed, refused while the member exists. Run on the database path and
 * on the resident audit index the embedded server pages from (whose memory must not keep the data).
 */
describe.each([
  ["the audit trail in the database", false],
  ["the resident audit index", true],
])("erasing a deleted member's personal data, with %s", (_label, residentAuditIndex) => {
  let t: TestApp;
  let org: { id: string; scimToken: string; ownerId: string };
  let ownerToken: string;
  let adminToken: string;
  let adaId: string;
  let adamId: string;
  const ctx = () => ({ ...operator, organizationId: org.id });
  const cli = async (...argv: string[]) => JSON.parse((await runCommand(t.services, argv)).stdout[0]!);
  const as = (token: string) => ({
    get: (path: string) => request(t.app).get(`/api/v1${path}`).set("Authorization", `Bearer ${token}`),
    post: (path: string, body?: unknown) => request(t.app).post(`/api/v1${path}`).set("Authorization", `Bearer ${token}`).send(body as object),
  });
  const trail = async () => (await t.db.models.AuditEvent.find({ organizationId: org.id }).sort({ at: 1, _id: 1 }).lean()) as AuditEventDocument[];
  const ada = ["ada.lovelace@example.com", "ada@analytical.example", "Lovelace", "Ada Lovelace", "00u-ada-okta"];
  const personalOf = (text: string) => ada.filter((value) => text.toLowerCase().includes(value.toLowerCase()));

  beforeAll(async () => {
    t = await startTestApp({}, { residentAuditIndex });
    org = await cli("org", "create", "Erasure Co", "--owner", "owner@example.com", "--json");
    ownerToken = (await cli("user-token", "create", "--org", org.id, "--email", "owner@example.com", "--json")).token;
    await t.services.users.provision(ctx(), { userName: "admin@example.com" }, "local", { role: "admin" });
    adminToken = (await cli("user-token", "create", "--org", org.id, "--email", "admin@example.com", "--json")).token;
    const scim = scimClient(t.app, org.scimToken);
    adaId = (await scim
      .post("/Users", buildUser({ userName: "ada.lovelace@example.com", externalId: "00u-ada-okta", displayName: "Ada Lovelace", name: { givenName: "Ada", familyName: "Lovelace", formatted: "Ada Lovelace" }, emails: [{ value: "ada@analytical.example", type: "work", primary: true }] }))
      .expect(201)).body.id;
    adamId = (await scim.post("/Users", buildUser({ userName: "adam.smith@example.com", name: { givenName: "Adam", familyName: "Smith" }, emails: [{ value: "adam@example.com", type: "work" }] })).expect(201)).body.id;
    await scim.post("/Groups", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "Engines", members: [{ value: adaId }, { value: adamId }] }).expect(201);
    // She acts: a token of her own, under her name.
    const bootstrap = (await cli("user-token", "create", "--org", org.id, "--email", "ada.lovelace@example.com", "--json")).token;
    await as(bootstrap).post("/me/tokens", { name: "Ada's notebook", expires: new Date(Date.now() + 86_400_000).toISOString() }).expect(201);
    await t.services.sessions.start(ctx(), await t.services.users.get(ctx(), adaId), { via: "saml", ip: "203.0.113.7", userAgent: "Firefox/Ada" });
    await as(ownerToken).post(`/users/${adaId}/suspend`, { reason: "Ada Lovelace reported her laptop stolen" }).expect(200);
    await as(ownerToken).post(`/users/${adamId}/suspend`, { reason: "Adam asked for a pause (ada.lovelace@example.com covers)" }).expect(200);
  });
  afterAll(() => t.close());

  it("is refused while the member exists, to anyone but the Owner, without the right confirmation, and for an unknown id", async () => {
    const exists = await as(ownerToken).post("/personal-data-erasures", { userId: adaId, confirm: "ada.lovelace@example.com" }).expect(409);
    expect(exists.body.error).toEqual({ code: "conflict", message: "ada.lovelace@example.com is still a member: delete them first, then erase their personal data" });
    await scimClient(t.app, org.scimToken).delete(`/Users/${adaId}`).expect(204);
    expect((await as(adminToken).post("/personal-data-erasures", { userId: adaId, confirm: "ada.lovelace@example.com" }).expect(403)).body.error.code).toBe("forbidden");
    expect((await as(ownerToken).post("/personal-data-erasures", { userId: adaId, confirm: "ada" }).expect(400)).body.error.code).toBe("invalid");
    expect((await as(ownerToken).post("/personal-data-erasures", { userId: adaId }).expect(400)).body.error.code).toBe("invalid_request");
    expect((await as(ownerToken).post("/personal-data-erasures", { userId: "00000000-0000-4000-8000-000000000000", confirm: "x" }).expect(404)).body.error.code).toBe("not_found");
    expect(personalOf(JSON.stringify(await trail())).length).toBeGreaterThan(0);
  });

  it("replaces her names, emails, userName and id in every event with one pseudonym, keeping counts, times and actions", async () => {
    // Pages read before the erasure (the resident index keeps recent full events in memory).
    const warm = await as(ownerToken).get("/audit?limit=200").expect(200);
    expect(personalOf(JSON.stringify(warm.body)).length).toBeGreaterThan(0);
    const before = await trail();
    const adamBefore = before.filter((e) => e.target.id === adamId || e.actor.id === adamId);

    const res = await as(ownerToken).post("/personal-data-erasures", { userId: adaId, confirm: "ADA.LOVELACE@example.com" });
    if (res.status !== 200) throw new Error(JSON.stringify(res.body));
    expect(res.body).toEqual({ pseudonym: expect.stringMatching(/^erased-[0-9a-f]{16}$/), eventsScanned: before.length, eventsRewritten: expect.any(Number), personalTokens: 2, sessions: 1, ms: expect.any(Number) });
    const { pseudonym } = res.body as { pseudonym: string };

    const after = await trail();
    const rewritten = after.filter((e) => e.action !== "user.personal_data_erased");
    expect(rewritten.map((e) => [e._id, e.at.toISOString(), e.action, e.source, e.requestId])).toEqual(before.map((e) => [e._id, e.at.toISOString(), e.action, e.source, e.requestId]));
    const text = JSON.stringify(after);
    expect(personalOf(text)).toEqual([]);
    expect(text).not.toContain(adaId);
    expect(text).not.toContain("203.0.113.7");
    expect(res.body.eventsRewritten).toBe(rewritten.filter((e, i) => JSON.stringify(e) !== JSON.stringify(before[i])).length);

    // Her own acts keep one, pseudonymous, actor; the events about her name the pseudonym.
    const hers = rewritten.filter((_e, i) => before[i]!.actor.id === adaId);
    expect(hers.length).toBeGreaterThan(0);
    expect(hers.every((e) => e.actor.id === pseudonym && e.actor.name === pseudonym && e.actor.type === "user")).toBe(true);
    const aboutHer = rewritten.filter((_e, i) => before[i]!.target.id === adaId);
    expect(aboutHer.map((e) => e.action)).toEqual(expect.arrayContaining(["user.provisioned", "user.suspended", "user.deleted"]));
    expect(aboutHer.every((e) => e.target.id === pseudonym)).toBe(true);
    expect(aboutHer.find((e) => e.action === "user.suspended")!.reason).toBe(`${pseudonym} reported her laptop stolen`);
    const membership = rewritten.find((e) => e.action === "group.created")!;
    expect(JSON.stringify(membership.after)).toContain(pseudonym);
    expect(JSON.stringify(membership.after)).toContain(adamId);

    // Another member whose name starts alike keeps his; only her unique identifiers left his events.
    const adamAfter = after.filter((e) => e.target.id === adamId || e.actor.id === adamId);
    expect(adamAfter.map((e) => e._id)).toEqual(adamBefore.map((e) => e._id));
    expect(adamAfter.find((e) => e.action === "user.suspended")!.reason).toBe(`Adam asked for a pause (${pseudonym} covers)`);
    expect(JSON.stringify(adamAfter.find((e) => e.action === "user.provisioned"))).toContain('"givenName":"Adam"');
  });

  it("leaves no copy in the audit log, its filters, the export, her tokens or her sessions", async () => {
    const [erasure] = (await as(ownerToken).get("/audit?action=user.personal_data_erased").expect(200)).body.events;
    const pseudonym = erasure.target.id as string;
    expect(erasure).toMatchObject({ actor: { type: "user", id: org.ownerId }, target: { type: "user", id: pseudonym, display: pseudonym }, after: { personalTokens: 2, sessions: 1 } });
    const page = await as(ownerToken).get("/audit?limit=500").expect(200);
    expect(personalOf(JSON.stringify(page.body))).toEqual([]);
    expect(JSON.stringify(page.body)).not.toContain(adaId);
    expect((await as(ownerToken).get(`/audit?actor=${adaId}`).expect(200)).body.events).toEqual([]);
    expect((await as(ownerToken).get(`/audit?target=${adaId}`).expect(200)).body.events).toEqual([]);
    const byPseudonym = (await as(ownerToken).get(`/audit?actor=${pseudonym}`).expect(200)).body.events as { action: string }[];
    expect(byPseudonym.map((e) => e.action)).toContain("personal_token.created");
    const csv = (await as(ownerToken).get("/audit/export.csv").expect(200)).text;
    expect(personalOf(csv)).toEqual([]);
    expect(csv).toContain(pseudonym);

    const tokens = await t.db.models.ScimToken.find({ organizationId: org.id, purpose: "personal", userId: pseudonym }).lean();
    expect(tokens).toHaveLength(2);
    expect(personalOf(JSON.stringify(tokens))).toEqual([]);
    expect(await t.db.models.Session.countDocuments({ organizationId: org.id, userId: adaId })).toBe(0);
    const keys = await t.db.models.LookupKey.find({ _id: { $regex: `^${org.id}/` } }).lean();
    expect(personalOf(JSON.stringify(keys))).toEqual([]);
    expect(JSON.stringify(keys)).not.toContain(adaId);
  });

  it("is irreversible: the same id is then unknown, and another member gets another pseudonym, through the CLI", async () => {
    expect((await as(ownerToken).post("/personal-data-erasures", { userId: adaId, confirm: "ada.lovelace@example.com" }).expect(404)).body.error.code).toBe("not_found");
    const removed = (await t.services.users.provision(ctx(), { userName: "leaver@example.com", displayName: "Lee Leaver" }, "local", { role: "user" })).id;
    const refused = await runCommand(t.services, ["erase-personal-data", "--org", org.id, "--user", removed, "--confirm", "leaver@example.com"]).catch((error: Error) => error);
    expect(refused).toBeInstanceOf(Error);
    expect((refused as Error).message).toContain("still a member");
    await t.services.users.remove(ctx(), removed);
    const report = await cli("erase-personal-data", "--org", org.id, "--user", removed, "--confirm", "leaver@example.com", "--json");
    expect(report).toMatchObject({ pseudonym: expect.stringMatching(/^erased-[0-9a-f]{16}$/), eventsRewritten: expect.any(Number) });
    const [first] = (await as(ownerToken).get("/audit?action=user.personal_data_erased&limit=2").expect(200)).body.events;
    expect(first).toMatchObject({ actor: { type: "operator" }, source: "cli", target: { id: report.pseudonym } });
    const text = JSON.stringify(await trail());
    expect(text).not.toContain("leaver@example.com");
    expect(text).not.toContain("Lee Leaver");
  });
});

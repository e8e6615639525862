import request from "supertest";
import { runCommand } from "../../src/cli/commands";
import { OffboardingScheduler } from "../../src/services/offboarding-scheduler";
import { buildUser, operator, patchSchema, scimClient, secondInstance, startTestApp, type TestApp } from "../support/app";

/**
 * HR offboarding (issue 15 §3) through /api/v1 on the real database: effective now (every way in
 * ends before the answer), later (a scheduler that survives restarts and carries each offboarding
 * out once among racing instances, with a reminder a day before), idempotency, cancellation, HR
 * winning over the identity provider's reactivation, and bad input refused with nothing stored.
 */

const COOKIE = "__Host-gatehouse_session";
const HOUR = 3_600_000;

let t: TestApp;
let org: { id: string; scimToken: string; ownerId: string };
let ownerToken: string;
/** A service token with the `offboarding` scope (what an HR system or a workflow holds). */
let hrToken: string;
/** A service token without it (the product's authorization back end). */
let plainServiceToken: string;

const ctx = () => ({ ...operator, organizationId: org.id });
const cli = async (...argv: string[]) => JSON.parse((await runCommand(t.services, argv)).stdout[0]!);
const api = (token: string, app: TestApp = t) => ({
  get: (path: string) => request(app.app).get(`/api/v1${path}`).set("Authorization", `Bearer ${token}`),
  post: (path: string, body: object = {}, headers: Record<string, string> = {}) => request(app.app).post(`/api/v1${path}`).set("Authorization", `Bearer ${token}`).set(headers).send(body),
  delete: (path: string) => request(app.app).delete(`/api/v1${path}`).set("Authorization", `Bearer ${token}`),
});
const actionsFor = async (userId: string) => (await t.db.models.AuditEvent.find({ organizationId: org.id, "target.id": userId }).sort({ at: 1 }).lean()).map((e) => e.action);
const countOf = async (userId: string, action: string) => t.db.models.AuditEvent.countDocuments({ organizationId: org.id, "target.id": userId, action });

beforeAll(async () => {
  t = await startTestApp();
  const created = await cli("org", "create", "Offboarding Co", "--owner", "owner@offboarding.example", "--json");
  org = { id: created.id, scimToken: created.scimToken, ownerId: created.ownerId ?? created.owner?.id };
  ownerToken = (await cli("user-token", "create", "--org", org.id, "--email", "owner@offboarding.example", "--json")).token;
  hrToken = (await cli("service-token", "create", "--org", org.id, "--name", "Workday", "--scope", "offboarding", "--json")).token;
  plainServiceToken = (await t.services.scimTokens.issue(ctx(), { purpose: "service", name: "Product back end" })).token;
});
afterAll(() => t.close());

/** A member the identity provider provisioned, signed in (a browser session) and holding a personal token. */
async function member(userName: string, extra: Record<string, unknown> = {}) {
  const id = (await scimClient(t.app, org.scimToken).post("/Users", buildUser({ userName, emails: [{ value: userName, type: "work", primary: true }], ...extra })).expect(201)).body.id as string;
  const user = await t.services.users.get(ctx(), id);
  const session = await t.services.sessions.start({ ...ctx(), source: "saml", actor: { type: "user", id, name: userName } }, user, { via: "saml" });
  const personalToken = (await cli("user-token", "create", "--org", org.id, "--email", userName, "--json")).token as string;
  const sessionRequest = (app: TestApp = t) => request(app.app).get("/api/v1/session").set("Cookie", `${COOKIE}=${session.cookieValue}`);
  const tokenRequest = (app: TestApp = t) => request(app.app).get(`/api/v1/users/${id}/access`).set("Authorization", `Bearer ${personalToken}`);
  await sessionRequest().expect(200);
  await tokenRequest().expect(200);
  return { id, userName, sessionRequest, tokenRequest };
}

const scimActive = (userId: string, active: boolean) =>
  scimClient(t.app, org.scimToken).patch(`/Users/${userId}`, { schemas: [patchSchema], Operations: [{ op: "replace", value: { active } }] }).expect(200);

describe("effective now", () => {
  test("the member's session and personal token are refused on the very next request, and the identity provider's reactivation does not lift the hold", async () => {
    const leaver = await member("leaver.now@offboarding.example");

    const answer = await api(hrToken).post("/offboardings", { email: leaver.userName, reason: "Termination, last day today" }, { "Idempotency-Key": "workday-T-1001" }).expect(201);
    expect(answer.body).toMatchObject({ status: "carried_out", member: { id: leaver.id, userName: leaver.userName }, memberReference: { by: "email", value: leaver.userName }, reason: "Termination, last day today", requestedBy: { type: "system" } });
    expect(answer.body.revokedTokens).toHaveLength(1);

    expect((await leaver.sessionRequest().expect(401)).body.error.message).toMatch(/suspended|sign in again/);
    expect((await leaver.tokenRequest().expect(401)).body.error.message).toMatch(/revoked/);
    expect(await actionsFor(leaver.id)).toEqual(expect.arrayContaining(["user.suspended", "user.access_revoked", "offboarding.carried_out"]));
    expect((await api(ownerToken).get(`/users/${leaver.id}`).expect(200)).body).toMatchObject({ role: null, offboarding: { offboardingId: answer.body.id, status: "carried_out" } });

    // The identity provider still says active: true — a PUT or PATCH of it changes nothing.
    await scimActive(leaver.id, true);
    await leaver.sessionRequest().expect(401);
    const user = await t.services.users.get(ctx(), leaver.id);
    await expect(t.services.sessions.start({ ...ctx(), source: "saml", actor: { type: "user", id: leaver.id, name: leaver.userName } }, user, { via: "saml" })).rejects.toThrow(/suspended/);
    expect((await t.services.access.accessOf(ctx(), leaver.id)).organizationRole).toBeUndefined();
  });

  test("HR wins: the identity provider's deactivation completes the offboarding; its reactivation leaves the hold and flags the conflict until an administrator lifts it", async () => {
    const leaver = await member("leaver.conflict@offboarding.example");
    const { id } = (await api(hrToken).post("/offboardings", { userId: leaver.id, reason: "Termination" }).expect(201)).body;

    await scimActive(leaver.id, false);
    expect((await api(hrToken).get(`/offboardings/${id}`).expect(200)).body).toMatchObject({ status: "completed", completedBecause: "the identity provider deactivated the member" });
    expect((await api(ownerToken).get(`/users/${leaver.id}`).expect(200)).body.offboarding).toMatchObject({ status: "completed" });

    await scimActive(leaver.id, true);
    const offboarding = (await api(hrToken).get(`/offboardings/${id}`).expect(200)).body;
    expect(offboarding.conflict.detail).toMatch(/reactivated the member after HR offboarded them/);
    const shown = (await api(ownerToken).get(`/users/${leaver.id}`).expect(200)).body;
    expect(shown).toMatchObject({ active: true, role: null, offboarding: { offboardingId: id, conflict: { detail: expect.any(String) } } });
    expect(await countOf(leaver.id, "offboarding.conflict_flagged")).toBe(1);
    await leaver.sessionRequest().expect(401);

    // Only an administrator lifts it; the hold and its mark go together.
    await api(ownerToken).post(`/users/${leaver.id}/unsuspend`, { reason: "HR confirmed the rehire" }).expect(200);
    const lifted = (await api(ownerToken).get(`/users/${leaver.id}`).expect(200)).body;
    expect(lifted.offboarding).toBeUndefined();
    expect(lifted.role).not.toBeNull();
    const [unsuspended] = await t.db.models.AuditEvent.find({ "target.id": leaver.id, action: "user.unsuspended" }).lean();
    expect(unsuspended?.before).toMatchObject({ suspended: true, offboarding: { offboardingId: id } });
    // The old session and token stay dead.
    await leaver.sessionRequest().expect(401);
    await leaver.tokenRequest().expect(401);
  });

  test("the identity provider deleting an offboarded member completes the offboarding", async () => {
    const leaver = await member("leaver.deleted@offboarding.example");
    const { id } = (await api(hrToken).post("/offboardings", { userName: leaver.userName, reason: "Termination" }).expect(201)).body;
    await scimClient(t.app, org.scimToken).delete(`/Users/${leaver.id}`).expect(204);
    expect((await api(hrToken).get(`/offboardings/${id}`).expect(200)).body).toMatchObject({ status: "completed", completedBecause: "the identity provider deleted the member" });
  });

  test("an administrator offboards by externalId with a personal token", async () => {
    const leaver = await member("leaver.admin@offboarding.example", { externalId: "HR-4711" });
    const answer = await api(ownerToken).post("/offboardings", { externalId: "HR-4711", reason: "Security: laptop stolen, employment ended" }).expect(201);
    expect(answer.body).toMatchObject({ status: "carried_out", member: { id: leaver.id }, requestedBy: { type: "user", id: expect.any(String) } });
    await leaver.sessionRequest().expect(401);
  });
});

describe("idempotency", () => {
  test("the same key twice is one offboarding: the same answer, replayed, one carried_out event", async () => {
    const leaver = await member("leaver.twice@offboarding.example");
    const body = { userName: leaver.userName, reason: "Termination" };
    const first = await api(hrToken).post("/offboardings", body, { "Idempotency-Key": "bamboo-88" }).expect(201);
    const second = await api(hrToken).post("/offboardings", { ...body, idempotencyKey: "bamboo-88" }).expect(201);
    expect(second.headers["idempotent-replayed"]).toBe("true");
    expect(first.headers["idempotent-replayed"]).toBeUndefined();
    expect(second.body).toEqual(first.body);
    expect(await countOf(leaver.id, "offboarding.carried_out")).toBe(1);
    expect(await t.db.models.Offboarding.countDocuments({ organizationId: org.id, userId: leaver.id })).toBe(1);

    // The key names one offboarding: with another member it is a conflict, and nothing happens to them.
    const other = await member("bystander.key@offboarding.example");
    const clash = await api(hrToken).post("/offboardings", { userName: other.userName, reason: "Termination" }, { "Idempotency-Key": "bamboo-88" }).expect(409);
    expect(clash.body.error.code).toBe("conflict");
    await other.sessionRequest().expect(200);
  });

  test("two requests with one key at the same moment make one offboarding", async () => {
    const leaver = await member("leaver.race@offboarding.example");
    const send = () => api(hrToken).post("/offboardings", { userId: leaver.id, reason: "Termination" }, { "Idempotency-Key": "personio-race-1" });
    const [a, b] = await Promise.all([send(), send()]);
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(a.body.id).toBe(b.body.id);
    expect(await t.db.models.Offboarding.countDocuments({ organizationId: org.id, userId: leaver.id })).toBe(1);
    expect(await countOf(leaver.id, "offboarding.carried_out")).toBe(1);
    await leaver.sessionRequest().expect(401);
  });
});

describe("effective later", () => {
  test("scheduled, visible, reminded a day before, then carried out at its time by the scheduler", async () => {
    const leaver = await member("leaver.later@offboarding.example");
    const effectiveAt = new Date(Date.now() + 30 * HOUR);
    const scheduled = (await api(hrToken).post("/offboardings", { email: leaver.userName, effectiveAt: effectiveAt.toISOString(), reason: "Last working day" }).expect(201)).body;
    expect(scheduled).toMatchObject({ status: "scheduled", effectiveAt: effectiveAt.toISOString() });
    expect((await api(hrToken).get("/offboardings?status=scheduled").expect(200)).body.offboardings.map((o: { id: string }) => o.id)).toContain(scheduled.id);
    expect(await countOf(leaver.id, "offboarding.scheduled")).toBe(1);
    await leaver.sessionRequest().expect(200);

    // Seven hours on (a day before): the reminder, once.
    const reminderTime = new Date(Date.now() + 7 * HOUR);
    expect((await t.services.offboardings.runDue(reminderTime)).reminded).toContain(scheduled.id);
    await t.services.offboardings.runDue(new Date(reminderTime.getTime() + 60_000));
    expect(await countOf(leaver.id, "offboarding.reminder")).toBe(1);
    expect((await api(hrToken).get(`/offboardings/${scheduled.id}`).expect(200)).body.reminderSentAt).toBe(reminderTime.toISOString());
    await leaver.sessionRequest().expect(200);

    // A second before its time: nothing; at its time: carried out.
    expect((await t.services.offboardings.runDue(new Date(effectiveAt.getTime() - 1000))).carriedOut).toEqual([]);
    await leaver.sessionRequest().expect(200);
    expect((await t.services.offboardings.runDue(new Date(effectiveAt.getTime() + 1000))).carriedOut).toContain(scheduled.id);
    expect((await api(hrToken).get(`/offboardings/${scheduled.id}`).expect(200)).body.status).toBe("carried_out");
    await leaver.sessionRequest().expect(401);
    await leaver.tokenRequest().expect(401);
  });

  test("survives a restart between scheduling and its time: another instance's scheduler carries it out within seconds", async () => {
    const leaver = await member("leaver.restart@offboarding.example");
    const before = await secondInstance(t);
    const effectiveAt = new Date(Date.now() + 1500);
    const { id } = (await api(hrToken, before).post("/offboardings", { userId: leaver.id, effectiveAt: effectiveAt.toISOString(), reason: "Last working day" }).expect(201)).body;
    await before.close();

    const after = await secondInstance(t);
    const scheduler = new OffboardingScheduler(after.services.offboardings, { done: () => undefined, failed: (error) => { throw error; } }, { intervalMs: 200 });
    scheduler.start();
    try {
      let status = "scheduled";
      for (let waited = 0; status === "scheduled" && waited < 15_000; waited += 200) {
        await new Promise((resolve) => setTimeout(resolve, 200));
        status = (await api(hrToken, after).get(`/offboardings/${id}`).expect(200)).body.status;
      }
      expect(status).toBe("carried_out");
      const offboarding = (await api(hrToken, after).get(`/offboardings/${id}`).expect(200)).body;
      expect(new Date(offboarding.carriedOutAt).getTime() - effectiveAt.getTime()).toBeLessThan(60_000);
      await leaver.sessionRequest(after).expect(401);
      await leaver.sessionRequest().expect(401);
    } finally {
      await scheduler.stop();
      await after.close();
    }
  });

  test("two instances racing for one due offboarding carry it out once", async () => {
    const leaver = await member("leaver.racing@offboarding.example");
    const effectiveAt = new Date(Date.now() + 2 * HOUR);
    const { id } = (await api(hrToken).post("/offboardings", { userId: leaver.id, effectiveAt: effectiveAt.toISOString(), reason: "Last working day" }).expect(201)).body;
    const other = await secondInstance(t);
    try {
      const due = new Date(effectiveAt.getTime() + 1000);
      const passes = await Promise.all([t.services.offboardings.runDue(due), other.services.offboardings.runDue(due), other.services.offboardings.runDue(due)]);
      expect(passes.flatMap((p) => p.carriedOut)).toEqual([id]);
      expect(await countOf(leaver.id, "offboarding.carried_out")).toBe(1);
      expect(await countOf(leaver.id, "user.suspended")).toBe(1);
      await leaver.sessionRequest(other).expect(401);
      // Later passes find nothing left to do.
      expect((await t.services.offboardings.runDue(new Date(due.getTime() + 60_000))).carriedOut).toEqual([]);
      expect(await t.db.models.OffboardingAgenda.countDocuments({ _id: id })).toBe(0);
    } finally {
      await other.close();
    }
  });

  test("a scheduled offboarding of a member HR has since offboarded at once completes without a second hold", async () => {
    const leaver = await member("leaver.moved@offboarding.example");
    const effectiveAt = new Date(Date.now() + 5 * HOUR);
    const later = (await api(hrToken).post("/offboardings", { userId: leaver.id, effectiveAt: effectiveAt.toISOString(), reason: "Last working day" }).expect(201)).body;
    const now = (await api(hrToken).post("/offboardings", { userId: leaver.id, reason: "Termination moved to today" }).expect(201)).body;
    expect((await t.services.offboardings.runDue(new Date(effectiveAt.getTime() + 1000))).carriedOut).toContain(later.id);
    expect((await api(hrToken).get(`/offboardings/${later.id}`).expect(200)).body).toMatchObject({ status: "completed", completedBecause: `the member is already held by offboarding ${now.id}` });
    expect(await countOf(leaver.id, "user.suspended")).toBe(1);
    expect((await api(ownerToken).get(`/users/${leaver.id}`).expect(200)).body.offboarding.offboardingId).toBe(now.id);
  });

  test("a cancelled offboarding is never carried out; one already carried out cannot be cancelled", async () => {
    const leaver = await member("leaver.cancel@offboarding.example");
    const effectiveAt = new Date(Date.now() + 3 * HOUR);
    const { id } = (await api(hrToken).post("/offboardings", { userId: leaver.id, effectiveAt: effectiveAt.toISOString(), reason: "Last working day" }).expect(201)).body;
    const cancelled = (await api(hrToken).delete(`/offboardings/${id}`).expect(200)).body;
    expect(cancelled).toMatchObject({ status: "cancelled", cancelledAt: expect.any(String) });
    await api(hrToken).post(`/offboardings/${id}/cancel`, { reason: "again" }).expect(200);
    expect(await countOf(leaver.id, "offboarding.cancelled")).toBe(1);

    expect((await t.services.offboardings.runDue(new Date(effectiveAt.getTime() + 1000))).carriedOut).toEqual([]);
    await leaver.sessionRequest().expect(200);

    const now = (await api(hrToken).post("/offboardings", { userId: leaver.id, reason: "Termination" }).expect(201)).body;
    const refused = await api(hrToken).post(`/offboardings/${now.id}/cancel`, { reason: "changed our minds" }).expect(409);
    expect(refused.body.error.message).toMatch(/unsuspend/);
  });
});

describe("refusals", () => {
  test("bad input is a 4xx admin JSON error and stores nothing", async () => {
    const bystander = await member("bystander.input@offboarding.example");
    const stored = async () => ({ offboardings: await t.db.models.Offboarding.countDocuments({ organizationId: org.id, userId: bystander.id }), version: (await t.services.users.get(ctx(), bystander.id)).version });
    const before = await stored();
    const refusals: [number, string, object, string?][] = [
      [400, "invalid_request", { userId: bystander.id }],
      [400, "invalid_request", { userId: bystander.id, reason: "x", effectiveAt: "next friday" }],
      [400, "invalid_request", { userId: bystander.id, reason: "x", effectiveAt: "2030-01-01T09:00:00" }],
      [400, "invalid_request", { userId: bystander.id, reason: "x", unknown: true }],
      [400, "invalid_request", { userId: { $ne: null }, reason: "x" }],
      [400, "invalid", { userId: bystander.id, userName: bystander.userName, reason: "x" }],
      [400, "invalid", { reason: "x" }],
      [400, "invalid", { userId: bystander.id, reason: "   " }],
      [400, "invalid", { userId: bystander.id, reason: "x", effectiveAt: "2099-01-01T00:00:00Z" }],
      [400, "invalid", { userId: bystander.id, reason: "x", idempotencyKey: "a" }, "b"],
      [404, "not_found", { userId: "no-such-user", reason: "x" }],
      [404, "not_found", { email: "nobody@offboarding.example", reason: "x" }],
      [403, "owner_protected", { email: "owner@offboarding.example", reason: "x" }],
    ];
    for (const [status, code, body, header] of refusals) {
      const answer = await api(hrToken).post("/offboardings", body, header ? { "Idempotency-Key": header } : {});
      expect([answer.status, answer.body.error?.code, JSON.stringify(body)]).toEqual([status, code, JSON.stringify(body)]);
      expect(typeof answer.body.error.message).toBe("string");
    }
    expect(await stored()).toEqual(before);
    await bystander.sessionRequest().expect(200);
  });

  test("only tokens with the offboarding scope and administrators may offboard", async () => {
    const bystander = await member("bystander.auth@offboarding.example");
    const body = { userId: bystander.id, reason: "Termination" };
    expect((await api(plainServiceToken).post("/offboardings", body).expect(403)).body.error.message).toMatch(/scope `offboarding`/);
    await api(plainServiceToken).get("/offboardings").expect(403);
    await api(org.scimToken).post("/offboardings", body).expect(401);
    const colleague = await member("colleague.auth@offboarding.example");
    const colleagueToken = (await cli("user-token", "create", "--org", org.id, "--email", colleague.userName, "--json")).token as string;
    expect((await api(colleagueToken).post("/offboardings", body).expect(403)).body.error.code).toBe("forbidden");
    await api(hrToken).get("/offboardings/off_unknown").expect(404);
    expect(await t.db.models.Offboarding.countDocuments({ organizationId: org.id, userId: bystander.id })).toBe(0);
    await bystander.sessionRequest().expect(200);
    await expect(runCommand(t.services, ["service-token", "create", "--org", org.id, "--scope", "everything"])).rejects.toThrow(/Scopes are .*offboarding.*; not everything/);
  });
});

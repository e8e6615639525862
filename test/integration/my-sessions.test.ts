import request from "supertest";
import { runCommand } from "../../src/cli/commands";
import { operator, startTestApp, type TestApp } from "../support/app";

/**
 * A member's own sessions (GET /api/v1/me/sessions, DELETE /api/v1/me/sessions/{id}): listed
 * through the user's lookup key by `_id` reads only, never a secret or its hash; one ended as
 * signing out ends it (`session.ended`, refused from its next request); another person's is 404.
 */

const COOKIE = "gatehouse_session";

let t: TestApp;
let org: { id: string; scimToken: string; ownerId: string };
let clockOffsetMs = 0;

const ctx = () => ({ ...operator, organizationId: org.id });
const cli = async (...argv: string[]) => JSON.parse((await runCommand(t.services, argv)).stdout[0]!);

beforeAll(async () => {
  t = await startTestApp({ PUBLIC_BASE_URL: "http://localhost:8080" }, { sessionClock: () => new Date(Date.now() + clockOffsetMs) });
  org = await cli("org", "create", "My Sessions Co", "--owner", "owner@my-sessions.example", "--json");
});
afterEach(() => {
  clockOffsetMs = 0;
});
afterAll(() => t.close());

async function signIn(userId: string, meta: { via?: "saml" | "sign_in_link"; ip?: string; userAgent?: string } = {}) {
  const user = await t.services.users.get(ctx(), userId);
  return t.services.sessions.start({ ...ctx(), source: "saml", actor: { type: "user", id: user.id, name: user.userName } }, user, { via: meta.via ?? "saml", ...(meta.ip ? { ip: meta.ip } : {}), ...(meta.userAgent ? { userAgent: meta.userAgent } : {}) });
}

function browser(cookieValue: string) {
  const withCookie = (r: request.Test) => r.set("Cookie", `${COOKIE}=${cookieValue}`);
  return {
    get: (path: string) => withCookie(request(t.app).get(`/api/v1${path}`)),
    /** A DELETE with the session's CSRF token, expected to answer `status`. */
    delete: async (path: string, status: number) => {
      const csrf = (await withCookie(request(t.app).get("/api/v1/session")).expect(200)).body.csrfToken;
      return withCookie(request(t.app).delete(`/api/v1${path}`)).set("X-CSRF-Token", csrf).expect(status);
    },
  };
}

const localUser = async (userName: string) => (await t.services.users.provision(ctx(), { userName }, "local", { role: "user" })).id;

describe("a member's own sessions", () => {
  it("lists the member's live sessions, newest first, with how each began, IP and user agent, marking this one — never a secret or its hash", async () => {
    const ada = await localUser("ada@my-sessions.example");
    const laptop = await signIn(ada, { ip: "203.0.113.7", userAgent: "Firefox on the laptop" });
    const phone = await signIn(ada, { via: "sign_in_link", ip: "198.51.100.2", userAgent: "Safari on the phone" });
    const someoneElse = await signIn(org.ownerId);

    const listed = (await browser(laptop.cookieValue).get("/me/sessions").expect(200)).body.sessions;
    expect(listed).toEqual([
      { id: phone.sessionId, via: "sign_in_link", createdAt: expect.any(String), lastSeenAt: expect.any(String), expiresAt: phone.expiresAt.toISOString(), ip: "198.51.100.2", userAgent: "Safari on the phone", current: false },
      { id: laptop.sessionId, via: "saml", createdAt: expect.any(String), lastSeenAt: expect.any(String), expiresAt: laptop.expiresAt.toISOString(), ip: "203.0.113.7", userAgent: "Firefox on the laptop", current: true },
    ]);
    const text = JSON.stringify(listed);
    expect(text).not.toContain(someoneElse.sessionId);
    for (const started of [laptop, phone]) {
      const secret = started.cookieValue.split(".")[1]!;
      expect(text).not.toContain(secret);
      const stored = await t.db.models.Session.findById(started.sessionId).lean();
      expect(text).not.toContain(stored!.secretHash);
    }
    // With a personal token, no session is the current one.
    const token = (await cli("user-token", "create", "--org", org.id, "--email", "ada@my-sessions.example", "--json")).token;
    const viaToken = (await request(t.app).get("/api/v1/me/sessions").set("Authorization", `Bearer ${token}`).expect(200)).body.sessions;
    expect(viaToken.map((s: { id: string; current: boolean }) => [s.id, s.current])).toEqual([
      [phone.sessionId, false],
      [laptop.sessionId, false],
    ]);
  });

  it("ends another session of theirs as signing out does: audited as session.ended, refused from its next request; this one keeps working", async () => {
    const grace = await localUser("grace@my-sessions.example");
    const first = await signIn(grace);
    const second = await signIn(grace);
    await browser(second.cookieValue).get("/me").expect(200);

    await browser(first.cookieValue).delete(`/me/sessions/${second.sessionId}`, 204);
    const refused = await browser(second.cookieValue).get("/me").expect(401);
    expect(refused.body.error.message).toMatch(/signed out/);
    await browser(first.cookieValue).get("/me").expect(200);
    const [ended] = await t.db.models.AuditEvent.find({ organizationId: org.id, action: "session.ended", "target.id": grace }).lean();
    expect(ended?.after).toMatchObject({ sessionId: second.sessionId });
    expect(ended?.actor).toMatchObject({ type: "user", id: grace });
    // The ended one is no longer listed, and its entry is dropped from the member's lookup key.
    expect((await browser(first.cookieValue).get("/me/sessions").expect(200)).body.sessions.map((s: { id: string }) => s.id)).toEqual([first.sessionId]);
    const key = await t.db.models.LookupKey.findById(`${org.id}/session.user/${grace}`).lean();
    expect(key?.owners).toEqual([first.sessionId]);
  });

  it("answers 404 for another person's session and leaves it alive; ending one's own current session clears the cookie", async () => {
    const linus = await localUser("linus@my-sessions.example");
    const tim = await localUser("tim@my-sessions.example");
    const mine = await signIn(linus);
    const theirs = await signIn(tim);
    const refused = await browser(mine.cookieValue).delete(`/me/sessions/${theirs.sessionId}`, 404);
    expect(refused.body.error.code).toBe("not_found");
    await browser(theirs.cookieValue).get("/me").expect(200);
    expect(await t.db.models.AuditEvent.countDocuments({ organizationId: org.id, action: "session.ended", "target.id": tim })).toBe(0);
    await browser(mine.cookieValue).delete("/me/sessions/0123456789abcdef0123456789abcdef", 404);

    const ended = await browser(mine.cookieValue).delete(`/me/sessions/${mine.sessionId}`, 204);
    expect(String(ended.headers["set-cookie"])).toMatch(new RegExp(`${COOKIE}=;`));
    await browser(mine.cookieValue).get("/me").expect(401);
  });

  it("drops sessions ended by signing out everywhere, or idle too long, from the list as it reads them", async () => {
    const alan = await localUser("alan@my-sessions.example");
    const before = await signIn(alan);
    await t.services.sessions.signOutEverywhere(ctx(), alan);
    const after = await signIn(alan);
    expect((await browser(after.cookieValue).get("/me/sessions").expect(200)).body.sessions.map((s: { id: string }) => s.id)).toEqual([after.sessionId]);
    expect((await t.db.models.LookupKey.findById(`${org.id}/session.user/${alan}`).lean())?.owners).toEqual([after.sessionId]);
    await browser(before.cookieValue).get("/me").expect(401);

    const idle = await signIn(alan);
    clockOffsetMs = 31 * 60_000; // `idle` is now past the 30-minute idle timeout; `fresh` starts on the moved clock
    const fresh = await signIn(alan);
    const listed = (await browser(fresh.cookieValue).get("/me/sessions").expect(200)).body.sessions.map((s: { id: string }) => s.id);
    expect(listed).toEqual([fresh.sessionId]);
    expect(listed).not.toContain(idle.sessionId);
  });
});

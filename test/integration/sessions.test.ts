import express from "express";
import request from "supertest";
import { runCommand } from "../../src/cli/commands";
import { loadConfig } from "../../src/config";
import { clearSessionCookie, readSessionCookie, setSessionCookie } from "../../src/http/session-cookie";
import { buildUser, operator, patchSchema, scimClient, secondInstance, startTestApp, type TestApp } from "../support/app";

/**
 * Browser sessions (what SAML sign-in will start) on the admin API: the cookie, CSRF, CORS, the
 * timeouts, and every way a session ends — sign-out, sign-out everywhere, and deprovisioning by
 * the identity provider or an administrator, which ends it at once on every instance.
 */

const COOKIE = "__Host-gatehouse_session";
const APP_ORIGIN = "https://app.example.com";
const MINUTE = 60_000;

let t: TestApp;
let org: { id: string; scimToken: string; ownerId: string };
let ownerToken: string;
/** How far the sessions' clock is ahead of the real one. */
let clockOffsetMs = 0;

const ctx = () => ({ ...operator, organizationId: org.id });
const cli = async (...argv: string[]) => JSON.parse((await runCommand(t.services, argv)).stdout[0]!);
const deactivation = (active: boolean) => ({ schemas: [patchSchema], Operations: [{ op: "replace", value: { active } }] });

beforeAll(async () => {
  t = await startTestApp({ CORS_ALLOWED_ORIGINS: `${APP_ORIGIN}, https://admin.example.com` }, { sessionClock: () => new Date(Date.now() + clockOffsetMs) });
  org = await cli("org", "create", "Sessions Co", "--owner", "owner@sessions.example", "--json");
  ownerToken = (await cli("user-token", "create", "--org", org.id, "--email", "owner@sessions.example", "--json")).token;
});
afterEach(() => {
  clockOffsetMs = 0;
});
afterAll(() => t.close());

/** What the SAML assertion consumer does after a successful sign-in. */
async function signIn(userId: string, app: TestApp = t) {
  const user = await app.services.users.get(ctx(), userId);
  return app.services.sessions.start({ ...ctx(), source: "saml", actor: { type: "user", id: user.id, name: user.userName } }, user, { via: "saml", ip: "203.0.113.7", userAgent: "jest" });
}

/** A supertest client for /api/v1 that sends the session cookie (and nothing else unless asked). */
function browser(cookieValue: string, app: express.Express = t.app) {
  const withCookie = (r: request.Test) => r.set("Cookie", `theme=dark; ${COOKIE}=${cookieValue}`);
  return {
    get: (path: string) => withCookie(request(app).get(`/api/v1${path}`)),
    post: (path: string, body: object = {}) => withCookie(request(app).post(`/api/v1${path}`)).send(body),
    put: (path: string, body: object) => withCookie(request(app).put(`/api/v1${path}`)).send(body),
  };
}

async function csrfOf(cookieValue: string): Promise<string> {
  return (await browser(cookieValue).get("/session").expect(200)).body.csrfToken;
}

async function scimUser(userName: string): Promise<string> {
  return (await scimClient(t.app, org.scimToken).post("/Users", buildUser({ userName })).expect(201)).body.id;
}

async function localUser(userName: string, role?: "admin" | "user" | "read_only"): Promise<string> {
  return (await t.services.users.provision(ctx(), { userName }, "local", role ? { role } : undefined)).id;
}

const actionsAbout = async (userId: string) => (await t.db.models.AuditEvent.find({ "target.id": userId }).sort({ at: 1 }).lean()).map((e) => e.action);

describe("the session cookie", () => {
  const cookieApp = (publicBaseUrl: string) => {
    const config = loadConfig({ PUBLIC_BASE_URL: publicBaseUrl });
    const app = express();
    app.get("/set", (_req, res) => {
      setSessionCookie(res, "0123456789abcdef0123456789abcdef.secret", new Date(Date.now() + 3_600_000), config);
      res.end();
    });
    app.get("/clear", (_req, res) => {
      clearSessionCookie(res, config);
      res.end();
    });
    app.get("/read", (req, res) => {
      res.json({ value: readSessionCookie(req, config) ?? null });
    });
    return app;
  };

  it("is __Host-gatehouse_session, HttpOnly, Secure, SameSite=Lax, Path=/ and no Domain when PUBLIC_BASE_URL is https", async () => {
    const res = await request(cookieApp("https://gatehouse.example.com")).get("/set").expect(200);
    const [cookie] = res.headers["set-cookie"] as unknown as string[];
    expect(cookie).toMatch(/^__Host-gatehouse_session=0123456789abcdef0123456789abcdef\.secret; /);
    const attributes = cookie!.split("; ").slice(1);
    expect(attributes).toEqual(expect.arrayContaining(["Path=/", "HttpOnly", "Secure", "SameSite=Lax"]));
    expect(attributes.find((a) => a.startsWith("Domain"))).toBeUndefined();
    const maxAge = Number(attributes.find((a) => a.startsWith("Max-Age="))!.slice("Max-Age=".length));
    expect(maxAge).toBeGreaterThan(3590);
    expect(maxAge).toBeLessThanOrEqual(3600);
  });

  it("is gatehouse_session without Secure over plain http (development on localhost)", async () => {
    const res = await request(cookieApp("http://localhost:8080")).get("/set").expect(200);
    const [cookie] = res.headers["set-cookie"] as unknown as string[];
    expect(cookie).toMatch(/^gatehouse_session=/);
    expect(cookie).toContain("HttpOnly");
    expect(cookie).toContain("SameSite=Lax");
    expect(cookie).not.toContain("Secure");
  });

  it("is cleared with the same name and attributes, and read back from the Cookie header among others", async () => {
    const app = cookieApp("https://gatehouse.example.com");
    const [cleared] = (await request(app).get("/clear")).headers["set-cookie"] as unknown as string[];
    expect(cleared).toMatch(/^__Host-gatehouse_session=; /);
    expect(cleared).toContain("Expires=Thu, 01 Jan 1970 00:00:00 GMT");
    expect(cleared).toContain("Secure");
    const read = (cookie?: string) => (cookie === undefined ? request(app).get("/read") : request(app).get("/read").set("Cookie", cookie));
    expect((await read("a=1; __Host-gatehouse_session=abc.def ; b=2")).body.value).toBe("abc.def");
    expect((await read('__Host-gatehouse_session="abc.def"')).body.value).toBe("abc.def");
    // Over https, only the __Host- cookie counts: a plain one may have been planted by a sibling subdomain.
    expect((await read("gatehouse_session=abc.def")).body.value).toBeNull();
    expect((await read("x__Host-gatehouse_session=abc.def")).body.value).toBeNull();
    expect((await read()).body.value).toBeNull();
  });
});

describe("starting and using a session", () => {
  it("starts a session for a SCIM-provisioned user and for a local user, with a new id each time, audited", async () => {
    const provisioned = await scimUser("provisioned@sessions.example");
    const local = await localUser("local@sessions.example", "user");
    for (const [id, userName] of [[provisioned, "provisioned@sessions.example"], [local, "local@sessions.example"]] as const) {
      const first = await signIn(id);
      const second = await signIn(id);
      expect(first.sessionId).not.toBe(second.sessionId);
      expect(first.cookieValue).toMatch(new RegExp(`^${first.sessionId}\\.[A-Za-z0-9_-]{43}$`));
      const me = await browser(first.cookieValue).get("/session").expect(200);
      expect(me.body).toEqual({
        user: { id, userName },
        organizationId: org.id,
        via: "saml",
        createdAt: expect.any(String),
        expiresAt: first.expiresAt.toISOString(),
        csrfToken: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      });
      expect(new Date(me.body.expiresAt).getTime() - new Date(me.body.createdAt).getTime()).toBe(12 * 3_600_000);
      await browser(first.cookieValue).get(`/users/${id}`).expect(200);

      // Only a hash of the secret is stored: the cookie cannot be rebuilt from the database.
      const stored = await t.db.models.Session.collection.findOne({ _id: first.sessionId } as never);
      const secret = first.cookieValue.split(".")[1]!;
      expect(stored).toMatchObject({ organizationId: org.id, userId: id, userEpoch: 0, via: "saml", ip: "203.0.113.7", userAgent: "jest" });
      expect(JSON.stringify(stored)).not.toContain(secret);
      const [started] = await t.db.models.AuditEvent.find({ action: "session.started", "after.sessionId": first.sessionId }).lean();
      expect(started).toMatchObject({ source: "saml", target: { type: "user", id }, after: { via: "saml", ip: "203.0.113.7" } });
      expect(JSON.stringify(started)).not.toContain(secret);
    }
  });

  it("refuses to start a session for a deactivated or suspended user", async () => {
    const id = await scimUser("not.now@sessions.example");
    await scimClient(t.app, org.scimToken).patch(`/Users/${id}`, deactivation(false)).expect(200);
    await expect(signIn(id)).rejects.toThrow(/deactivated/);
  });

  it("reads and writes through the admin API; a write needs the session's CSRF token and a trusted Origin", async () => {
    const owner = await signIn(org.ownerId);
    const target = await localUser("target@sessions.example", "read_only");
    const me = browser(owner.cookieValue);
    expect((await me.get(`/users/${target}`).expect(200)).body).toMatchObject({ role: "read_only", editable: true });

    const refused = await me.put(`/users/${target}`, { role: "user" });
    expect(refused.status).toBe(403);
    expect(refused.body.error).toEqual({ code: "csrf", message: expect.stringContaining("X-CSRF-Token") });
    const csrf = await csrfOf(owner.cookieValue);
    expect((await me.put(`/users/${target}`, { role: "user" }).set("X-CSRF-Token", "A".repeat(43))).body.error.code).toBe("csrf");
    expect((await me.put(`/users/${target}`, { role: "user" }).set("X-CSRF-Token", await csrfOf((await signIn(org.ownerId)).cookieValue))).body.error.code).toBe("csrf");
    const foreign = await me.put(`/users/${target}`, { role: "user" }).set("X-CSRF-Token", csrf).set("Origin", "https://evil.example");
    expect(foreign.status).toBe(403);
    expect(foreign.body.error).toEqual({ code: "csrf", message: expect.stringContaining("https://evil.example") });
    expect((await me.put(`/users/${target}`, { role: "user" }).set("X-CSRF-Token", csrf).set("Origin", "null")).body.error.code).toBe("csrf");
    expect((await t.services.users.get(ctx(), target)).localAccess).toEqual({ role: "read_only" });

    await me.put(`/users/${target}`, { role: "user", reason: "from the browser" }).set("X-CSRF-Token", csrf).expect(200);
    await me.put(`/users/${target}`, { role: "admin" }).set("X-CSRF-Token", csrf).set("Origin", "https://gatehouse.test").expect(200);
    await me.put(`/users/${target}`, { role: "user" }).set("X-CSRF-Token", csrf).set("Origin", APP_ORIGIN).expect(200);
    const [event] = await t.db.models.AuditEvent.find({ "target.id": target, action: "user.access_changed", reason: "from the browser" }).lean();
    expect(event).toMatchObject({ source: "admin", actor: { type: "user", id: org.ownerId, name: "owner@sessions.example" } });
  });

  it("applies the permission matrix and the read-only rule for SSO-managed users unchanged", async () => {
    const managed = await scimUser("managed@sessions.example");
    const owner = await signIn(org.ownerId);
    const res = await browser(owner.cookieValue).put(`/users/${managed}`, { role: "admin" }).set("X-CSRF-Token", await csrfOf(owner.cookieValue));
    expect([res.status, res.body.error.code]).toEqual([409, "managed_by_identity_provider"]);
    const member = await signIn(await localUser("plain.member@sessions.example", "user"));
    expect((await browser(member.cookieValue).get(`/users/${org.ownerId}`)).body.error.code).toBe("forbidden");
    expect((await browser(member.cookieValue).get("/users")).status).toBe(403);
  });

  it("lets a bearer header win over the cookie, and leaves token requests without CSRF checks", async () => {
    const owner = await signIn(org.ownerId);
    const target = await localUser("bearer.wins@sessions.example");
    const withBoth = (token: string) => browser(owner.cookieValue).get(`/users/${target}`).set("Authorization", `Bearer ${token}`);
    expect((await withBoth(ownerToken)).status).toBe(200);
    const bogus = await withBoth("gpt_000000000000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    expect(bogus.status).toBe(401);
    expect(bogus.body.error.message).toMatch(/bearer token/);
    await request(t.app).put(`/api/v1/users/${target}`).set("Authorization", `Bearer ${ownerToken}`).set("Origin", "https://evil.example").send({ role: "user" }).expect(200);
    await request(t.app).get("/api/v1/session").set("Authorization", `Bearer ${ownerToken}`).expect(401);
  });

  it("answers 401 without a token or a session, and 401 that says why for a malformed, unknown or forged cookie, clearing it", async () => {
    const none = await request(t.app).get("/api/v1/session").expect(401);
    expect(none.body.error).toEqual({ code: "unauthenticated", message: "A bearer token or a session is required" });
    const { cookieValue } = await signIn(org.ownerId);
    const [id] = cookieValue.split(".");
    const cases: [string, RegExp][] = [
      ["not-a-session", /malformed/],
      [`${"0".repeat(32)}.${"A".repeat(43)}`, /not valid/],
      [`${id}.${"A".repeat(43)}`, /not valid/],
    ];
    for (const [value, why] of cases) {
      const res = await browser(value).get("/session");
      expect([res.status, res.body.error.code]).toEqual([401, "unauthenticated"]);
      expect(res.body.error.message).toMatch(why);
      expect(res.headers["www-authenticate"]).toBe('Bearer realm="Gatehouse API"');
      expect((res.headers["set-cookie"] as unknown as string[])[0]).toMatch(/^__Host-gatehouse_session=; .*Expires=Thu, 01 Jan 1970/);
    }
  });
});

describe("timeouts", () => {
  it("ends a session after 30 minutes without a request, and slides with use", async () => {
    const { cookieValue } = await signIn(org.ownerId);
    clockOffsetMs = 20 * MINUTE;
    await browser(cookieValue).get("/session").expect(200);
    clockOffsetMs = 45 * MINUTE; // 25 minutes after the last request
    await browser(cookieValue).get("/session").expect(200);
    clockOffsetMs = 76 * MINUTE; // 31 minutes after the last request
    const res = await browser(cookieValue).get("/session").expect(401);
    expect(res.body.error.message).toBe("The session has expired after 30 minutes without activity; sign in again");
  });

  it("writes lastSeenAt at most once a minute", async () => {
    const { cookieValue, sessionId } = await signIn(org.ownerId);
    const lastSeen = async () => ((await t.db.models.Session.collection.findOne({ _id: sessionId } as never)) as unknown as { lastSeenAt: Date }).lastSeenAt.getTime();
    const started = await lastSeen();
    clockOffsetMs = 30_000;
    await t.services.sessions.authenticate(cookieValue);
    expect(await lastSeen()).toBe(started);
    clockOffsetMs = 61_000;
    await t.services.sessions.authenticate(cookieValue);
    expect(await lastSeen()).toBeGreaterThanOrEqual(started + 61_000);
  });

  it("ends a session 12 hours after sign-in however busy it is", async () => {
    const { cookieValue } = await signIn(org.ownerId);
    for (let minutes = 0; minutes < 12 * 60; minutes += 25) {
      clockOffsetMs = minutes * MINUTE;
      await t.services.sessions.authenticate(cookieValue);
    }
    clockOffsetMs = 12 * 60 * MINUTE;
    const res = await browser(cookieValue).get("/session").expect(401);
    expect(res.body.error.message).toBe("The session has expired: sessions last at most 12 hours; sign in again");
  });
});

describe("how sessions end", () => {
  it("refuses the very next request once SCIM deactivates the user, and reactivation does not revive the session", async () => {
    const scim = scimClient(t.app, org.scimToken);
    const id = await scimUser("leaver@sessions.example");
    const { cookieValue } = await signIn(id);
    await browser(cookieValue).get(`/users/${id}`).expect(200);
    await scim.patch(`/Users/${id}`, deactivation(false)).expect(200);
    const refused = await browser(cookieValue).get(`/users/${id}`).expect(401);
    expect(refused.body.error).toEqual({ code: "unauthenticated", message: "The session's user has been deactivated" });
    await scim.patch(`/Users/${id}`, deactivation(true)).expect(200);
    const still = await browser(cookieValue).get(`/users/${id}`).expect(401);
    expect(still.body.error.message).toMatch(/signing out everywhere \(or by a deactivation or suspension/);
    // A new sign-in works again.
    await browser((await signIn(id)).cookieValue).get(`/users/${id}`).expect(200);
  });

  it("refuses the next request once SCIM deletes the user", async () => {
    const id = await scimUser("deleted@sessions.example");
    const { cookieValue } = await signIn(id);
    await scimClient(t.app, org.scimToken).delete(`/Users/${id}`).expect(204);
    expect((await browser(cookieValue).get("/session").expect(401)).body.error.message).toBe("The session's user no longer exists");
  });

  it("refuses the next request once an administrator suspends the user, and lifting it does not revive the session", async () => {
    const id = await scimUser("suspect@sessions.example");
    const { cookieValue } = await signIn(id);
    await request(t.app).post(`/api/v1/users/${id}/suspend`).set("Authorization", `Bearer ${ownerToken}`).send({ reason: "incident" }).expect(200);
    expect((await browser(cookieValue).get("/session").expect(401)).body.error.message).toBe("The session's user is suspended");
    await request(t.app).post(`/api/v1/users/${id}/unsuspend`).set("Authorization", `Bearer ${ownerToken}`).expect(200);
    await browser(cookieValue).get("/session").expect(401);
  });

  it("signs out one session, clearing its cookie, audited as session.ended; the user's other sessions live on", async () => {
    const id = await localUser("signs.out@sessions.example", "user");
    const here = await signIn(id);
    const elsewhere = await signIn(id);
    const csrf = await csrfOf(here.cookieValue);
    expect((await browser(here.cookieValue).post("/session/sign-out")).body.error.code).toBe("csrf");
    const res = await browser(here.cookieValue).post("/session/sign-out").set("X-CSRF-Token", csrf).expect(204);
    expect((res.headers["set-cookie"] as unknown as string[])[0]).toMatch(/^__Host-gatehouse_session=; Path=\/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Lax$/);
    expect((await browser(here.cookieValue).get("/session").expect(401)).body.error.message).toBe("The session has ended: it was signed out");
    await browser(elsewhere.cookieValue).get("/session").expect(200);
    const [ended] = await t.db.models.AuditEvent.find({ action: "session.ended", "after.sessionId": here.sessionId }).lean();
    expect(ended).toMatchObject({ source: "admin", actor: { type: "user", id }, target: { type: "user", id } });
  });

  it("signs out everywhere: every session of the user ends at once, audited; a later sign-in works", async () => {
    const id = await localUser("everywhere@sessions.example", "user");
    const [laptop, phone] = [await signIn(id), await signIn(id)];
    await browser(laptop.cookieValue).post("/session/sign-out-everywhere").set("X-CSRF-Token", await csrfOf(laptop.cookieValue)).expect(204);
    for (const { cookieValue } of [laptop, phone]) {
      expect((await browser(cookieValue).get("/session").expect(401)).body.error.message).toMatch(/^The session was ended by signing out everywhere/);
    }
    expect(await actionsAbout(id)).toEqual(expect.arrayContaining(["session.started", "user.signed_out_everywhere"]));
    await browser((await signIn(id)).cookieValue).get("/session").expect(200);
  });

  it("lets an administrator sign a managed user out everywhere, with a reason; an Admin never the Owner, a member nobody", async () => {
    const id = await scimUser("lost.laptop@sessions.example");
    const { cookieValue } = await signIn(id);
    await request(t.app).post(`/api/v1/users/${id}/sign-out-everywhere`).set("Authorization", `Bearer ${ownerToken}`).send({ reason: "lost laptop" }).expect(204);
    await browser(cookieValue).get("/session").expect(401);
    const [event] = await t.db.models.AuditEvent.find({ "target.id": id, action: "user.signed_out_everywhere" }).lean();
    expect(event).toMatchObject({ source: "admin", reason: "lost laptop", actor: { type: "user", id: org.ownerId } });

    await localUser("an.admin@sessions.example", "admin");
    const adminSession = await signIn((await t.services.users.findByUserName(ctx(), "an.admin@sessions.example"))!.id);
    const csrf = await csrfOf(adminSession.cookieValue);
    const onOwner = await browser(adminSession.cookieValue).post(`/users/${org.ownerId}/sign-out-everywhere`).set("X-CSRF-Token", csrf);
    expect([onOwner.status, onOwner.body.error.code]).toEqual([403, "owner_protected"]);
    const member = await signIn(await localUser("no.power@sessions.example", "user"));
    const byMember = await browser(member.cookieValue).post(`/users/${id}/sign-out-everywhere`).set("X-CSRF-Token", await csrfOf(member.cookieValue));
    expect([byMember.status, byMember.body.error.code]).toEqual([403, "forbidden"]);
  });
});

describe("two instances on one database", () => {
  it("refuses the next request on both instances once SCIM on one of them deactivates the user", async () => {
    const b = await secondInstance(t, { CORS_ALLOWED_ORIGINS: APP_ORIGIN });
    try {
      const id = await scimUser("two.instances@sessions.example");
      const { cookieValue } = await signIn(id, t);
      await browser(cookieValue, t.app).get("/session").expect(200);
      await browser(cookieValue, b.app).get("/session").expect(200);
      await scimClient(b.app, org.scimToken).patch(`/Users/${id}`, deactivation(false)).expect(200);
      for (const app of [t.app, b.app]) {
        expect((await browser(cookieValue, app).get(`/users/${id}`).expect(401)).body.error.message).toBe("The session's user has been deactivated");
      }
      // Sign-out on one instance is seen by the other too.
      const owner = await signIn(org.ownerId, b);
      await browser(owner.cookieValue, t.app).post("/session/sign-out").set("X-CSRF-Token", await csrfOf(owner.cookieValue)).expect(204);
      await browser(owner.cookieValue, b.app).get("/session").expect(401);
    } finally {
      await b.close();
    }
  });
});

describe("CORS on /api/v1", () => {
  it("lets a listed origin read answers with credentials", async () => {
    const { cookieValue } = await signIn(org.ownerId);
    const res = await browser(cookieValue).get("/session").set("Origin", APP_ORIGIN).expect(200);
    expect(res.headers["access-control-allow-origin"]).toBe(APP_ORIGIN);
    expect(res.headers["access-control-allow-credentials"]).toBe("true");
    expect(res.headers.vary).toMatch(/Origin/);
    const refused = await request(t.app).get("/api/v1/session").set("Origin", APP_ORIGIN).expect(401);
    expect(refused.headers["access-control-allow-origin"]).toBe(APP_ORIGIN);
  });

  it("gives any other origin no CORS header", async () => {
    const { cookieValue } = await signIn(org.ownerId);
    for (const origin of ["https://evil.example", "https://app.example.com.evil.example", "http://app.example.com", "null"]) {
      const res = await browser(cookieValue).get("/session").set("Origin", origin).expect(200);
      expect(Object.keys(res.headers).filter((h) => h.startsWith("access-control-"))).toEqual([]);
    }
  });

  it("answers a listed origin's preflight with the methods and headers, and refuses others", async () => {
    const preflight = (origin: string, path = "/api/v1/users/x") =>
      request(t.app).options(path).set("Origin", origin).set("Access-Control-Request-Method", "PUT").set("Access-Control-Request-Headers", "content-type,x-csrf-token");
    const allowed = await preflight("https://admin.example.com").expect(204);
    expect(allowed.headers).toMatchObject({
      "access-control-allow-origin": "https://admin.example.com",
      "access-control-allow-credentials": "true",
      "access-control-allow-methods": "GET, POST, PUT, PATCH, DELETE",
      "access-control-allow-headers": "Authorization, Content-Type, X-CSRF-Token",
      "access-control-max-age": "600",
    });
    const refused = await preflight("https://evil.example").expect(403);
    expect(refused.headers["access-control-allow-origin"]).toBeUndefined();
    // Only the API: SCIM is for identity providers' servers, never for browsers.
    const scim = await preflight(APP_ORIGIN, "/scim/v2/Users");
    expect(scim.headers["access-control-allow-origin"]).toBeUndefined();
  });
});

describe("upkeep", () => {
  it("moves audit events stranded on sessions into the trail (recoverAuditOutbox)", async () => {
    const { sessionId } = await signIn(org.ownerId);
    const stranded = { _id: `stranded-${sessionId}`, organizationId: org.id, at: new Date(), actor: { type: "system", id: "t", name: "t" }, source: "system", action: "session.test_stranded", target: { type: "user", id: org.ownerId }, requestId: "r" };
    // Through the write queue, as every update in Gatehouse: on FerretDB a raw $push could be lost
    // to the sign-in's own background outbox update of the same session.
    await t.db.writes.document("sessions", sessionId, () => t.db.models.Session.collection.updateOne({ _id: sessionId } as never, { $push: { outbox: stranded } } as never));
    expect(await t.services.recoverAuditOutbox()).toBeGreaterThanOrEqual(1);
    expect(await t.db.models.AuditEvent.countDocuments({ _id: stranded._id })).toBe(1);
    const doc = (await t.db.models.Session.collection.findOne({ _id: sessionId } as never)) as unknown as { outbox: unknown[] };
    expect(doc.outbox).toEqual([]);
  });

  it("sweeps sessions that ended or expired more than a day ago, in bounded batches, keeping the rest", async () => {
    await t.db.models.Session.deleteMany({});
    const id = await localUser("swept@sessions.example", "user");
    const ended = await signIn(id);
    await t.services.sessions.end(ctx(), ended.sessionId);
    const idle = await signIn(id);
    clockOffsetMs = 24 * 60 * MINUTE;
    const recent = await signIn(id);
    const endedRecently = await signIn(id);
    await t.services.sessions.end(ctx(), endedRecently.sessionId);
    clockOffsetMs = 25 * 60 * MINUTE;
    expect(await t.services.sessions.sweep(1)).toBe(1);
    expect(await t.services.sessions.sweep()).toBe(1);
    expect(await t.services.sessions.sweep()).toBe(0);
    const left = (await t.db.models.Session.find({}).lean()).map((s) => s._id).sort();
    expect(left).toEqual([recent.sessionId, endedRecently.sessionId].sort());
    expect([ended.sessionId, idle.sessionId].every((s) => !left.includes(s))).toBe(true);
    // The trail keeps what happened.
    expect(await t.db.models.AuditEvent.countDocuments({ action: "session.ended", "after.sessionId": ended.sessionId })).toBe(1);
  });
});

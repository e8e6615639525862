import request from "supertest";
import { runCommand } from "../../src/cli/commands";
import { serviceProviderUrls } from "../../src/domain/saml";
import { TestIdentityProvider } from "../support/saml-idp";
import { operator, startTestApp, type TestApp } from "../support/app";

/**
 * Signing in to the console besides SAML itself (issue 14): email domains and sign-in discovery,
 * break-glass sign-in links, and requireSso — through the CLI and HTTP against the real database.
 */

let t: TestApp;
let now = new Date();
const cli = async (...argv: string[]) => (await runCommand(t.services, argv)).stdout;
const cliJson = async (...argv: string[]) => JSON.parse((await cli(...argv, "--json"))[0]!);
const api = (token: string) => ({
  get: (path: string) => request(t.app).get(`/api/v1${path}`).set("Authorization", `Bearer ${token}`),
  post: (path: string, body: unknown = {}) => request(t.app).post(`/api/v1${path}`).set("Authorization", `Bearer ${token}`).send(body as object),
  put: (path: string, body: unknown) => request(t.app).put(`/api/v1${path}`).set("Authorization", `Bearer ${token}`).send(body as object),
  delete: (path: string) => request(t.app).delete(`/api/v1${path}`).set("Authorization", `Bearer ${token}`),
});
const auditOf = (organizationId: string, action: string) => t.db.models.AuditEvent.find({ organizationId, action }).lean();

async function organizationWithOwner(name: string, ownerEmail: string) {
  const org = await cliJson("org", "create", name, "--owner", ownerEmail);
  const ownerToken = (await cliJson("user-token", "create", "--org", org.id, "--email", ownerEmail)).token as string;
  return { id: org.id as string, ownerId: org.ownerId as string, ownerToken };
}

async function memberWithToken(organizationId: string, email: string, role: string) {
  const user = await t.services.users.provision({ ...operator, organizationId }, { userName: email }, "local", { role });
  const token = (await cliJson("user-token", "create", "--org", organizationId, "--email", email)).token as string;
  return { id: user.id, token };
}

/** The path of a sign-in link the CLI printed. */
const linkPath = (url: string) => new URL(url).pathname;
const cookieOf = (res: request.Response) => (res.headers["set-cookie"] as unknown as string[] | undefined)?.find((c) => c.startsWith("__Host-gatehouse_session="))?.split(";")[0];

beforeAll(async () => {
  t = await startTestApp({}, { sessionClock: () => now });
});
afterAll(() => t.close());
beforeEach(() => {
  now = new Date();
});

describe("email domains", () => {
  it("are declared by administrators, normalized, listed, removed and audited", async () => {
    const org = await organizationWithOwner("Domains Co", "owner@domains.example");
    const owner = api(org.ownerToken);
    const added = await owner.post("/email-domains", { domain: "  Domains.EXAMPLE. " }).expect(201);
    expect(added.body).toEqual({ domain: "domains.example", created: expect.any(String) });
    await owner.post("/email-domains", { domain: "bücher.example" }).expect(201);
    expect((await owner.get("/email-domains").expect(200)).body.domains.map((d: { domain: string }) => d.domain)).toEqual(["domains.example", "xn--bcher-kva.example"]);
    await owner.delete("/email-domains/xn--bcher-kva.example").expect(204);
    await owner.delete("/email-domains/xn--bcher-kva.example").expect(404);
    expect((await owner.get("/email-domains").expect(200)).body.domains).toHaveLength(1);
    expect(await auditOf(org.id, "email_domain.added")).toHaveLength(2);
    const [removed] = await auditOf(org.id, "email_domain.removed");
    expect(removed).toMatchObject({ target: { type: "email_domain", id: "xn--bcher-kva.example" }, source: "admin" });
  });

  it("belong to one organization: a second claim is 409, and another organization cannot remove it", async () => {
    const first = await organizationWithOwner("First Co", "owner@first.example");
    const second = await organizationWithOwner("Second Co", "owner@second.example");
    await api(first.ownerToken).post("/email-domains", { domain: "shared.example" }).expect(201);
    const clash = await api(second.ownerToken).post("/email-domains", { domain: "SHARED.example" }).expect(409);
    expect(clash.body.error.code).toBe("conflict");
    await expect(cli("email-domain", "add", "--org", second.id, "shared.example")).rejects.toThrow(/already declared/);
    await api(second.ownerToken).delete("/email-domains/shared.example").expect(404);
    expect((await api(first.ownerToken).get("/email-domains").expect(200)).body.domains).toEqual([expect.objectContaining({ domain: "shared.example" })]);
  });

  it("refuses what is not a domain, public mailbox providers, and members without modify_account_settings", async () => {
    const org = await organizationWithOwner("Strict Co", "owner@strict.example");
    const owner = api(org.ownerToken);
    for (const domain of ["localhost", "10.0.0.1", "-bad.example", "a..example", "ex ample.com", "x@y.example"]) {
      expect((await owner.post("/email-domains", { domain })).body.error.code).toBe("invalid");
    }
    expect((await owner.post("/email-domains", { domain: "Gmail.com" }).expect(400)).body.error.message).toMatch(/public mailbox/);
    const member = await memberWithToken(org.id, "member@strict.example", "user");
    expect((await api(member.token).post("/email-domains", { domain: "strict.example" }).expect(403)).body.error.code).toBe("forbidden");
    await api(member.token).get("/email-domains").expect(403);
  });

  it("are managed from the CLI too", async () => {
    const org = await organizationWithOwner("Cli Domains", "owner@clidomains.example");
    expect(await cliJson("email-domain", "add", "--org", org.id, "CliDomains.example")).toEqual({ domain: "clidomains.example" });
    expect((await cliJson("email-domain", "list", "--org", org.id)).map((d: { domain: string }) => d.domain)).toEqual(["clidomains.example"]);
    await cli("email-domain", "remove", "--org", org.id, "clidomains.example");
    expect(await cliJson("email-domain", "list", "--org", org.id)).toEqual([]);
    const [event] = await auditOf(org.id, "email_domain.removed");
    expect(event).toMatchObject({ source: "cli", actor: { type: "operator" } });
  });
});

describe("sign-in discovery", () => {
  it("finds the organization from the work email's domain and answers where SAML sign-in starts, without a token", async () => {
    const org = await organizationWithOwner("Discover Co", "owner@discover.example");
    await api(org.ownerToken).post("/email-domains", { domain: "discover.example" }).expect(201);
    const discover = (body: object) => request(t.app).post("/api/v1/sign-in/discover").send(body);

    // Declared, but no SAML connection yet: the organization, no sign-in URL, and why.
    expect((await discover({ email: "someone@Discover.example" }).expect(200)).body).toEqual({
      organization: { id: org.id, name: "Discover Co" },
      signInUrl: null,
      message: "Discover Co has not set up single sign-on yet. Until it does, its Owner signs in with a sign-in link from the Gatehouse operator.",
    });

    const idp = new TestIdentityProvider(serviceProviderUrls(t.config.publicBaseUrl, org.id));
    await t.services.saml.configure({ ...operator, organizationId: org.id }, { idpEntityId: idp.entityId, ssoUrl: idp.ssoUrl, certificates: [idp.key.certificate] });
    const found = await discover({ email: "nobody.here@discover.example", returnTo: "/groups" }).expect(200);
    expect(found.body).toEqual({ organization: { id: org.id, name: "Discover Co" }, signInUrl: `/auth/saml/${org.id}/login?RelayState=%2Fgroups`, message: null });
    // The URL it gives starts the real SAML flow.
    const started = await request(t.app).get(found.body.signInUrl).expect(302);
    expect(started.headers.location!.startsWith(idp.ssoUrl)).toBe(true);
    // Another site is never a place to land.
    expect((await discover({ email: "a@discover.example", returnTo: "//evil.example/x" }).expect(200)).body.signInUrl).toBe(`/auth/saml/${org.id}/login`);

    // An unknown domain, or something that is not an address: the same shape, nothing found, and why in words.
    const unknown = (domain: string) => `No organization signs in with addresses at ${domain}. Check the address, or ask your administrator for your organization's id.`;
    for (const [email, message] of [
      ["someone@Unknown.example", unknown("unknown.example")],
      ["x@gmail.com", unknown("gmail.com")],
      ["not-an-address", '"not-an-address" is not an email address.'],
      ["a b@c.example", '"a b@c.example" is not an email address.'],
    ]) {
      expect((await discover({ email }).expect(200)).body).toEqual({ organization: null, signInUrl: null, message });
    }
    expect((await discover({}).expect(400)).body.error.code).toBe("invalid_request");
    expect((await discover({ email: "a@b.example", extra: 1 }).expect(400)).body.error.code).toBe("invalid_request");
  });
});

describe("break-glass sign-in links", () => {
  it("sign the Owner in once, land in the console, start a session of their own kind, and are audited", async () => {
    const org = await organizationWithOwner("Glass Co", "owner@glass.example");
    const printed = await cliJson("sign-in-link", "--org", org.id, "--email", "owner@glass.example");
    expect(printed.url).toMatch(/^https:\/\/gatehouse\.test\/auth\/sign-in-link\/[0-9a-f]{32}\.[A-Za-z0-9_-]{43}$/);
    expect(new Date(printed.expiresAt).getTime() - now.getTime()).toBe(10 * 60_000);
    const path = linkPath(printed.url);
    // Only a hash of the secret is stored.
    const stored = await t.db.models.SignInLink.findById(path.split("/").pop()!.split(".")[0]).lean();
    expect(JSON.stringify(stored)).not.toContain(path.split(".").pop());

    // Opening the link uses nothing: a preview of it leaves it working.
    const page = await request(t.app).get(path).expect(200);
    expect(page.text).toContain("owner@glass.example");
    expect(page.text).toContain('<form method="post">');
    expect(page.headers["set-cookie"]).toBeUndefined();
    await request(t.app).get(path).expect(200);

    const used = await request(t.app).post(path).expect(303);
    expect(used.headers.location).toBe("/");
    const cookie = cookieOf(used);
    expect(cookie).toBeDefined();
    const session = await request(t.app).get("/api/v1/session").set("Cookie", cookie!).expect(200);
    expect(session.body).toMatchObject({ user: { id: org.ownerId, userName: "owner@glass.example" }, organizationId: org.id, via: "sign_in_link" });

    // Used once: a second use, and even opening it again, is refused with a page.
    const again = await request(t.app).post(path).expect(410);
    expect(again.type).toBe("text/html");
    expect(again.text).toContain("already been used");
    await request(t.app).get(path).expect(410);

    expect(await auditOf(org.id, "sign_in_link.created")).toEqual([expect.objectContaining({ source: "cli", target: expect.objectContaining({ id: org.ownerId }) })]);
    expect(await auditOf(org.id, "sign_in_link.used")).toEqual([expect.objectContaining({ actor: expect.objectContaining({ id: org.ownerId }) })]);
    expect(await auditOf(org.id, "session.started")).toEqual([expect.objectContaining({ after: expect.objectContaining({ via: "sign_in_link" }) })]);
  });

  it("is used by exactly one of three simultaneous requests", async () => {
    const org = await organizationWithOwner("Race Co", "owner@race.example");
    const path = linkPath((await cliJson("sign-in-link", "--org", org.id, "--email", "owner@race.example")).url);
    const statuses = (await Promise.all([1, 2, 3].map(() => request(t.app).post(path)))).map((r) => r.status).sort();
    expect(statuses).toEqual([303, 410, 410]);
    expect(await auditOf(org.id, "session.started")).toHaveLength(1);
  });

  it("expires after 10 minutes, and a tampered link is not found", async () => {
    const org = await organizationWithOwner("Expiry Co", "owner@expiry.example");
    const path = linkPath((await cliJson("sign-in-link", "--org", org.id, "--email", "owner@expiry.example")).url);
    const tampered = path.slice(0, -1) + (path.endsWith("A") ? "B" : "A");
    expect((await request(t.app).post(tampered).expect(404)).text).toContain("not valid");
    await request(t.app).post("/auth/sign-in-link/nonsense").expect(404);
    now = new Date(now.getTime() + 10 * 60_000);
    const expired = await request(t.app).post(path).expect(410);
    expect(expired.text).toContain("expired");
    expect(await auditOf(org.id, "session.started")).toHaveLength(0);
  });

  it("is only for existing, active, unsuspended members", async () => {
    const org = await organizationWithOwner("Members Co", "owner@members.example");
    await expect(cli("sign-in-link", "--org", org.id, "--email", "ghost@members.example")).rejects.toThrow(/No user ghost@members.example/);
    const member = await memberWithToken(org.id, "member@members.example", "user");
    const path = linkPath((await cliJson("sign-in-link", "--org", org.id, "--email", "member@members.example")).url);
    await api(org.ownerToken).post(`/users/${member.id}/suspend`, { reason: "test" }).expect(200);
    await expect(cli("sign-in-link", "--org", org.id, "--email", "member@members.example")).rejects.toThrow(/suspended/);
    // A link printed before the suspension no longer works either.
    expect((await request(t.app).post(path).expect(403)).text).toContain("suspended");
  });
});

describe("requireSso", () => {
  it("is an audited setting of administrators", async () => {
    const org = await organizationWithOwner("Policy Co", "owner@policy.example");
    const owner = api(org.ownerToken);
    expect((await owner.get("/sign-in-policy").expect(200)).body).toEqual({ requireSso: false });
    expect((await owner.put("/sign-in-policy", { requireSso: true }).expect(200)).body).toEqual({ requireSso: true });
    await owner.put("/sign-in-policy", { requireSso: true }).expect(200);
    expect(await auditOf(org.id, "organization.sign_in_policy_changed")).toEqual([expect.objectContaining({ before: { requireSso: false }, after: { requireSso: true } })]);
    await owner.put("/sign-in-policy", { requireSso: "yes" }).expect(400);
    const member = await memberWithToken(org.id, "member@policy.example", "user");
    await owner.put("/sign-in-policy", { requireSso: false }).expect(200);
    await api(member.token).put("/sign-in-policy", { requireSso: false }).expect(403);
    expect(await cliJson("sign-in-policy", "--org", org.id)).toEqual({ requireSso: false });
  });

  it("refuses personal tokens and sign-in links of everyone but the Owner, and sessions those links started", async () => {
    const org = await organizationWithOwner("Sso Co", "owner@sso.example");
    const admin = await memberWithToken(org.id, "admin@sso.example", "admin");
    const adminLink = linkPath((await cliJson("sign-in-link", "--org", org.id, "--email", "admin@sso.example")).url);
    const adminCookie = cookieOf(await request(t.app).post(adminLink).expect(303))!;
    const unusedAdminLink = linkPath((await cliJson("sign-in-link", "--org", org.id, "--email", "admin@sso.example")).url);
    await request(t.app).get("/api/v1/session").set("Cookie", adminCookie).expect(200);

    expect(await cliJson("sign-in-policy", "--org", org.id, "--require-sso")).toEqual({ requireSso: true });

    const refused = await api(admin.token).get("/users").expect(401);
    expect(refused.body.error).toEqual({ code: "unauthenticated", message: expect.stringMatching(/requires single sign-on/) });
    const session = await request(t.app).get("/api/v1/session").set("Cookie", adminCookie).expect(401);
    expect(session.headers["set-cookie"]?.[0]).toMatch(/__Host-gatehouse_session=;/);
    await expect(cli("sign-in-link", "--org", org.id, "--email", "admin@sso.example")).rejects.toThrow(/requires single sign-on/);
    expect((await request(t.app).post(unusedAdminLink).expect(403)).text).toContain("requires single sign-on");

    // The Owner keeps every way in.
    await api(org.ownerToken).get("/users").expect(200);
    const ownerLink = linkPath((await cliJson("sign-in-link", "--org", org.id, "--email", "owner@sso.example")).url);
    const ownerCookie = cookieOf(await request(t.app).post(ownerLink).expect(303))!;
    await request(t.app).get("/api/v1/users").set("Cookie", ownerCookie).expect(200);

    // Turned off, the admin's token works again (it was not revoked).
    await cli("sign-in-policy", "--org", org.id, "--no-require-sso");
    await api(admin.token).get("/users").expect(200);
  });
});

describe("the sign-in link sweep", () => {
  it("deletes links a day after they expired, and no others", async () => {
    const org = await organizationWithOwner("Sweep Co", "owner@sweep.example");
    const old = (await cliJson("sign-in-link", "--org", org.id, "--email", "owner@sweep.example")).url;
    now = new Date(now.getTime() + 24 * 3_600_000 + 10 * 60_000 + 1);
    const fresh = (await cliJson("sign-in-link", "--org", org.id, "--email", "owner@sweep.example")).url;
    const idOf = (url: string) => linkPath(url).split("/").pop()!.split(".")[0]!;
    expect(await t.services.signInLinks.sweep()).toBeGreaterThanOrEqual(1);
    expect(await t.db.models.SignInLink.findById(idOf(old)).lean()).toBeNull();
    expect(await t.db.models.SignInLink.findById(idOf(fresh)).lean()).not.toBeNull();
  });
});

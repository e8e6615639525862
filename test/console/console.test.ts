import { readFileSync } from "node:fs";
import path from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import request from "supertest";
import { serviceProviderUrls } from "../../src/domain/saml";
import { CONSOLE_BUILD_DIR } from "../../src/http/console-pages";
import { buildUser, operator, scimClient, type TestApp } from "../support/app";
import { oktaMetadata } from "../support/saml";
import { TestIdentityProvider } from "../support/saml-idp";
import * as harness from "./harness";

/**
 * The web console in a real Chromium (Debian's /usr/bin/chromium, driven by playwright-core)
 * against the real server and database: sign-in through a test identity provider, each page's
 * main flow, an axe-core scan of every page (no serious or critical violation), and the
 * screenshots the README shows (docs/console/). Needs `npm run build` first (npm test runs it).
 */

jest.setTimeout(180_000);

const OWNER = "owner@console.example";

let served: harness.ConsoleServer;
let t: TestApp;
let baseUrl: string;
let org: { id: string; scimToken: string; ownerId: string };
let idp: TestIdentityProvider;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let ownerToken: string;
let managedId: string;
let localId: string;
/** Content-Security-Policy refusals the browser reported: the console must cause none. */
const cspRefusals: string[] = [];

const ctx = () => ({ ...operator, organizationId: org.id });
const cli = (...argv: string[]) => served.cli(...argv);

/** The identity provider's sign-in page answers for `person.nameId`. */
let person = { nameId: OWNER };
const identityProvider = (browserContext: BrowserContext) => harness.routeIdentityProvider(browserContext, () => idp, () => person.nameId);
const scan = (name: string) => harness.scan(page, name);
const screenshot = (name: string) => harness.screenshot(page, name);
const visit = (pathname: string, heading: string) => harness.visit(page, `${baseUrl}${pathname}`, heading);

async function signInThroughIdentityProvider(nameId: string) {
  person = { nameId };
  await harness.signInWithOrganizationId(page, baseUrl, org.id, nameId);
}

beforeAll(async () => {
  served = await harness.startConsoleServer();
  ({ t, baseUrl } = served);
  org = await cli("org", "create", "Console Co", "--owner", OWNER, "--json");
  ownerToken = (await cli("user-token", "create", "--org", org.id, "--email", OWNER, "--json")).token;
  idp = new TestIdentityProvider(serviceProviderUrls(baseUrl, org.id));
  await t.services.saml.configure(ctx(), { idpEntityId: idp.entityId, ssoUrl: idp.ssoUrl, certificates: [idp.key.certificate], jit: false, groupSync: false, idpInitiated: false, signatures: "assertion" });
  const scim = scimClient(t.app, org.scimToken);
  managedId = (await scim.post("/Users", buildUser({ userName: "grace@console.example", name: { givenName: "Grace", familyName: "Hopper" }, displayName: "Grace Hopper" })).expect(201)).body.id;
  localId = (await t.services.users.provision(ctx(), { userName: "ada@console.example", displayName: "Ada Lovelace" }, "local", { role: "user" })).id;

  browser = await harness.launchChromium();
  context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
  await identityProvider(context);
  page = await context.newPage();
  harness.watchCsp(page, cspRefusals);
});

afterAll(async () => {
  await browser?.close();
  await served?.close();
});

describe("the console's pages are served with their security headers", () => {
  it("answers / and client routes with the index page, CSP without inline scripts, frame-ancestors 'none' and Referrer-Policy; the API stays JSON", async () => {
    for (const pathname of ["/", "/members", "/audit?action=x"]) {
      const res = await request(t.app).get(pathname).set("Accept", "text/html").expect(200);
      expect(res.text).toContain('<div id="root">');
      expect(res.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // every script is a file
      expect(res.headers["content-security-policy"]).toContain("script-src 'self'");
      expect(res.headers["content-security-policy"]).toContain("frame-ancestors 'none'");
      expect(res.headers["content-security-policy"]).not.toContain("unsafe-inline");
      // A fresh style nonce per answer, for react-aria's injected <style> elements; never for scripts.
      const nonce = /<meta name="csp-nonce" nonce="([^"]+)">/.exec(res.text)![1]!;
      expect(res.headers["content-security-policy"]).toContain(`style-src 'self' 'nonce-${nonce}'`);
      expect(res.headers["content-security-policy"]).toMatch(/script-src 'self';/);
      expect(res.headers["referrer-policy"]).toBe("no-referrer");
      expect(res.headers["cache-control"]).toBe("no-cache");
    }
    const asset = readFileSync(path.join(CONSOLE_BUILD_DIR, "index.html"), "utf8").match(/src="(\/assets\/[^"]+\.js)"/)![1]!;
    const script = await request(t.app).get(asset).expect(200);
    expect(script.headers["content-type"]).toMatch(/javascript/);
    expect(script.headers["cache-control"]).toContain("immutable");
    expect((await request(t.app).get("/api/v1/nothing-here").set("Accept", "text/html").expect(401)).body.error.code).toBe("unauthenticated");
    expect((await request(t.app).get("/scim/v2/Nothing").set("Accept", "text/html")).headers["content-type"]).toMatch(/json/);
  });
});

describe("the console in Chromium", () => {
  it("signs in through the identity provider and shows Your access: the role and where it comes from", async () => {
    await signInThroughIdentityProvider(OWNER);
    await page.getByRole("heading", { name: "Organization role: Owner" }).waitFor();
    await page.getByText("Owner of the organization").first().waitFor();
    await screenshot("your-access");
    await scan("Your access");
  });

  it("lists members with a search; a managed member's role controls are disabled and say where to change them", async () => {
    await visit("/members", "Members");
    const rows = page.locator("tbody tr");
    expect(await rows.count()).toBe(3);
    const grace = rows.filter({ hasText: "grace@console.example" });
    await grace.getByText(/Managed by/).waitFor();
    await screenshot("members");
    await scan("Members");

    await page.getByLabel("Search members").fill("hopper");
    await page.getByRole("button", { name: "Search", exact: true }).click();
    await page.getByText("1 member matching “hopper”").waitFor();
    expect(await rows.count()).toBe(1);

    await page.getByRole("button", { name: "Manage grace@console.example" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByText(/the role and projects come from the identity provider/).waitFor();
    expect(await dialog.getByRole("button", { name: "Change role" }).isDisabled()).toBe(true);
    expect(await dialog.getByRole("button", { name: /Organization role/ }).isDisabled()).toBe(true);
    expect(await dialog.getByRole("button", { name: "Remove from organization" }).count()).toBe(0);
    expect(await dialog.getByRole("button", { name: "Suspend" }).isEnabled()).toBe(true);
    await screenshot("member-managed");
    await scan("Member dialog (managed)");
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "detached" });
  });

  it("changes a local member's role and suspends them with a reason, as the API and the audit trail record", async () => {
    await visit("/members", "Members");
    await page.getByRole("button", { name: "Manage ada@console.example" }).click();
    const dialog = page.getByRole("dialog");
    // Keyboard: the role picker opens and chooses with arrows and Enter.
    await dialog.getByRole("button", { name: /Organization role/ }).focus();
    await page.keyboard.press("Enter");
    await page.getByRole("option", { name: "Admin" }).click();
    await dialog.getByLabel("Reason").fill("runs the quarterly review");
    await dialog.getByRole("button", { name: "Change role" }).click();
    await dialog.getByText("Role changed.").waitFor();
    expect((await request(t.app).get(`/api/v1/users/${localId}`).set("Authorization", `Bearer ${ownerToken}`).expect(200)).body.role).toBe("admin");

    await dialog.getByLabel("Reason").fill("laptop reported stolen");
    await dialog.getByRole("button", { name: "Suspend" }).click();
    await dialog.getByText("Suspended.").waitFor();
    const [event] = await t.db.models.AuditEvent.find({ organizationId: org.id, action: "user.suspended", "target.id": localId }).lean();
    expect(event?.reason).toBe("laptop reported stolen");
    await page.keyboard.press("Escape");
  });

  it("invites a local member and removes them with a reason; grants a managed member temporary access", async () => {
    await visit("/members", "Members");
    await page.getByRole("button", { name: "Invite member" }).click();
    const invite = page.getByRole("dialog");
    await invite.getByLabel("Email").fill("alan@console.example");
    await invite.getByRole("button", { name: "Invite" }).click();
    await invite.waitFor({ state: "detached" });
    await page.getByRole("button", { name: "Manage alan@console.example" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByLabel("Reason").fill("joined by mistake");
    await dialog.getByRole("button", { name: "Remove from organization" }).click();
    await dialog.waitFor({ state: "detached" });
    await page.getByRole("button", { name: "Manage alan@console.example" }).waitFor({ state: "detached" });
    const [removed] = await t.db.models.AuditEvent.find({ organizationId: org.id, action: "user.deleted", "target.display": "alan@console.example" }).lean();
    expect(removed?.reason).toBe("joined by mistake");

    await page.getByRole("button", { name: "Manage grace@console.example" }).click();
    const tomorrow = new Date(Date.now() + 24 * 3600_000);
    const local = new Date(tomorrow.getTime() - tomorrow.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
    await dialog.getByLabel("Reason").fill("covers the on-call week");
    await dialog.getByLabel("Until").fill(local);
    await dialog.getByRole("button", { name: "Grant temporary access" }).click();
    await dialog.getByText("Temporary access granted.").waitFor();
    await page.keyboard.press("Escape");
    const access = (await request(t.app).get(`/api/v1/users/${managedId}/access`).set("Authorization", `Bearer ${ownerToken}`).expect(200)).body;
    expect(access.organizationRole).toBe("admin");
    expect(access.sources).toEqual(expect.arrayContaining([expect.objectContaining({ kind: "temporary", role: "admin" })]));
  });

  it("creates a SCIM token shown exactly once, which authenticates SCIM, and revokes it", async () => {
    await visit("/provisioning", "Provisioning");
    await page.getByText(`${baseUrl}/scim/v2`).waitFor();
    // The API's refusal, shown as the API words it.
    await page.getByRole("button", { name: "Create token" }).click();
    await page.getByRole("dialog").getByLabel("Name").fill("Expired already");
    await page.getByRole("dialog").getByLabel("Expires").fill("2020-01-01");
    await page.getByRole("dialog").getByRole("button", { name: "Create" }).click();
    const refusal = (await request(t.app).post("/api/v1/scim-tokens").set("Authorization", `Bearer ${ownerToken}`).send({ name: "Expired already", expires: new Date("2020-01-01T23:59:59").toISOString() }).expect(400)).body;
    await page.getByRole("dialog").getByRole("alert").getByText(refusal.error.message, { exact: true }).waitFor();
    await page.getByRole("dialog").getByLabel("Expires").fill("");
    await page.getByRole("dialog").getByLabel("Name").fill("Okta production");
    await page.getByRole("dialog").getByRole("button", { name: "Create" }).click();
    const shown = page.locator(".issued code");
    await shown.waitFor();
    const token = (await shown.textContent())!;
    expect(token).toMatch(/^gsc_/);
    await request(t.app).get("/scim/v2/Users").set("Authorization", `Bearer ${token}`).expect(200);
    await screenshot("provisioning");
    await scan("Provisioning");

    await page.reload();
    await page.getByRole("cell", { name: "Okta production", exact: true }).waitFor();
    expect(await page.content()).not.toContain(token);

    await page.getByRole("button", { name: "Revoke Okta production" }).click();
    await page.locator("tr", { hasText: "Okta production" }).getByText(/^Revoked/).waitFor();
    await request(t.app).get("/scim/v2/Users").set("Authorization", `Bearer ${token}`).expect(401);
  });

  it("filters the audit log, shows an event's before and after side by side, and exports the filtered view as CSV", async () => {
    await visit("/audit", "Audit log");
    await page.getByLabel("Action").fill("user.suspended");
    await page.getByRole("button", { name: "Apply filters" }).click();
    await page.locator("tbody tr").first().waitFor();
    // The filtered page replaces the unfiltered one: wait until every row is the action asked for.
    await page.waitForFunction('Array.from(document.querySelectorAll("tbody tr:not(.event-detail) td:nth-child(2)")).every((cell) => cell.textContent === "user.suspended")');
    expect(await page.locator("tbody tr").count()).toBe(1);
    await page.getByRole("button", { name: "Show change" }).click();
    await page.getByText("Before", { exact: true }).waitFor();
    await page.getByText("After", { exact: true }).waitFor();
    await screenshot("audit-log");
    await scan("Audit log");

    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Export CSV" }).click()]);
    const csv = readFileSync((await download.path())!, "utf8");
    const lines = csv.trim().split(/\r?\n/);
    expect(lines.length).toBe(2);
    expect(lines[1]).toContain("user.suspended");
    expect(lines[1]).toContain("laptop reported stolen");
  });

  it("shows the access review with its flags and offers its CSV", async () => {
    await visit("/access-review", "Access review");
    await page.locator("tbody tr", { hasText: "ada@console.example" }).getByText("Suspended", { exact: true }).waitFor();
    expect(await page.getByRole("link", { name: "Export CSV" }).getAttribute("href")).toBe("/api/v1/access-review.csv");
    await screenshot("access-review");
    await scan("Access review");
  });

  it("creates and renames a project", async () => {
    await visit("/projects", "Projects");
    await page.getByText("No project yet.").waitFor();
    // By keyboard alone: the button takes focus, Enter opens the dialog with focus in its field, Enter submits.
    await page.getByRole("button", { name: "Create project" }).focus();
    await page.keyboard.press("Enter");
    await page.getByRole("dialog").getByLabel("Project name").waitFor();
    await page.keyboard.type("Apollo");
    await page.keyboard.press("Enter");
    await page.getByRole("cell", { name: "Apollo", exact: true }).waitFor();
    await page.getByRole("button", { name: "Rename Apollo" }).click();
    await page.getByRole("dialog").getByLabel("Project name").fill("Apollo 11");
    await page.getByRole("dialog").getByRole("button", { name: "Rename" }).click();
    await page.getByRole("cell", { name: "Apollo 11", exact: true }).waitFor();
    const projects = (await request(t.app).get("/api/v1/projects").set("Authorization", `Bearer ${ownerToken}`).expect(200)).body.projects;
    expect(projects.map((p: { name: string }) => p.name)).toEqual(["Apollo 11"]);
    await screenshot("projects");
    await scan("Projects");
  });

  it("assigns a local member a project role and takes it away again; a managed member is offered no project controls", async () => {
    const [apollo] = (await request(t.app).get("/api/v1/projects").set("Authorization", `Bearer ${ownerToken}`).expect(200)).body.projects as { id: string; name: string }[];
    // The member's stored local assignments (an Admin's answers show every project, a suspended member's none).
    const stored = async () => ((await t.db.models.User.findById(localId).lean())?.localAccess?.projects ?? []).map((p: { projectId: string; role: string }) => ({ id: p.projectId, role: p.role }));
    await visit("/members", "Members");
    await page.getByRole("button", { name: "Manage ada@console.example" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByRole("button", { name: /Role on Apollo 11/ }).focus();
    await page.keyboard.press("Enter");
    await page.getByRole("option", { name: "Viewer", exact: true }).click();
    await dialog.getByLabel("Reason").fill("reads the launch dashboards");
    await dialog.getByRole("button", { name: "Save projects" }).click();
    await dialog.getByText("Projects changed.").waitFor();
    expect(await stored()).toEqual([{ id: apollo!.id, role: "viewer" }]);
    const [event] = await t.db.models.AuditEvent.find({ organizationId: org.id, action: "user.local_access_changed", "target.id": localId, reason: "reads the launch dashboards" }).lean();
    expect(event).toBeDefined();
    await scan("Member dialog (projects)");

    await dialog.getByRole("button", { name: /Role on Apollo 11/ }).click();
    await page.getByRole("option", { name: "No access", exact: true }).click();
    await dialog.getByRole("button", { name: "Save projects" }).click();
    // The status line already says "Projects changed." from the first save: wait for the stored state.
    for (let tries = 0; tries < 50 && (await stored()).length; tries++) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await stored()).toEqual([]);
    // The Save button was disabled while it saved, which takes the focus out of the dialog: back in, then Escape.
    await dialog.focus();
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "detached" });

    await page.getByRole("button", { name: "Manage grace@console.example" }).click();
    await page.getByRole("dialog").getByText(/the role and projects come from the identity provider/).waitFor();
    expect(await page.getByRole("dialog").getByRole("button", { name: "Save projects" }).count()).toBe(0);
    await page.keyboard.press("Escape");
  });

  it("saves settings", async () => {
    await visit("/settings", "Settings");
    await page.getByText("3 seats used; no limit.").waitFor();
    await page.getByRole("switch", { name: "Read-only members may comment" }).click({ force: true });
    await page.getByRole("button", { name: "Save settings" }).click();
    await page.getByText("Settings saved.").waitFor();
    expect((await t.services.access.settings(ctx())).readOnlyMayComment).toBe(true);
    await screenshot("settings");
    await scan("Settings");
  });

  it("shows Gatehouse's SAML values, takes the identity provider's metadata, and sign-in works through the new connection", async () => {
    await visit("/single-sign-on", "Single sign-on");
    await page.getByText(idp.sp.acsUrl, { exact: true }).waitFor();
    await page.getByRole("button", { name: "Copy Single sign-on URL (ACS)" }).waitFor();
    await page.getByLabel("Identity provider metadata (XML)").fill(oktaMetadata({ appId: "exk-test-idp", certificate: idp.key.certificate }));
    await page.getByRole("switch", { name: "Just-in-time creation" }).click({ force: true });
    await page.getByRole("button", { name: "Save connection" }).click();
    await page.getByText("The connection is saved.").waitFor();
    const connection = await t.services.saml.get({ organizationId: org.id });
    expect(connection?.ssoUrl).toMatch(/^https:\/\/acme\.okta\.com\//);
    expect(connection?.jit).toBe(true);
    await screenshot("single-sign-on");
    await scan("Single sign-on");

    // A person the identity provider knows and Gatehouse does not: just-in-time creation through the uploaded connection.
    const second = await context.browser()!.newContext({ viewport: { width: 390, height: 844 }, isMobile: true });
    await identityProvider(second);
    const phone = await second.newPage();
    const previous = page;
    page = phone;
    try {
      await signInThroughIdentityProvider("linus@console.example");
      // A member without an administrator's role is offered their own page only.
      const navigation = page.getByRole("navigation", { name: "Console" });
      expect(await navigation.getByRole("link").allTextContents()).toEqual(["Your access"]);
      await screenshot("your-access-phone");
      await scan("Your access (phone)");
    } finally {
      page = previous;
      await second.close();
    }
  });

  it("transfers ownership after confirmation; the former Owner is offered an Admin's console", async () => {
    await visit("/members", "Members");
    await page.getByRole("button", { name: "Manage grace@console.example" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByRole("button", { name: "Transfer ownership…" }).click();
    await dialog.getByText("grace@console.example becomes the Owner of the organization and you become an Admin.", { exact: false }).waitFor();
    await scan("Ownership transfer confirmation");
    await dialog.getByRole("button", { name: "Confirm transfer to grace@console.example" }).click();
    await page.locator(".topbar").getByText("· Admin").waitFor();
    await page.keyboard.press("Escape");
    const [transferred] = await t.db.models.AuditEvent.find({ organizationId: org.id, action: "organization.ownership_transferred" }).lean();
    expect(transferred).toBeDefined();
    const members = (await request(t.app).get("/api/v1/users?q=grace").set("Authorization", `Bearer ${ownerToken}`).expect(200)).body.users;
    expect(members[0].isOwner).toBe(true);
  });

  it("signs out everywhere and is back at the sign-in page", async () => {
    await visit("/", "Your access");
    await page.getByRole("button", { name: "Sign out everywhere" }).click();
    await page.getByRole("heading", { name: "Sign in to Gatehouse" }).waitFor();
    await screenshot("sign-in");
    await scan("Sign in");
    const cookies = await context.cookies(baseUrl);
    expect(cookies.find((c) => c.name === "gatehouse_session")).toBeUndefined();
    expect(cspRefusals).toEqual([]);
  });
});


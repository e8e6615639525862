import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import type { Browser, BrowserContext, Page } from "playwright-core";
import request from "supertest";
import { serviceProviderUrls } from "../../src/domain/saml";
import { operator, type TestApp } from "../support/app";
import { testServerUri } from "../support/database";
import { TestIdentityProvider } from "../support/saml-idp";
import * as harness from "./harness";

/**
 * Signing in to the console, in Debian's Chromium against the real server and database: by work
 * email (sign-in discovery, then SAML through a test identity provider), an address whose domain no
 * organization declared, the organization's email domains on the Single sign-on page, a break-glass
 * link printed by the built CLI (`gatehouse sign-in-link`) and opened twice, and on the Settings
 * page the organization's name, seat usage and the switch that requires single sign-on — each
 * offered only to whom the permission matrix allows. Needs `npm run build` first (the console's
 * bundle and the CLI in dist/).
 */

jest.setTimeout(180_000);

const OWNER = "owner@signin.example";
const INTEGRATOR = "integrator@signin.example";
const CLI = path.resolve(__dirname, "../../dist/cli/main.js");

let served: harness.ConsoleServer;
let t: TestApp;
let baseUrl: string;
let org: { id: string; scimToken: string; ownerId: string };
let other: { id: string };
let idp: TestIdentityProvider;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let ownerToken: string;
let person = OWNER;
const cspRefusals: string[] = [];

const ctx = () => ({ ...operator, organizationId: org.id });
const cli = (...argv: string[]) => served.cli(...argv);
const asOwner = (r: request.Test) => r.set("Authorization", `Bearer ${ownerToken}`);
const auditOf = (action: string) => t.db.models.AuditEvent.find({ organizationId: org.id, action }).sort({ at: 1 }).lean();
const visit = (pathname: string, heading: string) => harness.visit(page, `${baseUrl}${pathname}`, heading);

/** A fresh browser (no session) whose identity provider answers for `person`. */
async function newBrowserContext(): Promise<BrowserContext> {
  const fresh = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await harness.routeIdentityProvider(fresh, () => idp, () => person);
  return fresh;
}

/** The operator's CLI as an operator runs it: the built program, in its own process, on the server's database. */
async function operatorCli(...argv: string[]): Promise<string[]> {
  const database = new URL(testServerUri());
  database.pathname = `/${t.db.connection.name}`;
  const { stdout } = await promisify(execFile)(process.execPath, [CLI, ...argv], {
    env: { ...process.env, MONGODB_URI: database.toString(), PUBLIC_BASE_URL: baseUrl, LOG_LEVEL: "silent" },
  });
  return stdout.split("\n");
}

beforeAll(async () => {
  served = await harness.startConsoleServer();
  ({ t, baseUrl } = served);
  org = await cli("org", "create", "Sign-in Co", "--owner", OWNER, "--json");
  other = await cli("org", "create", "Other Co", "--json");
  ownerToken = (await cli("user-token", "create", "--org", org.id, "--email", OWNER, "--json")).token;
  idp = new TestIdentityProvider(serviceProviderUrls(baseUrl, org.id));
  await t.services.saml.configure(ctx(), { idpEntityId: idp.entityId, ssoUrl: idp.ssoUrl, certificates: [idp.key.certificate], jit: false, groupSync: false, idpInitiated: false, signatures: "assertion" });
  // The organization's people have addresses at signin.example; another organization claimed taken.example.
  await cli("email-domain", "add", "signin.example", "--org", org.id, "--json");
  await cli("email-domain", "add", "taken.example", "--org", other.id, "--json");
  // Integrations without the organization's settings: a custom role the Owner defines.
  await asOwner(request(t.app).post("/api/v1/custom-roles")).send({ name: "custom:integrator", permissions: { manage_integrations: "all", view_reports: "all" } }).expect(201);
  await t.services.users.provision(ctx(), { userName: INTEGRATOR, displayName: "Ida Integrator" }, "local", { role: "custom:integrator" });

  browser = await harness.launchChromium();
  context = await newBrowserContext();
  page = await context.newPage();
  harness.watchCsp(page, cspRefusals);
});

afterAll(async () => {
  await browser?.close();
  await served?.close();
});

describe("signing in by work email", () => {
  it("says plainly, in the API's words, that no organization declared an address's domain, and offers the organization id instead", async () => {
    await page.goto(`${baseUrl}/`);
    await page.getByRole("heading", { name: "Sign in to Gatehouse" }).waitFor();
    // Keyboard alone: the email field has the focus, Enter asks.
    await page.keyboard.type("someone@nowhere-declared.example");
    await page.keyboard.press("Enter");
    const answer = (await request(t.app).post("/api/v1/sign-in/discover").send({ email: "someone@nowhere-declared.example" }).expect(200)).body;
    expect(answer).toMatchObject({ organization: null, signInUrl: null });
    await page.getByRole("alert").getByText(answer.message, { exact: true }).waitFor();
    expect(answer.message).toContain("nowhere-declared.example");
    expect(new URL(page.url()).pathname).toBe("/");

    const fallback = page.getByRole("button", { name: "Sign in with your organization id" });
    expect(await fallback.getAttribute("aria-expanded")).toBe("false");
    expect(await page.getByRole("textbox", { name: "Organization id" }).count()).toBe(0);
    await fallback.focus();
    await page.keyboard.press("Enter");
    expect(await fallback.getAttribute("aria-expanded")).toBe("true");
    await page.getByRole("textbox", { name: "Organization id" }).waitFor();
    await harness.screenshot(page, "sign-in-unknown-domain");
    await harness.scan(page, "Sign in (unknown domain, organization id offered)");
  });

  it("finds the organization from the email's domain, goes through the identity provider and lands signed in on Your access", async () => {
    await page.goto(`${baseUrl}/`);
    await page.getByRole("textbox", { name: "Work email" }).fill("Owner@SignIn.example");
    await page.getByRole("button", { name: "Continue with single sign-on" }).click();
    // The test identity provider's page: the browser was sent to the organization's SAML sign-in.
    await page.getByRole("button", { name: `Sign in as ${OWNER}` }).click();
    await page.getByRole("heading", { level: 1, name: "Your access" }).waitFor();
    await page.getByRole("heading", { name: "Organization role: Owner" }).waitFor();
    const session = await page.evaluate(async () => (await fetch("/api/v1/session")).json());
    expect(session).toMatchObject({ organizationId: org.id, user: { userName: OWNER } });
  });

  it("comes back to the page asked for", async () => {
    const second = await newBrowserContext();
    try {
      const tab = await second.newPage();
      await tab.goto(`${baseUrl}/audit?action=session.started`);
      await tab.getByRole("textbox", { name: "Work email" }).fill(OWNER);
      await tab.keyboard.press("Enter");
      await tab.getByRole("button", { name: `Sign in as ${OWNER}` }).click();
      await tab.getByRole("heading", { level: 1, name: "Audit log" }).waitFor();
      expect(new URL(tab.url()).pathname + new URL(tab.url()).search).toBe("/audit?action=session.started");
    } finally {
      await second.close();
    }
  });
});

describe("email domains on the Single sign-on page", () => {
  it("lists the organization's domains, adds and removes one, and shows the API's refusal of a domain another organization claimed", async () => {
    await visit("/single-sign-on", "Single sign-on");
    const section = page.getByRole("region", { name: "3. Email domains" });
    const list = section.getByRole("list", { name: "Email domains" });
    await list.getByText("signin.example", { exact: true }).waitFor();

    await section.getByRole("textbox", { name: "Email domain" }).fill("Sales.SignIn-Two.example");
    await section.getByRole("button", { name: "Add domain" }).click();
    await section.getByRole("status").getByText("sales.signin-two.example added.").waitFor();
    await list.getByText("sales.signin-two.example", { exact: true }).waitFor();
    const listed = async () => (await asOwner(request(t.app).get("/api/v1/email-domains")).expect(200)).body.domains.map((d: { domain: string }) => d.domain);
    expect(await listed()).toEqual(["sales.signin-two.example", "signin.example"]);

    // Another organization's domain: refused with the API's own words, nothing stored.
    await section.getByRole("textbox", { name: "Email domain" }).fill("taken.example");
    await section.getByRole("button", { name: "Add domain" }).click();
    const refusal = (await asOwner(request(t.app).post("/api/v1/email-domains")).send({ domain: "taken.example" }).expect(409)).body;
    await section.getByRole("alert").getByText(refusal.error.message, { exact: true }).waitFor();
    expect(await listed()).toEqual(["sales.signin-two.example", "signin.example"]);
    await harness.screenshot(page, "single-sign-on-email-domains");
    await harness.scan(page, "Single sign-on (email domains)");

    await section.getByRole("button", { name: "Remove sales.signin-two.example" }).click();
    await section.getByRole("status").getByText("sales.signin-two.example removed.").waitFor();
    await list.getByText("sales.signin-two.example", { exact: true }).waitFor({ state: "detached" });
    expect(await listed()).toEqual(["signin.example"]);
    const [added] = await auditOf("email_domain.added").then((events) => events.filter((e) => e.target?.id === "sales.signin-two.example"));
    expect(added?.actor).toMatchObject({ type: "user", name: OWNER });
    expect(await auditOf("email_domain.removed")).toHaveLength(1);
  });
});

describe("the Settings page", () => {
  it("shows and changes the organization's name, as the API then answers and the audit trail records", async () => {
    await visit("/settings", "Settings");
    const name = page.getByRole("textbox", { name: "Organization name" });
    expect(await name.inputValue()).toBe("Sign-in Co");
    expect(await page.getByRole("button", { name: "Rename" }).isDisabled()).toBe(true);
    await name.fill("  Sign-in Company  ");
    await page.getByRole("button", { name: "Rename" }).click();
    await page.getByRole("status").getByText("The organization is now called Sign-in Company.").waitFor();
    expect((await asOwner(request(t.app).get("/api/v1/settings")).expect(200)).body.name).toBe("Sign-in Company");
    expect(await auditOf("organization.renamed")).toEqual([expect.objectContaining({ before: { name: "Sign-in Co" }, after: { name: "Sign-in Company" } })]);
    await page.reload();
    await page.getByRole("heading", { level: 1, name: "Settings" }).waitFor();
    await page.locator(".state-loading").first().waitFor({ state: "detached" });
    expect(await page.getByRole("textbox", { name: "Organization name" }).inputValue()).toBe("Sign-in Company");
  });

  it("shows seat usage against the operator's limit with a meter, and “no limit” without one", async () => {
    const used = (await asOwner(request(t.app).get("/api/v1/settings")).expect(200)).body.seatsUsed as number;
    expect(used).toBe(2); // the Owner and the integrator
    await cli("access-settings", "--org", org.id, "--seat-limit", "5");
    await visit("/settings", "Settings");
    const meter = page.getByRole("meter", { name: "Seats used" });
    expect(await meter.getAttribute("aria-valuenow")).toBe("2");
    expect(await meter.getAttribute("aria-valuemax")).toBe("5");
    expect(await meter.getAttribute("aria-valuetext")).toBe("2 of 5 seats used");
    await meter.getByText("2 of 5 seats used").waitFor();
    // The bar shows the same: two fifths of the track.
    const track = (await page.locator(".meter-track").boundingBox())!;
    const fill = (await page.locator(".meter-fill").boundingBox())!;
    expect(fill.width / track.width).toBeCloseTo(0.4, 1);
    await harness.screenshot(page, "settings-seats");
    await harness.scan(page, "Settings (seat limit)");

    await cli("access-settings", "--org", org.id, "--seat-limit", "none");
    await visit("/settings", "Settings");
    await page.getByText("2 seats used; no limit.").waitFor();
    expect(await page.getByRole("meter").count()).toBe(0);
  });

  it("requires single sign-on with a switch, and the API then answers what the switch shows", async () => {
    await visit("/settings", "Settings");
    const requireSso = page.getByRole("switch", { name: "Require single sign-on" });
    expect(await requireSso.isChecked()).toBe(false);
    await page.getByText("Everyone but the Owner must sign in through your identity provider", { exact: false }).waitFor();
    await requireSso.click({ force: true });
    await page.getByRole("status").getByText("Single sign-on is now required.").waitFor();
    expect(await requireSso.isChecked()).toBe(true);
    expect((await asOwner(request(t.app).get("/api/v1/sign-in-policy")).expect(200)).body).toEqual({ requireSso: true });
    expect(await auditOf("organization.sign_in_policy_changed")).toEqual([expect.objectContaining({ before: { requireSso: false }, after: { requireSso: true } })]);
    // Now only the Owner gets a break-glass link.
    await expect(operatorCli("sign-in-link", "--org", org.id, "--email", INTEGRATOR)).rejects.toMatchObject({ stderr: expect.stringContaining("requires single sign-on") });
    await harness.scan(page, "Settings (single sign-on required)");

    await requireSso.click({ force: true });
    await page.getByRole("status").getByText("Single sign-on is no longer required.").waitFor();
    expect((await asOwner(request(t.app).get("/api/v1/sign-in-policy")).expect(200)).body).toEqual({ requireSso: false });
  });
});

describe("a break-glass sign-in link in the browser", () => {
  let link: string;

  it("is printed by the CLI, signs the Owner in once and lands in the console, as the audit trail records", async () => {
    const printed = await operatorCli("sign-in-link", "--org", org.id, "--email", OWNER);
    expect(printed[0]).toMatch(new RegExp(`^Sign-in link for ${OWNER}, valid once until `));
    link = printed.find((line) => line.startsWith(`${baseUrl}/auth/sign-in-link/`))!;
    expect(link).toBeDefined();

    const fresh = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    try {
      const tab = await fresh.newPage();
      harness.watchCsp(tab, cspRefusals);
      await tab.goto(link);
      await tab.getByRole("heading", { name: `Sign in as ${OWNER}` }).waitFor();
      await harness.scan(tab, "Sign-in link");
      await tab.getByRole("button", { name: "Sign in" }).click();
      await tab.getByRole("heading", { level: 1, name: "Your access" }).waitFor();
      await tab.getByRole("heading", { name: "Organization role: Owner" }).waitFor();
      expect(new URL(tab.url()).pathname).toBe("/");
      const session = await tab.evaluate(async () => (await fetch("/api/v1/session")).json());
      expect(session).toMatchObject({ organizationId: org.id, via: "sign_in_link", user: { userName: OWNER } });
    } finally {
      await fresh.close();
    }

    const [created] = await auditOf("sign_in_link.created");
    expect(created?.actor).toMatchObject({ type: "operator" });
    const [used] = await auditOf("sign_in_link.used");
    expect(used).toMatchObject({ actor: { type: "user", name: OWNER }, target: { type: "user", display: OWNER } });
    expect((used!.after as { linkId: string }).linkId).toBe((created!.after as { linkId: string }).linkId);
    const started = (await auditOf("session.started")).filter((e) => (e.after as { via?: string } | undefined)?.via === "sign_in_link");
    expect(started).toHaveLength(1);
  });

  it("opened again, is refused with a page that says so (410), not a session", async () => {
    const fresh = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    try {
      const tab = await fresh.newPage();
      const response = await tab.goto(link);
      expect(response?.status()).toBe(410);
      expect(response?.headers()["content-type"]).toMatch(/^text\/html/);
      await tab.getByRole("heading", { name: "Sign-in link refused" }).waitFor();
      await tab.getByText("This sign-in link has already been used. Ask your operator for a new one.").waitFor();
      expect(await tab.getByRole("button", { name: "Sign in" }).count()).toBe(0);
      await harness.screenshot(tab, "sign-in-link-used");
      await harness.scan(tab, "Sign-in link (used)");
      expect((await fresh.cookies(baseUrl)).find((c) => c.name.includes("gatehouse_session"))).toBeUndefined();
      // The way left leads to the console's sign-in page.
      await tab.getByRole("link", { name: "Go to the sign-in page" }).click();
      await tab.getByRole("heading", { name: "Sign in to Gatehouse" }).waitFor();
    } finally {
      await fresh.close();
    }
    expect(await auditOf("sign_in_link.used")).toHaveLength(1);
  });
});

describe("what is offered follows the permission matrix", () => {
  it("offers a member with manage_integrations but not modify_account_settings the Single sign-on page without email domains, and no Settings", async () => {
    const second = await newBrowserContext();
    person = INTEGRATOR;
    try {
      const tab = await second.newPage();
      harness.watchCsp(tab, cspRefusals);
      await harness.signInWithOrganizationId(tab, baseUrl, org.id, INTEGRATOR);
      const navigation = tab.getByRole("navigation", { name: "Console" });
      expect(await navigation.getByRole("link", { name: "Single sign-on" }).count()).toBe(1);
      expect(await navigation.getByRole("link", { name: "Settings" }).count()).toBe(0);
      await harness.visit(tab, `${baseUrl}/single-sign-on`, "Single sign-on");
      await tab.getByRole("heading", { name: /Add the identity provider's metadata|Replace the identity provider's metadata/ }).waitFor();
      expect(await tab.getByRole("heading", { name: "3. Email domains" }).count()).toBe(0);
      expect(await tab.getByRole("textbox", { name: "Email domain" }).count()).toBe(0);

      // At the Settings address: the API's refusal, and none of the controls.
      await harness.visit(tab, `${baseUrl}/settings`, "Settings");
      await tab.getByRole("alert").waitFor();
      expect(await tab.getByRole("switch", { name: "Require single sign-on" }).count()).toBe(0);
      expect(await tab.getByRole("textbox", { name: "Organization name" }).count()).toBe(0);
    } finally {
      person = OWNER;
      await second.close();
    }
    expect(cspRefusals).toEqual([]);
  });
});

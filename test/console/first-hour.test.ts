import type { Browser, BrowserContext, Page } from "playwright-core";
import request from "supertest";
import { serviceProviderUrls } from "../../src/domain/saml";
import { loadFixture, substitute, fixturePath } from "../idp/replay";
import { oktaMetadata } from "../support/saml";
import { TestIdentityProvider } from "../support/saml-idp";
import * as harness from "./harness";

/**
 * The README's walk-through ("A new administrator's first hour"), step by step, as a new
 * administrator does it: `org create` with an Owner, a break-glass sign-in link, Gatehouse's SAML
 * values copied and the identity provider's metadata pasted on the Single sign-on page, a SCIM
 * token made on the Provisioning page and given to "Okta" (Okta's recorded requests, sent with
 * that token), then the first provisioned member on the Members page, their group on Groups and
 * mappings, the day's activity on Provisioning — and that member signing in with their work
 * email through the new connection. If the README's steps stop working, this fails.
 */

jest.setTimeout(180_000);

const OWNER = "ada@acme.example";

let gatehouse: harness.ConsoleServer;
let t: harness.ConsoleServer["t"];
let baseUrl: string;
let browser: Browser;
let context: BrowserContext;
let page: Page;

const cli = (...argv: string[]) => gatehouse.cli(...argv);
const scan = (name: string) => harness.scan(page, name);

/** Follows the console's own navigation to a page, as a person would. */
async function visit(pathname: string, heading: string) {
  await page.getByRole("navigation", { name: "Console" }).getByRole("link", { name: heading, exact: true }).click();
  await page.getByRole("heading", { level: 1, name: heading }).waitFor();
  await page.waitForURL(`${baseUrl}${pathname}`);
  await page.locator(".state-loading").first().waitFor({ state: "detached" });
}

beforeAll(async () => {
  gatehouse = await harness.startConsoleServer();
  ({ t, baseUrl } = gatehouse);
  browser = await harness.launchChromium();
  context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  page = await context.newPage();
});

afterAll(async () => {
  await browser?.close();
  await gatehouse?.close();
});

describe("the README's first hour, in the console", () => {
  it("goes from org create to the first provisioned member signing in through the connection set up in the console", async () => {
    // 1. The organization and its Owner.
    const org = await cli("org", "create", "Acme Inc", "--owner", OWNER, "--json");
    expect(org.ownerId).toEqual(expect.any(String));

    // 2. In before single sign-on exists: the Owner's break-glass link, opened and confirmed.
    const link = await cli("sign-in-link", "--org", org.id, "--email", OWNER, "--json");
    await page.goto(link.url);
    await page.getByRole("heading", { name: `Sign in as ${OWNER}` }).waitFor();
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { level: 1, name: "Your access" }).waitFor();
    await page.getByRole("heading", { name: "Organization role: Owner" }).waitFor();

    // 3. Gatehouse's values for the identity provider, shown before anything is configured.
    await visit("/single-sign-on", "Single sign-on");
    const sp = serviceProviderUrls(baseUrl, org.id);
    await page.getByText(sp.acsUrl, { exact: true }).waitFor();
    await page.getByText(sp.entityId, { exact: true }).waitFor();
    await page.getByText("Single sign-on is not configured yet.").waitFor();
    // The identity provider is set up from exactly those values.
    const idp = new TestIdentityProvider(sp);

    // 4. The identity provider's metadata, pasted, saved.
    await page.getByLabel("Identity provider metadata (XML)").fill(oktaMetadata({ appId: "exk-test-idp", certificate: idp.key.certificate }));
    await page.getByRole("button", { name: "Save connection" }).click();
    await page.getByText("The connection is saved.").waitFor();
    await page.getByRole("heading", { name: "Connected identity provider" }).waitFor();
    await page.getByText(idp.entityId, { exact: true }).waitFor();
    // The organization's email domain, so its people sign in with their work email.
    const domains = page.getByRole("region", { name: "3. Email domains" });
    await domains.getByRole("textbox", { name: "Email domain" }).fill("okta.local");
    await domains.getByRole("button", { name: "Add domain" }).click();
    await domains.getByRole("list", { name: "Email domains" }).getByText("okta.local").waitFor();

    // 5. A SCIM token for Okta, shown once, and the SCIM base URL to give with it.
    await visit("/provisioning", "Provisioning");
    await page.getByText(`${baseUrl}/scim/v2`, { exact: true }).waitFor();
    await page.getByRole("button", { name: "Create token" }).click();
    await page.getByRole("dialog").getByLabel("Name").fill("Okta production");
    await page.getByRole("dialog").getByRole("button", { name: "Create" }).click();
    const shown = page.locator(".issued code");
    await shown.waitFor();
    const token = (await shown.textContent())!;
    expect(token).toMatch(/^gsc_/);

    // 6. Okta provisions with it: its recorded requests, in its order (look up, create, push a group, add the member).
    const okta = async (name: string, values: Record<string, string> = {}) => {
      const fixture = loadFixture("okta", name);
      const sent = request(t.app)[fixture.method.toLowerCase() as "get" | "post" | "patch"](`/scim/v2${fixturePath(fixture, values)}`).set("Authorization", `Bearer ${token}`);
      const answer = fixture.body === undefined ? await sent : await sent.set("Content-Type", "application/scim+json").send(JSON.stringify(substitute(fixture.body, values)));
      expect(answer.status).toBe(fixture.expect.status);
      return answer.body as { id?: string };
    };
    await okta("01");
    const userId = (await okta("02")).id!;
    const groupId = (await okta("06")).id!;
    await okta("07", { userId, groupId });

    await visit("/members", "Members");
    const provisioned = page.locator("tbody tr", { hasText: "test.user@okta.local" });
    await provisioned.getByText(/Managed by/).waitFor();
    await scan("Members (first provisioned)");

    await visit("/groups", "Groups and mappings");
    const group = page.locator("tbody tr", { hasText: "Test SCIMv2" });
    expect((await group.locator("td").allTextContents())[2]).toBe("1");

    await visit("/provisioning", "Provisioning");
    const activity = (await request(t.app).get("/api/v1/provisioning/activity").set("Cookie", (await context.cookies(baseUrl)).map((c) => `${c.name}=${c.value}`).join("; ")).expect(200)).body;
    const today = activity.days.at(-1);
    expect(today.creates).toBeGreaterThanOrEqual(2); // the member and the group
    const table = page.getByRole("table", { name: /Changes through SCIM per day/ });
    expect((await table.locator("tbody tr").first().locator("td").allTextContents()).slice(0, 2)).toEqual([today.date, String(today.creates)]);
    await page.getByText(`${activity.lastRequest.method} answered ${activity.lastRequest.status}`).waitFor();

    // Every page the Owner has works on a phone: nothing wider than the screen but a table's own scroller.
    await page.setViewportSize({ width: 390, height: 844 });
    const pages = await page.getByRole("navigation", { name: "Console" }).getByRole("link").allTextContents();
    expect(pages.length).toBeGreaterThanOrEqual(10);
    for (const name of pages) {
      await page.goto(`${baseUrl}${await page.getByRole("navigation", { name: "Console" }).getByRole("link", { name, exact: true }).getAttribute("href")}`);
      await page.getByRole("heading", { level: 1, name }).waitFor();
      await page.locator(".state-loading").first().waitFor({ state: "detached" });
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      expect({ page: name, overflow }).toEqual({ page: name, overflow: 0 });
    }
    await page.setViewportSize({ width: 1280, height: 800 });

    // The provisioned member signs in through the connection set up in step 4.
    const theirs = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    try {
      await harness.routeIdentityProvider(theirs, () => idp, () => "test.user@okta.local");
      const member = await theirs.newPage();
      await member.goto(`${baseUrl}/`);
      await member.getByRole("textbox", { name: "Work email" }).fill("test.user@okta.local");
      await member.getByRole("button", { name: "Continue with single sign-on" }).click();
      await member.getByRole("button", { name: "Sign in as test.user@okta.local" }).click();
      await member.getByRole("heading", { level: 1, name: "Your access" }).waitFor();
      await member.getByText("test.user@okta.local", { exact: false }).first().waitFor();
      const session = (await request(t.app).get("/api/v1/session").set("Cookie", (await theirs.cookies(baseUrl)).map((c) => `${c.name}=${c.value}`).join("; ")).expect(200)).body;
      expect(session).toMatchObject({ user: { id: userId, userName: "test.user@okta.local" }, organizationId: org.id, via: "saml" });
    } finally {
      await theirs.close();
    }
  });
});

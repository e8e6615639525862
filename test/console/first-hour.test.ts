import AxeBuilder from "@axe-core/playwright";
import { existsSync } from "node:fs";
import type { Server } from "node:http";
import path from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import request from "supertest";
import { runCommand } from "../../src/cli/commands";
import { serviceProviderUrls } from "../../src/domain/saml";
import { CONSOLE_BUILD_DIR } from "../../src/http/console-pages";
import { loadFixture, substitute, fixturePath } from "../idp/replay";
import { startTestApp, type TestApp } from "../support/app";
import { freePort } from "../support/ports";
import { oktaMetadata } from "../support/saml";
import { TestIdentityProvider } from "../support/saml-idp";

/**
 * The README's walk-through ("A new administrator's first hour"), step by step, as a new
 * administrator does it: `org create` with an Owner, a break-glass sign-in link, Gatehouse's SAML
 * values copied and the identity provider's metadata pasted on the Single sign-on page, a SCIM
 * token made on the Provisioning page and given to "Okta" (Okta's recorded requests, sent with
 * that token), then the first provisioned member on the Members page, their group on Groups and
 * mappings, the day's activity on Provisioning — and that member signing in through the new
 * connection. If the README's steps stop working, this fails.
 */

jest.setTimeout(180_000);

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const OWNER = "ada@acme.example";

let t: TestApp;
let server: Server;
let baseUrl: string;
let browser: Browser;
let context: BrowserContext;
let page: Page;

const cli = async (...argv: string[]) => JSON.parse((await runCommand(t.services, argv)).stdout[0]!);

async function scan(name: string) {
  const results = await new AxeBuilder({ page }).analyze();
  const serious = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(serious.map((v) => `${name}: ${v.id} (${v.impact}) ${v.help}`)).toEqual([]);
}

async function visit(pathname: string, heading: string) {
  await page.getByRole("navigation", { name: "Console" }).getByRole("link", { name: heading, exact: true }).click();
  await page.getByRole("heading", { level: 1, name: heading }).waitFor();
  await page.waitForURL(`${baseUrl}${pathname}`);
  await page.locator(".state-loading").first().waitFor({ state: "detached" });
}

beforeAll(async () => {
  if (!existsSync(path.join(CONSOLE_BUILD_DIR, "index.html"))) throw new Error("The console is not built: run `npm run build` first");
  if (!existsSync(CHROMIUM)) throw new Error(`No Chromium at ${CHROMIUM}: apt-get install -y chromium (.ci/run does)`);
  const port = await freePort();
  baseUrl = `http://localhost:${port}`;
  t = await startTestApp({ PUBLIC_BASE_URL: baseUrl });
  server = await new Promise<Server>((resolve) => {
    const listening = t.app.listen(port, "127.0.0.1", () => resolve(listening));
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"] });
  context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  page = await context.newPage();
});

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  await t?.close();
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
      await theirs.route(/^https:\/\/acme\.okta\.com\//, async (route) => {
        const url = new URL(route.request().url());
        const samlResponse = idp.response({ nameId: "test.user@okta.local", inResponseTo: TestIdentityProvider.requestIdOf(url.toString()) });
        const escape = (s: string) => s.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");
        await route.fulfill({
          contentType: "text/html",
          body: `<!doctype html><html lang="en"><title>Okta</title><form method="post" action="${escape(sp.acsUrl)}"><input type="hidden" name="SAMLResponse" value="${escape(samlResponse)}"><input type="hidden" name="RelayState" value="/"><button type="submit">Continue</button></form></html>`,
        });
      });
      const member = await theirs.newPage();
      await member.goto(`${baseUrl}/`);
      await member.getByRole("heading", { name: "Sign in to Gatehouse" }).waitFor();
      await member.evaluate((url) => window.location.assign(url), `/auth/saml/${org.id}/login?RelayState=%2F`);
      await member.getByRole("button", { name: "Continue" }).click();
      await member.getByRole("heading", { level: 1, name: "Your access" }).waitFor();
      await member.getByText("test.user@okta.local", { exact: false }).first().waitFor();
      const session = (await request(t.app).get("/api/v1/session").set("Cookie", (await theirs.cookies(baseUrl)).map((c) => `${c.name}=${c.value}`).join("; ")).expect(200)).body;
      expect(session).toMatchObject({ user: { id: userId, userName: "test.user@okta.local" }, organizationId: org.id, via: "saml" });
    } finally {
      await theirs.close();
    }
  });
});

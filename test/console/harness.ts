import AxeBuilder from "@axe-core/playwright";
import { existsSync } from "node:fs";
import type { Server } from "node:http";
import path from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { runCommand } from "../../src/cli/commands";
import { CONSOLE_BUILD_DIR } from "../../src/http/console-pages";
import { startTestApp, type TestApp, type TestAppOverrides } from "../support/app";
import { freePort } from "../support/ports";
import { TestIdentityProvider, type ResponseOptions } from "../support/saml-idp";

/**
 * What every browser test of the console needs: the real server listening on a free port of
 * localhost, Debian's Chromium (through playwright-core), a test identity provider answering the
 * SAML requests the browser is sent to, an axe-core scan, screenshots for the README, and sign-in.
 * Needs `npm run build` first (the console's bundle is served from console/dist).
 */

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const SCREENSHOTS = path.resolve(__dirname, "../../docs/console");

export interface ConsoleServer {
  t: TestApp;
  server: Server;
  /** `http://localhost:<port>`: plain http on localhost, which browsers treat as secure for cookies (the sign-in cookie is Secure). */
  baseUrl: string;
  /** The CLI in this process, on the server's database: its first printed line as JSON (call with `--json`). */
  cli(...argv: string[]): Promise<any>;
  close(): Promise<void>;
}

/** The real application (test/support/app.ts) listening on localhost, its PUBLIC_BASE_URL its own address. */
export async function startConsoleServer(environment: Record<string, string> = {}, overrides: TestAppOverrides = {}): Promise<ConsoleServer> {
  if (!existsSync(path.join(CONSOLE_BUILD_DIR, "index.html"))) throw new Error("The console is not built: run `npm run build` first");
  if (!existsSync(CHROMIUM)) throw new Error(`No Chromium at ${CHROMIUM}: apt-get install -y chromium (.ci/run does)`);
  const port = await freePort();
  const baseUrl = `http://localhost:${port}`;
  const t = await startTestApp({ PUBLIC_BASE_URL: baseUrl, ...environment }, overrides);
  const server = await new Promise<Server>((resolve) => {
    const listening = t.app.listen(port, "127.0.0.1", () => resolve(listening));
  });
  return {
    t,
    server,
    baseUrl,
    cli: async (...argv: string[]) => JSON.parse((await runCommand(t.services, argv)).stdout[0]!),
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await t.close();
    },
  };
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"] });
}

/** Collects the Content-Security-Policy refusals the page reports: the console must cause none. */
export function watchCsp(page: Page, refusals: string[]): void {
  page.on("console", (message) => {
    if (/Content Security Policy|Refused to/i.test(message.text())) refusals.push(message.text());
  });
}

/** Who the test identity provider signs in, and what else its answer carries. */
export interface IdentityProviderPerson {
  nameId: string;
  attributes?: ResponseOptions["attributes"];
}

/**
 * The identity provider's sign-in page, at the hosts of the test IdP (`idp.example.com`) and of
 * the Okta metadata fixture, in every page of `context` (pop-ups included): it answers Gatehouse's
 * AuthnRequest for `who()` (a NameID, or a person with attributes) with a form the person submits
 * (“Sign in as …”), signed by `idp()`.
 */
export async function routeIdentityProvider(context: BrowserContext, idp: () => TestIdentityProvider, who: () => string | IdentityProviderPerson): Promise<void> {
  await context.route(/^https:\/\/(idp\.example\.com|acme\.okta\.com)\//, async (route) => {
    const url = new URL(route.request().url());
    const provider = idp();
    const chosen = who();
    const person = typeof chosen === "string" ? { nameId: chosen } : chosen;
    const samlResponse = provider.response({ nameId: person.nameId, inResponseTo: TestIdentityProvider.requestIdOf(url.toString()), ...(person.attributes ? { attributes: person.attributes } : {}) });
    const relayState = url.searchParams.get("RelayState") ?? "/";
    const escape = (s: string) => s.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");
    await route.fulfill({
      contentType: "text/html",
      body:
        `<!doctype html><html lang="en"><title>Test IdP</title><form method="post" action="${escape(provider.sp.acsUrl)}">` +
        `<input type="hidden" name="SAMLResponse" value="${escape(samlResponse)}"><input type="hidden" name="RelayState" value="${escape(relayState)}">` +
        `<button type="submit">Sign in as ${escape(person.nameId)}</button></form></html>`,
    });
  });
}

/** axe-core on the page as it is: no serious or critical violation. */
export async function scan(page: Page, name: string): Promise<void> {
  const results = await new AxeBuilder({ page }).analyze();
  const serious = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(serious.map((v) => `${name}: ${v.id} (${v.impact}) ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`)).toEqual([]);
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** Opens a console page and waits until it has loaded (its heading shown, no loading state left). */
export async function visit(page: Page, url: string, heading: string): Promise<void> {
  await page.goto(url);
  await page.getByRole("heading", { level: 1, name: heading }).waitFor();
  await page.locator(".state-loading").first().waitFor({ state: "detached" });
}

/**
 * Signs in from the sign-in page with the organization's id (the fallback under “Sign in with your
 * organization id”), through the test identity provider (which must answer for `nameId`), and
 * waits for Your access.
 */
export async function signInWithOrganizationId(page: Page, baseUrl: string, organizationId: string, nameId: string): Promise<void> {
  await page.goto(`${baseUrl}/`);
  await page.getByRole("heading", { name: "Sign in to Gatehouse" }).waitFor();
  await page.getByRole("button", { name: "Sign in with your organization id" }).click();
  await page.getByRole("textbox", { name: "Organization id" }).fill(organizationId);
  await page.getByRole("button", { name: "Continue with organization id" }).click();
  await page.getByRole("button", { name: `Sign in as ${nameId}` }).click();
  await page.getByRole("heading", { level: 1, name: "Your access" }).waitFor();
}

/**
 * Signs in at the organization's SAML login address through the identity provider (whoever
 * `routeIdentityProvider`'s person is), landing on Your access, without the sign-in page. The page
 * navigates there itself: Chromium's redirect to the identity provider is routed to the test
 * identity provider only for a navigation the page starts, not for one `page.goto` starts.
 */
export async function signIn(page: Page, baseUrl: string, organizationId: string, nameId: string): Promise<void> {
  await page.goto(`${baseUrl}/api/v1/openapi.json`);
  await page.evaluate((url) => window.location.assign(url), `/auth/saml/${encodeURIComponent(organizationId)}/login?RelayState=%2F`);
  await page.getByRole("button", { name: `Sign in as ${nameId}` }).click();
  await page.getByRole("heading", { level: 1, name: "Your access" }).waitFor();
}

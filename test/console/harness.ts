import AxeBuilder from "@axe-core/playwright";
import { existsSync } from "node:fs";
import type { Server } from "node:http";
import path from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { runCommand } from "../../src/cli/commands";
import { CONSOLE_BUILD_DIR } from "../../src/http/console-pages";
import { startTestApp, type TestApp } from "../support/app";
import { freePort } from "../support/ports";
import type { ResponseOptions, TestIdentityProvider } from "../support/saml-idp";
import { TestIdentityProvider as IdentityProvider } from "../support/saml-idp";

/**
 * What the console's browser tests share: the real server on a free port with the built console,
 * Debian's Chromium through playwright-core, a test identity provider answering in the browser, an
 * axe-core scan, and the page helpers. (console.test.ts, pages.test.ts and webhooks.test.ts predate
 * it and keep their own copies.)
 */

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const SCREENSHOTS = path.resolve(__dirname, "../../docs/console");

export interface ConsoleServer {
  t: TestApp;
  server: Server;
  baseUrl: string;
  /** Runs a CLI command against the test app and parses its JSON output. */
  cli(...argv: string[]): Promise<any>;
  close(): Promise<void>;
}

/** The server with the console, on plain http on localhost (which browsers treat as secure for cookies). */
export async function startConsoleServer(environment: Record<string, string> = {}): Promise<ConsoleServer> {
  if (!existsSync(path.join(CONSOLE_BUILD_DIR, "index.html"))) throw new Error("The console is not built: run `npm run build` first");
  const port = await freePort();
  const baseUrl = `http://localhost:${port}`;
  const t = await startTestApp({ PUBLIC_BASE_URL: baseUrl, ...environment });
  const server = await new Promise<Server>((resolve) => {
    const listening = t.app.listen(port, "127.0.0.1", () => resolve(listening));
  });
  return {
    t,
    server,
    baseUrl,
    cli: async (...argv: string[]) => JSON.parse((await runCommand(t.services, argv)).stdout[0]!),
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await t.close();
    },
  };
}

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`No Chromium at ${CHROMIUM}: apt-get install -y chromium (.ci/run does)`);
  return chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"] });
}

/** Who the test identity provider signs in, and what else its answer carries; change it between sign-ins. */
export interface IdentityProviderPerson {
  nameId: string;
  attributes?: ResponseOptions["attributes"];
}

/**
 * The identity provider's sign-in page, in every page of `context` (pop-ups included): it answers
 * Gatehouse's AuthnRequest for `person()` with a form the person submits ("Sign in as …").
 */
export async function routeIdentityProvider(context: BrowserContext, idp: TestIdentityProvider, person: () => IdentityProviderPerson): Promise<void> {
  await context.route(/^https:\/\/idp\.example\.com\//, async (route) => {
    const url = new URL(route.request().url());
    const who = person();
    const samlResponse = idp.response({ nameId: who.nameId, inResponseTo: IdentityProvider.requestIdOf(url.toString()), ...(who.attributes ? { attributes: who.attributes } : {}) });
    const escape = (s: string) => s.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");
    await route.fulfill({
      contentType: "text/html",
      body:
        `<!doctype html><html lang="en"><title>Test IdP</title><form method="post" action="${escape(idp.sp.acsUrl)}">` +
        `<input type="hidden" name="SAMLResponse" value="${escape(samlResponse)}"><input type="hidden" name="RelayState" value="${escape(url.searchParams.get("RelayState") ?? "/")}">` +
        `<button type="submit">Sign in as ${escape(who.nameId)}</button></form></html>`,
    });
  });
}

/** No serious or critical axe-core violation on the page. */
export async function scan(page: Page, name: string): Promise<void> {
  const results = await new AxeBuilder({ page }).analyze();
  const serious = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(serious.map((v) => `${name}: ${v.id} (${v.impact}) ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`)).toEqual([]);
}

export const screenshot = (page: Page, name: string) => page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });

/** Opens a console page and waits until it has loaded. */
export async function visit(page: Page, baseUrl: string, pathname: string, heading: string): Promise<void> {
  await page.goto(`${baseUrl}${pathname}`);
  await page.getByRole("heading", { level: 1, name: heading }).waitFor();
  await page.locator(".state-loading").first().waitFor({ state: "detached" });
}

/**
 * Signs in at the organization's SAML login address through the identity provider (whoever
 * `routeIdentityProvider`'s person is), landing on Your access. The page navigates there itself:
 * Chromium's redirect to the identity provider is routed to the test identity provider only for a
 * navigation the page starts, not for one `page.goto` starts.
 */
export async function signIn(page: Page, baseUrl: string, organizationId: string, nameId: string): Promise<void> {
  await page.goto(`${baseUrl}/api/v1/openapi.json`);
  await page.evaluate((url) => window.location.assign(url), `/auth/saml/${encodeURIComponent(organizationId)}/login?RelayState=%2F`);
  await page.getByRole("button", { name: `Sign in as ${nameId}` }).click();
  await page.getByRole("heading", { level: 1, name: "Your access" }).waitFor();
}

/** Collects the Content-Security-Policy refusals a page reports: the console must cause none. */
export function watchCsp(page: Page, into: string[]): void {
  page.on("console", (message) => {
    if (/Content Security Policy|Refused to/i.test(message.text())) into.push(message.text());
  });
}

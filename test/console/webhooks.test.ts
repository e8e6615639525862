import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Browser, BrowserContext, Page } from "playwright-core";
import request from "supertest";
import { Webhook } from "standardwebhooks";
import { serviceProviderUrls } from "../../src/domain/saml";
import { buildUser, operator, scimClient, type TestApp } from "../support/app";
import { TestIdentityProvider } from "../support/saml-idp";
import * as harness from "./harness";

/**
 * The console's Webhooks page in a real Chromium against the real server and database, with a
 * local receiver (an http server in this process; the server allows http and loopback
 * destinations for it): register an endpoint, its secret shown once, an event caused through SCIM
 * seen in the page's delivery log and at the receiver (signature verified with the copied secret),
 * redelivery from the page, disable/enable, rotation, removal; an axe scan; a member without
 * `manage_integrations` sees no Webhooks entry and the API's refusal on the page.
 * Needs `npm run build` first.
 */

jest.setTimeout(180_000);

const OWNER = "owner@webhooks-console.example";
const MEMBER = "member@webhooks-console.example";

interface Received {
  headers: Record<string, string>;
  body: string;
}

/** The product's webhook receiver: records every message and answers 204. */
class Receiver {
  readonly received: Received[] = [];
  private server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      this.received.push({ headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)])), body: Buffer.concat(chunks).toString("utf8") });
      res.statusCode = 204;
      res.end();
    });
  });
  url = "";
  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }
  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

let served: harness.ConsoleServer;
let t: TestApp;
let baseUrl: string;
let org: { id: string; scimToken: string; ownerId: string };
let idp: TestIdentityProvider;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let ownerToken: string;
let receiver: Receiver;

const ctx = () => ({ ...operator, organizationId: org.id });
const cli = (...argv: string[]) => served.cli(...argv);
const adminApi = (method: "get" | "post", pathname: string) => request(t.app)[method](`/api/v1${pathname}`).set("Authorization", `Bearer ${ownerToken}`);

async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

let person = { nameId: OWNER };
async function signIn(nameId: string) {
  person = { nameId };
  await harness.signInWithOrganizationId(page, baseUrl, org.id, nameId);
}

const scan = (name: string) => harness.scan(page, name);

async function visitWebhooks() {
  await page.goto(`${baseUrl}/webhooks`);
  await page.getByRole("heading", { level: 1, name: "Webhooks" }).waitFor();
  await page.locator(".state-loading").first().waitFor({ state: "detached" });
}

beforeAll(async () => {
  receiver = new Receiver();
  await receiver.start();
  served = await harness.startConsoleServer(
    { WEBHOOK_ALLOW_HTTP: "true", WEBHOOK_ALLOW_PRIVATE_DESTINATIONS: "true" },
    { webhookSchedule: { firstRetryMs: 100, maxRetryMs: 400, pollMs: 50, leaseMs: 5_000 } },
  );
  ({ t, baseUrl } = served);
  // As the server's main does: the delivery loop runs beside the API.
  t.services.webhooks.startDelivery();
  org = await cli("org", "create", "Webhook Console Co", "--owner", OWNER, "--json");
  ownerToken = (await cli("user-token", "create", "--org", org.id, "--email", OWNER, "--json")).token;
  await t.services.users.provision(ctx(), { userName: MEMBER, displayName: "Plain Member" }, "local", { role: "user" });
  idp = new TestIdentityProvider(serviceProviderUrls(baseUrl, org.id));
  await t.services.saml.configure(ctx(), { idpEntityId: idp.entityId, ssoUrl: idp.ssoUrl, certificates: [idp.key.certificate], jit: false, groupSync: false, idpInitiated: false, signatures: "assertion" });

  browser = await harness.launchChromium();
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: baseUrl });
  await harness.routeIdentityProvider(context, () => idp, () => person.nameId);
  page = await context.newPage();
});

afterAll(async () => {
  await t?.services.webhooks.stopDelivery();
  await browser?.close();
  await served?.close();
  await receiver?.stop();
});

describe("the Webhooks page", () => {
  let secret: string;

  it("is empty at first, refuses what the API refuses with its words, and registers an endpoint whose secret it shows exactly once", async () => {
    await signIn(OWNER);
    await page.getByRole("navigation", { name: "Console" }).getByRole("link", { name: "Webhooks" }).click();
    await page.getByRole("heading", { level: 1, name: "Webhooks" }).waitFor();
    await page.getByText("No webhook endpoint yet").waitFor();
    await scan("Webhooks (empty)");

    // Keyboard: the dialog opens with Enter and the URL field has the focus.
    await page.getByRole("button", { name: "Register endpoint" }).focus();
    await page.keyboard.press("Enter");
    const dialog = page.getByRole("dialog");
    await dialog.getByLabel("URL").waitFor();
    await page.keyboard.type("ftp://nowhere.example/hook");
    await dialog.getByRole("button", { name: "Register" }).click();
    const refusal = (await adminApi("post", "/webhooks").send({ url: "ftp://nowhere.example/hook" }).expect(400)).body;
    await dialog.getByRole("alert").getByText(refusal.error.message, { exact: true }).waitFor();

    await dialog.getByLabel("URL").fill(receiver.url);
    await dialog.getByLabel("Description").fill("The product's directory listener");
    await dialog.getByRole("switch", { name: "All event types" }).press("Space");
    await dialog.getByRole("option", { name: /member\.provisioned/ }).press("Space");
    await dialog.getByText("(1 chosen)").waitFor();
    await scan("Register dialog");
    await dialog.getByRole("button", { name: "Register" }).click();
    await dialog.waitFor({ state: "detached" });

    const shown = page.locator(".issued code");
    await shown.waitFor();
    secret = (await shown.textContent())!;
    expect(secret).toMatch(/^whsec_/);
    await page.getByRole("button", { name: "Copy Signing secret" }).click();
    await page.getByRole("button", { name: "Copy Signing secret" }).getByText("Copied").waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
    const row = page.locator("tbody tr", { hasText: receiver.url });
    await row.getByText("member.provisioned").waitFor();
    await row.getByText("Enabled").waitFor();
    await row.getByText("None yet").waitFor();

    const { endpoints } = (await adminApi("get", "/webhooks").expect(200)).body;
    expect(endpoints).toEqual([expect.objectContaining({ url: receiver.url, types: ["member.provisioned"], status: "enabled", description: "The product's directory listener" })]);
    await harness.screenshot(page, "webhooks-registered");

    await page.reload();
    await page.getByRole("heading", { level: 1, name: "Webhooks" }).waitFor();
    await page.locator("tbody tr", { hasText: receiver.url }).waitFor();
    expect(await page.locator(".issued").count()).toBe(0);
    expect(await page.content()).not.toContain(secret);
  });

  it("shows an event caused through SCIM in the delivery log as the receiver got it, signed with the shown secret, and redelivers it from the page", async () => {
    await scimClient(t.app, org.scimToken).post("/Users", buildUser({ userName: "grace@webhooks-console.example", displayName: "Grace Hopper" })).expect(201);
    await until(() => receiver.received.length >= 1);
    const [first] = receiver.received;
    const event = new Webhook(secret).verify(first!.body, first!.headers) as { type: string };
    expect(event.type).toBe("member.provisioned");
    const eventId = first!.headers["webhook-id"]!;

    await visitWebhooks();
    const row = page.locator("tbody tr", { hasText: receiver.url });
    await row.getByText("Delivered").waitFor();
    await row.getByRole("button", { name: `Delivery log of ${receiver.url}` }).click();
    const log = page.getByRole("region", { name: `Delivery log: ${receiver.url}` });
    // The keyboard goes on to the log it opened.
    await page.getByRole("heading", { name: `Delivery log: ${receiver.url}` }).waitFor();
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("log-heading");
    const attempt = log.locator("tbody tr", { hasText: eventId });
    await attempt.getByText("member.provisioned").waitFor();
    await attempt.getByText("Delivered").waitFor();
    await attempt.getByRole("cell", { name: "204", exact: true }).waitFor();
    await harness.screenshot(page, "webhooks");
    await scan("Webhooks (delivery log)");

    await attempt.getByRole("button", { name: `Redeliver member.provisioned ${eventId}` }).click();
    await log.getByText(/Redelivery of member\.provisioned .* queued/).waitFor();
    await until(() => receiver.received.length >= 2);
    const again = receiver.received[1]!;
    expect(again.headers["webhook-id"]).toBe(eventId);
    expect(new Webhook(secret).verify(again.body, again.headers)).toEqual(event);
    await until(async () => {
      await log.getByRole("button", { name: "Refresh" }).click();
      return (await log.getByText("(redelivery)").count()) === 1;
    });
  });

  it("disables and enables the endpoint, rotates its secret (shown once), and removes it after confirmation", async () => {
    await visitWebhooks();
    const row = page.locator("tbody tr", { hasText: receiver.url });
    await row.getByRole("button", { name: `Disable ${receiver.url}` }).click();
    await row.getByText("Disabled", { exact: true }).waitFor();
    expect((await adminApi("get", "/webhooks").expect(200)).body.endpoints[0].status).toBe("disabled");
    await scan("Webhooks (disabled)");
    await row.getByRole("button", { name: `Enable ${receiver.url}` }).click();
    await row.getByText("Enabled", { exact: true }).waitFor();
    expect((await adminApi("get", "/webhooks").expect(200)).body.endpoints[0].status).toBe("enabled");

    await row.getByRole("button", { name: `Rotate secret of ${receiver.url}` }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Rotate" }).click();
    const shown = page.locator(".issued code");
    await page.locator(".issued", { hasText: "new signing secret" }).waitFor();
    const rotated = (await shown.textContent())!;
    expect(rotated).toMatch(/^whsec_/);
    expect(rotated).not.toBe(secret);
    expect((await adminApi("get", "/webhooks").expect(200)).body.endpoints[0].secrets).toHaveLength(2);
    // The next message is signed by the new secret (and, during the overlap, by the old one too).
    const before = receiver.received.length;
    await scimClient(t.app, org.scimToken).post("/Users", buildUser({ userName: "alan@webhooks-console.example", displayName: "Alan Turing" })).expect(201);
    await until(() => receiver.received.length > before);
    const next = receiver.received[before]!;
    expect((new Webhook(rotated).verify(next.body, next.headers) as { type: string }).type).toBe("member.provisioned");
    await page.getByRole("button", { name: "I have copied it" }).click();
    expect(await page.content()).not.toContain(rotated);

    await row.getByRole("button", { name: `Remove ${receiver.url}` }).click();
    const confirm = page.getByRole("dialog");
    await confirm.getByText(/Nothing more is sent/).waitFor();
    await confirm.getByRole("button", { name: "Cancel" }).click();
    expect((await adminApi("get", "/webhooks").expect(200)).body.endpoints).toHaveLength(1);
    await row.getByRole("button", { name: `Remove ${receiver.url}` }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Remove" }).click();
    await page.getByText("No webhook endpoint yet").waitFor();
    expect((await adminApi("get", "/webhooks").expect(200)).body.endpoints).toEqual([]);
  });

  it("offers no Webhooks page to a member without manage_integrations, and shows the API's refusal at its address", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Sign in to Gatehouse" }).waitFor();
    await signIn(MEMBER);
    expect(await page.getByRole("navigation", { name: "Console" }).getByRole("link", { name: "Webhooks" }).count()).toBe(0);
    await page.goto(`${baseUrl}/webhooks`);
    await page.getByRole("heading", { level: 1, name: "Webhooks" }).waitFor();
    const memberToken = (await cli("user-token", "create", "--org", org.id, "--email", MEMBER, "--json")).token;
    const refusal = (await request(t.app).get("/api/v1/webhooks").set("Authorization", `Bearer ${memberToken}`).expect(403)).body;
    await page.getByRole("alert").getByText(refusal.error.message, { exact: true }).waitFor();
    await scan("Webhooks (refused)");
  });
});

import type { Browser, BrowserContext, Page } from "playwright-core";
import request from "supertest";
import { serviceProviderUrls } from "../../src/domain/saml";
import { operator } from "../support/app";
import { makeSigningKey, TestIdentityProvider } from "../support/saml-idp";
import { launchChromium, routeIdentityProvider, scan, screenshot, signIn, startConsoleServer, visit, watchCsp, type ConsoleServer, type IdentityProviderPerson } from "./harness";

/**
 * The console's Single sign-on page (certificate expiry in days with a warning at the top; a test
 * sign-in through the identity provider in a pop-up, its assertion and verdict shown, nobody signed
 * in), the Projects page (who has access and through what; deleting a project), and a member's own
 * sessions on Your access (two browsers, one ends the other) — in Debian's Chromium against the
 * real server and database, each page scanned by axe-core. Needs `npm run build` first.
 */

jest.setTimeout(180_000);

const OWNER = "owner@sso-console.example";
const GRACE = "grace@sso-console.example";

let s: ConsoleServer;
let org: { id: string; scimToken: string; ownerId: string };
let idp: TestIdentityProvider;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let ownerToken: string;
let serviceToken: string;
let graceId: string;
let person: IdentityProviderPerson = { nameId: OWNER };
const cspRefusals: string[] = [];

const ctx = () => ({ ...operator, organizationId: org.id });
const asOwner = (r: request.Test) => r.set("Authorization", `Bearer ${ownerToken}`);
const api = {
  get: (path: string) => asOwner(request(s.t.app).get(`/api/v1${path}`)),
  post: (path: string, body: object = {}) => asOwner(request(s.t.app).post(`/api/v1${path}`)).send(body),
};

/** Signs `target` in as `nameId` through the test identity provider. */
async function signInAs(target: Page, nameId: string): Promise<void> {
  person = { nameId };
  await signIn(target, s.baseUrl, org.id, nameId);
}

beforeAll(async () => {
  s = await startConsoleServer();
  org = await s.cli("org", "create", "SSO Console Co", "--owner", OWNER, "--json");
  ownerToken = (await s.cli("user-token", "create", "--org", org.id, "--email", OWNER, "--json")).token;
  serviceToken = (await s.cli("service-token", "create", "--org", org.id, "--json")).token;
  idp = new TestIdentityProvider(serviceProviderUrls(s.baseUrl, org.id));
  // The identity provider signs with its current key; its next certificate, published already, expires in 10 days.
  const expiring = makeSigningKey("Okta rotation 2026", 10);
  await s.t.services.saml.configure(ctx(), {
    idpEntityId: idp.entityId,
    ssoUrl: idp.ssoUrl,
    certificates: [idp.key.certificate, expiring.certificate],
    jit: false,
    groupSync: false,
    idpInitiated: false,
    signatures: "assertion",
  });
  graceId = (await s.t.services.users.provision(ctx(), { userName: GRACE, displayName: "Grace Hopper" }, "local", { role: "user" })).id;

  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await routeIdentityProvider(context, () => idp, () => person);
  page = await context.newPage();
  watchCsp(page, cspRefusals);
  await signInAs(page, OWNER);
});

afterAll(async () => {
  await browser?.close();
  await s?.close();
});

describe("the Single sign-on page", () => {
  it("says how many days a certificate has left and warns at the top of the page while one is within the warning window", async () => {
    const connection = (await api.get("/saml-connection").expect(200)).body;
    const [current, soon] = connection.certificates;
    expect([current.expiresSoon, soon.expiresSoon, connection.certificateExpiresSoon]).toEqual([false, true, true]);

    await visit(page, `${s.baseUrl}/single-sign-on`, "Single sign-on");
    const notice = page.getByRole("alert").filter({ hasText: "Certificate expiry" });
    await notice.waitFor();
    expect(await notice.textContent()).toContain(`The identity provider's signing certificate ${soon.subject} expires in 10 days`);
    // The main card lists both; only the expiring one carries the badge.
    const certificates = page.locator("section", { has: page.getByRole("heading", { name: "Connected identity provider" }) }).locator("li");
    expect(await certificates.count()).toBe(2);
    await certificates.filter({ hasText: soon.subject }).getByText("Expires in 10 days", { exact: true }).waitFor();
    expect(await certificates.filter({ hasText: current.subject }).locator(".badge").count()).toBe(0);
    await scan(page, "Single sign-on (certificate expiring)");
  });

  it("runs a test sign-in in a pop-up through the identity provider and shows the assertion's values and the verdict; nobody is signed in", async () => {
    await visit(page, `${s.baseUrl}/single-sign-on`, "Single sign-on");
    person = { nameId: GRACE, attributes: { email: [GRACE], displayName: ["Grace Hopper"], groups: ["Engineering", "Everyone"], department: ["Compilers"] } };
    const [popup, started] = await Promise.all([
      page.waitForEvent("popup"),
      page.waitForResponse((r) => r.url().endsWith("/api/v1/saml-connection/test") && r.request().method() === "POST"),
      page.getByRole("button", { name: "Test sign-in" }).click(),
    ]);
    const testId = (await started.json()).test.id as string;
    await page.getByText("Waiting for the identity provider's answer", { exact: false }).waitFor();
    await popup.getByRole("button", { name: `Sign in as ${GRACE}` }).click();
    await popup.getByRole("heading", { name: "Test sign-in complete" }).waitFor();

    const result = page.locator(".test-result");
    await result.getByText("Would get in").waitFor();
    const test = (await api.get(`/saml-connection/test/${testId}`).expect(200)).body;
    expect(test).toMatchObject({ status: "completed", outcome: { result: "would_sign_in", member: { id: graceId, userName: GRACE }, access: { organizationRole: "user" } } });
    expect(await result.locator("p", { hasText: "Would get in" }).textContent()).toContain(`as ${GRACE} with the organization role User`);
    const facts = result.locator("dl.facts");
    expect(await facts.locator("dt:has-text('NameID') + dd").first().textContent()).toBe(GRACE);
    expect(await facts.locator("dt:has-text('Groups') + dd").textContent()).toBe("Engineering, Everyone");
    expect(await facts.locator("dt:has-text('Display name') + dd").textContent()).toBe("Grace Hopper");
    const attributes = result.getByRole("table", { name: "Attributes" });
    await attributes.getByRole("row", { name: "department Compilers" }).waitFor();
    await attributes.getByRole("row", { name: "groups Engineering, Everyone" }).waitFor();
    await screenshot(page, "single-sign-on-test");
    await scan(page, "Single sign-on (test sign-in result)");

    // Nobody was signed in: no session for Grace (by the API's own list for her, and the store), no sign-in recorded.
    const graceToken = (await s.cli("user-token", "create", "--org", org.id, "--email", GRACE, "--json")).token;
    expect((await request(s.t.app).get("/api/v1/me/sessions").set("Authorization", `Bearer ${graceToken}`).expect(200)).body.sessions).toEqual([]);
    expect(await s.t.db.models.Session.countDocuments({ userId: graceId })).toBe(0);
    expect(await s.t.db.models.AuditEvent.countDocuments({ organizationId: org.id, "target.id": graceId, action: { $in: ["session.started", "user.signed_in"] } })).toBe(0);
    expect((await api.get(`/users/${graceId}`).expect(200)).body.lastLogin).toBeNull();
    await popup.close();
  });

  it("shows a refusal and why, for a person Gatehouse does not know", async () => {
    person = { nameId: "stranger@sso-console.example" };
    const [popup] = await Promise.all([page.waitForEvent("popup"), page.getByRole("button", { name: "Test again" }).click()]);
    await popup.getByRole("button", { name: "Sign in as stranger@sso-console.example" }).click();
    const result = page.locator(".test-result");
    await result.getByText("Would be refused").waitFor();
    await result.locator("dt:has-text('Reason') + dd").getByText("unknown_subject", { exact: true }).waitFor();
    expect(await result.locator("dt:has-text('NameID') + dd").first().textContent()).toBe("stranger@sso-console.example");
    await scan(page, "Single sign-on (test sign-in refused)");
    await popup.close();
  });
});

describe("the Projects page", () => {
  let apollo: { id: string; name: string };
  let linusId: string;

  beforeAll(async () => {
    apollo = (await api.post("/projects", { name: "Apollo" }).expect(201)).body;
    await s.t.services.users.provision(ctx(), { userName: "ada@sso-console.example", displayName: "Ada Lovelace" }, "local", { role: "user", projects: [{ projectId: apollo.id, role: "viewer" }] });
    linusId = (await s.t.services.users.provision(ctx(), { userName: "linus@sso-console.example" }, "local", { role: "user" })).id;
    await api.post(`/users/${linusId}/temporary-access`, { projectId: apollo.id, projectRole: "editor", until: new Date(Date.now() + 24 * 3_600_000).toISOString(), reason: "launch week" }).expect(201);
  });

  it("shows who has access to a project and through what, as GET /projects/{id}/access answers", async () => {
    const answer = (await api.get(`/projects/${apollo.id}/access`).expect(200)).body;
    expect(answer.members.map((m: { userName: string }) => m.userName)).toEqual(["ada@sso-console.example", "linus@sso-console.example", OWNER]);

    await visit(page, `${s.baseUrl}/projects`, "Projects");
    await page.getByRole("button", { name: "Who has access to Apollo" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByText("3 members have access to Apollo.").waitFor();
    const rows = dialog.locator("tbody tr");
    expect(await rows.count()).toBe(3);
    const ada = rows.filter({ hasText: "ada@sso-console.example" });
    expect(await ada.locator("td").nth(1).textContent()).toBe("viewer");
    await ada.getByText("viewer: Assigned in Gatehouse (local grant)").waitFor();
    const linus = rows.filter({ hasText: "linus@sso-console.example" });
    expect(await linus.locator("td").nth(1).textContent()).toBe("editor");
    await linus.getByText(/^editor: Temporary grant until /).waitFor();
    await rows.filter({ hasText: OWNER }).getByText("Every project, as Owner (Owner of the organization)").waitFor();
    await screenshot(page, "project-access");
    await scan(page, "Who has access (dialog)");
    await dialog.getByRole("button", { name: "Close" }).click();
    await dialog.waitFor({ state: "detached" });
  });

  it("deletes a project after confirmation: it leaves the list and its members lose their access to it", async () => {
    const ada = (await api.get("/users?q=ada").expect(200)).body.users[0].id as string;
    const ask = async (userId: string) =>
      (await request(s.t.app).post("/api/v1/authorize").set("Authorization", `Bearer ${serviceToken}`).send({ userId, action: "view_reports", projectId: apollo.id }).expect(200)).body.allowed;
    expect(await ask(ada)).toBe(true);

    await visit(page, `${s.baseUrl}/projects`, "Projects");
    await page.getByRole("button", { name: "Delete Apollo" }).click();
    await page.getByRole("dialog").getByText("Members lose their access to it").waitFor();
    await page.getByRole("dialog").getByRole("button", { name: "Delete project" }).click();
    await page.getByRole("cell", { name: "Apollo", exact: true }).waitFor({ state: "detached" });
    await page.getByText("No project yet.").waitFor();

    expect((await api.get("/projects").expect(200)).body.projects).toEqual([]);
    expect((await api.get(`/users/${ada}/access`).expect(200)).body.projects).toEqual([]);
    expect((await api.get(`/users/${linusId}/access`).expect(200)).body.projects).toEqual([]);
    expect(await ask(ada)).toBe(false);
    expect(await ask(linusId)).toBe(false);
    const [deleted] = await s.t.db.models.AuditEvent.find({ organizationId: org.id, action: "project.deleted", "target.id": apollo.id }).lean();
    expect(deleted?.actor).toMatchObject({ type: "user", id: org.ownerId });
  });
});

describe("Your sessions", () => {
  it("lists the member's sessions in two browsers; ending the other one signs that browser out on its next request", async () => {
    const other = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await routeIdentityProvider(other, () => idp, () => person);
    const second = await other.newPage();
    try {
      await signInAs(second, OWNER);
      await visit(page, `${s.baseUrl}/`, "Your access");
      const table = page.locator("section", { has: page.getByRole("heading", { name: "Your sessions" }) }).locator("tbody tr");
      await table.nth(1).waitFor();
      expect(await table.count()).toBe(2);
      const current = table.filter({ hasText: "This session" });
      expect(await current.count()).toBe(1);
      const listed = (await api.get("/me/sessions").expect(200)).body.sessions as { id: string; createdAt: string }[];
      expect(listed).toHaveLength(2);
      await screenshot(page, "your-sessions");
      await scan(page, "Your access (sessions)");

      const otherRow = table.filter({ hasNotText: "This session" });
      await otherRow.getByRole("button", { name: /^End session: the session signed in / }).click();
      await table.nth(1).waitFor({ state: "detached" });
      expect(await table.count()).toBe(1);
      expect((await api.get("/me/sessions").expect(200)).body.sessions).toHaveLength(1);

      // The other browser's next request is refused and it is back at the sign-in page.
      await second.goto(`${s.baseUrl}/`);
      await second.getByRole("heading", { name: "Sign in to Gatehouse" }).waitFor();
      // This one keeps working.
      await visit(page, `${s.baseUrl}/`, "Your access");
      const ended = await s.t.db.models.AuditEvent.find({ organizationId: org.id, action: "session.ended", "target.id": org.ownerId }).lean();
      expect(ended).toHaveLength(1);
      expect(ended[0]!.actor).toMatchObject({ type: "user", id: org.ownerId });
      expect(cspRefusals).toEqual([]);
    } finally {
      await other.close();
    }
  });
});

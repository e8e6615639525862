import type { Browser, Page } from "playwright-core";
import request from "supertest";
import { serviceProviderUrls } from "../../src/domain/saml";
import { buildUser, operator, scimClient, type TestApp } from "../support/app";
import { TestIdentityProvider } from "../support/saml-idp";
import * as harness from "./harness";

/**
 * The console's pages for groups and mappings (with the preview of a mapping's effect), a member's
 * own personal API tokens, provisioning activity, suspension in the member list and the access
 * review's sign-off — in Debian's Chromium against the real server and database, each page scanned
 * by axe-core and photographed for the README (docs/console/). Needs `npm run build` first.
 */

jest.setTimeout(180_000);

const OWNER = "owner@pages.example";
const groupSchema = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ROLE_WORDS: Record<string, string> = { owner: "Owner", admin: "Admin", user: "User", read_only: "Read-only" };

let served: harness.ConsoleServer;
let t: TestApp;
let baseUrl: string;
let org: { id: string; scimToken: string };
let idp: TestIdentityProvider;
let browser: Browser;
let page: Page;
let ownerToken: string;
let serviceToken: string;
let project: { id: string; name: string };
const members: Record<"grace" | "bob", string> = { grace: "", bob: "" };
const cspRefusals: string[] = [];

const cli = (...argv: string[]) => served.cli(...argv);
const asOwner = (r: request.Test) => r.set("Authorization", `Bearer ${ownerToken}`);
const accessOf = async (userId: string) => (await asOwner(request(t.app).get(`/api/v1/users/${userId}/access`)).expect(200)).body;
const authorize = async (userId: string, action: string, projectId?: string) =>
  (await request(t.app).post("/api/v1/authorize").set("Authorization", `Bearer ${serviceToken}`).send({ userId, action, ...(projectId ? { projectId } : {}) }).expect(200)).body.allowed as boolean;

const scan = (name: string) => harness.scan(page, name);
const screenshot = (name: string) => harness.screenshot(page, name);
const visit = (pathname: string, heading: string) => harness.visit(page, `${baseUrl}${pathname}`, heading);

/** Picks `option` in the react-aria select whose button's name matches `label`, by keyboard. */
async function choose(scope: Page | ReturnType<Page["locator"]>, label: RegExp, option: string) {
  await scope.getByRole("button", { name: label }).focus();
  await page.keyboard.press("Enter");
  await page.getByRole("option", { name: option, exact: true }).click();
}

/** The preview table's rows as the page shows them: member, now, after saving, gains, loses. */
async function previewRows() {
  const rows = page.getByRole("region", { name: /access would change/ }).locator("tbody tr");
  const texts: string[][] = [];
  for (let i = 0; i < (await rows.count()); i++) texts.push(await rows.nth(i).locator("td").allTextContents());
  return texts.map(([member, now, after, gains, loses]) => ({ member: member!, now: now!, after: after!, gains: gains!, loses: loses! }));
}

beforeAll(async () => {
  served = await harness.startConsoleServer();
  ({ t, baseUrl } = served);
  org = await cli("org", "create", "Pages Co", "--owner", OWNER, "--json");
  const ctx = { ...operator, organizationId: org.id };
  ownerToken = (await cli("user-token", "create", "--org", org.id, "--email", OWNER, "--json")).token;
  serviceToken = (await t.services.scimTokens.issue(ctx, { purpose: "service", name: "product" })).token;
  idp = new TestIdentityProvider(serviceProviderUrls(baseUrl, org.id));
  await t.services.saml.configure(ctx, { idpEntityId: idp.entityId, ssoUrl: idp.ssoUrl, certificates: [idp.key.certificate], jit: false, groupSync: false, idpInitiated: false, signatures: "assertion" });
  project = (await asOwner(request(t.app).post("/api/v1/projects")).send({ name: "Apollo" }).expect(201)).body;
  const scim = scimClient(t.app, org.scimToken);
  members.grace = (await scim.post("/Users", buildUser({ userName: "grace@pages.example", displayName: "Grace Hopper" })).expect(201)).body.id;
  members.bob = (await scim.post("/Users", buildUser({ userName: "bob@pages.example", displayName: "Bob Kahn" })).expect(201)).body.id;
  await scim.post("/Groups", { schemas: [groupSchema], displayName: "Engineering", externalId: "00g-engineering", members: [{ value: members.grace }, { value: members.bob }] }).expect(201);

  browser = await harness.launchChromium();
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await harness.routeIdentityProvider(context, () => idp, () => OWNER);
  page = await context.newPage();
  harness.watchCsp(page, cspRefusals);
  await harness.signInWithOrganizationId(page, baseUrl, org.id, OWNER);
});

afterAll(async () => {
  await browser?.close();
  await served?.close();
});

describe("the console's groups, tokens, activity, suspension and review pages", () => {
  it("maps a pushed group after previewing its effect, and the authorization answers are what the preview said", async () => {
    await visit("/groups", "Groups and mappings");
    const row = page.locator("tbody tr", { hasText: "Engineering" });
    expect(await row.locator("td").allTextContents()).toEqual(["Engineering", "00g-engineering", "2", expect.any(String), "Open"]);
    await page.getByRole("button", { name: "Open Engineering" }).click();
    await page.getByRole("list", { name: "Members of Engineering" }).getByText("Grace Hopper (grace@pages.example)").waitFor();
    await page.getByText("No mapping: membership of this group gives no access.").waitFor();

    await page.getByRole("button", { name: "Add mapping" }).click();
    const save = page.getByRole("button", { name: "Save mapping" });
    // Nothing to save before the change is previewed; the reason is said.
    expect(await save.isDisabled()).toBe(true);
    await choose(page, /Organization role/, "User");
    await choose(page, /Role on Apollo/, "Editor");
    await page.getByText("Preview the change before saving it.").waitFor();
    expect(await save.isDisabled()).toBe(true);
    await page.getByRole("button", { name: "Preview the effect" }).click();
    await page.getByRole("heading", { name: "2 members' access would change" }).waitFor();
    const preview = await previewRows();
    expect(preview).toEqual([
      { member: "bob@pages.example", now: "Read-only", after: "User", gains: "User, Apollo: editor", loses: "Read-only" },
      { member: "grace@pages.example", now: "Read-only", after: "User", gains: "User, Apollo: editor", loses: "Read-only" },
    ]);
    // The preview saved nothing.
    expect(await authorize(members.grace, "create_dashboards", project.id)).toBe(false);
    await screenshot("groups-preview");
    await scan("Groups and mappings (preview)");

    await save.click();
    await page.getByText("Mapping saved.").waitFor();
    await page.getByText("Organization role User, Apollo: editor").waitFor();
    for (const shown of preview) {
      const id = shown.member.startsWith("grace") ? members.grace : members.bob;
      const access = await accessOf(id);
      expect(ROLE_WORDS[access.organizationRole]).toBe(shown.after);
      expect(access.projects.map((p: { projectId: string; role: string }) => `Apollo: ${p.role}`)).toEqual(["Apollo: editor"]);
      expect(await authorize(id, "create_dashboards", project.id)).toBe(true);
    }

    // Deleting is previewed too: both lose what the mapping gave them, and the answers follow.
    const [mapping] = (await asOwner(request(t.app).get("/api/v1/mappings")).expect(200)).body.mappings;
    await page.getByRole("button", { name: `Delete mapping ${mapping.id}` }).click();
    await page.getByRole("button", { name: "Preview the effect" }).click();
    await page.getByRole("heading", { name: "2 members' access would change" }).waitFor();
    const removal = await previewRows();
    expect(removal.map((r) => [r.after, r.loses])).toEqual([
      ["Read-only", "User, Apollo: editor"],
      ["Read-only", "User, Apollo: editor"],
    ]);
    await page.getByRole("button", { name: "Delete mapping", exact: true }).click();
    await page.getByText("Mapping deleted.").waitFor();
    for (const shown of removal) {
      const id = shown.member.startsWith("grace") ? members.grace : members.bob;
      expect(ROLE_WORDS[(await accessOf(id)).organizationRole]).toBe(shown.after);
      expect(await authorize(id, "create_dashboards", project.id)).toBe(false);
    }
    await screenshot("groups");
    await scan("Groups and mappings");
  });

  it("creates a personal API token shown exactly once, which acts as its member, and revokes it", async () => {
    await visit("/", "Your access");
    await page.getByRole("heading", { name: "Your personal API tokens" }).waitFor();
    await page.getByRole("button", { name: "Create personal token" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByLabel("Name").fill("reporting script");
    await dialog.getByRole("button", { name: "Create" }).click();
    await dialog.waitFor({ state: "detached" });
    const shown = page.locator(".issued code");
    const token = (await shown.textContent())!;
    expect(token).toMatch(/^gpt_/);
    // Once on the page, with its copy button.
    expect((await page.content()).split(token).length - 1).toBe(1);
    await page.getByRole("button", { name: "Copy New personal token" }).waitFor();
    expect((await request(t.app).get("/api/v1/me").set("Authorization", `Bearer ${token}`).expect(200)).body.userName).toBe(OWNER);
    await screenshot("your-tokens");
    await scan("Your access (new token)");

    // Never again: not after reading the list afresh.
    await page.getByRole("button", { name: "I have copied it" }).click();
    await shown.waitFor({ state: "detached" });
    await page.reload();
    await page.getByRole("cell", { name: "reporting script", exact: true }).waitFor();
    expect(await page.content()).not.toContain(token);
    expect(JSON.stringify((await asOwner(request(t.app).get("/api/v1/me/tokens")).expect(200)).body)).not.toContain(token);

    await page.getByRole("button", { name: "Revoke reporting script" }).click();
    await page.locator("tr", { hasText: "reporting script" }).getByText(/^Revoked/).waitFor();
    await request(t.app).get("/api/v1/me").set("Authorization", `Bearer ${token}`).expect(401);
  });

  it("shows recent provisioning activity as the API counts it", async () => {
    await visit("/provisioning", "Provisioning");
    const activity = (await asOwner(request(t.app).get("/api/v1/provisioning/activity")).expect(200)).body;
    const today = activity.days.at(-1);
    expect(today.creates).toBe(3); // two users and a group
    const table = page.getByRole("table", { name: /Changes through SCIM per day/ });
    expect(await table.locator("tbody tr").first().locator("td").allTextContents()).toEqual([today.date, String(today.creates), String(today.updates), String(today.deactivations), String(today.deletes)]);
    await page.getByText(`${activity.lastRequest.method} answered ${activity.lastRequest.status}`).waitFor();
    await screenshot("provisioning-activity");
    await scan("Provisioning (activity)");
  });

  it("suspends an active member with a reason, shows who suspended them and why, filters by status and offers Lift only to the suspended", async () => {
    await visit("/members", "Members");
    await page.getByRole("button", { name: "Manage bob@pages.example" }).click();
    const dialog = page.getByRole("dialog");
    expect(await dialog.getByRole("button", { name: "Lift suspension" }).count()).toBe(0);
    await dialog.getByLabel("Reason").fill("contract paused");
    await dialog.getByRole("button", { name: "Suspend", exact: true }).click();
    await dialog.getByText("Suspended.", { exact: true }).waitFor();
    await dialog.getByText(/^Suspended since .* by .*: “contract paused”\.$/).waitFor();
    await dialog.getByRole("button", { name: "Lift suspension" }).waitFor();
    expect(await dialog.getByRole("button", { name: "Suspend", exact: true }).count()).toBe(0);
    const member = (await asOwner(request(t.app).get(`/api/v1/users/${members.bob}`)).expect(200)).body;
    expect(member).toMatchObject({ status: "suspended", suspended: { reason: "contract paused" } });
    // The Suspend button went away (Lift took its place): Escape from inside the dialog.
    await dialog.focus();
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "detached" });

    await choose(page, /Status/, "Suspended");
    await page.getByText("1 member with status suspended").waitFor();
    const suspended = (await asOwner(request(t.app).get("/api/v1/users?status=suspended")).expect(200)).body;
    expect(suspended.users.map((u: { userName: string }) => u.userName)).toEqual(["bob@pages.example"]);
    expect(await page.locator("tbody tr").count()).toBe(1);
    await page.locator("tbody tr", { hasText: "bob@pages.example" }).getByText("Suspended", { exact: true }).waitFor();
    await screenshot("members-suspended");
    await scan("Members (suspended)");

    // Back to every status: lifting takes bob out of the suspended ones.
    await choose(page, /Status/, "Any status");
    await page.getByText("3 members;", { exact: false }).waitFor();
    await page.getByRole("button", { name: "Manage bob@pages.example" }).click();
    await dialog.getByRole("button", { name: "Lift suspension" }).click();
    await dialog.getByText("Suspension lifted.").waitFor();
    await dialog.getByRole("button", { name: "Suspend", exact: true }).waitFor();
    await page.keyboard.press("Escape");
    expect((await asOwner(request(t.app).get(`/api/v1/users/${members.bob}`)).expect(200)).body.status).toBe("active");
  });

  it("completes the access review with notes, recorded in the audit trail, and shows when each member was last reviewed", async () => {
    await visit("/access-review", "Access review");
    await page.getByText(/The review has never been completed/).waitFor();
    await page.locator("tbody tr", { hasText: "grace@pages.example" }).getByText("Never", { exact: true }).waitFor();
    await page.getByRole("button", { name: "Complete review" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByLabel("Notes").fill("Checked every Admin; Engineering's mapping removed.");
    await dialog.getByRole("button", { name: "Sign off" }).click();
    await dialog.waitFor({ state: "detached" });
    const [completion] = (await asOwner(request(t.app).get("/api/v1/access-review/completions")).expect(200)).body.completions;
    expect(completion).toMatchObject({ scope: { kind: "organization" }, notes: "Checked every Admin; Engineering's mapping removed.", members: 3 });
    await page.getByText("Review completed: 3 members signed off, recorded in the audit trail.").waitFor();
    await page.getByRole("list", { name: "Recent sign-offs" }).getByText(/“Checked every Admin; Engineering's mapping removed\.”/).waitFor();
    await page.locator("tbody tr", { hasText: "grace@pages.example" }).getByText(/ by /).waitFor();
    const [event] = await t.db.models.AuditEvent.find({ organizationId: org.id, action: "access_review.completed" }).lean();
    expect(JSON.stringify(event?.after)).toContain("Checked every Admin; Engineering's mapping removed.");
    const review = (await asOwner(request(t.app).get("/api/v1/access-review")).expect(200)).body;
    expect(review.users.every((u: { lastReviewed: unknown }) => u.lastReviewed !== null)).toBe(true);
    await screenshot("access-review-completed");
    await scan("Access review (completed)");
    expect(cspRefusals).toEqual([]);
  });
});

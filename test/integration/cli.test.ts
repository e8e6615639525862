import request from "supertest";
import { runCommand, UsageError } from "../../src/cli/commands";
import { scimClient, startTestApp, type TestApp } from "../support/app";

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

const run = (...argv: string[]) => runCommand(t.services, argv);

describe("gatehouse CLI", () => {
  it("org create --json prints one JSON object with the id and a SCIM token that works", async () => {
    const { stdout, exitCode } = await run("org", "create", "Acme", "Corp", "--json");
    expect(exitCode).toBe(0);
    expect(stdout).toHaveLength(1);
    const created = JSON.parse(stdout[0]);
    expect(created).toMatchObject({ id: expect.any(String), name: "Acme Corp", scimToken: expect.stringMatching(/^gsc_/) });
    await scimClient(t.app, created.scimToken).get("/Users").expect(200);
    const listed = await run("org", "list");
    expect(listed.stdout.join("\n")).toContain(created.id);
  });

  it("creates, lists and revokes tokens; a revoked token stops working at once", async () => {
    const org = JSON.parse((await run("org", "create", "Tokens", "--json")).stdout[0]);
    const issued = JSON.parse((await run("token", "create", "--org", org.id, "--name", "Entra ID", "--json")).stdout[0]);
    expect(issued).toMatchObject({ name: "Entra ID", token: expect.stringMatching(/^gsc_/) });
    const client = scimClient(t.app, issued.token);
    await client.get("/Users").expect(200);

    const listing = JSON.parse((await run("token", "list", "--org", org.id, "--json")).stdout[0]);
    expect(listing.map((x: { name: string }) => x.name)).toEqual(["Initial SCIM token", "Entra ID"]);
    expect(JSON.stringify(listing)).not.toContain(issued.token.replace(/^gs[cv]_[0-9a-f]{24}_/, ""));
    expect(JSON.stringify(listing)).not.toContain("secretHash");

    await run("token", "revoke", issued.id);
    await client.get("/Users").expect(401);
    await scimClient(t.app, org.scimToken).get("/Users").expect(200);
  });

  it("stores only a hash of each token", async () => {
    const org = JSON.parse((await run("org", "create", "Hashes", "--json")).stdout[0]);
    const secret = org.scimToken.replace(/^gs[cv]_[0-9a-f]{24}_/, "");
    const stored = await t.db.models.ScimToken.find({ organizationId: org.id }).lean();
    expect(JSON.stringify(stored)).not.toContain(secret);
    expect(stored[0].secretHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it("audits what the operator does", async () => {
    const org = JSON.parse((await run("org", "create", "Audited", "--json")).stdout[0]);
    const events = await t.db.models.AuditEvent.find({ organizationId: org.id }).sort({ at: 1 }).lean();
    expect(events.map((e) => e.action)).toEqual(["organization.created", "scim_token.created"]);
    expect(events[0]).toMatchObject({ source: "cli", actor: { type: "operator" } });
  });

  it("service-token create --json prints exactly {\"token\"}, a token the authorization API accepts", async () => {
    const org = JSON.parse((await run("org", "create", "Service", "--json")).stdout[0]);
    const printed = JSON.parse((await run("service-token", "create", "--org", org.id, "--json")).stdout[0]);
    expect(Object.keys(printed)).toEqual(["token"]);
    expect(printed.token).toMatch(/^gsv_/);
    const user = (await scimClient(t.app, org.scimToken).post("/Users", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], userName: "svc@example.com" }).expect(201)).body.id;
    const res = await request(t.app).post("/api/v1/authorize").set("Authorization", `Bearer ${printed.token}`).send({ userId: user, action: "view_reports" }).expect(200);
    expect(res.body.allowed).toBe(true);
  });

  it("creates projects and group mappings, and changes access settings", async () => {
    const org = JSON.parse((await run("org", "create", "Mapped", "--json")).stdout[0]);
    const project = JSON.parse((await run("project", "create", "--org", org.id, "Web", "analytics", "--json")).stdout[0]);
    expect(project.name).toBe("Web analytics");
    const mapping = JSON.parse(
      (await run("mapping", "add", "--org", org.id, "--display-name", "Analytics Admins", "--role", "admin", "--project", `${project.id}:editor`, "--json")).stdout[0],
    );
    expect(mapping).toMatchObject({ match: { kind: "display_name", value: "Analytics Admins" }, organizationRole: "admin", projects: [{ projectId: project.id, role: "editor" }] });
    expect((await run("mapping", "list", "--org", org.id)).stdout.join("\n")).toContain("display_name:Analytics Admins");
    await expect(run("mapping", "add", "--org", org.id, "--display-name", "Owners", "--role", "owner")).rejects.toBeInstanceOf(UsageError);
    await expect(run("mapping", "add", "--org", org.id, "--role", "admin")).rejects.toBeInstanceOf(UsageError);
    await run("mapping", "remove", "--org", org.id, mapping.id);
    expect(JSON.parse((await run("mapping", "list", "--org", org.id, "--json")).stdout[0])).toEqual([]);
    const settings = JSON.parse((await run("access-settings", "--org", org.id, "--default-role", "none", "--read-only-may-comment", "true")).stdout[0]);
    expect(settings).toEqual({ defaultRole: "none", readOnlyMayComment: true, requireMappingForAccess: false, seatLimit: null });
    expect(JSON.parse((await run("access-settings", "--org", org.id, "--seat-limit", "25")).stdout[0]).seatLimit).toBe(25);
  });

  it("org set-owner assigns a new Owner as the operator's break-glass, audited", async () => {
    const org = JSON.parse((await run("org", "create", "Vacant", "--owner", "first@vacant.example", "--json")).stdout[0]);
    const scim = scimClient(t.app, org.scimToken);
    await scim.post("/Users", { schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], userName: "second@vacant.example" }).expect(201);
    await expect(run("org", "set-owner", "--org", org.id, "--email", "nobody@vacant.example")).rejects.toBeInstanceOf(UsageError);
    await run("org", "set-owner", "--org", org.id, "--email", "second@vacant.example");
    expect(await t.services.access.ownerOf({ organizationId: org.id })).not.toBe(org.ownerId);
    const events = await t.db.models.AuditEvent.find({ organizationId: org.id, action: "organization.ownership_transferred" }).sort({ at: 1 }).lean();
    expect(events).toHaveLength(2);
    expect(events[1]).toMatchObject({ source: "cli", actor: { type: "operator" }, before: { ownerUserId: org.ownerId } });
  });

  it("rejects bad usage with a UsageError", async () => {
    await expect(run("token", "create")).rejects.toBeInstanceOf(UsageError);
    await expect(run("org", "create")).rejects.toBeInstanceOf(UsageError);
    await expect(run("frobnicate")).rejects.toBeInstanceOf(UsageError);
    await expect(run("token", "revoke", "nope")).rejects.toBeInstanceOf(UsageError);
  });
});

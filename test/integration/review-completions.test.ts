import request from "supertest";
import { runCommand } from "../../src/cli/commands";
import { operator, startTestApp, type TestApp } from "../support/app";

/**
 * Completing an access review (issue 13 §3): the reviewer, the time, the scope and the notes are
 * recorded in the audit trail as `access_review.completed`, and the review (JSON and CSV) says when
 * each member's access was last reviewed. Run on the database path and on the resident audit index
 * the embedded server answers from.
 */
describe.each([
  ["the audit trail in the database", false],
  ["the resident audit index", true],
])("completing an access review, with %s", (_label, residentAuditIndex) => {
  let t: TestApp;
  let org: { id: string; ownerId: string };
  let ownerToken: string;
  let adminToken: string;
  let adminId: string;
  let memberToken: string;
  let memberId: string;
  let projectId: string;
  const ctx = () => ({ ...operator, organizationId: org.id });
  const cli = async (...argv: string[]) => JSON.parse((await runCommand(t.services, argv)).stdout[0]!);
  const as = (token: string) => ({
    get: (path: string) => request(t.app).get(`/api/v1${path}`).set("Authorization", `Bearer ${token}`),
    post: (path: string, body?: unknown) => request(t.app).post(`/api/v1${path}`).set("Authorization", `Bearer ${token}`).send(body as object),
  });
  const reviewed = async () => Object.fromEntries(((await as(ownerToken).get("/access-review").expect(200)).body.users as { userName: string; lastReviewed: unknown }[]).map((u) => [u.userName, u.lastReviewed]));

  beforeAll(async () => {
    t = await startTestApp({}, { residentAuditIndex });
    org = await cli("org", "create", "Review Co", "--owner", "owner@example.com", "--json");
    ownerToken = (await cli("user-token", "create", "--org", org.id, "--email", "owner@example.com", "--json")).token;
    adminId = (await t.services.users.provision(ctx(), { userName: "admin@example.com" }, "local", { role: "admin" })).id;
    adminToken = (await cli("user-token", "create", "--org", org.id, "--email", "admin@example.com", "--json")).token;
    memberId = (await t.services.users.provision(ctx(), { userName: "member@example.com" }, "local", { role: "user" })).id;
    memberToken = (await cli("user-token", "create", "--org", org.id, "--email", "member@example.com", "--json")).token;
    projectId = (await t.services.access.createProject(ctx(), "Finance")).id;
  });
  afterAll(() => t.close());

  it("lists nobody as reviewed before any sign-off", async () => {
    expect(Object.values(await reviewed()).every((last) => last === null)).toBe(true);
    expect((await as(ownerToken).get("/access-review/completions").expect(200)).body).toEqual({ completions: [] });
  });

  it("records the reviewer, time, scope and notes of an organization-wide review in the audit trail", async () => {
    const before = Date.now();
    const res = await as(adminToken).post("/access-review/completions", { notes: "Q4 review: removed two stale admins" }).expect(201);
    expect(res.body).toEqual({
      id: expect.any(String),
      at: expect.any(String),
      reviewer: { id: adminId, name: "admin@example.com" },
      scope: { kind: "organization" },
      notes: "Q4 review: removed two stale admins",
      members: 3,
    });
    expect(Date.parse(res.body.at)).toBeGreaterThanOrEqual(before);

    const trail = await as(ownerToken).get("/audit?action=access_review.completed").expect(200);
    expect(trail.body.events).toEqual([
      expect.objectContaining({
        id: res.body.id,
        at: res.body.at,
        actor: { type: "user", id: adminId, name: "admin@example.com" },
        source: "admin",
        action: "access_review.completed",
        target: { type: "organization", id: org.id },
        after: { scope: "organization", members: 3, notes: "Q4 review: removed two stale admins" },
      }),
    ]);
    const last = await reviewed();
    for (const name of ["owner@example.com", "admin@example.com", "member@example.com"]) {
      expect(last[name]).toEqual({ at: res.body.at, completionId: res.body.id, reviewer: { id: adminId, name: "admin@example.com" }, scope: "organization" });
    }
  });

  it("does not count a member who joined after the sign-off as reviewed, until the next one", async () => {
    await t.services.users.provision(ctx(), { userName: "newcomer@example.com" }, "local", { role: "user" });
    expect((await reviewed())["newcomer@example.com"]).toBeNull();
    const csv = (await as(ownerToken).get("/access-review.csv").expect(200)).text.split("\r\n");
    expect(csv[0]!.endsWith(",flags,last_reviewed")).toBe(true);
    expect(csv.find((line) => line.startsWith(`${memberId},`))).toMatch(/,\d{4}-\d\d-\d\dT[\d:.]+Z by admin@example\.com \(organization\)$/);
    expect(csv.find((line) => line.includes("newcomer@example.com"))).toMatch(/,$/);
  });

  it("records a project's review, covering the members with access to that project", async () => {
    const newcomer = (await as(ownerToken).get("/users?q=newcomer").expect(200)).body.users[0].id as string;
    await request(t.app).put(`/api/v1/users/${newcomer}`).set("Authorization", `Bearer ${ownerToken}`).send({ projects: [projectId] }).expect(200);
    const res = await as(ownerToken).post("/access-review/completions", { projectId, notes: "finance only" }).expect(201);
    // The newcomer (assigned) and the Owner and Admin (every project); not the member.
    expect(res.body).toMatchObject({ reviewer: { id: org.ownerId }, scope: { kind: "project", projectId, projectName: "Finance" }, notes: "finance only", members: 3 });
    const [event] = (await as(ownerToken).get(`/audit?action=access_review.completed&target=${projectId}`).expect(200)).body.events;
    expect(event).toMatchObject({ target: { type: "project", id: projectId, display: "Finance" }, after: { scope: "project", projectId, projectName: "Finance", members: 3 } });
    expect([...event.after.memberIds].sort()).toEqual([newcomer, org.ownerId, adminId].sort());
    const last = await reviewed();
    expect(last["newcomer@example.com"]).toMatchObject({ completionId: res.body.id, scope: "project" });
    expect(last["member@example.com"]).toMatchObject({ scope: "organization" });
    expect((await as(ownerToken).get("/access-review/completions").expect(200)).body.completions.map((c: { scope: { kind: string } }) => c.scope.kind)).toEqual(["project", "organization"]);
  });

  it("is for administrators only, with a project of the organization", async () => {
    expect((await as(memberToken).post("/access-review/completions", {}).expect(403)).body.error.code).toBe("forbidden");
    expect((await as(memberToken).get("/access-review/completions").expect(403)).body.error.code).toBe("forbidden");
    expect((await as(ownerToken).post("/access-review/completions", { projectId: "nope" }).expect(400)).body.error.code).toBe("invalid");
    expect((await as(ownerToken).post("/access-review/completions", { notes: "x".repeat(4001) }).expect(400)).body.error.code).toBe("invalid_request");
    expect((await as(ownerToken).get("/access-review/completions").expect(200)).body.completions).toHaveLength(2);
    void memberId;
  });
});

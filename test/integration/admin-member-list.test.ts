import request from "supertest";
import { runCommand } from "../../src/cli/commands";
import { residentMode, scimClient, startTestApp, userSchema, type TestApp } from "../support/app";

/**
 * The admin API's member list: search by userName, names, displayName and emails, and keyset
 * paging (`cursor` / `nextCursor`) that shows every member exactly once while members come and go.
 * test/integration/resident/admin-member-list.test.ts runs the same with the resident directory.
 */
let t: TestApp;
let org: { id: string; scimToken: string; ownerId: string };
let ownerToken: string;
const cli = async (...argv: string[]) => JSON.parse((await runCommand(t.services, argv)).stdout[0]);
const list = (query: string) => request(t.app).get(`/api/v1/users?${query}`).set("Authorization", `Bearer ${ownerToken}`);

beforeAll(async () => {
  t = await startTestApp();
  org = await cli("org", "create", "Listing Co", "--owner", "owner@example.com", "--json");
  ownerToken = (await cli("user-token", "create", "--org", org.id, "--email", "owner@example.com", "--json")).token;
  const scim = scimClient(t.app, org.scimToken);
  const people = [
    { userName: "ada@example.com", name: { givenName: "Ada", familyName: "Lovelace", formatted: "Ada King, Countess of Lovelace" }, emails: [{ value: "countess@analytical.example" }] },
    { userName: "grace@example.com", name: { givenName: "Grace", familyName: "Hopper" }, displayName: "Amazing Grace" },
    { userName: "alan@example.com", name: { givenName: "Alan", familyName: "Turing" }, emails: [{ value: "alan.turing@bletchley.example" }] },
    { userName: "edsger@example.com", displayName: "Edsger Dijkstra" },
  ];
  for (const person of people) await scim.post("/Users", { schemas: [userSchema], ...person }).expect(201);
});
afterAll(() => t.close());

const userNames = (body: { users: { userName: string }[] }) => body.users.map((u) => u.userName);

describe("member search", () => {
  it.each([
    ["userName", "ada@", ["ada@example.com"]],
    ["given name, ignoring case", "GRACE", ["grace@example.com"]],
    ["family name", "lovelace", ["ada@example.com"]],
    ["formatted name", "countess", ["ada@example.com"]],
    ["displayName", "dijkstra", ["edsger@example.com"]],
    ["email", "bletchley", ["alan@example.com"]],
    ["every word, each anywhere", "alan turing", ["alan@example.com"]],
    ["a word several share", "example.com", ["ada@example.com", "alan@example.com", "edsger@example.com", "grace@example.com", "owner@example.com"]],
    ["nobody", "zuse", []],
  ] as const)("finds members by %s", async (_what, q, expected) => {
    const res = await list(`q=${encodeURIComponent(q)}`).expect(200);
    expect(userNames(res.body)).toEqual(expected);
    expect(res.body.totalResults).toBe(res.body.users.length);
  });

  it("finds a substring inside a word only in resident mode (MongoDB search is word-prefix)", async () => {
    const res = await list("q=velac").expect(200);
    expect(userNames(res.body)).toEqual(residentMode() ? ["ada@example.com"] : []);
  });
});

describe("users stored before member search kept its terms", () => {
  it("are found once the start-up backfill gave them their terms; a user written since keeps its own", async () => {
    if (residentMode()) return; // the resident directory searches the stored values themselves
    // As an earlier version stored them: no searchTerms.
    const scim = scimClient(t.app, org.scimToken);
    const old = (await scim.post("/Users", { schemas: [userSchema], userName: "konrad@example.com", name: { givenName: "Konrad", familyName: "Zuse" } }).expect(201)).body.id;
    const rewritten = (await scim.post("/Users", { schemas: [userSchema], userName: "hedy@example.com", name: { givenName: "Hedy", familyName: "Lamarr" } }).expect(201)).body.id;
    await t.db.models.User.collection.updateMany({ _id: { $in: [old, rewritten] } } as never, { $unset: { searchTerms: "" } });
    expect(userNames((await list("q=zuse").expect(200)).body)).toEqual([]);
    // A profile write before the backfill stores terms of its own (the new name).
    await scim.patch(`/Users/${rewritten}`, { schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op: "replace", path: "name.familyName", value: "Markey" }] }).expect(200);

    expect(await t.services.users.backfillSearchTerms(org.id)).toBe(1);
    expect(userNames((await list("q=zuse").expect(200)).body)).toEqual(["konrad@example.com"]);
    expect(userNames((await list("q=markey").expect(200)).body)).toEqual(["hedy@example.com"]);
    expect(userNames((await list("q=lamarr").expect(200)).body)).toEqual([]);
    // Nothing left to fill: a second start changes nothing.
    expect(await t.services.users.backfillSearchTerms(org.id)).toBe(0);
    await scim.delete(`/Users/${old}`).expect(204);
    await scim.delete(`/Users/${rewritten}`).expect(204);
  });
});

describe("keyset paging", () => {
  it("walks every member exactly once while members are added and removed between pages", async () => {
    const own = await cli("org", "create", "Paging Co", "--owner", "owner@paging.example", "--json");
    const token = (await cli("user-token", "create", "--org", own.id, "--email", "owner@paging.example", "--json")).token;
    const scim = scimClient(t.app, own.scimToken);
    const ids = new Map<string, string>();
    for (let i = 0; i < 23; i++) {
      const userName = `m${String(i).padStart(2, "0")}@paging.example`;
      ids.set(userName, (await scim.post("/Users", { schemas: [userSchema], userName }).expect(201)).body.id);
    }
    const page = (query: string) => request(t.app).get(`/api/v1/users?count=5&${query}`).set("Authorization", `Bearer ${token}`).expect(200);

    const seen: string[] = [];
    let body = (await page("")).body;
    expect(body.startIndex).toBe(1);
    let round = 0;
    for (;;) {
      seen.push(...userNames(body));
      if (!body.nextCursor) break;
      // Between pages: one member already shown leaves, one not yet reached arrives, one behind the cursor arrives.
      round++;
      const shown = seen[0]!;
      if (ids.has(shown)) {
        await scim.delete(`/Users/${ids.get(shown)}`).expect(204);
        ids.delete(shown);
      }
      await scim.post("/Users", { schemas: [userSchema], userName: `z${round}@paging.example` }).expect(201);
      await scim.post("/Users", { schemas: [userSchema], userName: `a${round}@paging.example` }).expect(201);
      body = (await page(`cursor=${encodeURIComponent(body.nextCursor)}`)).body;
    }
    // Every member present from start to end, and every one that arrived ahead of the cursor, once each, in order.
    expect(new Set(seen).size).toBe(seen.length);
    expect([...seen]).toEqual([...seen].sort());
    for (let i = 0; i < 23; i++) expect(seen).toContain(`m${String(i).padStart(2, "0")}@paging.example`);
    for (let r = 1; r <= round; r++) expect(seen).toContain(`z${r}@paging.example`);
    expect(seen.filter((n) => n.startsWith("a"))).toEqual([]);
    expect(seen).toContain("owner@paging.example");
  });

  it("answers the position of a cursor's page, and narrows a search the same way", async () => {
    const first = (await list("count=2").expect(200)).body;
    expect(userNames(first)).toEqual(["ada@example.com", "alan@example.com"]);
    const second = (await list(`count=2&cursor=${encodeURIComponent(first.nextCursor)}`).expect(200)).body;
    expect({ startIndex: second.startIndex, users: userNames(second) }).toEqual({ startIndex: 3, users: ["edsger@example.com", "grace@example.com"] });
    const searched = (await list("q=example&count=1").expect(200)).body;
    const next = (await list(`q=example&count=1&cursor=${encodeURIComponent(searched.nextCursor)}`).expect(200)).body;
    expect(userNames(next)).toEqual(["alan@example.com"]);
    expect(next.totalResults).toBe(5);
  });

  it("keeps startIndex paging, and refuses a cursor it did not give with 400 invalid_request", async () => {
    const page = (await list("startIndex=4&count=2").expect(200)).body;
    expect({ startIndex: page.startIndex, users: userNames(page) }).toEqual({ startIndex: 4, users: ["grace@example.com", "owner@example.com"] });
    expect(page.nextCursor).toBeUndefined();
    const bad = await list("cursor=not-a-cursor").expect(400);
    expect(bad.body.error.code).toBe("invalid_request");
  });
});

import request from "supertest";
import { AuditTrail } from "../../src/audit/audit-trail";
import { decodeAuditCursor, encodeAuditCursor } from "../../src/audit/audit-query";
import { csvField, csvRecord } from "../../src/admin/csv";
import { runCommand } from "../../src/cli/commands";
import type { AuditEvent } from "../../src/domain/audit";
import type { Actor, ChangeSource } from "../../src/domain/context";
import { AccessReview, reviewFlags } from "../../src/services/access-review";
import { buildUser, operator, patchSchema, scimClient, startTestApp, type TestApp } from "../support/app";

/**
 * The audit trail and access reviews an identity administrator hands to an auditor: searchable
 * and exportable change history, and who has access and why — Admin and Owner only, one
 * organization at a time, and safe to open in a spreadsheet.
 */

let t: TestApp;
let org: { id: string; scimToken: string; ownerId: string };
let other: { id: string; scimToken: string; ownerId: string };
let ownerToken: string;
let adminToken: string;
let adminId: string;
let memberToken: string;
let serviceToken: string;

const cli = async (...argv: string[]) => JSON.parse((await runCommand(t.services, argv)).stdout[0]!);
const ctxOf = (organizationId: string) => ({ ...operator, organizationId });

beforeAll(async () => {
  t = await startTestApp();
  org = await cli("org", "create", "Audit Co", "--owner", "owner@example.com", "--json");
  other = await cli("org", "create", "Other Co", "--owner", "other.owner@example.com", "--json");
  ownerToken = (await cli("user-token", "create", "--org", org.id, "--email", "owner@example.com", "--json")).token;
  adminId = (await t.services.users.provision(ctxOf(org.id), { userName: "admin@example.com", displayName: "Ada Admin" }, "local", { role: "admin" })).id;
  adminToken = (await cli("user-token", "create", "--org", org.id, "--email", "admin@example.com", "--json")).token;
  await t.services.users.provision(ctxOf(org.id), { userName: "member@example.com" }, "local", { role: "user" });
  memberToken = (await cli("user-token", "create", "--org", org.id, "--email", "member@example.com", "--json")).token;
  serviceToken = (await cli("service-token", "create", "--org", org.id, "--json")).token;
});
afterAll(() => t.close());

const as = (token: string) => ({
  get: (path: string) => request(t.app).get(`/api/v1${path}`).set("Authorization", `Bearer ${token}`),
});

/** A trail whose clock the test sets, so events land in windows no real request writes into. */
let clock = new Date("2020-01-01T00:00:00.000Z");
const trail = () => new AuditTrail(t.db.models, () => clock);

const people: Record<string, Actor> = {
  okta: { type: "scim_token", id: "token-okta", name: "Okta SCIM" },
  grace: { type: "user", id: "user-grace", name: "grace@example.com" },
  operator: { type: "operator", id: "ops", name: "CLI operator ops" },
};

async function seed(organizationId: string, at: string, actor: Actor, source: ChangeSource, action: string, target: { type: string; id: string; display?: string }, extra: { before?: unknown; after?: unknown; reason?: string } = {}) {
  clock = new Date(at);
  return trail().record({ organizationId, actor, source, requestId: `req-${action}-${at}` }, { action, target, ...extra });
}

/** RFC 4180 as a spreadsheet reads it: quoted fields may hold commas, doubled quotes and line breaks. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === "") quoted = true;
    else if (c === ",") record.push(field), (field = "");
    else if (c === "\r" && text[i + 1] === "\n") {
      record.push(field), records.push(record), (record = []), (field = ""), i++;
    } else if (c === "\n" || c === "\r") throw new Error(`bare line break outside quotes at ${i}`);
    else if (c === '"') throw new Error(`quote inside an unquoted field at ${i}`);
    else field += c;
  }
  if (quoted) throw new Error("unterminated quoted field");
  if (field !== "" || record.length) throw new Error("the last record does not end in CRLF");
  return records;
}

/** Rows of a CSV as objects keyed by its header, checking every row has as many fields as the header. */
function csvObjects(text: string): { header: string[]; rows: Record<string, string>[] } {
  const [header, ...rows] = parseCsv(text);
  for (const row of rows) expect(row).toHaveLength(header!.length);
  return { header: header!, rows: rows.map((row) => Object.fromEntries(header!.map((name, i) => [name, row[i]!]))) };
}

const window2020 = "from=2020-01-01T00:00:00Z&to=2020-01-02T00:00:00Z";

describe("the CSV writer", () => {
  it.each([
    ["plain text", "Ada Lovelace", "Ada Lovelace"],
    ["a comma", "Lovelace, Ada", '"Lovelace, Ada"'],
    ["double quotes", 'the "Analytics" team', '"the ""Analytics"" team"'],
    ["a line feed", "line one\nline two", '"line one\nline two"'],
    ["a carriage return inside", "a\rb", '"a\rb"'],
    ["a formula", '=HYPERLINK("http://evil.example","click")', `"'=HYPERLINK(""http://evil.example"",""click"")"`],
    ["a leading plus", "+1", "'+1"],
    ["a leading minus", "-1", "'-1"],
    ["a leading at sign", "@SUM(A1:A9)", "'@SUM(A1:A9)"],
    ["a leading tab", "\t=1", "'\t=1"],
    ["a leading carriage return", "\r=1", `"'\r=1"`],
    ["a formula character later on", "a=b+c", "a=b+c"],
    ["an empty string", "", ""],
  ])("writes %s as %j → %j", (_what, value, expected) => {
    expect(csvField(value)).toBe(expected);
  });

  it("writes null and undefined as empty fields, numbers and booleans as text, records ending in CRLF", () => {
    expect(csvRecord([null, undefined, 3, true, "x"])).toBe(",,3,true,x\r\n");
  });

  it("round-trips awkward values through a strict RFC 4180 reader", () => {
    const values = ['=cmd|" /C calc"!A0', "a,b", 'say "hi"', "two\r\nlines", "-2+3", "@me", "plain"];
    const [parsed] = parseCsv(csvRecord(values));
    expect(parsed).toEqual(values.map((v) => (/^[=+\-@\t\r]/.test(v) ? `'${v}` : v)));
  });
});

describe("GET /api/v1/audit", () => {
  let seeded: { mine: string[]; theirs: string[] };

  beforeAll(async () => {
    const mine = [
      await seed(org.id, "2020-01-01T08:00:00.000Z", people.okta!, "scim", "user.provisioned", { type: "user", id: "u-1", display: "ada@example.com" }, { after: { userName: "ada@example.com" } }),
      await seed(org.id, "2020-01-01T09:00:00.000Z", people.okta!, "scim", "user.deactivated", { type: "user", id: "u-1", display: "ada@example.com" }, { before: { active: true }, after: { active: false } }),
      await seed(org.id, "2020-01-01T10:00:00.000Z", people.grace!, "admin", "user.access_changed", { type: "user", id: "u-2", display: "bob@example.com" }, { after: { role: "admin" }, reason: "on call" }),
      await seed(org.id, "2020-01-01T11:00:00.000Z", people.operator!, "cli", "mapping.created", { type: "mapping", id: "m-1", display: "display_name:Admins" }),
      await seed(org.id, "2020-01-01T12:00:00.000Z", people.grace!, "admin", "user.deactivated", { type: "user", id: "u-2", display: "bob@example.com" }),
    ];
    // The same actors, targets and actions in another organization, at the same times.
    const theirs = [
      await seed(other.id, "2020-01-01T08:30:00.000Z", people.okta!, "scim", "user.provisioned", { type: "user", id: "u-1", display: "someone.else@example.com" }),
      await seed(other.id, "2020-01-01T10:00:00.000Z", people.grace!, "admin", "user.deactivated", { type: "user", id: "u-2" }),
    ];
    seeded = { mine: mine.map((e) => e.id), theirs: theirs.map((e) => e.id) };
  });

  const ids = (res: request.Response) => (res.body.events as { id: string }[]).map((e) => e.id);

  it("answers the caller's organization's events newest first, in the documented shape", async () => {
    const res = await as(ownerToken).get(`/audit?${window2020}`).expect(200);
    expect(ids(res)).toEqual([...seeded.mine].reverse());
    expect(res.body.nextCursor).toBeUndefined();
    expect(res.body.events[2]).toEqual({
      id: seeded.mine[2],
      at: "2020-01-01T10:00:00.000Z",
      actor: { type: "user", id: "user-grace", name: "grace@example.com" },
      source: "admin",
      action: "user.access_changed",
      target: { type: "user", id: "u-2", display: "bob@example.com" },
      after: { role: "admin" },
      reason: "on call",
      requestId: "req-user.access_changed-2020-01-01T10:00:00.000Z",
    });
    // mapping.created carries neither before, after nor reason: absent, not null.
    expect(Object.keys(res.body.events[1])).toEqual(["id", "at", "actor", "source", "action", "target", "requestId"]);
  });

  it("never shows another organization's events, whatever the filter", async () => {
    for (const query of [window2020, "actor=user-grace", "target=u-1", "action=user.provisioned", "source=scim", ""]) {
      const res = await as(ownerToken).get(`/audit?${query}`).expect(200);
      for (const id of seeded.theirs) expect(ids(res)).not.toContain(id);
    }
    const theirs = await as((await cli("user-token", "create", "--org", other.id, "--email", "other.owner@example.com", "--json")).token).get(`/audit?${window2020}`).expect(200);
    expect(ids(theirs)).toEqual([...seeded.theirs].reverse());
  });

  it.each([
    ["actor", "actor=user-grace", [4, 2]],
    ["target", "target=u-1", [1, 0]],
    ["action", "action=user.deactivated", [4, 1]],
    ["source", "source=cli", [3]],
    ["all of them together", "actor=token-okta&target=u-1&action=user.deactivated&source=scim", [1]],
    ["an action nobody took", "action=user.deleted", []],
  ])("narrows by %s", async (_what, query, expected) => {
    const res = await as(ownerToken).get(`/audit?${window2020}&${query}`).expect(200);
    expect(ids(res)).toEqual(expected.map((i) => seeded.mine[i]));
  });

  it("keeps events at or after `from` and strictly before `to`", async () => {
    const res = await as(ownerToken).get("/audit?from=2020-01-01T09:00:00.000Z&to=2020-01-01T11:00:00.000Z").expect(200);
    expect(ids(res)).toEqual([seeded.mine[2], seeded.mine[1]]);
    // 13:00 at UTC+2 is 11:00Z: the 11:00 event is at `from` exactly and is kept.
    const offset = await as(ownerToken).get(`/audit?from=${encodeURIComponent("2020-01-01T13:00:00+02:00")}&to=2020-01-02`).expect(200);
    expect(ids(offset)).toEqual([seeded.mine[4], seeded.mine[3]]);
  });

  it.each([
    ["a malformed from", "from=yesterday"],
    ["a time without a zone", "from=2020-01-01T09:00:00"],
    ["an impossible date", "to=2020-13-45"],
    ["from after to", "from=2020-01-02T00:00:00Z&to=2020-01-01T00:00:00Z"],
    ["an unknown source", "source=ldap"],
    ["a limit above 1000", "limit=1001"],
    ["a zero limit", "limit=0"],
    ["a limit that is not a number", "limit=ten"],
    ["a cursor this server never issued", "cursor=not-a-cursor"],
    ["a misspelt filter", "actorId=user-grace"],
    ["an operator smuggled in as an object", "actor[$ne]=x"],
    ["a filter given twice", "action=a&action=b"],
  ])("answers 400 invalid_request to %s", async (_what, query) => {
    const res = await as(ownerToken).get(`/audit?${query}`).expect(400);
    expect(res.body.error.code).toBe("invalid_request");
  });

  it("pages through 25 events ten at a time, each exactly once and in order, ties on `at` broken by id", async () => {
    const recorded: { id: string; at: Date }[] = [];
    for (let i = 0; i < 25; i++) {
      // Five events share each millisecond, as a bulk request or a group sync produces them.
      const at = new Date(Date.UTC(2021, 0, 1, 0, 0, Math.floor(i / 5))).toISOString();
      recorded.push(await seed(org.id, at, people.okta!, "scim", "user.updated", { type: "user", id: `bulk-${i}` }));
    }
    const expected = recorded.sort((a, b) => b.at.getTime() - a.at.getTime() || (a.id < b.id ? 1 : -1)).map((e) => e.id);

    const seen: string[] = [];
    const pageSizes: number[] = [];
    let cursor: string | undefined;
    do {
      const res = await as(adminToken).get(`/audit?from=2021-01-01&to=2021-01-02&limit=10${cursor ? `&cursor=${cursor}` : ""}`).expect(200);
      pageSizes.push(res.body.events.length);
      seen.push(...ids(res));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(pageSizes).toEqual([10, 10, 5]);
    expect(seen).toEqual(expected);

    // Exactly a page's worth left: no cursor to an empty page.
    const twoPages = await as(adminToken).get(`/audit?from=2021-01-01&to=2021-01-02&limit=25`).expect(200);
    expect(twoPages.body.events).toHaveLength(25);
    expect(twoPages.body.nextCursor).toBeUndefined();
  });

  it("uses a cursor that is opaque but names the last event's time and id", () => {
    const position = { at: new Date("2021-01-01T00:00:03.000Z"), id: "e-1" };
    expect(encodeAuditCursor(position)).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeAuditCursor(encodeAuditCursor(position))).toEqual(position);
  });

  it("answers 403 forbidden to a service token and to a member below Admin, and lets an Admin read", async () => {
    for (const token of [serviceToken, memberToken]) {
      const res = await as(token).get("/audit").expect(403);
      expect(res.body.error.code).toBe("forbidden");
    }
    await as(adminToken).get(`/audit?${window2020}`).expect(200);
  });
});

describe("GET /api/v1/audit/export.csv", () => {
  const awkward = ['=HYPERLINK("http://evil.example","click")', "+1", "-1", "@SUM(A1:A9)", 'Lovelace, Ada "the Countess"\nsecond line'];
  const exportWindow = "from=2022-01-01T00:00:00Z&to=2022-01-02T00:00:00Z";

  beforeAll(async () => {
    for (const [i, display] of awkward.entries()) {
      await seed(org.id, `2022-01-01T0${i}:00:00.000Z`, people.grace!, "admin", "user.updated", { type: "user", id: `csv-${i}`, display }, { before: { displayName: "old, \"name\"" }, after: { displayName: display }, reason: i === 0 ? "=1+1" : "" });
    }
    await seed(other.id, "2022-01-01T06:00:00.000Z", people.grace!, "admin", "user.updated", { type: "user", id: "csv-elsewhere" });
  });

  it("downloads every matching event as a CSV attachment that parses back to the JSON answer", async () => {
    const res = await as(ownerToken).get(`/audit/export.csv?${exportWindow}`).expect(200);
    expect(res.headers["content-type"]).toBe("text/csv; charset=utf-8");
    expect(res.headers["content-disposition"]).toBe(`attachment; filename="audit-${org.id}-${new Date().toISOString().slice(0, 10)}.csv"`);

    const text = res.text;
    expect(text.split("\r\n")[0]).toBe("at,actor_type,actor_id,actor_name,source,action,target_type,target_id,target_display,reason,request_id,before,after");
    const { rows } = csvObjects(text);
    const json = await as(ownerToken).get(`/audit?${exportWindow}`).expect(200);
    expect(rows.map((r) => r.target_id)).toEqual(json.body.events.map((e: { target: { id: string } }) => e.target.id));
    expect(rows.map((r) => r.target_id)).not.toContain("csv-elsewhere");

    const newest = rows[0]!;
    expect(newest).toMatchObject({ at: "2022-01-01T04:00:00.000Z", actor_type: "user", actor_id: "user-grace", actor_name: "grace@example.com", source: "admin", action: "user.updated", target_type: "user" });
    expect(JSON.parse(newest.before!)).toEqual({ displayName: 'old, "name"' });
    expect(newest.after).toBe(JSON.stringify({ displayName: awkward[4] }));
  });

  it("escapes formulas with a leading apostrophe and quotes commas, quotes and line breaks", async () => {
    const text = (await as(ownerToken).get(`/audit/export.csv?${exportWindow}`).expect(200)).text;
    const byTarget = Object.fromEntries(csvObjects(text).rows.map((r) => [r.target_id, r]));
    expect(byTarget["csv-0"]!.target_display).toBe(`'=HYPERLINK("http://evil.example","click")`);
    expect(byTarget["csv-0"]!.reason).toBe("'=1+1");
    expect(byTarget["csv-1"]!.target_display).toBe("'+1");
    expect(byTarget["csv-2"]!.target_display).toBe("'-1");
    expect(byTarget["csv-3"]!.target_display).toBe("'@SUM(A1:A9)");
    expect(byTarget["csv-4"]!.target_display).toBe('Lovelace, Ada "the Countess"\nsecond line');
    expect(text).toContain(`,"'=HYPERLINK(""http://evil.example"",""click"")",`);
    expect(text).toContain(`,"Lovelace, Ada ""the Countess""\nsecond line",`);
  });

  it("reads a long trail page by page without missing or repeating an event", async () => {
    const filter = { from: new Date("2021-01-01"), to: new Date("2021-01-02") };
    const all: string[] = [];
    for await (const page of t.services.audit.searchAll(org.id, filter, 3)) {
      expect(page.length).toBeLessThanOrEqual(3);
      all.push(...page.map((e) => e.id));
    }
    const oneRead = await t.services.audit.search(org.id, filter, { limit: 1000 });
    expect(all).toHaveLength(25);
    expect(all).toEqual(oneRead.events.map((e) => e.id));
  });

  it("streams an export longer than one internal page, every event once, newest first", async () => {
    const base = Date.UTC(2023, 0, 1);
    const recorded: AuditEvent[] = [];
    for (let batch = 0; batch < 11; batch++) {
      // 1,100 events, ten to a millisecond, written a hundred at a time.
      recorded.push(
        ...(await Promise.all(
          Array.from({ length: 100 }, (_, i) =>
            new AuditTrail(t.db.models, () => new Date(base + Math.floor((batch * 100 + i) / 10))).record(
              { organizationId: org.id, actor: people.okta!, source: "scim", requestId: `bulk-${batch}` },
              { action: "group.member_added", target: { type: "group", id: `g-${batch * 100 + i}` } },
            ),
          ),
        )),
      );
    }
    const newestFirst = recorded.sort((a, b) => b.at.getTime() - a.at.getTime() || (a.id < b.id ? 1 : -1));
    const text = (await as(ownerToken).get("/audit/export.csv?from=2023-01-01&to=2023-01-02&action=group.member_added").expect(200)).text;
    const { rows } = csvObjects(text);
    expect(rows).toHaveLength(1100);
    expect(rows.map((r) => [r.at, r.target_id])).toEqual(newestFirst.map((e) => [e.at.toISOString(), e.target.id]));
  });

  it("answers 400 invalid_request as JSON to a bad filter, and 403 to a service token or a member", async () => {
    const bad = await as(ownerToken).get("/audit/export.csv?to=soon").expect(400);
    expect(bad.body.error.code).toBe("invalid_request");
    for (const token of [serviceToken, memberToken]) expect((await as(token).get("/audit/export.csv").expect(403)).body.error.code).toBe("forbidden");
  });
});

describe("access reviews", () => {
  const groupSchema = "urn:ietf:params:scim:schemas:core:2.0:Group";
  let scimUserId: string;
  let groupId: string;
  let mappingId: string;
  let projectId: string;

  beforeAll(async () => {
    const scim = scimClient(t.app, org.scimToken);
    projectId = (await cli("project", "create", "--org", org.id, "Dashboards", "--json")).id;
    mappingId = (await cli("mapping", "add", "--org", org.id, "--display-name", "Data Team", "--role", "user", "--project", `${projectId}:editor`, "--json")).id;
    scimUserId = (await scim.post("/Users", buildUser({ userName: "scim.person@example.com", displayName: "Scim Person" })).expect(201)).body.id;
    groupId = (await scim.post("/Groups", { schemas: [groupSchema], displayName: "Data Team" }).expect(201)).body.id;
    await scim.patch(`/Groups/${groupId}`, { schemas: [patchSchema], Operations: [{ op: "add", path: "members", value: [{ value: scimUserId }] }] }).expect(204);
  });

  it("lists every member with their role and where it came from, including a SCIM user in a mapped group", async () => {
    const res = await as(ownerToken).get("/access-review").expect(200);
    expect(res.body).toMatchObject({ organizationId: org.id, ownerUserId: org.ownerId, vacantOwnership: false });
    expect(Date.parse(res.body.generatedAt)).not.toBeNaN();
    const byName = Object.fromEntries((res.body.users as { userName: string }[]).map((u) => [u.userName, u]));
    expect(Object.keys(byName)).toEqual(["admin@example.com", "member@example.com", "owner@example.com", "scim.person@example.com"]);

    expect(byName["scim.person@example.com"]).toEqual({
      id: scimUserId,
      userName: "scim.person@example.com",
      displayName: "Scim Person",
      active: true,
      managedBy: "scim",
      managedVia: "Initial SCIM token",
      created: expect.any(String),
      role: "user",
      roleSources: [{ kind: "mapping", role: "user", mappingId, groupId, groupName: "Data Team" }],
      allProjects: false,
      projects: [{ id: projectId, name: "Dashboards", role: "editor", sources: [{ kind: "mapping", role: "editor", mappingId, groupId, groupName: "Data Team" }] }],
      lastLogin: null,
      flags: [],
      lastReviewed: null,
    });
    expect(byName["owner@example.com"]).toMatchObject({ id: org.ownerId, role: "owner", roleSources: [{ kind: "owner", role: "owner" }], allProjects: true, flags: ["elevated"] });
    expect(byName["admin@example.com"]).toMatchObject({ id: adminId, role: "admin", roleSources: [{ kind: "local", role: "admin" }], flags: ["elevated"] });
    expect(byName["member@example.com"]).toMatchObject({ role: "user", flags: [] });
    expect(byName["other.owner@example.com"]).toBeUndefined();
  });

  it("shows a deactivated member without a role, saying why", async () => {
    const gone = await t.services.users.provision(ctxOf(org.id), { userName: "left.company@example.com", active: false }, "local", { role: "admin" });
    const res = await as(adminToken).get("/access-review").expect(200);
    const row = (res.body.users as { id: string }[]).find((u) => u.id === gone.id);
    expect(row).toMatchObject({ active: false, role: null, denial: "user is deactivated", roleSources: [], flags: [] });
    await t.services.users.remove(ctxOf(org.id), gone.id);
  });

  it("opens as valid CSV with one row per member and readable sources", async () => {
    const res = await as(ownerToken).get("/access-review.csv").expect(200);
    expect(res.headers["content-type"]).toBe("text/csv; charset=utf-8");
    expect(res.headers["content-disposition"]).toMatch(new RegExp(`^attachment; filename="access-review-${org.id}-\\d{4}-\\d{2}-\\d{2}\\.csv"$`));
    const { header, rows } = csvObjects(res.text);
    expect(header).toEqual(["user_id", "user_name", "display_name", "active", "managed_by", "role", "role_sources", "projects", "last_login", "flags", "last_reviewed"]);
    expect(rows.map((r) => r.user_name)).toEqual(["admin@example.com", "member@example.com", "owner@example.com", "scim.person@example.com"]);
    const scimRow = rows.find((r) => r.user_id === scimUserId)!;
    expect(scimRow).toEqual({
      user_id: scimUserId,
      user_name: "scim.person@example.com",
      display_name: "Scim Person",
      active: "true",
      managed_by: "scim",
      role: "user",
      role_sources: `user from mapping ${mappingId} (group "Data Team")`,
      projects: `Dashboards: editor (editor from mapping ${mappingId} (group "Data Team"))`,
      last_login: "",
      flags: "",
      last_reviewed: "",
    });
    expect(rows.find((r) => r.user_id === org.ownerId)).toMatchObject({ role: "owner", role_sources: "owner from ownership", projects: "all projects: editor", flags: "elevated" });
  });

  it("flags members not seen for 90 days against the injected clock, paging through users", async () => {
    const created = (await as(ownerToken).get("/access-review").expect(200)).body.users as { id: string; created: string }[];
    const newest = Math.max(...created.map((u) => Date.parse(u.created)));
    const oldest = Math.min(...created.map((u) => Date.parse(u.created)));
    const dayMs = 24 * 60 * 60 * 1000;
    const at = (ms: number) => () => new Date(ms);

    const soon = await new AccessReview(t.services.users, t.services.access, at(oldest + 89 * dayMs), 2).review({ organizationId: org.id });
    expect(soon.users.flatMap((u) => u.flags)).not.toContain("inactive_90_days");
    const later = await new AccessReview(t.services.users, t.services.access, at(newest + 91 * dayMs), 2).review({ organizationId: org.id });
    expect(later.users.map((u) => u.id).sort()).toEqual(created.map((u) => u.id).sort());
    expect(later.users.every((u) => u.flags.includes("inactive_90_days"))).toBe(true);
  });

  it.each([
    ["an owner created yesterday", { role: "owner" as const, sources: [{ kind: "owner" as const }], created: new Date("2025-05-31") }, ["elevated"]],
    ["an admin last seen 91 days ago", { role: "admin" as const, sources: [], lastLogin: new Date("2025-03-02"), created: new Date("2020-01-01") }, ["inactive_90_days", "elevated"]],
    ["a user last seen 89 days ago, created long ago", { role: "user" as const, sources: [], lastLogin: new Date("2025-03-04"), created: new Date("2020-01-01") }, []],
    ["a user who never logged in, created 91 days ago", { role: "user" as const, sources: [], created: new Date("2025-03-02") }, ["inactive_90_days"]],
    ["a read-only member with a temporary project grant", { role: "read_only" as const, sources: [{ kind: "default" as const }, { kind: "temporary" as const }], created: new Date("2025-05-01") }, ["temporary_grant"]],
    ["a member with no access", { sources: [], created: new Date("2025-05-01") }, []],
  ])("flags %s", (_who, member, expected) => {
    expect(reviewFlags(member, new Date("2025-06-01T00:00:00Z"))).toEqual(expected);
  });

  it("reports vacant ownership once the owner's user is deleted, in JSON and as the first CSV row", async () => {
    const vacant = await cli("org", "create", "Vacant Co", "--owner", "founder@example.com", "--json");
    await t.services.users.provision(ctxOf(vacant.id), { userName: "deputy@example.com" }, "local", { role: "admin" });
    const deputy = (await cli("user-token", "create", "--org", vacant.id, "--email", "deputy@example.com", "--json")).token;
    expect((await as(deputy).get("/access-review").expect(200)).body.vacantOwnership).toBe(false);

    await t.services.users.remove(ctxOf(vacant.id), vacant.ownerId);
    const json = await as(deputy).get("/access-review").expect(200);
    // Deleting the Owner vacates ownership (services/index.ts): no owner id is left to point at.
    expect(json.body).toMatchObject({ organizationId: vacant.id, ownerUserId: null, vacantOwnership: true });
    expect(json.body.users.map((u: { userName: string }) => u.userName)).toEqual(["deputy@example.com"]);

    const { rows } = csvObjects((await as(deputy).get("/access-review.csv").expect(200)).text);
    expect(rows[0]).toMatchObject({ user_id: "", flags: "vacant_ownership" });
    expect(rows.slice(1).map((r) => r.user_name)).toEqual(["deputy@example.com"]);
  });

  it("reports vacant ownership for an organization that never had an owner", async () => {
    const ownerless = await cli("org", "create", "Ownerless Co", "--json");
    const report = await t.services.accessReview.review({ organizationId: ownerless.id });
    expect(report).toMatchObject({ vacantOwnership: true, users: [] });
    expect(report.ownerUserId).toBeUndefined();
  });

  it("answers 403 forbidden to a service token and to a member below Admin", async () => {
    for (const path of ["/access-review", "/access-review.csv"]) {
      for (const token of [serviceToken, memberToken]) {
        const res = await as(token).get(path).expect(403);
        expect(res.body.error.code).toBe("forbidden");
      }
    }
  });
});

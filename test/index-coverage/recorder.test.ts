import { guarded } from "../../src/storage/database-errors";
import { buildUser, scimClient, startTestApp, type TestApp } from "../support/app";
import { judgeQueries } from "./coverage-check";
import { declaredIndexes } from "./coverage-rule";
import { recordQueries, type RecordedQuery } from "./recorder";

/**
 * The recording and the check together, on the real application and database: an application
 * query no index serves is caught, with where it was sent from, and a query a test sends to look
 * at stored state is not held against the application's indexes.
 *
 * (test/support/record-queries.ts leaves this folder's queries out of the suite's records: the
 * uncovered query below is sent on purpose.)
 */
let t: TestApp;
let recorded: RecordedQuery[] = [];
let stop: () => void;

beforeAll(async () => {
  stop = recordQueries((record) => recorded.push(record));
  t = await startTestApp();
});
afterAll(async () => {
  stop();
  await t.close();
});

async function recording(action: () => Promise<unknown>): Promise<RecordedQuery[]> {
  recorded = [];
  await action();
  return recorded;
}

it("records a SCIM list request's count and page queries as the application's, with where they were sent from", async () => {
  const org = await t.organization();
  const scim = scimClient(t.app, org.token);
  await scim.post("/Users", buildUser({ title: "Engineer" })).expect(201);
  // title is caseExact false (RFC 7643 §4.1.1): compared with a case-insensitive regular expression.
  const queries = await recording(() => scim.get(`/Users?filter=${encodeURIComponent('title eq "Engineer"')}`).expect(200));

  const page = queries.filter((q) => q.shape.collection === "users" && q.shape.operation !== "update");
  expect(page.map((q) => [q.key, q.origin])).toEqual([
    ["users.count {deletedAt: not-exists, organizationId: eq, title: regex}", "application"],
    ["users.find {deletedAt: not-exists, organizationId: eq, title: regex} sort {created: 1, _id: 1}", "application"],
  ]);
  expect(page.every((q) => q.site?.startsWith("src/storage/directory-store.ts:"))).toBe(true);
  // Served: the organization's equality prefix, and its creation order with the id breaking ties.
  expect(judgeQueries(page, declaredIndexes(), []).uncovered).toEqual([]);
});

it("catches an application query that no declared index serves", async () => {
  const org = await t.organization();
  // Sent through the storage layer's own wrapper, as a store would send it: by job title alone,
  // across organizations — no index begins with `title`, so MongoDB would scan every user.
  // (Only the users collection: the token's last use is written in the background meanwhile.)
  const queries = (await recording(() => guarded(() => t.db.models.User.find({ title: "Engineer" }).lean()))).filter((q) => q.shape.collection === "users");
  expect(queries.map((q) => [q.key, q.origin])).toEqual([["users.find {title: eq}", "application"]]);

  const report = judgeQueries(queries, declaredIndexes(), []);
  expect(report.uncovered.map((v) => v.key)).toEqual(["users.find {title: eq}"]);
  expect(report.uncovered[0]!.sites[0]).toMatch(/^src\/storage\/database-errors\.ts:\d+$/);

  // An intentional-scan entry is the only way through, and it must name the shape exactly.
  const allowed = judgeQueries(queries, declaredIndexes(), [{ shape: "users.find {title: eq}", reason: "a test" }]);
  expect(allowed.uncovered).toEqual([]);
  expect(org.id).toBeTruthy();
});

it("does not hold a test's own look at stored state against the application's indexes", async () => {
  const queries = (await recording(() => t.db.models.AuditEvent.find({ "target.id": "nobody" }).lean())).filter((q) => q.shape.collection === "audit_events");
  expect(queries.map((q) => [q.key, q.origin])).toEqual([["audit_events.find {target.id: eq}", "test"]]);
  expect(judgeQueries(queries, declaredIndexes(), []).verdicts).toEqual([]);
});

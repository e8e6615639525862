import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { startEmbeddedDatabase, type EmbeddedDatabase } from "../../src/storage/embedded-database";
import { freePort } from "../support/ports";
import { DatabaseProxy, portOf, ServerProcess, sleep } from "./support";

/**
 * Fault injection against the real embedded database and the built server (issue 10): the database
 * is frozen (SIGSTOP … SIGCONT) and killed under concurrent writes, the server process is killed
 * and started again, and the database is made to apply writes without answering. Afterwards the
 * state is checked from the HTTP API alone.
 *
 * The client behaves like an identity provider: a request answered 503 (or cut off with the
 * server) is retried until it gets a definite answer; a create retried after an applied attempt
 * gets 409 and the client then finds the user by userName. Every attempt, its X-Request-Id and
 * status are recorded.
 *
 * GATEHOUSE_FAULTS_LOG=<file> keeps the server's debug log (written there when a change gets no
 * definite answer) and reports database restarts and proxy connection errors on stderr.
 *
 * This file has a FerretDB of its own (not the run's shared one), so freezing it disturbs no other
 * test file; DATABASE_TIMEOUT_MS is 2 s (heartbeat every 4 s), so the server notices a stall within about 6 s;
 * shorter timeouts made a freshly restarted database or server miss its handshake on a loaded
 * machine (the full `npm test` on 2 shared cores).
 */

const root = path.resolve(__dirname, "..", "..");
const cliEntry = path.join(root, "dist", "cli", "main.js");
const userSchema = "urn:ietf:params:scim:schemas:core:2.0:User";
const groupSchema = "urn:ietf:params:scim:schemas:core:2.0:Group";
const patchSchema = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const WORKERS = 8;

interface Attempt {
  requestId: string;
  status: number | "cut";
  ms: number;
}

interface Answer {
  status: number;
  body: any;
}

/** One change the client wanted, with every attempt it took. */
interface Change {
  kind: "create" | "add" | "remove" | "rename";
  userName: string;
  attempts: Attempt[];
  answer?: Answer;
}

let dataDir: string;
let database: EmbeddedDatabase;
let proxy: DatabaseProxy;
let server: ServerProcess;
let base: string;
let scimToken: string;
let ownerToken: string;
let ownerId: string;
let groupId: string;
let sequence = 0;
const changes: Change[] = [];
const attempts: Attempt[] = [];
/** Each user the client knows of, by id: its userName now, as the client last set it. */
const users = new Map<string, string>();
const members = new Set<string>();
/**
 * Creates answered 409 after an uncertain attempt (503 or cut) whose user the userName lookup then
 * did not find: the identity provider can neither create nor find it. Checked apart (see the last
 * describe block).
 */
const unfindable: string[] = [];
/** Set when the file ends (or a phase failed): simulated clients stop instead of outliving the test. */
let aborted = false;
const running = new Set<Promise<unknown>>();

async function send(method: string, pathAndQuery: string, body?: unknown, token = scimToken): Promise<Answer & { attempt: Attempt }> {
  const requestId = `faults-${++sequence}`;
  const started = Date.now();
  const attempt: Attempt = { requestId, status: "cut", ms: 0 };
  attempts.push(attempt);
  try {
    const res = await fetch(`${base}${pathAndQuery}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/scim+json", Accept: "application/json", "X-Request-Id": requestId },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(20_000),
    });
    const text = await res.text();
    attempt.status = res.status;
    attempt.ms = Date.now() - started;
    return { status: res.status, body: text ? JSON.parse(text) : undefined, attempt };
  } catch {
    attempt.ms = Date.now() - started;
    return { status: 0, body: undefined, attempt };
  }
}

/** Sends until the answer is definite (not 503, not a cut connection), as an identity provider retries. */
async function change(kind: Change["kind"], userName: string, method: string, pathAndQuery: string, body: unknown): Promise<Change> {
  const record: Change = { kind, userName, attempts: [] };
  changes.push(record);
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (aborted) throw new Error("aborted: the test file ended");
    const answer = await send(method, pathAndQuery, body);
    record.attempts.push(answer.attempt);
    if (answer.status !== 503 && answer.status !== 0) {
      record.answer = { status: answer.status, body: answer.body };
      return record;
    }
    if (Date.now() > deadline) {
      if (process.env.GATEHOUSE_FAULTS_LOG) writeFileSync(process.env.GATEHOUSE_FAULTS_LOG, server.log.join("\n"));
      throw new Error(`${kind} ${userName}: no definite answer within 30 s: ${JSON.stringify(record.attempts.slice(-5))}\nserver log:\n${server.log.slice(-30).join("\n")}`);
    }
    await sleep(100);
  }
}

/** GET with retries (verification happens on a healthy system, but the server may still be starting). */
async function read(pathAndQuery: string, token = scimToken): Promise<any> {
  for (let i = 0; i < 50; i++) {
    const answer = await send("GET", pathAndQuery, undefined, token);
    if (answer.status === 200) return answer.body;
    if (answer.status !== 503 && answer.status !== 0) throw new Error(`GET ${pathAndQuery}: ${answer.status} ${JSON.stringify(answer.body)}`);
    await sleep(200);
  }
  throw new Error(`GET ${pathAndQuery}: no answer`);
}

const lookup = (userName: string) => read(`/scim/v2/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`);

/** One simulated user's life: created, added to the group, maybe removed, maybe renamed. */
async function lifecycle(phase: string, n: number): Promise<void> {
  let userName = `${phase}-${n}@faults.example`;
  const created = await change("create", userName, "POST", "/scim/v2/Users", { schemas: [userSchema], userName, active: true });
  let id: string;
  if (created.answer!.status === 201) id = created.answer!.body.id;
  else if (created.answer!.status === 409) {
    // An earlier attempt was applied although it was answered 503: the identity provider finds it.
    const found = await lookup(userName);
    if (found.totalResults !== 1) {
      unfindable.push(userName);
      return;
    }
    id = found.Resources[0].id;
  } else throw new Error(`create ${userName}: ${created.answer!.status} ${JSON.stringify(created.answer!.body)}`);
  users.set(id, userName);

  const added = await change("add", userName, "PATCH", `/scim/v2/Groups/${groupId}`, { schemas: [patchSchema], Operations: [{ op: "add", path: "members", value: [{ value: id }] }] });
  if (added.answer!.status >= 300) throw new Error(`add ${userName}: ${added.answer!.status} ${JSON.stringify(added.answer!.body)}`);
  members.add(id);

  if (n % 3 === 0) {
    const removed = await change("remove", userName, "PATCH", `/scim/v2/Groups/${groupId}`, { schemas: [patchSchema], Operations: [{ op: "remove", path: `members[value eq "${id}"]` }] });
    if (removed.answer!.status >= 300) throw new Error(`remove ${userName}: ${removed.answer!.status} ${JSON.stringify(removed.answer!.body)}`);
    members.delete(id);
  }
  if (n % 4 === 0) {
    const renamed = `${phase}-${n}-renamed@faults.example`;
    const answer = await change("rename", userName, "PATCH", `/scim/v2/Users/${id}`, { schemas: [patchSchema], Operations: [{ op: "replace", path: "userName", value: renamed }] });
    if (answer.answer!.status >= 300) throw new Error(`rename ${userName}: ${answer.answer!.status} ${JSON.stringify(answer.answer!.body)}`);
    userName = renamed;
    users.set(id, userName);
  }
}

/**
 * WORKERS clients write concurrently until the fault has run its course (and at least `minimum`
 * users exist in this phase), so writes are in flight before, during and after it.
 */
async function underConcurrentWrites(phase: string, fault: () => Promise<void>, minimum = 24): Promise<number> {
  let done = false;
  let next = 0;
  const workers = Array.from({ length: WORKERS }, async () => {
    while ((!done || next < minimum) && !aborted) {
      await lifecycle(phase, next++);
      await sleep(10);
    }
  });
  const all = Promise.allSettled(workers);
  running.add(all);
  void all.then(() => running.delete(all));
  await sleep(300);
  try {
    await fault();
  } finally {
    done = true;
  }
  const failed = (await all).find((result): result is PromiseRejectedResult => result.status === "rejected");
  if (failed) throw failed.reason;
  return next;
}

async function cli(...args: string[]): Promise<any> {
  const { stdout } = await promisify(execFile)(process.execPath, [cliEntry, ...args, "--json"], {
    env: { ...process.env, MONGODB_URI: `${database.uri}faults`, DATABASE_TIMEOUT_MS: "5000" },
  });
  return JSON.parse(stdout);
}

/** Every event of the trail, all pages. */
async function auditTrail(): Promise<Array<{ action: string; requestId: string; target: { id: string } }>> {
  const events = [];
  let cursor: string | undefined;
  do {
    const page = await read(`/api/v1/audit?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`, ownerToken);
    events.push(...page.events);
    cursor = page.nextCursor;
  } while (cursor);
  return events;
}

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), "gatehouse-faults-"));
  database = await startEmbeddedDatabase(dataDir);
  proxy = await DatabaseProxy.start(portOf(database.uri));
  const organization = await cli("org", "create", "Faults Inc", "--owner", "owner@faults.example");
  scimToken = organization.scimToken;
  ownerId = organization.ownerId;
  ownerToken = (await cli("user-token", "create", "--org", organization.id, "--email", "owner@faults.example")).token;
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  server = new ServerProcess(base, {
    MONGODB_URI: `mongodb://127.0.0.1:${proxy.port}/faults?directConnection=true`,
    PORT: String(port),
    HOST: "127.0.0.1",
    PUBLIC_BASE_URL: base,
    DATABASE_TIMEOUT_MS: "2000",
    AUTH_FAILURE_LIMIT: "1000000",
    LOG_LEVEL: process.env.GATEHOUSE_FAULTS_LOG ? "debug" : "warn",
  });
  await server.start();
  const group = await change("create", "(group)", "POST", "/scim/v2/Groups", { schemas: [groupSchema], displayName: "Fault Line" });
  expect(group.answer!.status).toBe(201);
  groupId = group.answer!.body.id;
}, 60_000);

/** No answer was a 5xx other than 503; when one was, the failure names the server's log of it (its error). */
function expectNoOther5xx(during: Attempt[]): void {
  const other = during.filter((a) => typeof a.status === "number" && a.status >= 500 && a.status !== 503);
  if (!other.length) return;
  const logged = other.map((a) => server.failedRequests.find((line) => line.includes(a.requestId)) ?? `${a.requestId}: no "request failed" line`);
  throw new Error(`${other.length} answers were a 5xx other than 503: ${JSON.stringify(other.slice(0, 5))}\nthe server's log of them:\n${logged.slice(0, 5).join("\n")}`);
}

afterAll(async () => {
  aborted = true;
  await Promise.all(running);
  await server?.stop();
  await proxy?.close();
  await database?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe("faults under concurrent writes", () => {
  // The server notices a frozen database by the driver's heartbeat (every 2 × DATABASE_TIMEOUT_MS
  // = 4 s, failing after its own timeout): up to about 6 s into the freeze, then 503s. A 7 s freeze
  // left too little after that — one run in five had no 503 at all, and three runs in a row of one
  // CI run — so the freeze lasts 11 s, every answer still well within the 15 s bound below.
  it("survives the database frozen for 11 s (SIGSTOP, SIGCONT) with 503s and no other 5xx", async () => {
    const before = attempts.length;
    await underConcurrentWrites("frozen", async () => {
      process.kill(database.pid, "SIGSTOP");
      try {
        await sleep(11_000);
      } finally {
        process.kill(database.pid, "SIGCONT");
      }
    });
    const during = attempts.slice(before);
    // The stall was seen (503s), and nothing hung: every answer came well within the 20 s cap.
    expect(during.filter((a) => a.status === 503).length).toBeGreaterThan(0);
    expectNoOther5xx(during);
    expect(Math.max(...during.map((a) => a.ms))).toBeLessThan(15_000);
  }, 60_000);

  it("survives the database killed (SIGKILL) and started again on the same files", async () => {
    const before = attempts.length;
    await underConcurrentWrites("killed-db", async () => {
      process.kill(database.pid, "SIGKILL");
      await sleep(500);
      const restarting = Date.now();
      database = await startEmbeddedDatabase(dataDir);
      proxy.retarget(portOf(database.uri));
      if (process.env.GATEHOUSE_FAULTS_LOG) process.stderr.write(`restarted the database in ${Date.now() - restarting} ms at ${new Date().toISOString()} on ${database.uri}\n`);
    });
    // Requests in flight at the kill get 503 or, when the driver's one retry reaches the restarted
    // database, succeed: either is fine; nothing else is.
    const during = attempts.slice(before);
    expect(during.length).toBeGreaterThan(0);
    expectNoOther5xx(during);
  }, 60_000);

  it("survives the server process killed (SIGKILL) and started again", async () => {
    const before = attempts.length;
    await underConcurrentWrites("killed-server", async () => {
      await server.kill();
      await server.start();
    });
    const during = attempts.slice(before);
    expect(during.filter((a) => a.status === "cut").length).toBeGreaterThan(0);
    expectNoOther5xx(during);
  }, 60_000);

  it("answers 503 to a create the database applied without answering, and its audit event reaches the trail within a minute", async () => {
    const userName = "unanswered@faults.example";
    proxy.stallAfter("insert", "users");
    let answer;
    try {
      answer = await send("POST", "/scim/v2/Users", { schemas: [userSchema], userName, active: true });
      expect(proxy.isStalled).toBe(true);
    } finally {
      proxy.resume();
    }
    expect(answer.status).toBe(503);
    expect(answer.attempt.ms).toBeLessThan(15_000);
    // It was applied: the identity provider's lookup finds it.
    const found = await lookup(userName);
    expect(found.totalResults).toBe(1);
    const id = found.Resources[0].id;
    users.set(id, userName);

    const resumed = Date.now();
    let event;
    while (!event && Date.now() - resumed < 60_000) {
      event = (await auditTrail()).find((e) => e.action === "user.provisioned" && e.target.id === id);
      if (!event) await sleep(500);
    }
    expect(event).toMatchObject({ requestId: answer.attempt.requestId });
    // Measured: about 5–10 s (the recovery scheduled 5 s after the failed write, retried until the database answers).
    expect(Date.now() - resumed).toBeLessThan(60_000);
  }, 75_000);
});

describe("a create applied by the database but answered with an error", () => {
  let cutAttempt: Attempt;
  const userName = "cut-off@faults.example";

  it("answers 503 when the connection is cut after the database received the insert, and the audit event still reaches the trail within a minute", async () => {
    proxy.cutAfter("insert", "users");
    const answer = await send("POST", "/scim/v2/Users", { schemas: [userSchema], userName, active: true });
    expect(proxy.cuts).toBe(1);
    expect(answer.status).toBe(503);
    cutAttempt = answer.attempt;
    changes.push({ kind: "create", userName, attempts: [cutAttempt] });
    const started = Date.now();
    let event;
    while (!event && Date.now() - started < 60_000) {
      event = (await auditTrail()).find((e) => e.requestId === cutAttempt.requestId);
      if (!event) await sleep(500);
    }
    expect(event).toMatchObject({ action: "user.provisioned", target: { display: userName } });
  }, 75_000);

});

describe("what the HTTP API shows afterwards", () => {
  let listed: Array<{ id: string; userName: string }>;
  let trail: Awaited<ReturnType<typeof auditTrail>>;

  beforeAll(async () => {
    const page = await read("/scim/v2/Users?count=1000");
    listed = page.Resources.filter((u: { id: string }) => u.id !== ownerId);
    // Give the recovery scheduled by the last failures its time (it retries every 5 s, twice).
    const deadline = Date.now() + 30_000;
    for (;;) {
      trail = await auditTrail();
      const provisioned = new Set(trail.filter((e) => e.action === "user.provisioned").map((e) => e.target.id));
      if (listed.every((u) => provisioned.has(u.id)) || Date.now() > deadline) break;
      await sleep(1000);
    }
  }, 60_000);

  it("answered no 5xx other than 503 to any request", () => {
    expectNoOther5xx(attempts);
  });

  it("holds every acknowledged user exactly once, under its last acknowledged userName", () => {
    expect(changes.filter((c) => c.kind === "create" && c.answer).length).toBeGreaterThan(3 * 24);
    const byName = new Map<string, string[]>();
    for (const user of listed) byName.set(user.userName.toLowerCase(), [...(byName.get(user.userName.toLowerCase()) ?? []), user.id]);
    expect([...byName].filter(([, ids]) => ids.length > 1)).toEqual([]);
    const stored = new Map(listed.map((u) => [u.id, u.userName]));
    expect([...users].filter(([id, userName]) => stored.get(id) !== userName).map(([id, userName]) => ({ id, userName, stored: stored.get(id) }))).toEqual([]);
  });

  it("holds no user the client did not ask for: any user beyond the acknowledged ones is a create whose attempt was answered 503 or cut", () => {
    const uncertain = new Set(changes.filter((c) => c.kind === "create" && c.attempts.some((a) => a.status === 503 || a.status === "cut")).map((c) => c.userName.toLowerCase()));
    expect(listed.filter((u) => !users.has(u.id) && !uncertain.has(u.userName.toLowerCase()))).toEqual([]);
  });

  it("finds each acknowledged user by its stored userName, and no one by a name given up in a rename", async () => {
    const disagreements = [];
    for (const user of listed.filter((u) => users.has(u.id))) {
      const found = await lookup(user.userName);
      const ids = found.Resources.map((r: { id: string }) => r.id);
      if (ids.length !== 1 || ids[0] !== user.id) disagreements.push({ userName: user.userName, id: user.id, found: ids });
    }
    for (const c of changes.filter((c) => c.kind === "rename" && c.answer && c.answer.status < 300)) {
      const found = await lookup(c.userName);
      if (found.totalResults !== 0) disagreements.push({ formerUserName: c.userName, found: found.Resources.map((r: { id: string }) => r.id) });
    }
    expect(disagreements).toEqual([]);
  }, 60_000);

  it("has the audit event of every acknowledged change, and one provisioning event per user", () => {
    const recorded = new Set(trail.map((e) => e.requestId));
    // The attempt that applied a change carries its event: the 2xx itself, or an earlier attempt
    // answered 503 whose write was applied anyway (then the 2xx retry changed nothing).
    const unrecorded = changes
      .filter((c) => c.answer && c.answer.status < 300)
      .filter((c) => !c.attempts.some((a) => recorded.has(a.requestId)))
      .map((c) => ({ kind: c.kind, userName: c.userName, attempts: c.attempts }));
    expect(unrecorded).toEqual([]);
    // Every 201 has its own event.
    const created = changes.filter((c) => c.answer?.status === 201).map((c) => c.attempts[c.attempts.length - 1].requestId);
    expect(created.filter((id) => !recorded.has(id))).toEqual([]);
    const provisioned = new Map<string, number>();
    for (const e of trail.filter((e) => e.action === "user.provisioned")) provisioned.set(e.target.id, (provisioned.get(e.target.id) ?? 0) + 1);
    expect(listed.filter((u) => provisioned.get(u.id) !== 1).map((u) => ({ ...u, events: provisioned.get(u.id) ?? 0 }))).toEqual([]);
  });
});

/**
 * Kept apart: on this branch it can fail until the write-integrity fixes of issue 10 items 1–4
 * (the FerretDB write queue lost on reconnect) are merged; see the branch report.
 */
describe("group membership after the faults", () => {
  it("equals the acknowledged adds minus the acknowledged removes", async () => {
    const group = await read(`/scim/v2/Groups/${groupId}`);
    const stored = new Set<string>((group.members ?? []).map((m: { value: string }) => m.value));
    expect({ missing: [...members].filter((id) => !stored.has(id)), unexpected: [...stored].filter((id) => !members.has(id)) }).toEqual({ missing: [], unexpected: [] });
  });
});

/**
 * A defect this suite found (src/storage/users.ts, `insert`): when the user document's insert
 * failed with a network error, the clean-up released the userName claim although the insert may
 * have been applied. The user then existed without its lookup key: the identity provider's retry
 * got 409 (the unique index) and its `userName eq` lookup found nothing, for ever. Reproduced every
 * time by cutting the connection after the insert. Now the claim stays when the outcome is
 * uncertain (a claim whose owner does not exist is stale and the next claimant takes it over).
 */
describe("a create applied but answered with a network error: its lookup key stays", () => {
  const userName = "cut-off@faults.example";

  it("answers the identity provider's retry with 409 uniqueness, and its userName lookup then finds the user", async () => {
    const retry = await change("create", userName, "POST", "/scim/v2/Users", { schemas: [userSchema], userName, active: true });
    changes.pop();
    expect(retry.answer!.status).toBe(409);
    const found = await lookup(userName);
    expect(found.totalResults).toBe(1);
    users.set(found.Resources[0].id, userName);
  });

  it("left no create of the fault phases that the client could neither repeat nor find", () => {
    expect(unfindable).toEqual([]);
  });
});

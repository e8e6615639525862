import mongoose from "mongoose";
import request from "supertest";
import { AuthFailureCounters } from "../../src/storage/auth-failures";
import { defineModels } from "../../src/storage/models";
import { startTestApp, type TestApp } from "../support/app";
import { testServerUri, uniqueDatabaseName } from "../support/database";
import { registerWriteQueue, WriteQueue } from "../../src/storage/write-queue";

/**
 * Issue 10, item 9: the failed-authentication limit must hold under parallel requests. Each round
 * uses a client address of its own (X-Forwarded-For behind one trusted proxy), so rounds do not
 * share a counter.
 *
 * Repetitions: before the fix (read the count, then increment) a burst of 16 after 12 failures
 * let all 16 through in each of 10 measured rounds — every request read the count before any
 * increment landed — so a single round already fails; ROUNDS = 10 makes a lucky pass (a burst
 * that happens to arrive one request at a time, ten times over) practically impossible while the
 * file stays within a few seconds.
 */
const ROUNDS = 10;
const LIMIT = 20;
const PRIOR_FAILURES = 12;
const BURST = 16;
/** The counters' fixed window: a round that straddles a window's end is run again (its counts start over at the boundary). */
const WINDOW_SECONDS = 86_400;
const windowNow = () => Math.floor(Date.now() / (WINDOW_SECONDS * 1000));

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({ AUTH_FAILURE_LIMIT: String(LIMIT), AUTH_FAILURE_WINDOW_SECONDS: String(WINDOW_SECONDS), TRUST_PROXY_HOPS: "1" });
});

afterAll(async () => {
  await t.close();
});

const wrongToken = (ip: string) => request(t.app).get("/scim/v2/Users").set("Authorization", "Bearer gsc_000000000000000000000000_wrong").set("X-Forwarded-For", ip);

describe("failed-authentication limit under parallel requests", () => {
  it(`lets exactly ${LIMIT - PRIOR_FAILURES} of ${BURST} concurrent wrong tokens through after ${PRIOR_FAILURES} failures (limit ${LIMIT}), ${ROUNDS} rounds`, async () => {
    const outcomes: Array<{ round: number; unauthorized: number; limited: number; other: number[] }> = [];
    for (let round = 0, client = 1; round < ROUNDS; client++) {
      const ip = `198.51.100.${client}`;
      const windowAtStart = windowNow();
      for (let i = 0; i < PRIOR_FAILURES; i++) await wrongToken(ip).expect(401);
      const burst = await Promise.all(Array.from({ length: BURST }, () => wrongToken(ip)));
      if (windowNow() !== windowAtStart) continue;
      round++;
      const statuses = burst.map((res) => res.status);
      outcomes.push({
        round: round - 1,
        unauthorized: statuses.filter((s) => s === 401).length,
        limited: statuses.filter((s) => s === 429).length,
        other: statuses.filter((s) => s !== 401 && s !== 429),
      });
      for (const res of burst.filter((r) => r.status === 429)) expect(Number(res.headers["retry-after"])).toBeGreaterThan(0);
    }
    expect(outcomes).toEqual(outcomes.map(({ round }) => ({ round, unauthorized: LIMIT - PRIOR_FAILURES, limited: BURST - (LIMIT - PRIOR_FAILURES), other: [] })));
  });

  it("keeps answering 429 to every further wrong token once the limit is passed, and still accepts a valid token", async () => {
    const ip = "198.51.100.200";
    const statuses = [];
    for (let i = 0; i < LIMIT + 3; i++) statuses.push((await wrongToken(ip)).status);
    expect(statuses).toEqual([...Array<number>(LIMIT).fill(401), 429, 429, 429]);
    const o = await t.organization("Still served");
    await request(t.app).get("/scim/v2/Users").set("Authorization", `Bearer ${o.token}`).set("X-Forwarded-For", ip).expect(200);
  });
});

describe("AuthFailureCounters on its own connection", () => {
  /**
   * FerretDB applies `$inc` by reading, changing and writing back; the write queue is what keeps
   * the numbers distinct there. This connection is opened without storage/connection.ts, with a
   * serializing queue of its own (what connectDatabase registers on FerretDB), so the test shows
   * that the counter's increment goes through it. Without it, 100 concurrent increments on
   * FerretDB returned duplicate numbers (measured: the test fails on its first run).
   */
  it("gives 100 concurrent failures of one client the numbers 1 to 100, each once, and stores 100", async () => {
    const connection = await mongoose.createConnection(testServerUri(), { dbName: uniqueDatabaseName("authfail"), autoIndex: false }).asPromise();
    try {
      const models = defineModels(connection);
      registerWriteQueue(models, new WriteQueue(true));
      const counters = new AuthFailureCounters(models, 3600);
      const results = await Promise.all(Array.from({ length: 100 }, () => counters.recordFailure("203.0.113.9")));
      expect(results.map((r) => r.count).sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
      const stored = await connection.collection("auth_failures").find().toArray();
      expect(stored.map((d) => d.count)).toEqual([100]);
    } finally {
      await connection.dropDatabase();
      await connection.close();
    }
  });
});

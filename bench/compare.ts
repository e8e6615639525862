import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { projectRoot } from "./production-build";
import type { BenchFlags } from "./flags";
import { peakRssMb, pool, request, summary, timed, traceRequestsTo, userBody, waitForLine, waitUntilIdle } from "./driver";
import { startGatehouse } from "./gatehouse-under-test";
import { cursorAtDepth, pageUrl, pagingOf, type Paging } from "./admin-api";
import { printTables, type Check, type Figure, type Row, type Stage } from "./targets";

/**
 * `npm run bench -- --peer`: the same SCIM workload against Gatehouse and against a peer — Better
 * Auth with its official SCIM plugin on SQLite (bench/peer/better-auth, its own pinned install) —
 * interleaved round by round so a noisy neighbour on the machine hits both, and the ratio per
 * workload (> 1 means Gatehouse is faster or smaller), each row judged against issue 12's
 * targets. Gatehouse runs on the embedded default (its own FerretDB, as `npm start` without
 * MONGODB_URI). `--users 2000,20000` measures several sizes in one run: both directories are
 * grown from one size to the next and every workload measured again; the admin API's lists and
 * the audit trail (Gatehouse only: the peer has no equivalent) and peak memory are measured at
 * each size. Everything listens on 127.0.0.1.
 */

const PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group";

/** How long the unmeasured walk to a deep keyset cursor may take before the page it reached is used. */
const CURSOR_WALK_BUDGET_MS = 180_000;
/** Gatehouse-only rows: at most this many samples, or this much time (at least 3 samples). */
const ALONE_SAMPLES = 20;
const ALONE_BUDGET_MS = 30_000;

interface Target {
  name: string;
  peer: boolean;
  base: string;
  headers: Record<string, string>;
  userIds: string[];
  /** Groups by role ("small", "large"): id and members so far, or why there is none. */
  groups: Map<string, { id: string; size: number } | string>;
}

/**
 * Installs the peer's own pinned dependencies (npm ci in its folder) unless node_modules already
 * holds exactly the versions its package-lock.json names. Never part of Gatehouse's npm ci.
 */
function ensurePeerInstalled(peerDir: string): void {
  const installed = path.join(peerDir, "node_modules", ".package-lock.json");
  type Lock = { packages: Record<string, { version?: string }> };
  const read = (file: string) => JSON.parse(readFileSync(file, "utf8")) as Lock;
  if (existsSync(installed)) {
    const wanted = read(path.join(peerDir, "package-lock.json")).packages;
    const present = read(installed).packages;
    if (Object.entries(wanted).every(([where, entry]) => where === "" || present[where]?.version === entry.version)) return;
  }
  process.stderr.write(`installing the peer in ${peerDir} (npm ci; better-sqlite3 may compile from source, which takes minutes)\n`);
  const result = spawnSync("npm", ["ci", "--no-audit", "--no-fund"], { cwd: peerDir, stdio: ["ignore", "inherit", "inherit"] });
  if (result.status !== 0) throw new Error(`npm ci in ${peerDir} failed (${result.status ?? result.signal})`);
}

const ms = (value: number) => `${value.toFixed(2)} ms`;

/** Why a workload stopped, short enough for a table cell: the status and the SCIM error's detail. */
function reason(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const status = / → (\d{3}): /.exec(text)?.[1];
  const detail = /"detail":"([^"]*)"/.exec(text)?.[1] ?? /"message":"([^"]*)"/.exec(text)?.[1];
  return status ? `${status}${detail ? ` "${detail}"` : ""}` : text.split("\n")[0].slice(0, 120);
}

export async function runPeerComparison(flags: BenchFlags): Promise<void> {
  const C = flags.concurrency;
  const peerDir = path.join(projectRoot, "bench", "peer", "better-auth");
  const peerWanted = flags.sizes[0] <= flags.peerMaxUsers;
  if (peerWanted) ensurePeerInstalled(peerDir);
  const progress = (what: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${what}\n`);

  const children: ChildProcess[] = [];
  const workDir = mkdtempSync(path.join(os.tmpdir(), "gatehouse-peer-bench-"));
  try {
    progress("start Gatehouse (organization, Owner token" + (flags.auditEvents ? `, ${flags.auditEvents} audit events` : "") + ")");
    if (flags.trace) {
      mkdirSync(flags.trace, { recursive: true });
      traceRequestsTo(path.join(flags.trace, "requests.ndjson"));
    }
    const logFile = flags.trace ? path.join(flags.trace, "gatehouse.log") : undefined;
    const gatehouse = await startGatehouse({ dataDir: path.join(workDir, "gatehouse-data"), mongodbUri: flags.mongodbUri, auditEvents: flags.auditEvents, seedUsers: flags.seedUsers, nodeArgs: flags.gatehouseNodeArgs, logFile, progress });
    children.push(gatehouse.process);

    let peerProcess: ChildProcess | undefined;
    const peerToken = randomBytes(32).toString("base64url");
    if (peerWanted) {
      peerProcess = spawn(process.execPath, [path.join(peerDir, "server.mjs"), "--database", path.join(workDir, "better-auth.sqlite"), "--token", peerToken], {
        cwd: peerDir,
        env: {},
        stdio: ["ignore", "pipe", "inherit"],
      });
      children.push(peerProcess);
    }
    const peerPort = peerProcess ? (await waitForLine(peerProcess, /^listening (\d+)$/, "Better Auth"))[1] : undefined;
    peerProcess?.stdout!.resume();
    const bareProcess = spawn(process.execPath, [path.join(__dirname, "bare-server.js")], { env: {}, stdio: ["ignore", "pipe", "inherit"] });
    children.push(bareProcess);
    const bareBase = `http://127.0.0.1:${(await waitForLine(bareProcess, /^listening (\d+)$/, "the bare HTTP server"))[1]}`;
    bareProcess.stdout!.resume();

    const headers = (token: string) => ({ Authorization: `Bearer ${token}`, "Content-Type": "application/scim+json" });
    const ours: Target = { name: "Gatehouse", peer: false, base: gatehouse.scimBase, headers: headers(gatehouse.scimToken), userIds: [], groups: new Map() };
    const theirs: Target | undefined = peerPort ? { name: "Better Auth 1.7.5 + SCIM", peer: true, base: `http://127.0.0.1:${peerPort}/scim/v2`, headers: headers(peerToken), userIds: [], groups: new Map() } : undefined;
    const adminHeaders = { Authorization: `Bearer ${gatehouse.ownerToken}` };
    const memberPaging = await pagingOf(gatehouse.adminBase, "/users");
    const auditPaging = await pagingOf(gatehouse.adminBase, "/audit");
    progress(`admin API paging: members by ${memberPaging.cursor ? "cursor" : "startIndex"}, audit by ${auditPaging.cursor ? "cursor" : auditPaging.offset ? "startIndex" : "first page only"}`);

    const stages: Stage[] = [];
    let stored = 0;
    for (const N of flags.sizes) {
      const targets = theirs && N <= flags.peerMaxUsers ? [ours, theirs] : [ours];
      const stage: Stage = { users: N, peer: targets.length > 1, rows: [] };
      stages.push(stage);
      const servers = [gatehouse.process.pid, gatehouse.databasePid, peerProcess?.pid, bareProcess.pid].filter((pid): pid is number => pid !== undefined);
      const settle = async (before: string) => {
        const waited = await waitUntilIdle(servers);
        if (waited > 1_000) progress(`  ${(waited / 1000).toFixed(1)} s until the servers were idle, before ${before}`);
      };
      await measureStage({ flags, N, from: stored, targets, stage, progress, settle, bareBase });
      stored = N;
      await settle("the admin API rows");
      await measureAdminApi({ N, stage, progress, adminBase: gatehouse.adminBase, adminHeaders, memberPaging, auditPaging, seededAuditEvents: gatehouse.seededAuditEvents });

      const server = peakRssMb(gatehouse.process.pid!);
      const database = gatehouse.databasePid ? peakRssMb(gatehouse.databasePid) : NaN;
      const peer = peerProcess ? peakRssMb(peerProcess.pid!) : NaN;
      const figure = (mb: number, why: string): Figure => (Number.isNaN(mb) ? { missing: why } : { value: mb, text: `${mb.toFixed(0)} MB` });
      const peerFigure = stage.peer ? figure(peer, "no /proc") : { missing: "not run at this size" };
      stage.rows.push(
        row(`peak RSS, Gatehouse server process (peer: its one process)`, "lower", [figure(server, "no /proc"), peerFigure], [
          { text: gatehouse.seededUsers ? `≤ 300 MB at 100,000 users (${(N + gatehouse.seededUsers).toLocaleString("en")} stored, ${gatehouse.seededUsers.toLocaleString("en")} seeded)` : "≤ 300 MB at 100,000 users", ok: N + gatehouse.seededUsers >= 100_000 ? server <= 300 : undefined },
        ]),
        row("peak RSS, embedded database process", "lower", [figure(database, gatehouse.databasePid ? "no /proc" : "--mongodb-uri")], []),
        row("peak RSS, server + database (MB)", "lower", [figure(server + (Number.isNaN(database) ? 0 : database), "no /proc"), peerFigure], []),
      );
    }

    printTables(stages, [ours.name, theirs?.name ?? "peer"], {
      C,
      R: flags.rounds,
      S: flags.samples,
      auditEvents: flags.auditEvents,
      database: flags.mongodbUri ? "MongoDB (--mongodb-uri)" : "its embedded FerretDB v1.24.2 (SQLite), the default",
      paging: `admin API members paged by ${memberPaging.cursor ? "keyset cursor" : "startIndex (no cursor offered)"}, audit by ${auditPaging.cursor ? "keyset cursor" : "first page only"}`,
    });
  } finally {
    for (const child of children) child.kill("SIGTERM");
    await new Promise((resolve) => setTimeout(resolve, 2000));
    rmSync(workDir, { recursive: true, force: true });
  }
}

/** A row and the verdict of its checks; a ratio check is added when there is a peer figure. */
function row(workload: string, better: "higher" | "lower", figures: Figure[], checks: Check[], ratioCheck = false): Row {
  const [mine, peer] = figures;
  let ratio: number | undefined;
  if (peer && "value" in mine && "value" in peer) ratio = better === "higher" ? mine.value / peer.value : peer.value / mine.value;
  const all = ratioCheck ? [{ text: "ratio ≥ 1", ok: ratio === undefined ? undefined : ratio >= 1 }, ...checks] : checks;
  // Each figure as soon as it is measured: a long run stopped early still told what it found.
  process.stderr.write(`  ${workload}: ${figures.map((f) => ("text" in f ? f.text : `n/a (${f.missing})`)).join(" | ")}${ratio === undefined ? "" : ` | ratio ${ratio.toFixed(2)}`}\n`);
  return { workload, figures, ratio, checks: all };
}

/** Percentile rows (p50, p99) of a workload with the issue's latency targets. */
function latencyRows(label: string, results: (number[] | string)[], options: { p50Max?: number; p99TwiceP50?: boolean; flatAgainst?: number } = {}): Row[] {
  const stats = results.map((result) => (typeof result === "string" ? result : summary(result)));
  // Few samples make a percentile a single request's time: say how many there were.
  const pick = (which: "p50" | "p99"): Figure[] => stats.map((s) => (typeof s === "string" ? { missing: s } : { value: s[which], text: `${ms(s[which])}${s.n < 10 ? ` (n=${s.n})` : ""}` }));
  const ourStats = typeof stats[0] === "string" ? undefined : stats[0];
  const withPeer = results.length > 1;
  const p50Checks: Check[] = [];
  if (options.p50Max !== undefined) p50Checks.push({ text: `p50 ≤ ${options.p50Max} ms`, ok: ourStats && ourStats.p50 <= options.p50Max });
  if (options.flatAgainst !== undefined) p50Checks.push({ text: `flat: ≤ 2 × the 100-member p50 (${ms(options.flatAgainst)})`, ok: ourStats && ourStats.p50 <= 2 * options.flatAgainst });
  const p99Checks: Check[] = [{ text: "p99 ≤ 250 ms", ok: ourStats && ourStats.p99 <= 250 }];
  if (options.p99TwiceP50) p99Checks.unshift({ text: "p99 ≤ 2 × p50", ok: ourStats && ourStats.p99 <= 2 * ourStats.p50 });
  return [row(`${label} p50`, "lower", pick("p50"), p50Checks, withPeer), row(`${label} p99`, "lower", pick("p99"), p99Checks, withPeer)];
}

async function measureStage(run: { flags: BenchFlags; N: number; from: number; targets: Target[]; stage: Stage; progress: (what: string) => void; settle: (before: string) => Promise<void>; bareBase: string }): Promise<void> {
  const { flags, N, from, targets, stage, progress, settle, bareBase } = run;
  const C = flags.concurrency;
  const R = Math.max(1, Math.min(flags.rounds, N - from));
  const S = Math.max(R, flags.samples);
  const rows = stage.rows;

  /**
   * Runs one workload: R rounds, each giving every target its share in turn (Gatehouse, then
   * the peer), each share begun once the servers are idle (`settle`), so neither side's leftover
   * work lands on the other's share. A target whose request fails gets "n/a" with the answer that
   * stopped it.
   */
  async function interleaved(work: (target: Target, round: number) => Promise<number[]>): Promise<(number[] | string)[]> {
    const results: (number[] | string)[] = targets.map(() => []);
    for (let round = 0; round < R; round++) {
      for (const [t, target] of targets.entries()) {
        const sofar = results[t];
        if (typeof sofar === "string") continue;
        await settle(`${target.name}'s share`);
        try {
          sofar.push(...(await work(target, round)));
        } catch (error) {
          results[t] = reason(error);
        }
      }
    }
    return results;
  }
  const share = (total: number, round: number) => [Math.floor((total * round) / R), Math.floor((total * (round + 1)) / R)];

  // Grow each directory from `from` to N users at concurrency C: every create is timed, and the
  // rate is the users over the summed time of a target's rounds. A peer that joins at a size
  // (never: it only drops out above --peer-max-users) would start from its own count.
  progress(`N = ${N}: create users ${from + 1}…${N}, concurrency ${C}`);
  const created = N - from;
  const elapsedOf = new Map<Target, number>();
  const creates = await interleaved(async (target, round) => {
    const [start, end] = share(created, round);
    const latencies: number[] = [];
    const [, elapsed] = await timed(() =>
      pool(end - start, C, async (k) => {
        const i = from + start + k;
        const [answer, took] = await timed(() => request(`${target.base}/Users`, { method: "POST", headers: target.headers, body: JSON.stringify(userBody(i)), expect: [201] }));
        target.userIds[i] = answer.json<{ id: string }>().id;
        latencies.push(took);
      }),
    );
    elapsedOf.set(target, (elapsedOf.get(target) ?? 0) + elapsed);
    return latencies;
  });
  rows.push(
    row(
      `SCIM create, users ${from + 1}–${N}, concurrency ${C} (users/s)`,
      "higher",
      creates.map((result, t) => {
        if (typeof result === "string") return { missing: result };
        const rate = created / ((elapsedOf.get(targets[t]) ?? NaN) / 1000);
        return { value: rate, text: `${rate.toFixed(0)} /s` };
      }),
      [],
      targets.length > 1,
    ),
    latencyRows("SCIM create, one request", creates).find((r) => r.workload.endsWith("p99"))!,
  );

  // The same random sample of users for every target.
  const picks = Array.from({ length: S }, () => Math.floor(Math.random() * N));
  const sequential = (round: number, one: (i: number, s: number) => Promise<void>) => {
    const [start, end] = share(S, round);
    return (async () => {
      const samples: number[] = [];
      for (let s = start; s < end; s++) samples.push((await timed(() => one(picks[s], s)))[1]);
      return samples;
    })();
  };

  progress(`N = ${N}: userName eq filter`);
  rows.push(
    ...latencyRows(
      "`userName eq` filter",
      await interleaved((target, round) =>
        sequential(round, async (i) => {
          const filter = encodeURIComponent(`userName eq "bench.user.${i}@example.com"`);
          const answer = await request(`${target.base}/Users?filter=${filter}`, { headers: target.headers, expect: [200] });
          const found = answer.json<{ totalResults: number }>().totalResults;
          if (found !== 1) throw new Error(`userName eq found ${found} users, expected 1`);
        }),
      ),
      { p99TwiceP50: true },
    ),
  );

  // The instrument's floor, measured the same way: the bare server does nothing per request, so
  // its p99 over its p50 is what this driver and machine add to any server's tail.
  progress(`N = ${N}: the bare HTTP server's stored answer`);
  const floor: number[] = [];
  for (let round = 0; round < R; round++) {
    await settle("the bare server's share");
    floor.push(...(await sequential(round, async () => void (await request(`${bareBase}/Users`, { expect: [200] })))));
  }
  const floorStats = summary(floor);
  rows.push(
    row("the instrument: a bare HTTP server's stored answer, one at a time, p50", "lower", [{ value: floorStats.p50, text: ms(floorStats.p50) }], []),
    row("the instrument: a bare HTTP server's stored answer, one at a time, p99", "lower", [{ value: floorStats.p99, text: `${ms(floorStats.p99)} (${(floorStats.p99 / floorStats.p50).toFixed(1)} × its p50)` }], []),
  );

  progress(`N = ${N}: GET by id`);
  rows.push(
    ...latencyRows(
      "GET /Users/{id}",
      await interleaved((target, round) =>
        sequential(round, async (i) => {
          await request(`${target.base}/Users/${target.userIds[i]}`, { headers: target.headers, expect: [200] });
        }),
      ),
    ),
  );

  // Entra's deactivation: replace active with false, each on a user not yet deactivated (the
  // last users created at this size; the groups take theirs from the first).
  progress(`N = ${N}: PATCH active false`);
  const deactivations = Math.min(S, Math.max(R, Math.floor(created / 4)));
  rows.push(
    ...latencyRows(
      "PATCH `active` false (Entra's deactivation)",
      await interleaved(async (target, round) => {
        const [start, end] = share(deactivations, round);
        const samples: number[] = [];
        for (let s = start; s < end; s++) {
          const id = target.userIds[N - 1 - s];
          const body = JSON.stringify({ schemas: [PATCH_OP], Operations: [{ op: "replace", path: "active", value: false }] });
          samples.push((await timed(() => request(`${target.base}/Users/${id}`, { method: "PATCH", headers: target.headers, body, expect: [200, 204] })))[1]);
        }
        return samples;
      }),
    ),
  );

  // One-member group PATCHes: a group of 100 members and one of --members (at most N − 1, so
  // there is always a user outside to add), built or grown beforehand — unmeasured, by PATCHes
  // of 100 (1,000 beyond the first 1,000) — then each sample adds one more user and removes it
  // again. Better Auth's plugin refuses more than 1,000 direct members in a group: its large-group
  // figure is "n/a" above that (--members 999 measures both). The groups persist across sizes.
  let smallP50: number | undefined;
  for (const [role, wanted] of [
    ["small", Math.min(100, N - 1)],
    ["large", Math.min(flags.members, N - 1)],
  ] as const) {
    if (wanted < 1 || (role === "large" && wanted === Math.min(100, N - 1))) continue;
    progress(`N = ${N}: group of ${wanted}`);
    await Promise.all(
      targets.map(async (target) => {
        let group = target.groups.get(role);
        if (typeof group === "string") return;
        try {
          if (!group) {
            const answer = await request(`${target.base}/Groups`, { method: "POST", headers: target.headers, body: JSON.stringify({ schemas: [GROUP], displayName: `Bench ${role}` }), expect: [201] });
            group = { id: answer.json<{ id: string }>().id, size: 0 };
            target.groups.set(role, group);
          }
          while (group.size < wanted) {
            const batch = group.size < 1000 ? 100 : 1000;
            const members = target.userIds.slice(group.size, Math.min(group.size + batch, wanted)).map((value) => ({ value }));
            await request(`${target.base}/Groups/${group.id}`, { method: "PATCH", headers: target.headers, body: JSON.stringify({ schemas: [PATCH_OP], Operations: [{ op: "add", path: "members", value: members }] }), expect: [200, 204] });
            group.size += members.length;
          }
        } catch (error) {
          target.groups.set(role, `building the group: ${reason(error)}`);
        }
      }),
    );
    const outsiders = N - wanted;
    const results = await interleaved(async (target, round) => {
      const group = target.groups.get(role);
      if (typeof group !== "object") throw new Error(group ?? "no group");
      const [start, end] = share(Math.max(R, Math.floor(S / 2)), round);
      const samples: number[] = [];
      for (let s = start; s < end; s++) {
        const member = target.userIds[wanted + (s % outsiders)];
        for (const operation of [
          { op: "add", path: "members", value: [{ value: member }] },
          { op: "remove", path: `members[value eq "${member}"]` },
        ]) {
          const body = JSON.stringify({ schemas: [PATCH_OP], Operations: [operation] });
          samples.push((await timed(() => request(`${target.base}/Groups/${group.id}`, { method: "PATCH", headers: target.headers, body, expect: [200, 204] })))[1]);
        }
      }
      return samples;
    });
    const groupRows = latencyRows(`one-member group PATCH, group of ${wanted}`, results, role === "large" && smallP50 !== undefined ? { flatAgainst: smallP50 } : {});
    if (role === "small" && typeof results[0] !== "string") smallP50 = summary(results[0]).p50;
    rows.push(...groupRows);
  }

  // List pages of 100 without a filter: the first and the last.
  for (const startIndex of new Set([1, Math.max(1, N - 99)])) {
    progress(`N = ${N}: list page startIndex=${startIndex}`);
    rows.push(
      ...latencyRows(
        `SCIM list page startIndex=${startIndex} count=100`,
        await interleaved(async (target) => {
          const samples: number[] = [];
          for (let s = 0; s < 2; s++) {
            const [answer, elapsed] = await timed(() => request(`${target.base}/Users?startIndex=${startIndex}&count=100`, { headers: target.headers, expect: [200] }));
            const page = answer.json<{ Resources?: unknown[] }>().Resources ?? [];
            if (page.length !== Math.min(100, N - startIndex + 1)) throw new Error(`the page held ${page.length} users`);
            samples.push(elapsed);
          }
          return samples;
        }),
        { p50Max: 50 },
      ),
    );
  }
}

/**
 * Gatehouse's admin API (/api/v1) at this size, as the Owner with a personal API token: the member
 * list (first page, a deep page), member search by a fragment of the userName, and the audit
 * trail (first page, a deep page). No peer equivalent: judged against the issue's p50 ≤ 50 ms.
 * Samples: up to ALONE_SAMPLES, or ALONE_BUDGET_MS of them (at least 3 unless those take more
 * than twice the budget).
 */
async function measureAdminApi(run: {
  N: number;
  stage: Stage;
  progress: (what: string) => void;
  adminBase: string;
  adminHeaders: Record<string, string>;
  memberPaging: Paging;
  auditPaging: Paging;
  seededAuditEvents: number;
}): Promise<void> {
  const { N, stage, progress, adminBase, adminHeaders: headers, memberPaging, auditPaging } = run;
  const alone = async (label: string, url: (s: number) => string | undefined, check?: (page: Record<string, unknown>) => string | undefined) => {
    progress(`N = ${N}: ${label}`);
    const samples: number[] = [];
    let failure: string | undefined;
    const started = Date.now();
    // At least 3 samples, unless they alone would take over twice the budget (a page that scans
    // for minutes on a large trail is not sampled for a quarter of an hour).
    for (let s = 0; s < ALONE_SAMPLES && (s === 0 || Date.now() - started < ALONE_BUDGET_MS || (s < 3 && Date.now() - started < (ALONE_BUDGET_MS * 2 * s) / 3)); s++) {
      const target = url(s);
      if (!target) {
        failure = "not offered";
        break;
      }
      try {
        const [answer, elapsed] = await timed(() => request(target, { headers, expect: [200] }));
        const wrong = check?.(answer.json<Record<string, unknown>>());
        if (wrong) throw new Error(wrong);
        samples.push(elapsed);
      } catch (error) {
        failure = reason(error);
        break;
      }
    }
    stage.rows.push(...latencyRows(label, [failure ?? samples], { p50Max: 50 }));
  };
  const listed = (key: string, expected: number) => (page: Record<string, unknown>) => {
    const items = page[key];
    return Array.isArray(items) && items.length === expected ? undefined : `the page held ${Array.isArray(items) ? items.length : "no"} ${key}`;
  };
  const members = N + 1; // and the Owner
  const size = Math.min(100, memberPaging.maxSize);

  await alone(`admin API members, first page of ${size}`, () => pageUrl(adminBase, memberPaging, { size }), listed("users", size));
  if (memberPaging.cursor) {
    progress(`N = ${N}: walk the members' cursor to depth ${members - size} (unmeasured)`);
    const deep = await cursorAtDepth(adminBase, memberPaging, headers, members - size, CURSOR_WALK_BUDGET_MS);
    const note = deep.exhausted ? `, walk stopped after ${CURSOR_WALK_BUDGET_MS / 1000} s` : "";
    await alone(`admin API members, page of ${size} after cursor at ${deep.depth}${note}`, () => pageUrl(adminBase, memberPaging, { size, cursor: deep.cursor }));
  } else {
    const startIndex = Math.max(1, members - size + 1);
    await alone(`admin API members, page of ${size} at startIndex=${startIndex}`, () => pageUrl(adminBase, memberPaging, { size, startIndex }), listed("users", Math.min(size, members - startIndex + 1)));
  }
  const fragments = Array.from({ length: ALONE_SAMPLES }, () => `user.${Math.floor(Math.random() * N)}`);
  await alone(`admin API member search q=user.<i> (a userName fragment)`, (s) => pageUrl(adminBase, memberPaging, { size, extra: { q: fragments[s] } }), (page) =>
    Array.isArray(page.users) && page.users.length > 0 ? undefined : "the search found no member",
  );

  const events = run.seededAuditEvents ? `≥ ${run.seededAuditEvents.toLocaleString("en")} + this run's events` : "this run's events";
  await alone(`audit log, first page of 100 (${events})`, () => pageUrl(adminBase, auditPaging, { size: 100 }), listed("events", 100));
  if (auditPaging.cursor) {
    progress(`N = ${N}: walk the audit cursor to its end (unmeasured, at most ${CURSOR_WALK_BUDGET_MS / 1000} s)`);
    const deep = await cursorAtDepth(adminBase, auditPaging, headers, Number.MAX_SAFE_INTEGER, CURSOR_WALK_BUDGET_MS);
    const note = deep.exhausted ? `, walk stopped after ${CURSOR_WALK_BUDGET_MS / 1000} s` : ", the last page";
    await alone(`audit log, page of 100 after cursor at ${deep.depth}${note}`, () => pageUrl(adminBase, auditPaging, { size: 100, cursor: deep.cursor }));
  } else {
    stage.rows.push(...latencyRows("audit log, a deep page", ["no cursor offered"], { p50Max: 50 }));
  }
}

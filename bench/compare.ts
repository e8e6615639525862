import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { gatehouseCli, gatehouseMain, projectRoot, startEmbeddedDatabase, type EmbeddedDatabase } from "./production-build";
import type { BenchFlags } from "./flags";
import { peakRssMb, pool, request, summary, timed, userBody, waitForLine, withDatabase } from "./driver";

/**
 * `npm run bench -- --peer`: the same SCIM workload against Gatehouse and against a peer — Better
 * Auth with its official SCIM plugin on SQLite (bench/peer/better-auth, its own pinned install) —
 * interleaved round by round so a noisy neighbour on the machine hits both, and the ratio per
 * workload (> 1 means Gatehouse is faster or smaller). Issue 12: the instrument for the
 * performance work, not a target in itself. Everything listens on 127.0.0.1.
 */

const PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

interface Target {
  name: string;
  base: string;
  headers: Record<string, string>;
  /** Processes whose peak memory counts for this target. */
  pids: number[];
  userIds: string[];
}

/** A measured figure: either a value or the reason there is none. */
type Figure = { value: number; text: string } | { missing: string };

interface Row {
  workload: string;
  /** Higher is better (a rate) or lower is better (a latency, a size). */
  better: "higher" | "lower";
  figures: Figure[];
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
  const detail = /"detail":"([^"]*)"/.exec(text)?.[1];
  return status ? `${status}${detail ? ` "${detail}"` : ""}` : text.split("\n")[0].slice(0, 120);
}

export async function runPeerComparison(flags: BenchFlags): Promise<void> {
  const N = flags.users;
  const C = flags.concurrency;
  const R = Math.min(flags.rounds, N);
  const S = Math.max(R, flags.samples);
  const bigGroup = Math.min(flags.members, N);
    const peerDir = path.join(projectRoot, "bench", "peer", "better-auth");
  ensurePeerInstalled(peerDir);

  const children: ChildProcess[] = [];
  const workDir = mkdtempSync(path.join(os.tmpdir(), "gatehouse-peer-bench-"));
  let embedded: EmbeddedDatabase | undefined;
  try {
    let serverUri = flags.mongodbUri;
    if (!serverUri) {
      embedded = await startEmbeddedDatabase(path.join(workDir, "ferretdb"));
      serverUri = embedded.uri;
    }
    const dbName = `bench_peer_${Date.now()}`;
    const gatehouseProcess = spawn(process.execPath, [...flags.gatehouseNodeArgs, gatehouseMain], {
      env: { MONGODB_URI: withDatabase(serverUri, dbName), HOST: "127.0.0.1", PORT: "0", LOG_LEVEL: "info", DATABASE_TIMEOUT_MS: "30000" },
      stdio: ["ignore", "pipe", "inherit"],
    });
    children.push(gatehouseProcess);
    const [, gatehousePort] = await waitForLine(gatehouseProcess, /"port":(\d+),"msg":"SCIM base URL/, "Gatehouse");
    gatehouseProcess.stdout!.resume();
    const cli = spawn(process.execPath, [gatehouseCli, "org", "create", "Bench", "--json"], {
      env: { MONGODB_URI: withDatabase(serverUri, dbName) },
      stdio: ["ignore", "pipe", "inherit"],
    });
    const [, gatehouseToken] = await waitForLine(cli, /"scimToken":"([^"]+)"/, "the CLI");

    const peerToken = randomBytes(32).toString("base64url");
    const peerProcess = spawn(process.execPath, [path.join(peerDir, "server.mjs"), "--database", path.join(workDir, "better-auth.sqlite"), "--token", peerToken], {
      cwd: peerDir,
      env: {},
      stdio: ["ignore", "pipe", "inherit"],
    });
    children.push(peerProcess);
    const [, peerPort] = await waitForLine(peerProcess, /^listening (\d+)$/, "Better Auth");
    peerProcess.stdout!.resume();

    const headers = (token: string) => ({ Authorization: `Bearer ${token}`, "Content-Type": "application/scim+json" });
    const targets: Target[] = [
      { name: "Gatehouse", base: `http://127.0.0.1:${gatehousePort}/scim/v2`, headers: headers(gatehouseToken), pids: [gatehouseProcess.pid!, ...(embedded ? [embedded.pid] : [])], userIds: new Array(N) },
      { name: "Better Auth 1.7.5 + SCIM", base: `http://127.0.0.1:${peerPort}/scim/v2`, headers: headers(peerToken), pids: [peerProcess.pid!], userIds: new Array(N) },
    ];
    const rows: Row[] = [];

    /**
     * Runs one workload: R rounds, each giving every target its share in turn (Gatehouse, then
     * the peer). A target whose request fails gets "n/a" with the answer that stopped it.
     */
    async function interleaved(run: (target: Target, round: number) => Promise<number[]>): Promise<(number[] | string)[]> {
      const results: (number[] | string)[] = targets.map(() => []);
      for (let round = 0; round < R; round++) {
        for (const [t, target] of targets.entries()) {
          const sofar = results[t];
          if (typeof sofar === "string") continue;
          try {
            sofar.push(...(await run(target, round)));
          } catch (error) {
            results[t] = reason(error);
          }
        }
      }
      return results;
    }
    const share = (total: number, round: number) => [Math.floor((total * round) / R), Math.floor((total * (round + 1)) / R)];
    const latencyRows = (label: string, results: (number[] | string)[], p99 = false) => {
      const stats = results.map((result) => (typeof result === "string" ? result : summary(result)));
      rows.push({ workload: `${label} p50`, better: "lower", figures: stats.map((s) => (typeof s === "string" ? { missing: s } : { value: s.p50, text: ms(s.p50) })) });
      if (p99) rows.push({ workload: `${label} p99`, better: "lower", figures: stats.map((s) => (typeof s === "string" ? { missing: s } : { value: s.p99, text: ms(s.p99) })) });
    };
    const progress = (what: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${what}\n`);

    // Create N users at concurrency C; the rate is users over the summed time of a target's rounds.
    progress(`create ${N} users`);
    const creates = await interleaved(async (target, round) => {
      const [from, to] = share(N, round);
      const [, elapsed] = await timed(() =>
        pool(to - from, C, async (k) => {
          const i = from + k;
          const answer = await request(`${target.base}/Users`, { method: "POST", headers: target.headers, body: JSON.stringify(userBody(i)), expect: [201] });
          target.userIds[i] = answer.json<{ id: string }>().id;
        }),
      );
      return [elapsed];
    });
    rows.push({
      workload: `create ${N} users, concurrency ${C} (users/s)`,
      better: "higher",
      figures: creates.map((result) => {
        if (typeof result === "string") return { missing: result };
        const rate = N / (result.reduce((a, b) => a + b, 0) / 1000);
        return { value: rate, text: `${rate.toFixed(0)} /s` };
      }),
    });

    // The same random sample of users for every target, drawn once per round.
    const picks = Array.from({ length: S }, () => Math.floor(Math.random() * N));
    const sequential = (round: number, one: (i: number, s: number) => Promise<void>) => {
      const [from, to] = share(S, round);
      return (async () => {
        const samples: number[] = [];
        for (let s = from; s < to; s++) samples.push((await timed(() => one(picks[s], s)))[1]);
        return samples;
      })();
    };

    progress("userName eq filter");
    latencyRows(
      "`userName eq` filter",
      await interleaved((target, round) =>
        sequential(round, async (i) => {
          const filter = encodeURIComponent(`userName eq "bench.user.${i}@example.com"`);
          const answer = await request(`${target.base}/Users?filter=${filter}`, { headers: target.headers, expect: [200] });
          const found = answer.json<{ totalResults: number }>().totalResults;
          if (found !== 1) throw new Error(`userName eq found ${found} users, expected 1`);
        }),
      ),
      true,
    );

    progress("GET by id");
    latencyRows(
      "GET /Users/{id}",
      await interleaved((target, round) =>
        sequential(round, async (i) => {
          await request(`${target.base}/Users/${target.userIds[i]}`, { headers: target.headers, expect: [200] });
        }),
      ),
    );

    // Entra's deactivation: replace active with false, each on a user not yet deactivated (the
    // last users; the groups below take theirs from the first).
    progress("PATCH active false");
    const deactivations = Math.min(S, Math.max(R, Math.floor(N / 4)));
    latencyRows(
      "PATCH `active` false (Entra's deactivation)",
      await interleaved(async (target, round) => {
        const [from, to] = share(deactivations, round);
        const samples: number[] = [];
        for (let s = from; s < to; s++) {
          const id = target.userIds[N - 1 - s];
          const body = JSON.stringify({ schemas: [PATCH_OP], Operations: [{ op: "replace", path: "active", value: false }] });
          samples.push((await timed(() => request(`${target.base}/Users/${id}`, { method: "PATCH", headers: target.headers, body, expect: [200, 204] })))[1]);
        }
        return samples;
      }),
    );

    // One-member group PATCHes: a group of `size` members (built beforehand by PATCHes of 100,
    // not measured), then each sample adds one more user and removes it again. Better Auth's
    // plugin refuses more than 1,000 direct members in a group: --members 999 measures both.
    for (const size of [...new Set([Math.min(100, N), bigGroup])]) {
      progress(`group of ${size}`);
      const groups = new Map<Target, string>();
      const built = await Promise.all(
        targets.map(async (target) => {
          try {
            const created = await request(`${target.base}/Groups`, { method: "POST", headers: target.headers, body: JSON.stringify({ schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: `Bench ${size}` }), expect: [201] });
            const id = created.json<{ id: string }>().id;
            for (let start = 0; start < size; start += 100) {
              const members = target.userIds.slice(start, Math.min(start + 100, size)).map((value) => ({ value }));
              await request(`${target.base}/Groups/${id}`, { method: "PATCH", headers: target.headers, body: JSON.stringify({ schemas: [PATCH_OP], Operations: [{ op: "add", path: "members", value: members }] }), expect: [200, 204] });
            }
            groups.set(target, id);
            return "";
          } catch (error) {
            return `building the group: ${reason(error)}`;
          }
        }),
      );
      const outsiders = Math.max(1, N - size);
      const results = await interleaved(async (target, round) => {
        const id = groups.get(target);
        if (!id) throw new Error(built[targets.indexOf(target)]);
        const [from, to] = share(Math.max(R, Math.floor(S / 2)), round);
        const samples: number[] = [];
        for (let s = from; s < to; s++) {
          const member = target.userIds[size < N ? size + (s % outsiders) : s % N];
          for (const operation of [
            { op: "add", path: "members", value: [{ value: member }] },
            { op: "remove", path: `members[value eq "${member}"]` },
          ]) {
            const body = JSON.stringify({ schemas: [PATCH_OP], Operations: [operation] });
            samples.push((await timed(() => request(`${target.base}/Groups/${id}`, { method: "PATCH", headers: target.headers, body, expect: [200, 204] })))[1]);
          }
        }
        return samples;
      });
      latencyRows(`one-member group PATCH, group of ${size}`, results);
    }

    // List pages of 100 without a filter: the first and the last.
    for (const startIndex of [1, Math.max(1, N - 99)]) {
      progress(`list page startIndex=${startIndex}`);
      latencyRows(
        `list page startIndex=${startIndex} count=100`,
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
      );
    }

    rows.push({
      workload: "peak RSS, server + database process (MB)",
      better: "lower",
      figures: targets.map((target) => {
        const mb = target.pids.map(peakRssMb).reduce((a, b) => a + b, 0);
        return { value: mb, text: `${mb.toFixed(0)} MB` };
      }),
    });

    printTable(rows, targets, { N, C, R, S, database: embedded ? "embedded FerretDB v1.24.2 (SQLite)" : "MongoDB (--mongodb-uri)" });
  } finally {
    for (const child of children) child.kill("SIGTERM");
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await embedded?.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}

function printTable(rows: Row[], targets: Target[], run: { N: number; C: number; R: number; S: number; database: string }): void {
  const out = (line: string) => process.stdout.write(`${line}\n`);
  out("");
  out(`Peer comparison — ${run.N} users, ${run.R} interleaved rounds, ${run.S} samples per latency, ${os.cpus().length} cores, Node ${process.version}`);
  out(`Gatehouse on ${run.database}; Better Auth 1.7.5 + @better-auth/scim 1.7.5 on SQLite (better-sqlite3 12, WAL). Ratio > 1: Gatehouse faster (or smaller).`);
  out("");
  const table = [["workload", ...targets.map((target) => target.name), "ratio"]];
  for (const row of rows) {
    const [ours, theirs] = row.figures;
    let ratio = "n/a";
    if ("value" in ours && "value" in theirs) ratio = (row.better === "higher" ? ours.value / theirs.value : theirs.value / ours.value).toFixed(2);
    table.push([row.workload, ...row.figures.map((figure) => ("text" in figure ? figure.text : `n/a (${figure.missing})`)), ratio]);
  }
  const widths = table[0].map((_, column) => Math.max(...table.map((line) => line[column].length)));
  table.forEach((line, index) => {
    out(`| ${line.map((cell, column) => cell.padEnd(widths[column])).join(" | ")} |`);
    if (index === 0) out(`| ${widths.map((width) => "-".repeat(width)).join(" | ")} |`);
  });
}

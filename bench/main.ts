import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { startGatehouse } from "./gatehouse-under-test";
import { flagsFromCommandLine, usage } from "./flags";
import { runPeerComparison } from "./compare";
import { measureCutOff } from "./offboarding";
import { runMappingChange } from "./mapping-change";
import { peakRssMb, pool, request, summary, timed, userBody, waitForLine } from "./driver";

/**
 * `npm run bench -- --users N --members M --concurrency C --samples S` (`--help` lists every flag)
 *
 * Starts Gatehouse (on its embedded default, or --mongodb-uri) and a bare express+mongoose
 * "ceiling" server on the same database server as child processes, drives them over HTTP from
 * this process, and prints a table: initial sync rate against the ceiling, userName lookups, single-member PATCHes at two group
 * sizes, list pages, user PATCHes (alone, spread, and 8 at once on one user: the cost of
 * version-conditioned writes), and peak memory. A benchmark, not a test: it asserts nothing.
 * --gatehouse-node-args="…" passes extra node flags (e.g. --cpu-prof) to the Gatehouse process.
 */

const flags = flagsFromCommandLine();
const N = flags.users;
const M = Math.min(flags.members, N);
const C = flags.concurrency;
const S = flags.samples;

async function main(): Promise<void> {
  const workDir = mkdtempSync(path.join(os.tmpdir(), "gatehouse-bench-"));
  const databaseLabel = flags.mongodbUri ? "MongoDB (--mongodb-uri)" : "its embedded FerretDB v1.24.2 (SQLite), the default";
  const children: ChildProcess[] = [];
  try {
    // Gatehouse, as `npm start` runs it: on the embedded default it starts and owns its FerretDB.
    // --gatehouse-node-args="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the Gatehouse process.
    const dataDir = path.join(workDir, "gatehouse-data");
    const progress = (what: string) => process.stderr.write(`${what}\n`);
    const gatehouseRun = await startGatehouse({ dataDir, mongodbUri: flags.mongodbUri, auditEvents: 0, nodeArgs: flags.gatehouseNodeArgs, progress });
    const gatehouse = gatehouseRun.process;
    children.push(gatehouse);
    const base = gatehouseRun.scimBase;
    const headers = { Authorization: `Bearer ${gatehouseRun.scimToken}`, "Content-Type": "application/scim+json" };

    // The ceiling, on the same database server (a database of its own): the embedded one the
    // Gatehouse server started, found through its data directory's state file.
    const serverUri = flags.mongodbUri ?? (JSON.parse(readFileSync(path.join(dataDir, "embedded-database.json"), "utf8")) as { uri: string }).uri;
    const ceiling = spawn(process.execPath, [path.join(__dirname, "ceiling-server.js"), "--mongodb-uri", serverUri, "--database", `bench_${Date.now()}_ceiling`], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    children.push(ceiling);
    const [, ceilingPort] = await waitForLine(ceiling, /^listening (\d+)$/, "the ceiling server");

    const rows: [string, string][] = [];
    const log = (label: string, value: string) => {
      rows.push([label, value]);
      process.stderr.write(`${label}: ${value}\n`);
    };

    // (a) initial sync, and the ceiling on the same database.
    const userIds: string[] = new Array(N);
    const [, syncMs] = await timed(() =>
      pool(N, C, async (i) => {
        const response = await request(`${base}/Users`, { method: "POST", headers, body: JSON.stringify(userBody(i)), expect: [201] });
        userIds[i] = response.json<{ id: string }>().id;
      }),
    );
    const syncRate = N / (syncMs / 1000);
    log(`(a) SCIM create, ${N} users, concurrency ${C}`, `${syncRate.toFixed(0)} users/s`);
    const [, ceilingMs] = await timed(() =>
      pool(N, C, async (i) => {
        await request(`http://127.0.0.1:${ceilingPort}/documents`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(userBody(i)), expect: [201] });
      }),
    );
    const ceilingRate = N / (ceilingMs / 1000);
    log("(a) ceiling: bare express + mongoose insert", `${ceilingRate.toFixed(0)} docs/s`);
    log("(a) Gatehouse / ceiling", `${((syncRate / ceilingRate) * 100).toFixed(0)} %`);

    // (b) userName eq lookups.
    const lookups: number[] = [];
    for (let s = 0; s < S; s++) {
      const i = Math.floor(Math.random() * N);
      const filter = encodeURIComponent(`userName eq "BENCH.USER.${i}@example.com"`);
      const [, ms] = await timed(() => request(`${base}/Users?filter=${filter}&startIndex=1&count=100`, { headers, expect: [200] }));
      lookups.push(ms);
    }
    const lookup = summary(lookups);
    log(`(b) userName eq lookup, ${N} users stored`, `p50 ${lookup.p50.toFixed(2)} ms, p99 ${lookup.p99.toFixed(2)} ms`);

    // (c) groups of 1,000 and M members built by PATCHes of 1,000, then single-member changes.
    for (const size of [...new Set([Math.min(1000, M), M])]) {
      const created = await request(`${base}/Groups`, { method: "POST", headers, body: JSON.stringify({ schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: `Bench ${size}` }), expect: [201] });
      const groupId = created.json<{ id: string }>().id;
      const [, buildMs] = await timed(async () => {
        for (let start = 0; start < size; start += 1000) {
          const members = userIds.slice(start, Math.min(start + 1000, size)).map((value) => ({ value }));
          await request(`${base}/Groups/${groupId}`, { method: "PATCH", headers, body: JSON.stringify({ schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op: "add", path: "members", value: members }] }), expect: [204] });
        }
      });
      log(`(c) build a ${size}-member group by PATCHes of 1,000`, `${(buildMs / 1000).toFixed(1)} s (${(size / (buildMs / 1000)).toFixed(0)} members/s)`);
      const single: number[] = [];
      for (let s = 0; s < S; s++) {
        const member = userIds[size + (s % Math.max(1, N - size))] ?? userIds[s % N];
        for (const op of ["add", "remove"] as const) {
          const operation = op === "add" ? { op, path: "members", value: [{ value: member }] } : { op, path: `members[value eq "${member}"]` };
          const [, ms] = await timed(() => request(`${base}/Groups/${groupId}`, { method: "PATCH", headers, body: JSON.stringify({ schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [operation] }), expect: [204] }));
          single.push(ms);
        }
      }
      const patch = summary(single);
      log(`(c) single-member add/remove PATCH, group of ${size}`, `p50 ${patch.p50.toFixed(2)} ms, p99 ${patch.p99.toFixed(2)} ms`);
    }

    // (d) list pages: the first, and one deep in the collection.
    for (const startIndex of [1, Math.max(1, N - 100)]) {
      const pages: number[] = [];
      let failure = "";
      for (let s = 0; s < 3 && !failure; s++) {
        try {
          const [, ms] = await timed(() => request(`${base}/Users?startIndex=${startIndex}&count=100`, { headers, expect: [200] }));
          pages.push(ms);
        } catch (error) {
          failure = error instanceof Error ? error.message.split(":")[0] : String(error);
        }
      }
      log(`(d) list page startIndex=${startIndex} count=100 (no target)`, pages.length ? `p50 ${summary(pages).p50.toFixed(1)} ms` : `failed: ${failure}`);
    }

    // (f) user PATCHes: every one is a version-conditioned write (read, apply, compare-and-set).
    // One at a time (latency), C at once on distinct users (throughput), and 8 at once on one
    // user, the contended case where conditioned writes lose races and recompute.
    const patchTitle = (id: string, title: string) =>
      request(`${base}/Users/${id}`, { method: "PATCH", headers, body: JSON.stringify({ schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op: "replace", path: "title", value: title }] }), expect: [200] });
    const sequential: number[] = [];
    for (let s = 0; s < S; s++) {
      const [, ms] = await timed(() => patchTitle(userIds[s % N], `sequential ${s}`));
      sequential.push(ms);
    }
    const alone = summary(sequential);
    log("(f) user PATCH, one at a time", `p50 ${alone.p50.toFixed(2)} ms, p99 ${alone.p99.toFixed(2)} ms`);
    const spreadCount = Math.max(S, C * 20);
    const [, spreadMs] = await timed(() => pool(spreadCount, C, (i) => patchTitle(userIds[i % N], `spread ${i}`).then(() => undefined)));
    log(`(f) user PATCH, concurrency ${C}, distinct users`, `${(spreadCount / (spreadMs / 1000)).toFixed(0)} PATCH/s`);
    const contended: number[] = [];
    const rounds = Math.max(1, Math.floor(S / 8));
    const [, contendedMs] = await timed(async () => {
      for (let r = 0; r < rounds; r++) {
        const id = userIds[r % N];
        await Promise.all(
          ["displayName", "nickName", "title", "userType", "preferredLanguage", "profileUrl", "locale", "timezone"].map(async (attribute, k) => {
            const value = attribute === "profileUrl" ? `https://example.com/${r}` : attribute === "locale" ? "en-GB" : attribute === "timezone" ? "Europe/London" : `${attribute} ${r}.${k}`;
            const [, ms] = await timed(() =>
              request(`${base}/Users/${id}`, { method: "PATCH", headers, body: JSON.stringify({ schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op: "replace", path: attribute, value }] }), expect: [200] }),
            );
            contended.push(ms);
          }),
        );
      }
    });
    const contention = summary(contended);
    log("(f) 8 concurrent PATCHes of one user (different attributes)", `${((rounds * 8) / (contendedMs / 1000)).toFixed(0)} PATCH/s, p50 ${contention.p50.toFixed(2)} ms, p99 ${contention.p99.toFixed(2)} ms`);

    // (g) offboarding and SCIM deactivation: from the call to the member's first refused request.
    await measureCutOff({ ...gatehouseRun, scimBase: base, samples: Math.min(S, 20), log });

    // (e) memory.
    log("(e) Gatehouse peak RSS", `${peakRssMb(gatehouse.pid!).toFixed(0)} MB`);
    if (gatehouseRun.databasePid) log("(e) embedded database peak RSS", `${peakRssMb(gatehouseRun.databasePid).toFixed(0)} MB`);

    const width = Math.max(...rows.map(([label]) => label.length));
    process.stdout.write(`\nGatehouse benchmark — ${databaseLabel}, ${os.cpus().length} cores, Node ${process.version}\n\n`);
    process.stdout.write(`| ${"measure".padEnd(width)} | result |\n| ${"-".repeat(width)} | ------ |\n`);
    for (const [label, value] of rows) process.stdout.write(`| ${label.padEnd(width)} | ${value} |\n`);
  } finally {
    // The ceiling first: the server stops the database it owns as it exits.
    for (const child of children.reverse()) child.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 2000));
    rmSync(workDir, { recursive: true, force: true });
  }
}

(flags.help ? Promise.resolve(void process.stdout.write(usage)) : flags.peer ? runPeerComparison(flags) : flags.mappingGroup ? runMappingChange(flags) : main()).catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});

#!/usr/bin/env node
// Measures the directory's reads with and without the resident directory, on one embedded
// FerretDB holding N users: `npm run build && node scripts/measure-directory.mjs --users 2000`.
//
// The users are written straight into the database as copies of one user Gatehouse created (with
// their lookup keys), so a 20,000-user directory is seeded in seconds instead of minutes; the
// server is then started once per mode on that database (RESIDENT_DIRECTORY=off, then on) and
// driven over HTTP from this process, one request at a time. Prints p50/p99 per workload.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import mongoose from "mongoose";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const { startEmbeddedDatabase } = await import(path.join(root, "dist/storage/embedded-database.js"));
const { values } = parseArgs({ options: { users: { type: "string", default: "2000" }, samples: { type: "string", default: "30" }, "settle-ms": { type: "string", default: "0" }, "off-samples": { type: "string" }, modes: { type: "string", default: "off,on" } } });
const N = Number(values.users);

const dataDir = mkdtempSync(path.join(os.tmpdir(), "gatehouse-measure-"));
const database = await startEmbeddedDatabase(dataDir);
const uri = `${database.uri}measure`;
const children = new Set();

function run(args, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env: { PATH: process.env.PATH, MONGODB_URI: uri, LOG_LEVEL: "warn", ...env }, stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (chunk) => (out += chunk));
    child.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`${args.join(" ")} exited ${code}`))));
  });
}

function startServer(mode) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(process.execPath, [path.join(root, "dist/main.js")], {
      env: { PATH: process.env.PATH, MONGODB_URI: uri, HOST: "127.0.0.1", PORT: "0", LOG_LEVEL: "info", DATABASE_TIMEOUT_MS: "30000", RESIDENT_DIRECTORY: mode },
      stdio: ["ignore", "pipe", "inherit"],
    });
    children.add(child);
    let buffer = "";
    child.stdout.on("data", (chunk) => {
      buffer += chunk;
      const match = /"port":(\d+)/.exec(buffer);
      if (match) {
        child.stdout.removeAllListeners("data");
        child.stdout.resume();
        resolve({ child, port: Number(match[1]), startMs: Date.now() - started });
      }
    });
    child.on("exit", (code) => reject(new Error(`server exited ${code}`)));
  });
}

async function stopServer(child) {
  const exited = new Promise((resolve) => child.on("exit", resolve));
  child.kill("SIGTERM");
  await exited;
  children.delete(child);
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
async function sample(label, count, once) {
  const times = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await once(i);
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  process.stderr.write(`${label}: p50 ${percentile(times, 50).toFixed(1)} ms\n`);
  return { label, p50: percentile(times, 50), p99: percentile(times, 99) };
}

async function get(url, headers, expect = 200) {
  const res = await fetch(url, { headers });
  if (res.status !== expect) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  return res.json();
}

try {
  // The organization, its owner (for the admin API) and tokens, through the CLI as an operator would.
  const org = JSON.parse(await run([path.join(root, "dist/cli/main.js"), "org", "create", "Measure", "--owner", "owner@measure.example", "--json"]));
  const personal = JSON.parse(await run([path.join(root, "dist/cli/main.js"), "user-token", "create", "--org", org.id, "--email", "owner@measure.example", "--json"])).token;

  // N users: copies of one user Gatehouse writes, straight into the database with their keys.
  const seedServer = await startServer("off");
  const scim = { Authorization: `Bearer ${org.scimToken}`, "Content-Type": "application/scim+json" };
  const templateRes = await fetch(`http://127.0.0.1:${seedServer.port}/scim/v2/Users`, {
    method: "POST",
    headers: scim,
    body: JSON.stringify({ schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], userName: "template@measure.example", name: { givenName: "Tem", familyName: "Plate" }, emails: [{ value: "template@measure.example", type: "work", primary: true }], active: true }),
  });
  const templateId = (await templateRes.json()).id;
  await stopServer(seedServer.child);
  const connection = await mongoose.createConnection(uri).asPromise();
  const users = connection.db.collection("users");
  const keys = connection.db.collection("lookup_keys");
  const template = await users.findOne({ _id: templateId });
  delete template.outbox;
  const given = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Ken", "Margaret"];
  const family = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Thompson", "Hamilton"];
  const base = Date.now() - N * 1000;
  for (let start = 0; start < N; start += 1000) {
    const docs = [];
    for (let i = start; i < Math.min(N, start + 1000); i++) {
      const userName = `user${String(i).padStart(6, "0")}@measure.example`;
      const at = new Date(base + i * 1000);
      docs.push({
        ...template,
        _id: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
        userName,
        userNameLower: userName,
        externalId: `ext-${i}`,
        name: { givenName: given[i % 8], familyName: `${family[(i >> 3) % 8]}${i}`, formatted: `${given[i % 8]} ${family[(i >> 3) % 8]}${i}` },
        displayName: `${given[i % 8]} ${family[(i >> 3) % 8]}${i}`,
        emails: [{ value: userName, type: "work", primary: true }],
        created: at,
        lastModified: at,
      });
    }
    await users.insertMany(docs);
    await keys.insertMany(docs.flatMap((d) => [
      { _id: `${org.id}/user.userName/${d.userNameLower}`, owners: [d._id] },
      { _id: `${org.id}/user.externalId/${d.externalId}`, owners: [d._id] },
    ]));
  }
  await connection.close();
  process.stderr.write(`seeded ${N} users\n`);

  const results = [];
  for (const mode of values.modes.split(",")) {
    const { child, port, startMs } = await startServer(mode);
    // Without the resident directory a list page scans the collection: fewer samples keep the run short.
    // The start-up's own scans (outbox recovery, the userName key repair) run after listening: let them finish.
    await new Promise((resolve) => setTimeout(resolve, Number(values["settle-ms"])));
    const S = mode === "off" && values["off-samples"] ? Number(values["off-samples"]) : Number(values.samples);
    const baseUrl = `http://127.0.0.1:${port}`;
    const admin = { Authorization: `Bearer ${personal}` };
    const id = (i) => `00000000-0000-4000-8000-${String((i * 7919) % N).padStart(12, "0")}`;
    const rows = [
      await sample("userName eq", S * 4, (i) => get(`${baseUrl}/scim/v2/Users?filter=${encodeURIComponent(`userName eq "user${String((i * 7919) % N).padStart(6, "0")}@measure.example"`)}`, scim)),
      await sample("GET by id", S * 4, (i) => get(`${baseUrl}/scim/v2/Users/${id(i)}`, scim)),
      await sample("list page count=100, first", S, () => get(`${baseUrl}/scim/v2/Users?startIndex=1&count=100`, scim)),
      await sample("list page count=100, deep", S, () => get(`${baseUrl}/scim/v2/Users?startIndex=${Math.max(1, N - 150)}&count=100`, scim)),
      await sample("filter name.familyName sw, count=100", S, (i) => get(`${baseUrl}/scim/v2/Users?filter=${encodeURIComponent(`name.familyName sw "${family[i % 8]}1"`)}&count=100`, scim)),
      await sample("admin members page (50)", S, () => get(`${baseUrl}/api/v1/users?count=50`, admin)),
      await sample("admin member search", S, (i) => get(`${baseUrl}/api/v1/users?q=${family[i % 8].toLowerCase()}${i % 10}&count=50`, admin)),
      await sample("PATCH title", S * 2, (i) =>
        fetch(`${baseUrl}/scim/v2/Users/${id(i + 1)}`, { method: "PATCH", headers: scim, body: JSON.stringify({ schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op: "replace", path: "title", value: `t${mode}${i}` }] }) }).then((r) => {
          if (r.status !== 200) throw new Error(`PATCH ${r.status}`);
          return r.text();
        }),
      ),
    ];
    await stopServer(child);
    results.push({ mode, startMs, rows });
  }
  console.log(`\n${N} users, embedded FerretDB v1.24.2 (SQLite), one request at a time; milliseconds p50 / p99`);
  console.log(["workload", ...results.map((r) => `RESIDENT_DIRECTORY=${r.mode}`)].join(" | "));
  console.log(["server start to listening", ...results.map((r) => `${r.startMs}`)].join(" | "));
  for (let row = 0; row < results[0].rows.length; row++) {
    console.log([results[0].rows[row].label, ...results.map((r) => `${r.rows[row].p50.toFixed(1)} / ${r.rows[row].p99.toFixed(1)}`)].join(" | "));
  }
} finally {
  for (const child of children) child.kill("SIGKILL");
  await database.stop();
  rmSync(dataDir, { recursive: true, force: true });
}

import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import mongoose from "mongoose";
import { startGatehouse } from "./gatehouse-under-test";
import type { BenchFlags } from "./flags";
import { peakRssMb, pool, request, timed, userBody } from "./driver";

/**
 * `npm run bench -- --mapping-group N`: what a group mapping change costs on a group of N members
 * (issue 13). Sets up N users and one group of all of them (unmeasured), then measures:
 *
 * - the preview of mapping the group onto Admin (POST /mappings/preview, first page);
 * - creating that mapping (POST /mappings: every member's access changes) — the request's time,
 *   and the time until all N `user.access_changed` events are in the trail;
 * - editing it to User (PATCH /mappings/:id) — the same two times.
 *
 * "In the trail": the mapping's own event leaves the organization document's outbox only after
 * every member's event is stored (services/access-changes.ts), so the bench reads that document by
 * `_id` until it no longer carries the event — a cheap read, unlike counting events — and then
 * counts the events once to check there are N.
 */
export async function runMappingChange(flags: BenchFlags): Promise<void> {
  const N = flags.mappingGroup;
  const C = flags.concurrency;
  const workDir = mkdtempSync(path.join(os.tmpdir(), "gatehouse-bench-"));
  const progress = (what: string) => process.stderr.write(`${what}\n`);
  const run = await startGatehouse({ dataDir: path.join(workDir, "gatehouse-data"), mongodbUri: flags.mongodbUri, auditEvents: 0, nodeArgs: flags.gatehouseNodeArgs, progress });
  const connection = await mongoose.createConnection(run.database.uri, { dbName: run.database.name }).asPromise();
  const rows: [string, string][] = [];
  const log = (label: string, value: string) => {
    rows.push([label, value]);
    process.stderr.write(`${label}: ${value}\n`);
  };
  try {
    const scim = { Authorization: `Bearer ${run.scimToken}`, "Content-Type": "application/scim+json" };
    const admin = { Authorization: `Bearer ${run.ownerToken}`, "Content-Type": "application/json" };

    progress(`set-up: ${N} users and a group of all of them (not measured)`);
    const userIds: string[] = new Array(N);
    await pool(N, C, async (i) => {
      userIds[i] = (await request(`${run.scimBase}/Users`, { method: "POST", headers: scim, body: JSON.stringify(userBody(i)), expect: [201] })).json<{ id: string }>().id;
    });
    const groupId = (
      await request(`${run.scimBase}/Groups`, { method: "POST", headers: scim, body: JSON.stringify({ schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"], displayName: "Mapped" }), expect: [201] })
    ).json<{ id: string }>().id;
    for (let start = 0; start < N; start += 1000) {
      const members = userIds.slice(start, start + 1000).map((value) => ({ value }));
      await request(`${run.scimBase}/Groups/${groupId}`, { method: "PATCH", headers: scim, body: JSON.stringify({ schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op: "add", path: "members", value: members }] }), expect: [204] });
    }
    // The run's one organization (the CLI created it before the server started).
    const organizationId = (await connection.db!.collection("organizations").findOne({}))!._id;

    const match = { kind: "group_id", value: groupId };
    const [preview, previewMs] = await timed(() =>
      request(`${run.adminBase}/mappings/preview?count=100`, { method: "POST", headers: admin, body: JSON.stringify({ change: "create", mapping: { match, organizationRole: "admin" } }), expect: [200] }),
    );
    log(`preview of mapping a ${N}-member group onto admin (first 100 of ${preview.json<{ totalResults: number }>().totalResults})`, `${previewMs.toFixed(0)} ms`);

    /** Times a mapping request and the wait until its N events are in the trail. */
    const measure = async (label: string, send: () => Promise<{ id: string }>) => {
      const started = Date.now();
      const [mapping, requestMs] = await timed(send);
      const outboxHolds = async () => {
        const doc = await connection.db!.collection("organizations").findOne({ _id: organizationId as never });
        return ((doc?.outbox ?? []) as { target?: { id?: string } }[]).some((event) => event.target?.id === mapping.id);
      };
      while (await outboxHolds()) await new Promise((resolve) => setTimeout(resolve, 50));
      const allMs = Date.now() - started;
      const events = await connection.db!.collection("audit_events").countDocuments({ action: "user.access_changed", "cause.target.id": mapping.id, "cause.action": label.startsWith("create") ? "mapping.created" : "mapping.changed" });
      log(`${label}, group of ${N}: the request`, `${requestMs.toFixed(0)} ms`);
      log(`${label}, group of ${N}: until all user.access_changed are in the trail`, `${allMs} ms (${events} events, ${(events / (allMs / 1000)).toFixed(0)} events/s)`);
      return mapping;
    };
    const created = await measure("create mapping → admin", async () =>
      (await request(`${run.adminBase}/mappings`, { method: "POST", headers: admin, body: JSON.stringify({ match, organizationRole: "admin" }), expect: [201] })).json<{ id: string }>(),
    );
    await measure("edit mapping admin → user", async () =>
      (await request(`${run.adminBase}/mappings/${created.id}`, { method: "PATCH", headers: admin, body: JSON.stringify({ organizationRole: "user" }), expect: [200] })).json<{ id: string }>(),
    );
    log("Gatehouse peak RSS", `${peakRssMb(run.process.pid!).toFixed(0)} MB`);

    const width = Math.max(...rows.map(([label]) => label.length));
    const databaseLabel = flags.mongodbUri ? "MongoDB (--mongodb-uri)" : "its embedded FerretDB v1.24.2 (SQLite), the default";
    process.stdout.write(`\nGatehouse mapping change — ${databaseLabel}, ${os.cpus().length} cores, Node ${process.version}\n\n`);
    process.stdout.write(`| ${"measure".padEnd(width)} | result |\n| ${"-".repeat(width)} | ------ |\n`);
    for (const [label, value] of rows) process.stdout.write(`| ${label.padEnd(width)} | ${value} |\n`);
  } finally {
    await connection.close();
    run.process.kill("SIGTERM");
    await new Promise((resolve) => setTimeout(resolve, 2000));
    rmSync(workDir, { recursive: true, force: true });
  }
}

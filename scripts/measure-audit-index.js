#!/usr/bin/env node
/**
 * A measurement, not a test: times audit log pages answered from the resident audit index
 * (src/storage/audit-index.ts) on an embedded database seeded by scripts/seed-audit-events.js, and
 * the index's load time and memory.
 *
 *   npm run build && node --expose-gc scripts/measure-audit-index.js <data dir> [database name] [runs]
 *
 * Pages are asked through AuditTrail.search (what GET /api/v1/audit calls), one at a time, the
 * way an administrator pages: first pages, pages at random depths (by cursor), and filtered pages.
 */
const { connectDatabase } = require("../dist/storage/connection");
const { startEmbeddedDatabase } = require("../dist/storage/embedded-database");
const { attachResidentAuditIndex, ResidentAuditIndex } = require("../dist/storage/audit-index");
const { AuditTrail } = require("../dist/audit/audit-trail");

const [dataDir, dbName = "gatehouse", runsText = "60"] = process.argv.slice(2);
if (!dataDir) {
  process.stderr.write("usage: node --expose-gc scripts/measure-audit-index.js <data dir> [database name] [runs]\n");
  process.exit(2);
}
const runs = Number(runsText);

function heap() {
  global.gc?.();
  global.gc?.();
  return process.memoryUsage().heapUsed;
}
const mb = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

function percentile(samples, p) {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function timed(label, count, page) {
  const samples = [];
  let events = 0;
  for (let i = 0; i < count; i++) {
    const began = performance.now();
    const result = await page(i);
    samples.push(performance.now() - began);
    events += result.events.length;
  }
  const line = `${label.padEnd(58)} p50 ${percentile(samples, 50).toFixed(1).padStart(6)} ms  p99 ${percentile(samples, 99).toFixed(1).padStart(6)} ms  (${(events / count).toFixed(0)} events/page)`;
  process.stdout.write(`${line}\n`);
}

async function main() {
  const database = await startEmbeddedDatabase(dataDir);
  // A long timeout: the first connection builds the declared indexes over the whole trail.
  const db = await connectDatabase(database.uri, { dbName, timeoutMs: 60_000 });
  const total = await db.models.AuditEvent.collection.estimatedDocumentCount();
  process.stdout.write(`audit_events: ${total}\n`);

  const heapBefore = heap();
  const rssBefore = process.memoryUsage().rss;
  const index = new ResidentAuditIndex(db.models, { recentEvents: Number(process.env.RECENT_EVENTS ?? 2000) });
  attachResidentAuditIndex(db.models, index);
  const { events, ms } = await index.load();
  const heapIndex = heap() - heapBefore;
  process.stdout.write(`loaded ${events} events in ${(ms / 1000).toFixed(1)} s; heapUsed +${mb(heapIndex)} (${((heapIndex / events) | 0)} B/event), rss +${mb(process.memoryUsage().rss - rssBefore)}\n`);

  const trail = new AuditTrail(db.models);
  const org = "org-big";
  // Positions at random depths: every 500th event's (at, id), read once through the index.
  const everything = index.select(org, {}, 1_000_000);
  process.stdout.write(`${org}: ${everything.length} events\n`);
  const sample = [];
  for (let i = 500; i < everything.length; i += 997) sample.push(everything[i]);
  const positions = [];
  for (const id of sample) {
    const doc = await db.models.AuditEvent.collection.findOne({ _id: id });
    positions.push({ at: doc.at, id: doc._id });
  }
  const shuffled = positions.map((p, i) => positions[(i * 37) % positions.length]);
  const deep = (i) => shuffled[i % shuffled.length];

  for (const limit of [25, 50, 100]) {
    await timed(`first page, limit ${limit}, cold (after restart)`, 1, () => trail.search(org, {}, { limit }));
    await timed(`first page, limit ${limit}, warm`, runs, () => trail.search(org, {}, { limit }));
    await timed(`deep page at a random position, limit ${limit}`, Math.min(runs, shuffled.length), (i) => trail.search(org, {}, { limit, after: deep(i) }));
  }
  const limit = 50;
  const someTarget = (await db.models.AuditEvent.collection.findOne({ _id: everything[12345] })).target.id;
  const filters = [
    ["action=user.deactivated", { action: "user.deactivated" }],
    ["actor=admin-3", { actorId: "admin-3" }],
    ["source=cli", { source: "cli" }],
    [`target=<one user> (few events)`, { targetId: someTarget }],
    ["action=user.updated&actor=token-okta", { action: "user.updated", actorId: "token-okta" }],
    ["a one-week window in the middle", { from: positions[40].at, to: new Date(positions[40].at.getTime() + 7 * 86_400_000) }],
  ];
  for (const [label, filter] of filters) {
    await timed(`filtered first page ${label}, limit ${limit}`, Math.min(runs, 20), () => trail.search(org, filter, { limit }));
    await timed(`filtered deep page ${label}, limit ${limit}`, Math.min(runs, 20), (i) => trail.search(org, filter, { limit, after: deep(i) }));
  }

  const heapWithCache = heap() - heapBefore;
  process.stdout.write(`heapUsed after paging (index + recent-event cache full): +${mb(heapWithCache)}; rss now ${mb(process.memoryUsage().rss)}\n`);

  if (process.env.COMPARE_DATABASE) {
    attachResidentAuditIndex(db.models, undefined);
    await timed("first page from the database (no index), limit 50", 1, () => trail.search(org, {}, { limit: 50 }));
  }
  await db.close();
  await database.stop();
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});

#!/usr/bin/env node
/**
 * A measurement aid, not a test: fills an embedded database's `audit_events` with N synthetic events
 * (inserted directly with the driver, a thousand at a time) so the audit log pages can be timed at
 * scale (scripts/measure-audit-index.js).
 *
 *   npm run build && node scripts/seed-audit-events.js <data dir> <count> [database name]
 *
 * Nine in ten events belong to organization `org-big`, the rest to `org-small`; times run forward
 * over a year, several events often sharing a millisecond as bulk requests produce them.
 */
const { randomUUID } = require("node:crypto");
const { MongoClient } = require("mongodb");
const { startEmbeddedDatabase } = require("../dist/storage/embedded-database");

const [dataDir, countText, dbName = "gatehouse"] = process.argv.slice(2);
if (!dataDir || !countText) {
  process.stderr.write("usage: node scripts/seed-audit-events.js <data dir> <count> [database name]\n");
  process.exit(2);
}
const count = Number(countText);

const actions = ["user.provisioned", "user.updated", "user.deactivated", "user.reactivated", "user.deleted", "group.created", "group.members_changed", "group.updated", "user.access_changed", "mapping.created", "scim_token.created", "user.linked"];
const actors = [
  { type: "scim_token", id: "token-okta", name: "Okta SCIM" },
  { type: "scim_token", id: "token-entra", name: "Entra SCIM" },
  { type: "operator", id: "ops", name: "CLI operator ops" },
  ...Array.from({ length: 20 }, (_, i) => ({ type: "user", id: `admin-${i}`, name: `admin${i}@example.com` })),
];
const sources = { scim_token: "scim", operator: "cli", user: "admin" };
const users = Array.from({ length: 20_000 }, () => randomUUID());

function event(i, start) {
  const actor = i % 10 < 7 ? actors[i % 2] : actors[(i * 7) % actors.length];
  const action = actions[(i * 13) % actions.length];
  const target = users[(i * 31) % users.length];
  const userName = `user${(i * 31) % users.length}@example.com`;
  return {
    _id: randomUUID(),
    organizationId: i % 10 === 9 ? "org-small" : "org-big",
    at: new Date(start + Math.floor(i / 3) * 300),
    actor,
    source: sources[actor.type],
    action,
    target: { type: action.startsWith("group") ? "group" : "user", id: target, display: userName },
    requestId: `req-${i}`,
    before: { userName, displayName: "Ada Lovelace", active: true, emails: [{ value: userName, primary: true }] },
    after: { userName, displayName: "Ada King", active: i % 2 === 0, emails: [{ value: userName, primary: true }] },
  };
}

async function main() {
  const database = await startEmbeddedDatabase(dataDir);
  const client = await new MongoClient(database.uri).connect();
  const collection = client.db(dbName).collection("audit_events");
  const existing = await collection.estimatedDocumentCount();
  const start = Date.UTC(2025, 0, 1) + existing * 100;
  const began = Date.now();
  for (let i = 0; i < count; i += 1000) {
    const batch = Array.from({ length: Math.min(1000, count - i) }, (_, j) => event(existing + i + j, start));
    await collection.insertMany(batch, { ordered: false });
    if ((i / 1000) % 10 === 9) process.stdout.write(`${i + 1000} events, ${((Date.now() - began) / 1000).toFixed(1)} s\n`);
  }
  process.stdout.write(`seeded ${count} events (now ${existing + count}) in ${((Date.now() - began) / 1000).toFixed(1)} s\n`);
  await client.close();
  await database.stop();
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});

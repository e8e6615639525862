import { randomUUID } from "node:crypto";
import request from "supertest";
import { runCommand } from "../../src/cli/commands";
import type { AuditEventDocument } from "../../src/storage/models";
import { operator, startTestApp, type TestApp } from "../support/app";

/**
 * Personal data erasure on a long trail: the whole organization's trail is read once (a scan on
 * FerretDB) and the member's events rewritten one by one by `_id`, eight at a time. ERASURE_EVENTS (default 600,
 * ERASURE_EVERY: one event in that many is the member's, default 3) sets the size; the time is printed.
 */
const size = Number(process.env.ERASURE_EVENTS ?? 600);
/** Every how many events one is the member's (3: a third, a member far busier than most). */
const every = Number(process.env.ERASURE_EVERY ?? 3);
const hersCount = Math.ceil(size / every);
jest.setTimeout(Math.max(60_000, size * 10));

let t: TestApp;
afterAll(() => t.close());

it(`erases a member's data from a trail of ${size} events, every one of theirs rewritten and the count unchanged`, async () => {
  t = await startTestApp({}, { residentAuditIndex: true });
  const cli = async (...argv: string[]) => JSON.parse((await runCommand(t.services, argv)).stdout[0]!);
  const org = await cli("org", "create", "Long Trail Co", "--owner", "owner@example.com", "--json");
  const ownerToken = (await cli("user-token", "create", "--org", org.id, "--email", "owner@example.com", "--json")).token;
  const ctx = { ...operator, organizationId: org.id };
  const member = await t.services.users.provision(ctx, { userName: "grace.hopper@example.com", displayName: "Grace Hopper" }, "local", { role: "user" });
  await t.services.users.remove(ctx, member.id);

  const start = Date.UTC(2024, 0, 1);
  const docs: AuditEventDocument[] = Array.from({ length: size }, (_, i) => {
    const hers = i % every === 0;
    return {
      _id: randomUUID(),
      organizationId: org.id,
      at: new Date(start + i * 60_000),
      actor: hers ? { type: "user", id: member.id, name: "grace.hopper@example.com" } : { type: "scim_token", id: "token-okta", name: "Okta" },
      source: hers ? "admin" : "scim",
      action: hers ? "report.shared" : "user.updated",
      target: { type: "report", id: `report-${i}`, display: hers ? "Grace Hopper's compiler notes" : `Report ${i}` },
      after: { title: `Report ${i}` },
      requestId: `seed-${i}`,
    } as AuditEventDocument;
  });
  for (let i = 0; i < docs.length; i += 5000) await t.db.models.AuditEvent.collection.insertMany(docs.slice(i, i + 5000) as never[]);
  const total = await t.db.models.AuditEvent.countDocuments({ organizationId: org.id });
  const about = { organizationId: org.id, $or: [{ "actor.id": member.id }, { "target.id": member.id }] };
  const aboutHer = await t.db.models.AuditEvent.countDocuments(about);

  const began = performance.now();
  const res = await request(t.app).post("/api/v1/personal-data-erasures").set("Authorization", `Bearer ${ownerToken}`).send({ userId: member.id, confirm: "grace.hopper@example.com" }).expect(200);
  const ms = Math.round(performance.now() - began);
  process.stdout.write(`erasure of ${res.body.eventsRewritten} events among ${res.body.eventsScanned}: ${ms} ms over HTTP (service: ${res.body.ms} ms)\n`);

  expect(res.body.eventsScanned).toBe(total);
  expect(res.body.eventsRewritten).toBe(aboutHer);
  expect(aboutHer).toBe(hersCount + (await t.db.models.AuditEvent.countDocuments({ organizationId: org.id, "target.id": res.body.pseudonym, action: { $ne: "user.personal_data_erased" } })));
  expect(await t.db.models.AuditEvent.countDocuments({ organizationId: org.id })).toBe(total + 1);
  expect(await t.db.models.AuditEvent.countDocuments(about)).toBe(0);
  expect(await t.db.models.AuditEvent.countDocuments({ organizationId: org.id, "actor.id": res.body.pseudonym })).toBe(hersCount);
  const shared = await t.db.models.AuditEvent.findOne({ organizationId: org.id, action: "report.shared" }).lean();
  expect(shared!.target.display).toBe(`${res.body.pseudonym}'s compiler notes`);
});

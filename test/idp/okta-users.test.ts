import { startTestApp, scimClient, type TestApp } from "../support/app";
import { loadFixture, replay } from "./replay";

/**
 * Okta's user provisioning sequence (fixtures/okta/01..05), replayed in order against one
 * organization, as Okta sends it: look up, create, duplicate create, replace, deactivate.
 */
describe("Okta user provisioning sequence", () => {
  let t: TestApp;
  let org: { id: string; token: string; tokenId: string };
  const password = (loadFixture("okta", "02").body as { password: string }).password;

  beforeAll(async () => {
    t = await startTestApp();
    org = await t.organization("Okta Org");
  });

  afterAll(async () => {
    await t?.close();
  });

  it("replays okta/01..05 in order and leaves the expected stored state and audit trail", async () => {
    // 01: lookup before create finds nothing. 02: create (each answer as the fixture holds it).
    await replay(t.app, org.token, { provider: "okta", name: "01" });
    const created = await replay(t.app, org.token, { provider: "okta", name: "02" });
    const userId: string = created.body.id;
    expect(created.headers.etag).toBe(created.body.meta.version);
    expect(created.text).not.toContain(password);

    // 03: the same userName, differing only in case → 409 uniqueness; nothing stored changes.
    const storedBefore = await t.db.models.User.find({ organizationId: org.id }).lean();
    const eventsBefore = await t.db.models.AuditEvent.countDocuments({ organizationId: org.id });
    await replay(t.app, org.token, { provider: "okta", name: "03" });
    expect(await t.db.models.User.find({ organizationId: org.id }).lean()).toEqual(storedBefore);
    expect(storedBefore).toHaveLength(1);
    expect(await t.db.models.AuditEvent.countDocuments({ organizationId: org.id })).toBe(eventsBefore);

    // 04: PUT replace.
    const replaced = await replay(t.app, org.token, { provider: "okta", name: "04" }, { userId });
    expect(replaced.body.meta.version).not.toBe(created.body.meta.version);
    expect(replaced.text).not.toContain(password);

    // 05: path-less replace { active: false } deactivates.
    await replay(t.app, org.token, { provider: "okta", name: "05" }, { userId });

    const read = await scimClient(t.app, org.token).get(`/Users/${userId}`);
    expect(read.status).toBe(200);
    expect(read.body.active).toBe(false);
    expect(read.text).not.toContain(password);

    // Stored state: one user, inactive, with no password anywhere.
    const docs = await t.db.models.User.find({ organizationId: org.id }).lean();
    expect(docs).toHaveLength(1);
    const doc = docs[0];
    expect(doc._id).toBe(userId);
    expect(doc.active).toBe(false);
    expect(doc).not.toHaveProperty("password");
    expect(JSON.stringify(doc)).not.toContain(password);
    expect(JSON.stringify(doc).toLowerCase()).not.toContain("password");

    // Audit trail: provisioned, updated, deactivated, all by the SCIM token, none with the password.
    const events = await t.db.models.AuditEvent.find({ organizationId: org.id }).lean();
    const userEvents = events.filter((event) => event.target?.id === userId);
    const actions = userEvents.map((event) => event.action);
    expect(actions).toEqual(expect.arrayContaining(["user.provisioned", "user.updated", "user.deactivated"]));
    for (const action of ["user.provisioned", "user.updated", "user.deactivated"]) {
      const event = userEvents.find((e) => e.action === action)!;
      expect(event.source).toBe("scim");
      expect(event.actor.type).toBe("scim_token");
      expect(event.actor.id).toBe(org.tokenId);
    }
    for (const event of events) {
      expect(JSON.stringify(event)).not.toContain(password);
      expect(JSON.stringify(event).toLowerCase()).not.toContain("password");
    }
  });
});

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
    // 01: lookup before create finds nothing.
    const lookup = await replay(t.app, org.token, { provider: "okta", name: "01" });
    expect(lookup.body.Resources ?? []).toEqual([]);

    // 02: create.
    const created = await replay(t.app, org.token, { provider: "okta", name: "02" });
    const userId: string = created.body.id;
    expect(typeof userId).toBe("string");
    expect(userId.length).toBeGreaterThan(0);
    expect(created.body.userName).toBe("test.user@okta.local");
    expect(created.body.meta.location).toMatch(/^https:\/\//);
    expect(created.body.meta.location).toBe(`https://gatehouse.test/scim/v2/Users/${userId}`);
    expect(typeof created.body.meta.version).toBe("string");
    expect(created.body.meta.version.length).toBeGreaterThan(0);
    expect(created.headers.etag).toBe(created.body.meta.version);
    expect(created.text).not.toContain(password);
    expect(created.text.toLowerCase()).not.toContain('"password"');
    expect(created.body).not.toHaveProperty("password");
    expect(created.body.groups ?? []).toEqual([]);

    // 03: the same userName, differing only in case → 409 uniqueness; nothing stored changes.
    const storedBefore = await t.db.models.User.find({ organizationId: org.id }).lean();
    const eventsBefore = await t.db.models.AuditEvent.countDocuments({ organizationId: org.id });
    const duplicate = await replay(t.app, org.token, { provider: "okta", name: "03" });
    expect(duplicate.body.schemas).toContain("urn:ietf:params:scim:api:messages:2.0:Error");
    expect(duplicate.body.status).toBe("409");
    expect(await t.db.models.User.find({ organizationId: org.id }).lean()).toEqual(storedBefore);
    expect(storedBefore).toHaveLength(1);
    expect(await t.db.models.AuditEvent.countDocuments({ organizationId: org.id })).toBe(eventsBefore);

    // 04: PUT replace.
    const replaced = await replay(t.app, org.token, { provider: "okta", name: "04" }, { userId });
    expect(replaced.body.id).toBe(userId);
    expect(replaced.body.name.givenName).toBe("Another");
    expect(replaced.body.displayName).toBe("Another User");
    expect(replaced.body.active).toBe(true);
    expect(replaced.body.meta.version).not.toBe(created.body.meta.version);
    expect(replaced.text).not.toContain(password);

    // 05: path-less replace { active: false } deactivates.
    const deactivated = await replay(t.app, org.token, { provider: "okta", name: "05" }, { userId });
    expect(deactivated.body.id).toBe(userId);
    expect(deactivated.body.active).toBe(false);
    expect(deactivated.body.name.givenName).toBe("Another");

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

import { buildUser, enterpriseSchema, errorSchema, scimClient, startTestApp, type TestApp } from "../support/app";
import { replay } from "./replay";

/**
 * Microsoft Entra ID's user provisioning sequence (fixtures/entra/01..06, 13, 12), replayed in
 * order against one organization.
 */
describe("Microsoft Entra ID user provisioning sequence", () => {
  let t: TestApp;
  let org: { id: string; token: string; tokenId: string };

  beforeAll(async () => {
    t = await startTestApp();
    org = await t.organization("Entra Org");
  });

  afterAll(async () => {
    await t?.close();
  });

  it("replays entra/01..06, 13, 12 in order", async () => {
    const scim = scimClient(t.app, org.token);

    // 01: lookup by userName finds nothing. 02: create (with Entra's extra `meta`, empty `roles`
    // and the enterprise extension). 03: lookup by externalId finds exactly that user. Every
    // replay compares the status and the whole body with the fixture's.
    await replay(t.app, org.token, { provider: "entra", name: "01" });
    const userId: string = (await replay(t.app, org.token, { provider: "entra", name: "02" })).body.id;
    await replay(t.app, org.token, { provider: "entra", name: "03" }, { userId });

    // 04: Replace emails[type eq "work"].value and name.familyName.
    await replay(t.app, org.token, { provider: "entra", name: "04" }, { userId });
    const afterPatch = await scim.get(`/Users/${userId}`);
    expect(afterPatch.status).toBe(200);
    expect(afterPatch.body.name.familyName).toBe("updatedFamilyName");
    expect(afterPatch.body.name.givenName).toBe("givenName");
    const workEmails = (afterPatch.body.emails as { type?: string; value: string }[]).filter((e) => e.type === "work");
    expect(workEmails).toHaveLength(1);
    expect(workEmails[0].value).toBe("updatedEmail@microsoft.com");
    expect(afterPatch.body.emails).toHaveLength(1);

    // 05: add the manager as a bare string id (the manager is another user of the organization).
    const manager = await scim.post("/Users", buildUser({ userName: "manager@example.com", displayName: "The Manager" }));
    expect(manager.status).toBe(201);
    const managerId: string = manager.body.id;
    await replay(t.app, org.token, { provider: "entra", name: "05" }, { userId, managerId });
    const afterManager = await scim.get(`/Users/${userId}`);
    expect(afterManager.body[enterpriseSchema]).toMatchObject({ department: "Analytics", employeeNumber: "4711", manager: { value: managerId } });
    const storedWithManager = await t.db.models.User.findById(userId).lean();
    expect((storedWithManager?.enterprise as { manager?: { value?: string } })?.manager?.value).toBe(managerId);

    // 06: disable.
    await replay(t.app, org.token, { provider: "entra", name: "06" }, { userId, managerId });
    expect((await scim.get(`/Users/${userId}`)).body.active).toBe(false);
    expect((await t.db.models.User.findById(userId).lean())?.active).toBe(false);

    // 13: app-role assignment with a string `primary` and an arbitrary `type`.
    await replay(t.app, org.token, { provider: "entra", name: "13" }, { userId, managerId });
    const afterRole = await scim.get(`/Users/${userId}`);
    expect(afterRole.body.roles).toContainEqual({ value: "Analyst", type: "WindowsAzureActiveDirectoryRole", primary: true });
    expect(afterRole.body.active).toBe(false);
    const storedRoles = (await t.db.models.User.findById(userId).lean())?.roles as { primary: unknown }[];
    expect(storedRoles).toHaveLength(1);
    expect(storedRoles[0].primary).toBe(true);

    // 12: delete, then the user is gone with a SCIM 404.
    await replay(t.app, org.token, { provider: "entra", name: "12" }, { userId });
    const gone = await scim.get(`/Users/${userId}`);
    expect(gone.status).toBe(404);
    expect(gone.body.schemas).toContain(errorSchema);
    expect(gone.body.status).toBe("404");
    expect(await t.db.models.User.findById(userId).lean()).toBeNull();
    // The manager is untouched.
    expect((await scim.get(`/Users/${managerId}`)).status).toBe(200);

    const actions = (await t.db.models.AuditEvent.find({ organizationId: org.id, "target.id": userId }).lean()).map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(["user.provisioned", "user.updated", "user.deactivated", "user.deleted"]));
  });
});

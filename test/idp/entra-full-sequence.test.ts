import { buildUser, enterpriseSchema, errorSchema, scimClient, startTestApp, type TestApp } from "../support/app";
import { loadFixture, replay } from "./replay";

const groupSchema = "urn:ietf:params:scim:schemas:core:2.0:Group";
const entraGroupSchema = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group";
const base = "https://gatehouse.test/scim/v2";

/**
 * Microsoft Entra ID's complete provisioning sequence (fixtures/entra/01..13), replayed in the
 * fixtures' numeric order against one organization. `{managerId}` is a user created before step
 * 05 and `{groupId}` comes from step 07.
 *
 * entra/13 (app-role assignment) is numbered after entra/12 (delete user) but targets `{userId}`;
 * replayed against the deleted user it could only answer 404. Entra assigns app roles to users it
 * still provisions, so 13 targets a second provisioned user of the same organization (created
 * with the manager, before step 05), and the numeric order is kept.
 */
describe("Microsoft Entra ID full provisioning sequence (users and groups)", () => {
  let t: TestApp;
  let org: { id: string; token: string; tokenId: string };

  beforeAll(async () => {
    t = await startTestApp();
    org = await t.organization("Entra Full Org");
  });

  afterAll(async () => {
    await t?.close();
  });

  it("replays entra/01..13 in order with the expected results at every step", async () => {
    const scim = scimClient(t.app, org.token);
    const storedGroupIds = async (userId: string): Promise<string[]> =>
      ((await t.db.models.User.findById(userId).lean())?.groups ?? []) as string[];

    // 01..04: lookup, create, lookup by externalId, attribute PATCH.
    await replay(t.app, org.token, { provider: "entra", name: "01" });
    const created = await replay(t.app, org.token, { provider: "entra", name: "02" });
    const userId: string = created.body.id;
    expect(typeof userId).toBe("string");
    const byExternalId = await replay(t.app, org.token, { provider: "entra", name: "03" });
    expect(byExternalId.body.Resources[0].id).toBe(userId);
    const patched = await replay(t.app, org.token, { provider: "entra", name: "04" }, { userId });
    expect(patched.body.name.familyName).toBe("updatedFamilyName");

    // 05: the manager, another user of the organization, exists before this step. So does the
    // user 13 assigns an app role to (see above).
    const manager = await scim.post("/Users", buildUser({ userName: "manager.full@example.com", displayName: "The Manager" }));
    expect(manager.status).toBe(201);
    const managerId: string = manager.body.id;
    const roleHolder = await scim.post("/Users", buildUser({ userName: "role.holder@example.com", displayName: "Role Holder" }));
    expect(roleHolder.status).toBe(201);
    const roleHolderId: string = roleHolder.body.id;
    const withManager = await replay(t.app, org.token, { provider: "entra", name: "05" }, { userId, managerId });
    expect(withManager.body[enterpriseSchema]?.manager?.value).toBe(managerId);

    // 06: disable.
    const disabled = await replay(t.app, org.token, { provider: "entra", name: "06" }, { userId });
    expect(disabled.body.active).toBe(false);

    // 07: create the group with Entra's own schema URN: accepted, not echoed back.
    const sentGroup = loadFixture("entra", "07").body as { schemas: string[]; externalId: string };
    expect(sentGroup.schemas).toContain(entraGroupSchema);
    const createdGroup = await replay(t.app, org.token, { provider: "entra", name: "07" });
    const groupId: string = createdGroup.body.id;
    expect(typeof groupId).toBe("string");
    expect(groupId.length).toBeGreaterThan(0);
    expect(createdGroup.body.schemas).toEqual([groupSchema]);
    expect(createdGroup.body.displayName).toBe("Analytics Admins");
    expect(createdGroup.body.externalId).toBe(sentGroup.externalId);
    expect(createdGroup.body.meta.location).toBe(`${base}/Groups/${groupId}`);
    const readGroup = await scim.get(`/Groups/${groupId}`);
    expect(readGroup.status).toBe(200);
    expect(readGroup.body.schemas).toEqual([groupSchema]);

    // 08: lookup by displayName without members.
    const lookup = await replay(t.app, org.token, { provider: "entra", name: "08" });
    expect(lookup.body.totalResults).toBe(1);
    expect(lookup.body.Resources).toHaveLength(1);
    expect(lookup.body.Resources[0].id).toBe(groupId);
    expect(lookup.body.Resources[0].displayName).toBe("Analytics Admins");
    expect(lookup.body.Resources[0]).not.toHaveProperty("members");

    // 09: add the user; Entra expects 204 No Content.
    const added = await replay(t.app, org.token, { provider: "entra", name: "09" }, { userId, groupId });
    expect(added.status).toBe(204);
    expect(added.text).toBe("");
    expect(await storedGroupIds(userId)).toEqual([groupId]);
    const afterAdd = await scim.get(`/Groups/${groupId}`);
    expect(afterAdd.body.members).toHaveLength(1);
    expect(afterAdd.body.members[0]).toMatchObject({ value: userId, $ref: `${base}/Users/${userId}` });
    // The lookup Entra makes still leaves the members out once there are some.
    const lookupWithMember = await replay(t.app, org.token, { provider: "entra", name: "08" });
    expect(lookupWithMember.body.Resources[0]).not.toHaveProperty("members");

    // 10: remove the user with path "members" and a value array.
    const removed = await replay(t.app, org.token, { provider: "entra", name: "10" }, { userId, groupId });
    expect(removed.status).toBe(204);
    expect(removed.text).toBe("");
    expect(await storedGroupIds(userId)).toEqual([]);
    const afterRemove = await scim.get(`/Groups/${groupId}`);
    expect(afterRemove.status).toBe(200);
    expect(afterRemove.body.members ?? []).toEqual([]);
    expect((await scim.get(`/Users/${userId}`)).body.groups ?? []).toEqual([]);

    // 11: rename.
    const renamed = await replay(t.app, org.token, { provider: "entra", name: "11" }, { groupId });
    expect(renamed.status).toBe(204);
    expect(renamed.text).toBe("");
    const afterRename = await scim.get(`/Groups/${groupId}`);
    expect(afterRename.status).toBe(200);
    expect(afterRename.body.displayName).toBe("Analytics Admins (EU)");
    expect(afterRename.body.externalId).toBe(sentGroup.externalId);

    // 12: delete the user.
    const deleted = await replay(t.app, org.token, { provider: "entra", name: "12" }, { userId });
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe("");
    const gone = await scim.get(`/Users/${userId}`);
    expect(gone.status).toBe(404);
    expect(gone.body.schemas).toContain(errorSchema);
    expect(await t.db.models.User.findById(userId).lean()).toBeNull();
    expect((await scim.get(`/Users/${managerId}`)).status).toBe(200);
    expect((await scim.get(`/Groups/${groupId}`)).status).toBe(200);

    // 13: app-role assignment (string `primary`, arbitrary `type`) for the second user.
    const withRole = await replay(t.app, org.token, { provider: "entra", name: "13" }, { userId: roleHolderId });
    expect(withRole.body.id).toBe(roleHolderId);
    expect(withRole.body.roles).toContainEqual({ value: "Analyst", type: "WindowsAzureActiveDirectoryRole", primary: true });
    const afterRole = await scim.get(`/Users/${roleHolderId}`);
    expect(afterRole.body.roles).toContainEqual({ value: "Analyst", type: "WindowsAzureActiveDirectoryRole", primary: true });
    expect(afterRole.body.active).toBe(true);

    const groupActions = (await t.db.models.AuditEvent.find({ organizationId: org.id, "target.id": groupId }).lean()).map((e) => e.action);
    expect(groupActions).toEqual(expect.arrayContaining(["group.created", "group.members_changed", "group.updated"]));
  });
});

import { buildUser, errorSchema, scimClient, startTestApp, type TestApp } from "../support/app";
import { loadFixture, replay } from "./replay";

const groupSchema = "urn:ietf:params:scim:schemas:core:2.0:Group";
const entraGroupSchema = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group";
const base = "https://gatehouse.test/scim/v2";

/**
 * Microsoft Entra ID's complete provisioning sequence (fixtures/entra/01..13) against one
 * organization. `{managerId}` is a user created before step 05 and `{groupId}` comes from step 07.
 *
 * entra/13 (app-role assignment) is numbered after entra/12 (delete user) but targets `{userId}`;
 * replayed against the deleted user it could only answer 404. Entra assigns app roles to users it
 * still provisions, so 13 is replayed before 12, as entra-users.test.ts does: each fixture then
 * holds one answer, whichever sequence replays it.
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

  it("replays entra/01..11, 13, 12 in order with the expected results at every step", async () => {
    const scim = scimClient(t.app, org.token);
    const storedGroupIds = async (userId: string): Promise<string[]> =>
      ((await t.db.models.User.findById(userId).lean())?.groups ?? []) as string[];

    // 01..08: every replay compares the status and the whole body with the fixture's.
    await replay(t.app, org.token, { provider: "entra", name: "01" });
    const userId: string = (await replay(t.app, org.token, { provider: "entra", name: "02" })).body.id;
    await replay(t.app, org.token, { provider: "entra", name: "03" }, { userId });
    await replay(t.app, org.token, { provider: "entra", name: "04" }, { userId });

    // 05: the manager, another user of the organization, exists before this step.
    const manager = await scim.post("/Users", buildUser({ userName: "manager.full@example.com", displayName: "The Manager" }));
    expect(manager.status).toBe(201);
    const managerId: string = manager.body.id;
    await replay(t.app, org.token, { provider: "entra", name: "05" }, { userId, managerId });
    await replay(t.app, org.token, { provider: "entra", name: "06" }, { userId, managerId });

    // 07: create the group with Entra's own schema URN: accepted, not echoed back (the fixture's answer).
    expect((loadFixture("entra", "07").body as { schemas: string[] }).schemas).toContain(entraGroupSchema);
    const groupId: string = (await replay(t.app, org.token, { provider: "entra", name: "07" })).body.id;
    const readGroup = await scim.get(`/Groups/${groupId}`);
    expect(readGroup.status).toBe(200);
    expect(readGroup.body.schemas).toEqual([groupSchema]);

    // 08: lookup by displayName without members.
    await replay(t.app, org.token, { provider: "entra", name: "08" }, { groupId });

    // 09: add the user; Entra expects 204 No Content.
    await replay(t.app, org.token, { provider: "entra", name: "09" }, { userId, groupId });
    expect(await storedGroupIds(userId)).toEqual([groupId]);
    const afterAdd = await scim.get(`/Groups/${groupId}`);
    expect(afterAdd.body.members).toHaveLength(1);
    expect(afterAdd.body.members[0]).toMatchObject({ value: userId, $ref: `${base}/Users/${userId}` });
    // The lookup Entra makes still leaves the members out once there are some.
    await replay(t.app, org.token, { provider: "entra", name: "08" }, { groupId });

    // 10: remove the user with path "members" and a value array.
    await replay(t.app, org.token, { provider: "entra", name: "10" }, { userId, groupId });
    expect(await storedGroupIds(userId)).toEqual([]);
    const afterRemove = await scim.get(`/Groups/${groupId}`);
    expect(afterRemove.status).toBe(200);
    expect(afterRemove.body.members ?? []).toEqual([]);
    expect((await scim.get(`/Users/${userId}`)).body.groups ?? []).toEqual([]);

    // 11: rename.
    await replay(t.app, org.token, { provider: "entra", name: "11" }, { groupId });
    const afterRename = await scim.get(`/Groups/${groupId}`);
    expect(afterRename.status).toBe(200);
    expect(afterRename.body.displayName).toBe("Analytics Admins (EU)");
    expect(afterRename.body.externalId).toBe((loadFixture("entra", "07").body as { externalId: string }).externalId);

    // 13: app-role assignment (string `primary`, arbitrary `type`), while the user is still provisioned.
    await replay(t.app, org.token, { provider: "entra", name: "13" }, { userId, managerId });
    const afterRole = await scim.get(`/Users/${userId}`);
    expect(afterRole.body.roles).toEqual([{ value: "Analyst", type: "WindowsAzureActiveDirectoryRole", primary: true }]);

    // 12: delete the user.
    await replay(t.app, org.token, { provider: "entra", name: "12" }, { userId });
    const gone = await scim.get(`/Users/${userId}`);
    expect(gone.status).toBe(404);
    expect(gone.body.schemas).toContain(errorSchema);
    expect(await t.db.models.User.findById(userId).lean()).toBeNull();
    expect((await scim.get(`/Users/${managerId}`)).status).toBe(200);
    expect((await scim.get(`/Groups/${groupId}`)).status).toBe(200);

    const groupActions = (await t.db.models.AuditEvent.find({ organizationId: org.id, "target.id": groupId }).lean()).map((e) => e.action);
    expect(groupActions).toEqual(expect.arrayContaining(["group.created", "group.members_changed", "group.updated"]));
  });
});

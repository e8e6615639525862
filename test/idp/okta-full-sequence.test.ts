import { buildUser, errorSchema, scimClient, startTestApp, type TestApp } from "../support/app";
import { replay } from "./replay";

const groupSchema = "urn:ietf:params:scim:schemas:core:2.0:Group";
const base = "https://gatehouse.test/scim/v2";

interface ScimMember {
  value: string;
  display?: string;
  $ref?: string;
  type?: string;
}

/**
 * Okta's complete provisioning sequence (fixtures/okta/01..11), replayed in the IdP's order
 * against one organization: the user steps 01..05, then the group steps 06..11.
 *
 * okta/10 deletes the group that okta/11 replaces. Okta sends 11 to a group that exists, so after
 * 10 the test pushes a new group with the same displayName ("Test SCIMv2 renamed") holding the
 * user and a second member, and replays 11 against it: the order of the fixtures is kept, and
 * 11's whole-group PUT has a difference to apply (one member kept, one removed).
 */
describe("Okta full provisioning sequence (users and groups)", () => {
  let t: TestApp;
  let org: { id: string; token: string; tokenId: string };

  beforeAll(async () => {
    t = await startTestApp();
    org = await t.organization("Okta Full Org");
  });

  afterAll(async () => {
    await t?.close();
  });

  it("replays okta/01..11 in order with the expected results at every step", async () => {
    const scim = scimClient(t.app, org.token);
    const userGroups = async (userId: string): Promise<ScimMember[]> => {
      const res = await scim.get(`/Users/${userId}`);
      expect(res.status).toBe(200);
      return (res.body.groups ?? []) as ScimMember[];
    };
    const storedGroupIds = async (userId: string): Promise<string[]> =>
      ((await t.db.models.User.findById(userId).lean())?.groups ?? []) as string[];

    // 01..05: the user steps (covered in detail by okta-users.test.ts). Every replay compares the
    // status and the whole body with the fixture's.
    await replay(t.app, org.token, { provider: "okta", name: "01" });
    const userId: string = (await replay(t.app, org.token, { provider: "okta", name: "02" })).body.id;
    await replay(t.app, org.token, { provider: "okta", name: "03" });
    await replay(t.app, org.token, { provider: "okta", name: "04" }, { userId });
    await replay(t.app, org.token, { provider: "okta", name: "05" }, { userId });

    // 06: create the group (no members).
    const groupId: string = (await replay(t.app, org.token, { provider: "okta", name: "06" })).body.id;

    // 07: add the user.
    await replay(t.app, org.token, { provider: "okta", name: "07" }, { userId, groupId });
    const afterAdd = await scim.get(`/Groups/${groupId}`);
    expect(afterAdd.status).toBe(200);
    expect(afterAdd.body.members).toHaveLength(1);
    expect(afterAdd.body.members[0]).toMatchObject({ value: userId, $ref: `${base}/Users/${userId}` });
    expect(typeof afterAdd.body.members[0].display).toBe("string");
    expect(afterAdd.body.members[0].display.length).toBeGreaterThan(0);
    expect(afterAdd.body.members[0].$ref).toMatch(/^https:\/\//);
    const groupsAfterAdd = await userGroups(userId);
    expect(groupsAfterAdd).toHaveLength(1);
    expect(groupsAfterAdd[0]).toMatchObject({ value: groupId, display: "Test SCIMv2", $ref: `${base}/Groups/${groupId}` });
    expect(await storedGroupIds(userId)).toEqual([groupId]);

    // 08: path-less replace renames the group; the member stays.
    await replay(t.app, org.token, { provider: "okta", name: "08" }, { userId, groupId });
    const afterRename = await scim.get(`/Groups/${groupId}`);
    expect(afterRename.status).toBe(200);
    expect(afterRename.body.id).toBe(groupId);
    expect(afterRename.body.displayName).toBe("Test SCIMv2 renamed");
    expect((afterRename.body.members as ScimMember[]).map((m) => m.value)).toEqual([userId]);
    expect((await userGroups(userId))[0]).toMatchObject({ value: groupId, display: "Test SCIMv2 renamed" });

    // 09: remove the user with members[value eq "…"].
    await replay(t.app, org.token, { provider: "okta", name: "09" }, { userId, groupId });
    const afterRemove = await scim.get(`/Groups/${groupId}`);
    expect(afterRemove.status).toBe(200);
    expect(afterRemove.body.members ?? []).toEqual([]);
    expect(afterRemove.body.displayName).toBe("Test SCIMv2 renamed");
    expect(await userGroups(userId)).toEqual([]);
    expect(await storedGroupIds(userId)).toEqual([]);

    // 10: delete the group.
    await replay(t.app, org.token, { provider: "okta", name: "10" }, { groupId });
    const gone = await scim.get(`/Groups/${groupId}`);
    expect(gone.status).toBe(404);
    expect(gone.body.schemas).toContain(errorSchema);
    expect(await t.db.models.Group.findById(groupId).lean()).toBeNull();
    expect(await userGroups(userId)).toEqual([]);

    // Between 10 and 11: Okta pushes the group again (same displayName, now free again), with the
    // user and a second member, so that 11's whole-group replacement has something to keep and
    // something to remove.
    const other = await scim.post("/Users", buildUser({ userName: "other.member@okta.local", displayName: "Other Member" }));
    expect(other.status).toBe(201);
    const otherId: string = other.body.id;
    const pushed = await scim.post("/Groups", {
      schemas: [groupSchema],
      displayName: "Test SCIMv2 renamed",
      members: [{ value: userId }, { value: otherId }],
    });
    expect(pushed.status).toBe(201);
    const newGroupId: string = pushed.body.id;
    expect(newGroupId).not.toBe(groupId);
    expect((pushed.body.members as ScimMember[]).map((m) => m.value).sort()).toEqual([userId, otherId].sort());

    // 11: PUT the whole group, members included: only the user remains (the answer holds just them).
    await replay(t.app, org.token, { provider: "okta", name: "11" }, { userId, groupId: newGroupId });
    const afterPut = await scim.get(`/Groups/${newGroupId}`);
    expect((afterPut.body.members as ScimMember[]).map((m) => m.value)).toEqual([userId]);
    expect(await storedGroupIds(userId)).toEqual([newGroupId]);
    expect(await storedGroupIds(otherId)).toEqual([]);
    expect((await userGroups(userId)).map((g) => g.value)).toEqual([newGroupId]);
    expect(await userGroups(otherId)).toEqual([]);

    // 11 was applied as a difference: the kept member is neither added nor removed.
    const changes = await t.db.models.AuditEvent.find({ organizationId: org.id, action: "group.members_changed", "target.id": newGroupId }).lean();
    expect(changes).toHaveLength(1);
    const { added, removed } = changes[0].after as { added: string[]; removed: string[] };
    expect(added).toEqual([]);
    expect(removed).toEqual([otherId]);
    expect(added).not.toContain(userId);
    expect(removed).not.toContain(userId);
    expect(changes[0].actor).toMatchObject({ type: "scim_token", id: org.tokenId });

    // The group steps left an audit trail for the first group as well.
    const firstGroupActions = (await t.db.models.AuditEvent.find({ organizationId: org.id, "target.id": groupId }).lean()).map((e) => e.action);
    expect(firstGroupActions).toEqual(expect.arrayContaining(["group.created", "group.members_changed", "group.updated", "group.deleted"]));
  });
});

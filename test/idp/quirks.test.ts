import {
  buildUser,
  enterpriseSchema,
  errorSchema,
  patchSchema,
  scimClient,
  startTestApp,
  userSchema,
  type TestApp,
} from "../support/app";
import { loadFixture } from "./replay";

/**
 * Identity-provider quirks (fixtures/README.md), one test each, named for the quirk and the
 * provider that has it. Every test checks the HTTP answer and what is stored.
 */
describe("identity-provider quirks", () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });

  afterAll(async () => {
    await t?.close();
  });

  /** A new organization, its SCIM client, and helpers to look at what it stores. */
  async function setup(name: string) {
    const org = await t.organization(name);
    const scim = scimClient(t.app, org.token);
    return {
      org,
      scim,
      async create(body: Record<string, unknown>): Promise<string> {
        const response = await scim.post("/Users", body);
        if (response.status !== 201) throw new Error(`POST /Users → ${response.status} ${JSON.stringify(response.body)}`);
        return response.body.id as string;
      },
      patch(id: string, Operations: unknown[]) {
        return scim.patch(`/Users/${id}`, { schemas: [patchSchema], Operations });
      },
      async stored(id: string) {
        // Audit events leave the user's outbox in the background after each answer: read the
        // user once that has happened, so two reads of an unchanged user compare equal.
        await t.services.settle();
        return t.db.models.User.findById(id).lean();
      },
      async users() {
        return t.db.models.User.find({ organizationId: org.id }).sort({ _id: 1 }).lean();
      },
      async events() {
        return t.db.models.AuditEvent.find({ organizationId: org.id }).sort({ at: 1, _id: 1 }).lean();
      },
      async userEvents(id: string) {
        return t.db.models.AuditEvent.find({ organizationId: org.id, "target.id": id }).sort({ at: 1, _id: 1 }).lean();
      },
    };
  }

  it('Entra: string booleans ("True"/"False") for active and primary, in POST, PATCH with path and path-less PATCH', async () => {
    const { scim, patch, stored, userEvents, users } = await setup("Entra string booleans");

    // POST with "active": "True" and an e-mail with "primary": "True".
    const created = await scim.post(
      "/Users",
      buildUser({ userName: "strings@example.com", active: "True", emails: [{ value: "strings@example.com", type: "work", primary: "True" }] }),
    );
    expect(created.status).toBe(201);
    expect(created.body.active).toBe(true);
    expect(created.body.emails).toEqual([{ value: "strings@example.com", type: "work", primary: true }]);
    const id: string = created.body.id;
    let doc = await stored(id);
    expect(doc?.active).toBe(true);
    expect((doc?.emails as { primary: unknown }[])[0].primary).toBe(true);

    // PATCH Replace path "active" with "False".
    const disabled = await patch(id, [{ op: "Replace", path: "active", value: "False" }]);
    expect(disabled.status).toBe(200);
    expect(disabled.body.active).toBe(false);
    expect((await stored(id))?.active).toBe(false);

    // Back on with "True", then path-less replace { active: "False" }.
    const enabled = await patch(id, [{ op: "Replace", path: "active", value: "True" }]);
    expect(enabled.status).toBe(200);
    expect(enabled.body.active).toBe(true);
    expect((await stored(id))?.active).toBe(true);

    const pathless = await patch(id, [{ op: "replace", value: { active: "False" } }]);
    expect(pathless.status).toBe(200);
    expect(pathless.body.active).toBe(false);
    doc = await stored(id);
    expect(doc?.active).toBe(false);
    expect(typeof doc?.active).toBe("boolean");
    expect((await scim.get(`/Users/${id}`)).body.active).toBe(false);

    const actions = (await userEvents(id)).map((e) => e.action);
    // (Each deactivation's summary of what it revoked lands in the same millisecond or the next.)
    // (Each deactivation and reactivation also changes the effective access: `user.access_changed`, same time.)
    expect(actions.filter((a) => a !== "user.access_revoked" && a !== "user.access_changed")).toEqual(["user.provisioned", "user.deactivated", "user.reactivated", "user.deactivated"]);
    expect(actions.filter((a) => a === "user.access_changed")).toHaveLength(3);
    expect(actions.filter((a) => a === "user.access_revoked")).toHaveLength(2);

    // A string that is not a boolean is still refused, and nothing is stored for it.
    const before = await users();
    const refused = await scim.post("/Users", buildUser({ userName: "maybe@example.com", active: "maybe" }));
    expect(refused.status).toBe(400);
    expect(refused.body.schemas).toContain(errorSchema);
    expect(await users()).toEqual(before);
  });

  it("Entra: capitalised PATCH op names (Add, Replace, Remove)", async () => {
    const { create, patch, stored, scim } = await setup("Entra op names");
    const id = await create(buildUser({ userName: "ops@example.com", title: "Engineer", displayName: "Ada" }));

    const response = await patch(id, [
      { op: "Add", path: "nickName", value: "Countess" },
      { op: "Replace", path: "displayName", value: "Ada Lovelace" },
      { op: "Remove", path: "title" },
    ]);
    expect(response.status).toBe(200);
    expect(response.body.nickName).toBe("Countess");
    expect(response.body.displayName).toBe("Ada Lovelace");
    expect(response.body).not.toHaveProperty("title");

    const doc = await stored(id);
    expect(doc?.nickName).toBe("Countess");
    expect(doc?.displayName).toBe("Ada Lovelace");
    expect(doc).not.toHaveProperty("title");
    expect(doc?.version).toBe(2);

    const read = await scim.get(`/Users/${id}`);
    expect(read.body).not.toHaveProperty("title");
    expect(read.body.nickName).toBe("Countess");
  });

  it('Entra: Replace of emails[type eq "work"].value creates the work e-mail when missing and replaces it when present', async () => {
    const { create, patch, stored } = await setup("Entra work e-mail");
    const path = 'emails[type eq "work"].value';

    // No e-mail of type work yet (only a home one): the work e-mail is created.
    const homeOnly = await create(buildUser({ userName: "home@example.com", emails: [{ value: "home@example.com", type: "home" }] }));
    const added = await patch(homeOnly, [{ op: "Replace", path, value: "work@example.com" }]);
    expect(added.status).toBe(200);
    expect(added.body.emails).toHaveLength(2);
    expect(added.body.emails).toContainEqual({ value: "home@example.com", type: "home" });
    expect(added.body.emails).toContainEqual(expect.objectContaining({ type: "work", value: "work@example.com" }));
    const homeDoc = await stored(homeOnly);
    expect(homeDoc?.emails).toHaveLength(2);
    expect(homeDoc?.emails).toContainEqual(expect.objectContaining({ type: "work", value: "work@example.com" }));

    // No e-mails at all.
    const none = await create(buildUser({ userName: "none@example.com", emails: undefined }));
    expect((await stored(none))?.emails).toBeUndefined();
    const first = await patch(none, [{ op: "Replace", path, value: "first@example.com" }]);
    expect(first.status).toBe(200);
    expect(first.body.emails).toEqual([expect.objectContaining({ type: "work", value: "first@example.com" })]);
    expect((await stored(none))?.emails).toEqual([expect.objectContaining({ type: "work", value: "first@example.com" })]);

    // A work e-mail exists: its value is replaced, no second work e-mail appears.
    const withWork = await create(buildUser({ userName: "work@example.com", emails: [{ value: "old@example.com", type: "work", primary: true }] }));
    const replaced = await patch(withWork, [{ op: "Replace", path, value: "new@example.com" }]);
    expect(replaced.status).toBe(200);
    expect(replaced.body.emails).toEqual([{ value: "new@example.com", type: "work", primary: true }]);
    expect((await stored(withWork))?.emails).toEqual([{ value: "new@example.com", type: "work", primary: true }]);

    // Sending the same again is idempotent: still one work e-mail.
    const again = await patch(withWork, [{ op: "Replace", path, value: "new@example.com" }]);
    expect(again.status).toBe(200);
    expect(again.body.emails).toEqual([{ value: "new@example.com", type: "work", primary: true }]);
    expect((await stored(withWork))?.version).toBe(2);
  });

  it("Entra: enterprise manager as a bare string id, in PATCH Add on …:enterprise:2.0:User:manager and in POST", async () => {
    const { create, patch, stored, scim } = await setup("Entra manager");
    const managerId = await create(buildUser({ userName: "boss@example.com" }));

    // PATCH Add with a bare string, as entra/05 sends it.
    const reportId = await create(buildUser({ userName: "report@example.com" }));
    const added = await patch(reportId, [{ op: "Add", path: `${enterpriseSchema}:manager`, value: managerId }]);
    expect(added.status).toBe(200);
    expect(added.body.schemas).toContain(enterpriseSchema);
    expect(added.body[enterpriseSchema].manager.value).toBe(managerId);
    expect((await stored(reportId))?.enterprise).toEqual({ manager: { value: managerId } });
    expect((await scim.get(`/Users/${reportId}`)).body[enterpriseSchema].manager.value).toBe(managerId);

    // POST whose enterprise extension carries "manager": "<id>".
    const posted = await scim.post(
      "/Users",
      buildUser({
        schemas: [userSchema, enterpriseSchema],
        userName: "report2@example.com",
        [enterpriseSchema]: { department: "Analytics", manager: managerId },
      }),
    );
    expect(posted.status).toBe(201);
    expect(posted.body[enterpriseSchema]).toMatchObject({ department: "Analytics", manager: { value: managerId } });
    expect((await stored(posted.body.id))?.enterprise).toEqual({ department: "Analytics", manager: { value: managerId } });
  });

  it("Entra: app-role assignments in roles with an arbitrary type (WindowsAzureActiveDirectoryRole)", async () => {
    const { scim, create, stored } = await setup("Entra app roles");
    const role = { value: "Analyst", type: "WindowsAzureActiveDirectoryRole", primary: true };

    // PATCH Add as entra/13 sends it (primary as the string "True").
    const id = await create(buildUser({ userName: "roles@example.com" }));
    const patched = await scim.patch(`/Users/${id}`, loadFixture("entra", "13").body as object);
    expect(patched.status).toBe(200);
    expect(patched.body.roles).toEqual([role]);
    expect((await stored(id))?.roles).toEqual([role]);

    // POST with a role of another arbitrary type.
    const posted = await scim.post(
      "/Users",
      buildUser({ userName: "roles2@example.com", roles: [{ value: "Reader", type: "CustomAppRole", primary: "False" }] }),
    );
    expect(posted.status).toBe(201);
    expect(posted.body.roles).toEqual([{ value: "Reader", type: "CustomAppRole", primary: false }]);
    expect((await stored(posted.body.id))?.roles).toEqual([{ value: "Reader", type: "CustomAppRole", primary: false }]);
  });

  it('Entra: extra schema and "meta" in the POST body are accepted', async () => {
    const { scim, stored } = await setup("Entra meta");
    const response = await scim.post(
      "/Users",
      buildUser({
        schemas: [userSchema, enterpriseSchema],
        userName: "meta@example.com",
        meta: { resourceType: "User" },
        roles: [],
        [enterpriseSchema]: { department: "Sales" },
      }),
    );
    expect(response.status).toBe(201);
    expect(response.body.meta).toMatchObject({
      resourceType: "User",
      location: `https://gatehouse.test/scim/v2/Users/${response.body.id}`,
      version: 'W/"1"',
    });
    expect(typeof response.body.meta.created).toBe("string");
    expect(response.body[enterpriseSchema]).toEqual({ department: "Sales" });
    const doc = await stored(response.body.id);
    expect(doc?.userName).toBe("meta@example.com");
    expect(doc?.enterprise).toEqual({ department: "Sales" });
    expect(doc).not.toHaveProperty("meta");
    expect(doc).not.toHaveProperty("roles");
  });

  it("Microsoft SCIM validator: PATCH with empty Operations answers 200 with the unchanged resource", async () => {
    const { scim, create, stored, userEvents } = await setup("Microsoft validator");
    const id = await create(buildUser({ userName: "noop@example.com" }));
    const before = await scim.get(`/Users/${id}`);
    const storedBefore = await stored(id);

    const response = await scim.patch(`/Users/${id}`, { schemas: [patchSchema], Operations: [] });
    expect(response.status).toBe(200);
    expect(response.body).toEqual(before.body);
    expect(response.body.meta.version).toBe('W/"1"');
    expect(response.headers.etag).toBe('W/"1"');

    expect(await stored(id)).toEqual(storedBefore);
    expect((await userEvents(id)).map((e) => e.action)).toEqual(["user.provisioned"]);
  });

  it("Okta: path-less replace with { active: false } deactivates the user", async () => {
    const { create, patch, stored, userEvents, scim } = await setup("Okta deactivate");
    const id = await create(buildUser({ userName: "okta.deactivate@example.com", displayName: "Keep Me" }));

    const response = await patch(id, [{ op: "replace", value: { active: false } }]);
    expect(response.status).toBe(200);
    expect(response.body.active).toBe(false);
    expect(response.body.displayName).toBe("Keep Me");

    const doc = await stored(id);
    expect(doc?.active).toBe(false);
    expect(doc?.displayName).toBe("Keep Me");
    expect(doc?.version).toBe(2);
    expect((await scim.get(`/Users/${id}`)).body.active).toBe(false);
    const events = await userEvents(id);
    expect(events.map((e) => e.action).sort()).toEqual(["user.access_changed", "user.access_revoked", "user.deactivated", "user.provisioned"]);
    expect(events.find((e) => e.action === "user.deactivated")).toMatchObject({ source: "scim", actor: { type: "scim_token" } });
  });

  it("Okta: password on POST, PUT and PATCH is accepted, never returned and never stored", async () => {
    const { scim, patch, stored, events, userEvents } = await setup("Okta password");
    const passwords = ["Post-Secret-7f3a", "Put-Secret-91bc", "Patch-Secret-4d2e", "Pathless-Secret-0a8d"];
    const noPassword = (text: string) => {
      for (const p of passwords) expect(text).not.toContain(p);
      expect(text.toLowerCase()).not.toContain('"password"');
    };

    // POST with a password (okta/02).
    const created = await scim.post("/Users", buildUser({ userName: "pw@example.com", password: passwords[0] }));
    expect(created.status).toBe(201);
    noPassword(created.text);
    const id: string = created.body.id;

    // PUT with a password (okta/04 shape).
    const replaced = await scim.put(
      `/Users/${id}`,
      buildUser({ id, userName: "pw@example.com", displayName: "Changed By PUT", password: passwords[1] }),
    );
    expect(replaced.status).toBe(200);
    expect(replaced.body.displayName).toBe("Changed By PUT");
    noPassword(replaced.text);

    // PATCH replace with path "password".
    const patched = await patch(id, [{ op: "replace", path: "password", value: passwords[2] }]);
    expect({ status: patched.status, body: patched.body }).toMatchObject({ status: 200, body: { id, displayName: "Changed By PUT" } });
    expect(patched.body.id).toBe(id);
    noPassword(patched.text);
    // Setting only the password changes nothing Gatehouse keeps: same version, no audit event.
    expect(patched.body.meta.version).toBe(replaced.body.meta.version);
    expect((await stored(id))?.version).toBe(2);
    expect((await userEvents(id)).map((e) => e.action)).toEqual(["user.provisioned", "user.updated"]);

    // Path-less replace carrying the password next to another change.
    const pathless = await patch(id, [{ op: "replace", value: { password: passwords[3], nickName: "pw" } }]);
    expect({ status: pathless.status, body: pathless.body }).toMatchObject({ status: 200 });
    expect(pathless.body.nickName).toBe("pw");
    noPassword(pathless.text);

    noPassword((await scim.get(`/Users/${id}`)).text);

    const doc = await stored(id);
    expect(doc).not.toHaveProperty("password");
    expect(doc?.displayName).toBe("Changed By PUT");
    expect(doc?.nickName).toBe("pw");
    noPassword(JSON.stringify(doc));

    const actions = (await userEvents(id)).map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(["user.provisioned", "user.updated"]));
    for (const event of await events()) noPassword(JSON.stringify(event));
  });

  it("Okta: groups: [] on POST is accepted", async () => {
    const { scim, stored } = await setup("Okta groups");
    const body = loadFixture("okta", "02").body as Record<string, unknown>;
    expect(body.groups).toEqual([]);

    const response = await scim.post("/Users", buildUser({ userName: "groups@example.com", groups: [] }));
    expect(response.status).toBe(201);
    expect(response.body.groups ?? []).toEqual([]);
    const doc = await stored(response.body.id);
    expect(doc?.userName).toBe("groups@example.com");
    expect(doc).not.toHaveProperty("groups");
  });

  it("Okta and Entra: userName is case-insensitive in filters and in the uniqueness check (409 uniqueness)", async () => {
    const { scim, create, users, events, org } = await setup("Case-insensitive userName");
    const keys = () => t.db.models.LookupKey.find({ _id: { $regex: `^${org.id}/` } }).sort({ _id: 1 }).lean();
    const id = await create(buildUser({ userName: "ada@example.com" }));

    const found = await scim.get(`/Users?filter=${encodeURIComponent('userName eq "ADA@EXAMPLE.COM"')}`);
    expect(found.status).toBe(200);
    expect(found.body.totalResults).toBe(1);
    expect(found.body.Resources).toHaveLength(1);
    expect(found.body.Resources[0].id).toBe(id);
    expect(found.body.Resources[0].userName).toBe("ada@example.com");

    const usersBefore = await users();
    const eventsBefore = await events();
    const keysBefore = await keys();
    const duplicate = await scim.post("/Users", buildUser({ userName: "Ada@Example.COM", displayName: "Impostor" }));
    expect(duplicate.status).toBe(409);
    expect(duplicate.body.schemas).toContain(errorSchema);
    expect(duplicate.body.status).toBe("409");
    expect(duplicate.body.scimType).toBe("uniqueness");
    expect(await users()).toEqual(usersBefore);
    expect(await events()).toEqual(eventsBefore);
    expect(await keys()).toEqual(keysBefore);
  });
});

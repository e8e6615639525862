import {
  authorize,
  effectiveAccess,
  type AccessInput,
  type AccessSettings,
  type AccessSubject,
  type GroupMapping,
  type IdentityGroup,
  type TemporaryGrant,
} from "../../src/domain/access";
import type { OrganizationRole, Permission } from "../../src/domain/permissions";
import {
  mayManageUser,
  mayTransferOwnership,
  type ManagedUser,
  type ManagingActor,
  type UserChange,
} from "../../src/domain/user-policy";

const NOW = new Date("2025-06-01T10:00:00Z");
const minutes = (n: number): Date => new Date(NOW.getTime() + n * 60_000);

const engineering: IdentityGroup = { id: "g-eng", externalId: "ext-eng", displayName: "Engineering" };
const admins: IdentityGroup = { id: "g-adm", externalId: "ext-adm", displayName: "Gatehouse Admins" };
const analysts: IdentityGroup = { id: "g-ana", displayName: "Analysts" };

const MAPPINGS: GroupMapping[] = [
  { id: "m-eng", match: { kind: "group_id", value: "g-eng" }, organizationRole: "user", projects: [{ projectId: "p1", role: "editor" }, { projectId: "p2", role: "viewer" }] },
  { id: "m-adm", match: { kind: "external_id", value: "ext-adm" }, organizationRole: "admin" },
  { id: "m-ana", match: { kind: "display_name", value: "analysts" }, organizationRole: "read_only", projects: [{ projectId: "p1", role: "viewer" }, { projectId: "p3", role: "viewer" }] },
  { id: "m-app", match: { kind: "app_role", value: "Gatehouse.Admin" }, organizationRole: "admin" },
];


interface Fixture extends Partial<Omit<AccessInput, "user" | "settings">> {
  user?: Partial<AccessSubject>;
  settings?: Partial<AccessSettings>;
}

/** A member with no groups, no grants, in an organization whose default role is none. */
function input({ user, settings, ...rest }: Fixture = {}): AccessInput {
  return {
    user: { id: "u-1", isOwner: false, active: true, suspended: false, ...user },
    groups: [],
    appRoles: [],
    mappings: MAPPINGS,
    settings: { defaultRole: "none", readOnlyMayComment: false, ...settings },
    temporaryGrants: [],
    now: NOW,
    ...rest,
  };
}
const roleOf = (fixture: Fixture): OrganizationRole | undefined => effectiveAccess(input(fixture)).organizationRole;

const grant = (overrides: Partial<TemporaryGrant>): TemporaryGrant => ({ id: "t-1", until: minutes(60), reason: "incident 42", grantedBy: "u-owner", ...overrides });

describe("effectiveAccess", () => {
  describe("matching mappings to the identity provider's groups and app roles", () => {
    it.each<[string, Fixture, OrganizationRole | undefined]>([
      ["by group id", { groups: [engineering] }, "user"],
      ["by externalId", { groups: [admins] }, "admin"],
      ["by displayName, ignoring case", { groups: [analysts] }, "read_only"],
      ["by app role, ignoring case", { appRoles: ["gatehouse.admin"] }, "admin"],
      ["not by an app role that is not mapped", { appRoles: ["Gatehouse.Reader"] }, undefined],
      ["not by a group id equal to a mapped externalId", { groups: [{ id: "ext-adm", displayName: "Other" }] }, undefined],
      ["not by a displayName equal to a mapped group id", { groups: [{ id: "g-9", displayName: "g-eng" }] }, undefined],
    ])("matches %s", (_title, fixture, expected) => {
      expect(roleOf(fixture)).toBe(expected);
    });

    it.each<[string, IdentityGroup, OrganizationRole | undefined]>([
      ["keeps a mapping by group id", { ...engineering, displayName: "Platform Engineering" }, "user"],
      ["keeps a mapping by externalId", { ...admins, displayName: "Administrators" }, "admin"],
      ["breaks a mapping by displayName", { ...analysts, displayName: "Data Analysts" }, undefined],
    ])("a group rename %s", (_title, renamed, expected) => {
      expect(roleOf({ groups: [renamed] })).toBe(expected);
    });
  });

  describe("precedence", () => {
    it.each<[string, Fixture, OrganizationRole]>([
      ["admin from one group beats user from another", { groups: [engineering, admins] }, "admin"],
      ["user beats read_only", { groups: [analysts, engineering] }, "user"],
      ["an app role counts like a group", { groups: [engineering], appRoles: ["Gatehouse.Admin"] }, "admin"],
      ["a local role counts like a mapping", { groups: [analysts], user: { localRole: "admin" } }, "admin"],
      ["a mapping beats a weaker local role", { groups: [admins], user: { localRole: "read_only" } }, "admin"],
      ["ownership beats everything", { groups: [admins], user: { isOwner: true } }, "owner"],
    ])("%s", (_title, fixture, expected) => {
      expect(roleOf(fixture)).toBe(expected);
    });

    it("takes the strongest project role per project", () => {
      const access = effectiveAccess(input({ groups: [analysts, engineering] }));
      expect(access.projects.map((p) => [p.projectId, p.role])).toEqual([
        ["p1", "editor"],
        ["p2", "viewer"],
        ["p3", "viewer"],
      ]);
    });

    it("adds local project assignments", () => {
      const access = effectiveAccess(input({ groups: [engineering], user: { localProjects: [{ projectId: "p2", role: "editor" }] } }));
      expect(access.projects.find((p) => p.projectId === "p2")).toMatchObject({ role: "editor", sources: [{ kind: "local", role: "editor" }, { kind: "mapping", role: "viewer" }] });
    });

    it("applies the ceiling to project roles", () => {
      const access = effectiveAccess(input({ groups: [{ ...analysts }], user: { localProjects: [{ projectId: "p9", role: "editor" }] } }));
      expect(Object.fromEntries(access.projects.find((p) => p.projectId === "p9")!.permissions)).toEqual({ view_reports: "all" });
    });
  });

  describe("ownership", () => {
    it("comes only from isOwner, never from a mapping, a grant or a stale local role", () => {
      const ownerMapping: GroupMapping = { id: "m-x", match: { kind: "group_id", value: "g-eng" }, organizationRole: "owner" };
      const ownerGrant: TemporaryGrant = grant({ organizationRole: "owner" });
      expect(roleOf({ mappings: [ownerMapping], groups: [engineering] })).toBeUndefined();
      expect(roleOf({ temporaryGrants: [ownerGrant] })).toBeUndefined();
      expect(roleOf({ user: { isOwner: true } })).toBe("owner");
      expect(roleOf({ user: { localRole: "owner" } })).toBeUndefined();
      expect(roleOf({ user: { localRole: "owner" }, settings: { defaultRole: "user" } })).toBe("user");
    });

    it.each<[OrganizationRole]>([["admin"], ["owner"]])("gives %s every project as Editor, said once", (role) => {
      const access = effectiveAccess(input(role === "owner" ? { user: { isOwner: true } } : { groups: [admins] }));
      expect(access.allProjects).toBe(true);
      expect(access.allProjectsPermissions.get("edit_reports")).toBe("all");
      expect(access.allProjectsPermissions.get("create_dashboards")).toBe("all");
    });

    it("does not give a user every project", () => {
      const access = effectiveAccess(input({ groups: [engineering] }));
      expect(access.allProjects).toBe(false);
      expect(access.allProjectsPermissions.size).toBe(0);
    });
  });

  describe("the organization's default role", () => {
    it.each<[AccessSettings["defaultRole"], OrganizationRole | undefined]>([
      ["user", "user"],
      ["read_only", "read_only"],
      ["none", undefined],
    ])("default %s gives an unmapped member %s", (defaultRole, expected) => {
      const access = effectiveAccess(input({ settings: { defaultRole } }));
      expect(access.organizationRole).toBe(expected);
      if (expected) expect(access.sources).toEqual([{ kind: "default", role: expected }]);
      else expect(access.denial).toBe("no role is granted and the organization's default role is none");
    });

    it("does not apply when a stronger or weaker role is granted", () => {
      expect(roleOf({ groups: [analysts], settings: { defaultRole: "user" } })).toBe("read_only");
    });
  });

  describe("requireMappingForAccess", () => {
    const projectOnly: GroupMapping = { id: "m-p", match: { kind: "group_id", value: "g-p" }, projects: [{ projectId: "p7", role: "viewer" }] };
    const required = { defaultRole: "user", requireMappingForAccess: true } as const;

    it.each<[string, Fixture, OrganizationRole | undefined]>([
      ["shuts out a member no mapping matches", {}, undefined],
      ["admits a member a project-only mapping matches, with the default role", { mappings: [projectOnly], groups: [{ id: "g-p", displayName: "P" }] }, "user"],
      ["admits a mapped member", { groups: [analysts] }, "read_only"],
      ["admits the owner", { user: { isOwner: true } }, "owner"],
      ["admits a member with a local role", { user: { localRole: "read_only" } }, "read_only"],
      ["admits a member with local project assignments, with the default role", { user: { localProjects: [{ projectId: "p1", role: "viewer" }] } }, "user"],
      ["admits a member with a live temporary grant", { temporaryGrants: [grant({ projectId: "p1", projectRole: "viewer" })] }, "user"],
      ["does not admit on an expired grant", { temporaryGrants: [grant({ organizationRole: "admin", until: minutes(-1) })] }, undefined],
    ])("%s", (_title, fixture, expected) => {
      const access = effectiveAccess(input({ ...fixture, settings: required }));
      expect(access.organizationRole).toBe(expected);
      if (!expected) expect(access.denial).toBe("no group mapping matches and the organization requires one");
    });
  });

  describe("deactivated and suspended members have no access at all", () => {
    it.each<[string, Partial<AccessSubject>, string]>([
      ["a deactivated owner", { isOwner: true, active: false }, "user is deactivated"],
      ["a suspended owner", { isOwner: true, suspended: true }, "user is suspended"],
      ["a suspended mapped admin", { suspended: true }, "user is suspended"],
      ["a deactivated mapped admin with a local role", { active: false, localRole: "admin" }, "user is deactivated"],
    ])("%s", (_title, user, denial) => {
      const access = effectiveAccess(input({
        user: { ...user, localProjects: [{ projectId: "p1", role: "editor" }] },
        groups: [admins, engineering],
        settings: { defaultRole: "user" },
        temporaryGrants: [grant({ organizationRole: "admin" })],
      }));
      expect(access.organizationRole).toBeUndefined();
      expect(access).toMatchObject({ denial, sources: [], allProjects: false, projects: [] });
      expect(access.permissions.size).toBe(0);
      expect(authorize(access, "view_reports", {}, { readOnlyMayComment: true })).toEqual({ allowed: false, reason: denial });
    });
  });

  describe("temporary grants", () => {
    it.each<[string, Date, OrganizationRole | undefined]>([
      ["count an hour before until", minutes(60), "admin"],
      ["count a millisecond before until", new Date(NOW.getTime() + 1), "admin"],
      ["are over exactly at until", NOW, "read_only"],
      ["are over after until", minutes(-5), "read_only"],
    ])("%s", (_title, until, expected) => {
      expect(roleOf({ settings: { defaultRole: "read_only" }, temporaryGrants: [grant({ organizationRole: "admin", until })] })).toBe(expected);
    });

    it.each<[string, Date, string | undefined]>([
      ["give a project role until they expire", minutes(1), "editor"],
      ["give no project role once expired", minutes(0), undefined],
    ])("%s", (_title, until, expected) => {
      const access = effectiveAccess(input({ groups: [engineering], temporaryGrants: [grant({ projectId: "p8", projectRole: "editor", until })] }));
      expect(access.projects.find((p) => p.projectId === "p8")?.role).toBe(expected);
    });
  });

  it("explains where every grant came from", () => {
    const access = effectiveAccess(input({
      user: { localRole: "user", localProjects: [{ projectId: "p3", role: "editor" }] },
      groups: [analysts, engineering],
      appRoles: ["Gatehouse.Admin"],
      temporaryGrants: [grant({ id: "t-9", projectId: "p1", projectRole: "viewer", until: minutes(30) }), grant({ id: "t-old", organizationRole: "admin", until: minutes(-30) })],
    }));
    expect(access.organizationRole).toBe("admin");
    expect(access.sources).toEqual([
      { kind: "mapping", role: "admin", mappingId: "m-app", appRole: "Gatehouse.Admin" },
      { kind: "local", role: "user" },
      { kind: "mapping", role: "user", mappingId: "m-eng", groupId: "g-eng", groupName: "Engineering" },
      { kind: "mapping", role: "read_only", mappingId: "m-ana", groupId: "g-ana", groupName: "Analysts" },
    ]);
    expect(access.projects).toEqual([
      {
        projectId: "p1",
        role: "editor",
        sources: [
          { kind: "mapping", role: "editor", mappingId: "m-eng", groupId: "g-eng", groupName: "Engineering" },
          { kind: "mapping", role: "viewer", mappingId: "m-ana", groupId: "g-ana", groupName: "Analysts" },
          { kind: "temporary", role: "viewer", grantId: "t-9", until: minutes(30) },
        ],
        permissions: expect.any(Map),
      },
      { projectId: "p2", role: "viewer", sources: [{ kind: "mapping", role: "viewer", mappingId: "m-eng", groupId: "g-eng", groupName: "Engineering" }], permissions: expect.any(Map) },
      {
        projectId: "p3",
        role: "editor",
        sources: [
          { kind: "local", role: "editor" },
          { kind: "mapping", role: "viewer", mappingId: "m-ana", groupId: "g-ana", groupName: "Analysts" },
        ],
        permissions: expect.any(Map),
      },
    ]);
    expect(access.permissions.get("configure_tracking")).toBe("all");
    expect(access.permissions.has("manage_billing")).toBe(false);
  });
});

describe("authorize", () => {
  const member = effectiveAccess(input({ groups: [engineering] })); // user; p1 editor, p2 viewer
  const observer = effectiveAccess(input({ groups: [analysts] })); // read_only; p1, p3 viewer
  const admin = effectiveAccess(input({ groups: [admins] }));
  const noComments = { readOnlyMayComment: false };

  it.each<[string, typeof member, Permission, { projectId?: string; ownResource?: boolean }, boolean, string]>([
    ["a user creates reports", member, "create_reports", {}, true, "user role grants create_reports"],
    ["a read_only member cannot create reports", observer, "create_reports", {}, false, "read_only role does not grant create_reports"],
    ["a read_only member cannot comment unless the organization allows it", observer, "comment", { projectId: "p1" }, false, "read_only role grants comment only when the organization enables readOnlyMayComment"],
    ["a user cannot add users", member, "add_users", {}, false, "user role does not grant add_users"],
    ["an admin adds users, whatever the project", admin, "add_users", { projectId: "p1" }, true, "admin role grants add_users"],
    ["an Editor creates dashboards in their project", member, "create_dashboards", { projectId: "p1" }, true, "editor role in project p1 grants create_dashboards"],
    ["a Viewer cannot create reports in the project", member, "create_reports", { projectId: "p2" }, false, "viewer role in project p2 does not grant create_reports"],
    ["a user has no access to an unassigned project", member, "view_reports", { projectId: "p9" }, false, "no access to project p9"],
    ["an Editor edits their own reports", member, "edit_reports", { projectId: "p1", ownResource: true }, true, "editor role in project p1 grants edit_reports on own resources"],
    ["an Editor cannot edit someone else's report", member, "edit_reports", { projectId: "p1" }, false, "edit_reports in project p1 is granted only on the user's own resources"],
    ["a user deletes their own reports", member, "delete_reports", { ownResource: true }, true, "user role grants delete_reports on own resources"],
    ["an admin edits anyone's report in any project", admin, "edit_reports", { projectId: "p9" }, true, "admin role grants edit_reports"],
    ["an admin cannot manage billing", admin, "manage_billing", {}, false, "admin role does not grant manage_billing"],
  ])("%s", (_title, access, action, opts, allowed, reason) => {
    expect(authorize(access, action, opts, noComments)).toEqual({ allowed, reason });
  });

  it("lets read_only members comment when the organization allows it", () => {
    const settings = { defaultRole: "none", readOnlyMayComment: true } as const;
    const access = effectiveAccess(input({ groups: [analysts], settings }));
    expect(authorize(access, "comment", { projectId: "p3" }, settings)).toEqual({ allowed: true, reason: "viewer role in project p3 grants comment" });
    expect(authorize(access, "comment", { projectId: "p2" }, settings)).toEqual({ allowed: false, reason: "no access to project p2" });
  });
});

describe("mayManageUser", () => {
  const owner: ManagingActor = { id: "u-owner", role: "owner" };
  const admin: ManagingActor = { id: "u-admin", role: "admin" };
  const user: ManagingActor = { id: "u-user", role: "user" };
  const ownerAccount: ManagedUser = { id: "u-owner", role: "owner", isOwner: true, managedBy: "local" };
  const adminAccount: ManagedUser = { id: "u-admin", role: "admin", isOwner: false, managedBy: "local" };
  const local: ManagedUser = { id: "u-local", role: "user", isOwner: false, managedBy: "local" };
  const scim: ManagedUser = { id: "u-scim", role: "user", isOwner: false, managedBy: "scim" };
  const saml: ManagedUser = { id: "u-saml", role: "read_only", isOwner: false, managedBy: "saml" };
  const linkedAdmin: ManagedUser = { id: "u-linked", role: "admin", isOwner: false, managedBy: "scim", localAccess: { role: "admin", projects: [{ projectId: "p-1", role: "editor" }] } };
  const linkedViewer: ManagedUser = { id: "u-viewer", role: "read_only", isOwner: false, managedBy: "saml", localAccess: { role: "read_only", projects: [{ projectId: "p-1", role: "viewer" }] } };
  const allowed = "allowed";
  type Row = [string, ManagingActor, ManagedUser, UserChange, string];
  const row = (actor: ManagingActor, target: ManagedUser, change: UserChange, expected: string): Row => [
    `${actor.id} → ${change.kind}${change.newRole ? `(${change.newRole})` : ""} on ${target.id}`, actor, target, change, expected,
  ];

  it.each<Row>([
    // who manages users at all
    row(user, local, { kind: "edit_profile" }, "forbidden"),
    row({ id: "u-ro", role: "read_only" }, local, { kind: "suspend" }, "forbidden"),
    row(admin, local, { kind: "edit_profile" }, allowed),
    row(admin, local, { kind: "change_role", newRole: "admin" }, allowed),
    row(admin, local, { kind: "remove" }, allowed),
    row(owner, local, { kind: "change_role", newRole: "read_only" }, allowed),
    row(owner, adminAccount, { kind: "change_role", newRole: "user" }, allowed),
    row(admin, local, { kind: "change_role" }, "forbidden"),
    // nobody makes anyone owner here
    row(admin, local, { kind: "change_role", newRole: "owner" }, "owner_protected"),
    row(owner, local, { kind: "change_role", newRole: "owner" }, "owner_protected"),
    row(owner, local, { kind: "grant_temporary", newRole: "owner" }, "owner_protected"),
    // an admin never touches the owner
    row(admin, ownerAccount, { kind: "edit_profile" }, "owner_protected"),
    row(admin, ownerAccount, { kind: "change_role", newRole: "user" }, "owner_protected"),
    row(admin, ownerAccount, { kind: "remove" }, "owner_protected"),
    row(admin, ownerAccount, { kind: "suspend" }, "owner_protected"),
    // the owner cannot leave the organization ownerless
    row(owner, ownerAccount, { kind: "change_role", newRole: "admin" }, "owner_protected"),
    row(owner, ownerAccount, { kind: "remove" }, "owner_protected"),
    row(owner, ownerAccount, { kind: "deactivate" }, "owner_protected"),
    row(owner, ownerAccount, { kind: "suspend" }, "owner_protected"),
    row(owner, ownerAccount, { kind: "edit_profile" }, allowed),
    // nobody raises their own access
    row(admin, adminAccount, { kind: "change_role", newRole: "owner" }, "no_self_elevation"),
    row(admin, adminAccount, { kind: "grant_temporary" }, "no_self_elevation"),
    row(owner, ownerAccount, { kind: "grant_temporary" }, "no_self_elevation"),
    row(admin, adminAccount, { kind: "change_role", newRole: "user" }, allowed),
    row(admin, adminAccount, { kind: "edit_profile" }, allowed),
    // the identity provider owns identity, role, projects and active state; local overlays remain
    ...(["edit_profile", "change_role", "change_projects", "deactivate", "remove"] as const).flatMap((kind) => [
      row(admin, scim, { kind, newRole: kind === "change_role" ? "admin" : undefined }, "managed_by_identity_provider"),
      row(owner, saml, { kind, newRole: kind === "change_role" ? "user" : undefined }, "managed_by_identity_provider"),
    ]),
    ...(["suspend", "unsuspend", "sign_out_everywhere", "grant_temporary"] as const).flatMap((kind) => [row(admin, scim, { kind }, allowed), row(owner, saml, { kind }, allowed)]),
    // signing out everywhere: administrators, never an Admin for the Owner; the Owner for themselves
    row(user, local, { kind: "sign_out_everywhere" }, "forbidden"),
    row(admin, local, { kind: "sign_out_everywhere" }, allowed),
    row(admin, ownerAccount, { kind: "sign_out_everywhere" }, "owner_protected"),
    row(owner, ownerAccount, { kind: "sign_out_everywhere" }, allowed),
    row(admin, adminAccount, { kind: "sign_out_everywhere" }, allowed),
    row(admin, scim, { kind: "grant_temporary", newRole: "admin" }, allowed),
    // grants made here on a managed member (kept at the link, a former Owner's) are lowered or removed here, never raised
    row(owner, linkedAdmin, { kind: "change_role", newRole: "read_only", newLocalAccess: { role: "read_only" } }, allowed),
    row(owner, linkedAdmin, { kind: "change_role", newLocalAccess: {} }, allowed),
    row(admin, linkedAdmin, { kind: "change_role", newRole: "admin", newLocalAccess: { role: "admin" } }, allowed),
    row(owner, linkedAdmin, { kind: "change_projects", newLocalAccess: { role: "admin", projects: [{ projectId: "p-1", role: "viewer" }] } }, allowed),
    row(owner, linkedAdmin, { kind: "change_projects", newLocalAccess: { role: "admin", projects: [] } }, allowed),
    row(owner, linkedAdmin, { kind: "change_projects", newLocalAccess: { role: "admin", projects: [{ projectId: "p-2", role: "viewer" }] } }, "managed_by_identity_provider"),
    row(owner, linkedViewer, { kind: "change_projects", newLocalAccess: { role: "read_only", projects: [{ projectId: "p-1", role: "editor" }] } }, "managed_by_identity_provider"),
    row(owner, linkedViewer, { kind: "change_role", newRole: "user", newLocalAccess: { role: "user", projects: [{ projectId: "p-1", role: "viewer" }] } }, "managed_by_identity_provider"),
    row(owner, scim, { kind: "change_role", newRole: "read_only", newLocalAccess: { role: "read_only" } }, "managed_by_identity_provider"),
    row(owner, linkedAdmin, { kind: "remove" }, "managed_by_identity_provider"),
  ])("%s: %#", (_title, actor, target, change, expected) => {
    const decision = mayManageUser(actor, target, change);
    expect(decision.allowed ? allowed : decision.code).toBe(expected);
    if (!decision.allowed) expect(decision.message).toEqual(expect.any(String));
  });
});

describe("mayTransferOwnership", () => {
  const owner = { id: "u-owner", organizationId: "o-1", isOwner: true };
  const candidate = { id: "u-2", organizationId: "o-1", active: true, suspended: false };

  it.each<[string, typeof owner, typeof candidate, string]>([
    ["the owner hands over to an active member", owner, candidate, "allowed"],
    ["an admin cannot take ownership", { ...owner, id: "u-admin", isOwner: false }, candidate, "forbidden"],
    ["not to themself", owner, { ...candidate, id: "u-owner" }, "forbidden"],
    ["not to a member of another organization", owner, { ...candidate, organizationId: "o-2" }, "forbidden"],
    ["not to a deactivated member", owner, { ...candidate, active: false }, "owner_protected"],
    ["not to a suspended member", owner, { ...candidate, suspended: true }, "owner_protected"],
  ])("%s", (_title, actor, newOwner, expected) => {
    const decision = mayTransferOwnership(actor, newOwner);
    expect(decision.allowed ? "allowed" : decision.code).toBe(expected);
  });
});

import {
  can,
  organizationPermissions,
  PERMISSIONS,
  projectPermissions,
  type OrganizationRole,
  type Permission,
  type ProjectRole,
  type Scope,
} from "../../src/domain/permissions";

/** "-": not granted; "ro?": granted ("all") only when the organization lets read-only users comment. */
type Expected = Scope | "-" | "ro?";

// The specification, written out by hand: it must not be derived from the code under test.
// prettier-ignore
const MATRIX: [permission: Permission, read_only: Expected, user: Expected, admin: Expected, owner: Expected][] = [
  ["view_reports",            "all", "all", "all", "all"],
  ["create_reports",          "-",   "all", "all", "all"],
  ["create_dashboards",       "-",   "all", "all", "all"],
  ["share_reports",           "-",   "all", "all", "all"],
  ["export_data",             "-",   "all", "all", "all"],
  ["edit_reports",            "-",   "own", "all", "all"],
  ["delete_reports",          "-",   "own", "all", "all"],
  ["comment",                 "ro?", "all", "all", "all"],
  ["view_all_projects",       "-",   "-",   "all", "all"],
  ["configure_tracking",      "-",   "-",   "all", "all"],
  ["manage_integrations",     "-",   "-",   "all", "all"],
  ["add_users",               "-",   "-",   "all", "all"],
  ["edit_user_permissions",   "-",   "-",   "all", "all"],
  ["remove_users",            "-",   "-",   "all", "all"],
  ["modify_account_settings", "-",   "-",   "all", "all"],
  ["manage_billing",          "-",   "-",   "-",   "all"],
  ["transfer_ownership",      "-",   "-",   "-",   "all"],
  ["delete_account",          "-",   "-",   "-",   "all"],
];
const ROLES: OrganizationRole[] = ["read_only", "user", "admin", "owner"];

/** One case per cell; the read-only comment cell once with the setting on and once with it off. */
const cells = MATRIX.flatMap(([permission, ...byRole]) =>
  ROLES.flatMap((role, i) => {
    const cell = byRole[i]!;
    if (cell !== "ro?") {
      const scope = cell === "-" ? undefined : cell;
      return [{ role, permission, settings: [true, false], scope, title: `${role} ${scope ? `may ${permission} (${scope})` : `may not ${permission}`}` }];
    }
    return [
      { role, permission, settings: [true], scope: "all" as const, title: `${role} may ${permission} when read-only comments are on` },
      { role, permission, settings: [false], scope: undefined, title: `${role} may not ${permission} when read-only comments are off` },
    ];
  }),
);

describe("the organization permission matrix", () => {
  it("specifies every permission, exactly once", () => {
    expect(MATRIX.map(([p]) => p).sort()).toEqual([...PERMISSIONS].sort());
  });

  it.each(cells)("$title", ({ role, permission, settings: readOnlyMayCommentValues, scope }) => {
    for (const readOnlyMayComment of readOnlyMayCommentValues) {
      const settings = { readOnlyMayComment };
      expect(organizationPermissions(role, settings).get(permission)).toBe(scope);
      expect(can(role, permission, settings, { ownResource: true })).toBe(scope !== undefined);
      expect(can(role, permission, settings, { ownResource: false })).toBe(scope === "all");
      expect(can(role, permission, settings)).toBe(scope === "all");
    }
  });

  it.each<[OrganizationRole, Permission, boolean, boolean]>([
    ["user", "edit_reports", true, true],
    ["user", "edit_reports", false, false],
    ["user", "delete_reports", true, true],
    ["user", "delete_reports", false, false],
    ["admin", "edit_reports", false, true],
    ["owner", "delete_reports", false, true],
    ["read_only", "edit_reports", true, false],
  ])("%s %s on own resource %s → %s", (role, permission, ownResource, expected) => {
    expect(can(role, permission, { readOnlyMayComment: true }, { ownResource })).toBe(expected);
  });
});

describe("project permissions (the organization role is the ceiling)", () => {
  const EDITOR_OWN = {
    view_reports: "all", create_reports: "all", create_dashboards: "all", share_reports: "all",
    export_data: "all", edit_reports: "own", delete_reports: "own", comment: "all",
  };
  const EDITOR_ALL = { ...EDITOR_OWN, edit_reports: "all", delete_reports: "all" };
  const VIEW_AND_COMMENT = { view_reports: "all", comment: "all" };
  const VIEW_ONLY = { view_reports: "all" };

  it.each<[string, OrganizationRole, ProjectRole | undefined, boolean, Record<string, string>]>([
    ["a read_only Editor can only view", "read_only", "editor", false, VIEW_ONLY],
    ["a read_only Editor can view and comment when read-only comments are on", "read_only", "editor", true, VIEW_AND_COMMENT],
    ["a read_only Viewer can only view", "read_only", "viewer", false, VIEW_ONLY],
    ["a read_only Viewer can view and comment when read-only comments are on", "read_only", "viewer", true, VIEW_AND_COMMENT],
    ["a user Editor gets the editor set, editing only their own reports", "user", "editor", false, EDITOR_OWN],
    ["a user Viewer can view and comment", "user", "viewer", false, VIEW_AND_COMMENT],
    ["a user without a project role has nothing", "user", undefined, true, {}],
    ["a read_only member without a project role has nothing", "read_only", undefined, true, {}],
    ["an admin is Editor of every project, on all reports", "admin", undefined, false, EDITOR_ALL],
    ["an admin Viewer is still Editor", "admin", "viewer", false, EDITOR_ALL],
    ["the owner is Editor of every project, on all reports", "owner", undefined, false, EDITOR_ALL],
    ["the owner Viewer is still Editor", "owner", "viewer", true, EDITOR_ALL],
  ])("%s", (_title, orgRole, projectRole, readOnlyMayComment, expected) => {
    expect(Object.fromEntries(projectPermissions(orgRole, projectRole, { readOnlyMayComment }))).toEqual(expected);
  });
});

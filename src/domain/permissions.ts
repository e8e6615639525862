/**
 * The permission matrix: what each organization role and each project role allows. It is kept as
 * data rather than as branches so that an access review, the admin UI and the tests can all read
 * the same table, and a change to who may do what is a one-line diff.
 */

/** Organization roles, weakest first; the order is the rank used to pick the strongest grant. */
export const ORGANIZATION_ROLES = ["read_only", "user", "admin", "owner"] as const;
export type OrganizationRole = (typeof ORGANIZATION_ROLES)[number];

/** Project roles, weakest first. */
export const PROJECT_ROLES = ["viewer", "editor"] as const;
export type ProjectRole = (typeof PROJECT_ROLES)[number];

export const PERMISSIONS = [
  "view_reports",
  "create_reports",
  "create_dashboards",
  "share_reports",
  "export_data",
  "edit_reports",
  "delete_reports",
  "comment",
  "view_all_projects",
  "configure_tracking",
  "manage_integrations",
  "add_users",
  "edit_user_permissions",
  "remove_users",
  "modify_account_settings",
  "manage_billing",
  "transfer_ownership",
  "delete_account",
] as const;
export type Permission = (typeof PERMISSIONS)[number];

/** "own": only on resources the user created (their own reports); "all": on anyone's. */
export type Scope = "own" | "all";

/** What a role may do, and how far: a permission absent from the map is not granted. */
export type PermissionSet = ReadonlyMap<Permission, Scope>;

/** The organization settings the matrix depends on. */
export interface PermissionSettings {
  /** Read-only users are observers by default; some organizations want them in the discussion. */
  readonly readOnlyMayComment: boolean;
}

/** A cell of the matrix: a scope, or a scope that holds only while an organization setting is on. */
export type MatrixCell = Scope | { readonly scope: Scope; readonly onlyIf: keyof PermissionSettings };

const everyone = { read_only: "all", user: "all", admin: "all", owner: "all" } as const;
const contributors = { user: "all", admin: "all", owner: "all" } as const;
const administrators = { admin: "all", owner: "all" } as const;
const ownerOnly = { owner: "all" } as const;

/**
 * Organization role → permission → scope. `view_all_projects` is only for admin and owner: a user
 * or read-only member sees only the projects assigned to them (see `projectPermissions`).
 */
export const PERMISSION_MATRIX: { readonly [P in Permission]: { readonly [R in OrganizationRole]?: MatrixCell } } = {
  view_reports: everyone,
  create_reports: contributors,
  create_dashboards: contributors,
  share_reports: contributors,
  export_data: contributors,
  edit_reports: { user: "own", admin: "all", owner: "all" },
  delete_reports: { user: "own", admin: "all", owner: "all" },
  comment: { ...contributors, read_only: { scope: "all", onlyIf: "readOnlyMayComment" } },
  view_all_projects: administrators,
  configure_tracking: administrators,
  manage_integrations: administrators,
  add_users: administrators,
  edit_user_permissions: administrators,
  remove_users: administrators,
  modify_account_settings: administrators,
  manage_billing: ownerOnly,
  transfer_ownership: ownerOnly,
  delete_account: ownerOnly,
};

/** What a project role grants inside its project, before the organization role's ceiling. */
export const PROJECT_ROLE_PERMISSIONS: { readonly [R in ProjectRole]: { readonly [P in Permission]?: Scope } } = {
  editor: {
    view_reports: "all",
    create_reports: "all",
    create_dashboards: "all",
    share_reports: "all",
    export_data: "all",
    edit_reports: "own",
    delete_reports: "own",
    comment: "all",
  },
  viewer: { view_reports: "all", comment: "all" },
};

export function organizationRoleRank(role: OrganizationRole): number {
  return ORGANIZATION_ROLES.indexOf(role);
}

export function projectRoleRank(role: ProjectRole): number {
  return PROJECT_ROLES.indexOf(role);
}

/** Permissions that are decided per project; everything else is decided for the whole organization. */
export function isProjectPermission(permission: Permission): boolean {
  return PROJECT_ROLES.some((role) => PROJECT_ROLE_PERMISSIONS[role][permission] !== undefined);
}

/** Whether a scope covers the resource at hand: "own" needs the user to own it. */
export function scopeCovers(scope: Scope | undefined, ownResource = false): boolean {
  return scope === "all" || (scope === "own" && ownResource);
}

export function organizationPermissions(role: OrganizationRole, settings: PermissionSettings): PermissionSet {
  const granted = new Map<Permission, Scope>();
  for (const permission of PERMISSIONS) {
    const cell = PERMISSION_MATRIX[permission][role];
    if (cell === undefined) continue;
    if (typeof cell === "string") granted.set(permission, cell);
    else if (settings[cell.onlyIf]) granted.set(permission, cell.scope);
  }
  return granted;
}

/** May this organization role do this, on a resource the user owns or not? */
export function can(
  role: OrganizationRole,
  permission: Permission,
  settings: PermissionSettings,
  { ownResource = false }: { ownResource?: boolean } = {},
): boolean {
  return scopeCovers(organizationPermissions(role, settings).get(permission), ownResource);
}

/**
 * What a member has inside one project. The organization role is a ceiling: a project role cannot
 * give more than the organization allows (a read-only member who is Editor of a project can only
 * view it), so access is always bounded by one place an administrator can check. Admin and owner,
 * who may view every project, act in every project as Editor with their organization-wide scope
 * (they edit anyone's reports anyway); `projectRole` is then irrelevant and may be undefined.
 */
export function projectPermissions(
  orgRole: OrganizationRole,
  projectRole: ProjectRole | undefined,
  settings: PermissionSettings,
): PermissionSet {
  const ceiling = organizationPermissions(orgRole, settings);
  const reachesEveryProject = ceiling.has("view_all_projects");
  const role = reachesEveryProject ? "editor" : projectRole;
  const granted = new Map<Permission, Scope>();
  if (role === undefined) return granted;
  for (const [permission, scope] of Object.entries(PROJECT_ROLE_PERMISSIONS[role]) as [Permission, Scope][]) {
    const allowed = ceiling.get(permission);
    if (allowed === undefined) continue;
    granted.set(permission, reachesEveryProject || allowed === "own" ? allowed : scope);
  }
  return granted;
}

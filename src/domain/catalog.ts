/**
 * The access catalog: the permissions a product has, its organization and project roles, what the
 * product calls a project, and which permissions Gatehouse's own administration asks for. It is a
 * data file (src/domain/catalogs/analytics.json ships; ACCESS_CATALOG names another), checked at
 * start-up against schemas/access-catalog.schema.json and against itself (`catalogProblems`), so
 * the next product brings its own words and rules without a code change.
 *
 * Roles need not form a chain: a member holding several roles has the union of their permissions,
 * the wider scope winning. A rank order is used only where the catalog declares one (to name the
 * "highest" role, and to list sources strongest first).
 */

/** "own": only on resources the user created (their own reports); "all": on anyone's. */
export type Scope = "own" | "all";

/** The organization settings a catalog cell may depend on. */
export interface PermissionSettings {
  /** Read-only users are observers by default; some organizations want them in the discussion. */
  readonly readOnlyMayComment: boolean;
}
export const PERMISSION_SETTING_NAMES = ["readOnlyMayComment"] as const satisfies readonly (keyof PermissionSettings)[];

/**
 * A cell of the matrix: a scope; or a scope that holds only while an organization setting is on
 * (`onlyIf`); or one that holds only inside the projects where a project role grants it
 * (`withinProjects`: the role is the ceiling for it, organization-wide it grants nothing — an
 * account's Editors who invite people to that account, and nowhere else).
 */
export type MatrixCell = Scope | { readonly scope: Scope; readonly onlyIf?: keyof PermissionSettings; readonly withinProjects?: boolean };

/** What a role may do, and how far: a permission absent from the map is not granted. */
export type PermissionSet = ReadonlyMap<string, Scope>;

export interface RoleDefinition<Cell = MatrixCell> {
  readonly name: string;
  readonly description?: string;
  readonly permissions: { readonly [permission: string]: Cell };
}

/** The catalog file, as schemas/access-catalog.schema.json describes it. */
export interface CatalogDefinition {
  readonly product: string;
  /** What the product calls a project ("project", "workspace", "account"), for messages and documents. */
  readonly project: { readonly singular: string; readonly plural: string };
  readonly permissions: readonly { readonly name: string; readonly description?: string }[];
  readonly organizationRoles: readonly RoleDefinition[];
  readonly projectRoles: readonly RoleDefinition<Scope>[];
  /** Weakest first. Without it, no role is "higher" than another: sources keep the order they were found in. */
  readonly rank?: { readonly organizationRoles?: readonly string[]; readonly projectRoles?: readonly string[] };
  /** The organization role ownership gives; never granted by a mapping, a grant or an assignment. */
  readonly ownerRole: string;
  /** The role the former Owner keeps after handing ownership over. */
  readonly formerOwnerRole: string;
  /** A new organization's default role (its `defaultRole` setting); "none" admits only mapped or assigned members. */
  readonly defaultRole: string;
  /** The project role a request means when it names a project without a role. */
  readonly defaultProjectRole: string;
  /** A permission that reaches every project, present and future, acting there as one project role. */
  readonly everyProject?: { readonly permission: string; readonly actsAs: string };
  /** The catalog's permissions Gatehouse's own admin API asks for. */
  readonly administration: {
    readonly inviteMembers: string;
    readonly changeMemberAccess: string;
    readonly removeMembers: string;
    readonly changeSettings: string;
    readonly manageIntegrations: string;
  };
}

/**
 * What the JSON Schema cannot say: names that must exist, be unique, and be used consistently.
 * Every problem is listed, each naming where it is, the way the configuration reports.
 */
export function catalogProblems(definition: CatalogDefinition): string[] {
  const problems: string[] = [];
  const duplicates = (where: string, names: readonly string[]) => {
    const seen = new Set<string>();
    for (const name of names) {
      if (seen.has(name)) problems.push(`${where}: "${name}" is declared more than once`);
      seen.add(name);
    }
    return seen;
  };
  const permissions = duplicates("permissions", definition.permissions.map((p) => p.name));
  const orgRoles = duplicates("organizationRoles", definition.organizationRoles.map((r) => r.name));
  const projectRoles = duplicates("projectRoles", definition.projectRoles.map((r) => r.name));
  for (const name of orgRoles) if (projectRoles.has(name)) problems.push(`"${name}" is both an organization role and a project role: give them different names`);
  const knownPermission = (where: string, name: string) => {
    if (!permissions.has(name)) problems.push(`${where}: "${name}" is not a permission of the catalog (permissions: ${[...permissions].join(", ")})`);
  };
  for (const [kind, roles] of [["organizationRoles", definition.organizationRoles], ["projectRoles", definition.projectRoles]] as const) {
    for (const role of roles) for (const permission of Object.keys(role.permissions)) knownPermission(`${kind}.${role.name}`, permission);
  }
  const knownRole = (where: string, name: string, roles: ReadonlySet<string>, kind: string) => {
    if (!roles.has(name)) problems.push(`${where}: "${name}" is not ${kind} of the catalog (${[...roles].join(", ") || "none declared"})`);
  };
  knownRole("ownerRole", definition.ownerRole, orgRoles, "an organization role");
  knownRole("formerOwnerRole", definition.formerOwnerRole, orgRoles, "an organization role");
  if (definition.formerOwnerRole === definition.ownerRole) problems.push("formerOwnerRole: must differ from ownerRole");
  if (definition.defaultRole !== "none") knownRole("defaultRole", definition.defaultRole, orgRoles, "an organization role (or none)");
  const administering = new Set(Object.values(definition.administration));
  const defaultRole = definition.organizationRoles.find((r) => r.name === definition.defaultRole);
  if (defaultRole && administersOrganization(defaultRole, administering)) {
    problems.push(`defaultRole: "${definition.defaultRole}" grants a permission of administration: a default role must administer nothing`);
  }
  knownRole("defaultProjectRole", definition.defaultProjectRole, projectRoles, "a project role");
  if (definition.everyProject) {
    knownPermission("everyProject.permission", definition.everyProject.permission);
    knownRole("everyProject.actsAs", definition.everyProject.actsAs, projectRoles, "a project role");
  }
  for (const [key, permission] of Object.entries(definition.administration)) knownPermission(`administration.${key}`, permission);
  const owner = definition.organizationRoles.find((r) => r.name === definition.ownerRole);
  if (owner) {
    // The Owner is the one who can always act: a catalog where someone outranks them has no top.
    for (const permission of permissions) {
      if (owner.permissions[permission] !== "all") problems.push(`organizationRoles.${owner.name}: the owner role must grant every permission with scope "all" (missing ${permission})`);
    }
  }
  for (const [kind, roles] of [["organizationRoles", orgRoles], ["projectRoles", projectRoles]] as const) {
    const ranked = definition.rank?.[kind];
    if (!ranked) continue;
    duplicates(`rank.${kind}`, ranked);
    for (const name of ranked) knownRole(`rank.${kind}`, name, roles, kind === "organizationRoles" ? "an organization role" : "a project role");
    for (const name of roles) if (!ranked.includes(name)) problems.push(`rank.${kind}: "${name}" is missing: a declared rank orders every role`);
  }
  return problems;
}

/** Whether the role grants, organization-wide, a permission Gatehouse's administration asks for. */
function administersOrganization(role: RoleDefinition, administering: ReadonlySet<string>): boolean {
  return Object.entries(role.permissions).some(([permission, cell]) => administering.has(permission) && !(typeof cell === "object" && cell.withinProjects));
}

function union(into: Map<string, Scope>, from: PermissionSet): Map<string, Scope> {
  for (const [permission, scope] of from) if (into.get(permission) !== "all") into.set(permission, scope);
  return into;
}

/** The catalog, checked, with the questions the access model asks of it. */
export class AccessCatalog {
  readonly permissionNames: readonly string[];
  readonly organizationRoleNames: readonly string[];
  readonly projectRoleNames: readonly string[];
  private readonly organizationRoles: ReadonlyMap<string, RoleDefinition>;
  private readonly projectRoles: ReadonlyMap<string, RoleDefinition<Scope>>;
  private readonly projectPermissionNames: ReadonlySet<string>;

  private constructor(readonly definition: CatalogDefinition) {
    this.permissionNames = definition.permissions.map((p) => p.name);
    this.organizationRoleNames = definition.rank?.organizationRoles ?? definition.organizationRoles.map((r) => r.name);
    this.projectRoleNames = definition.rank?.projectRoles ?? definition.projectRoles.map((r) => r.name);
    this.organizationRoles = new Map(definition.organizationRoles.map((r) => [r.name, r]));
    this.projectRoles = new Map(definition.projectRoles.map((r) => [r.name, r]));
    this.projectPermissionNames = new Set(definition.projectRoles.flatMap((r) => Object.keys(r.permissions)));
  }

  /** Throws with every problem listed when the definition does not hold together. */
  static of(definition: CatalogDefinition): AccessCatalog {
    const problems = catalogProblems(definition);
    if (problems.length) throw new Error(`The access catalog is invalid:\n  ${problems.join("\n  ")}`);
    return new AccessCatalog(definition);
  }

  get ownerRole(): string {
    return this.definition.ownerRole;
  }
  get projectNoun(): string {
    return this.definition.project.singular;
  }
  /** Organization roles a mapping, a grant or an assignment may give: every one but the Owner's. */
  get grantableRoleNames(): readonly string[] {
    return this.organizationRoleNames.filter((r) => r !== this.definition.ownerRole);
  }

  /**
   * Roles an organization may make its default: those that administer nothing (no permission of
   * `administration`), so that being let in never makes anyone an administrator.
   */
  get defaultRoleNames(): readonly string[] {
    const administering = new Set(Object.values(this.definition.administration));
    return this.grantableRoleNames.filter((r) => !administersOrganization(this.organizationRoles.get(r)!, administering));
  }

  isPermission(name: string): boolean {
    return this.permissionNames.includes(name);
  }
  isOrganizationRole(name: string): boolean {
    return this.organizationRoles.has(name);
  }
  isProjectRole(name: string): boolean {
    return this.projectRoles.has(name);
  }

  /** The position in the declared rank (higher is stronger); undefined when the catalog declares none. */
  organizationRoleRank(role: string): number | undefined {
    const ranked = this.definition.rank?.organizationRoles;
    return ranked ? ranked.indexOf(role) : undefined;
  }
  projectRoleRank(role: string): number | undefined {
    const ranked = this.definition.rank?.projectRoles;
    return ranked ? ranked.indexOf(role) : undefined;
  }

  /** Permissions that are decided per project; everything else is decided for the whole organization. */
  isProjectPermission(permission: string): boolean {
    return this.projectPermissionNames.has(permission);
  }

  /** The cell of the matrix for one organization role and permission (for explaining a refusal). */
  cell(role: string, permission: string): MatrixCell | undefined {
    return this.organizationRoles.get(role)?.permissions[permission];
  }

  /**
   * What one organization role grants organization-wide (`withinProjects` false) or as the ceiling
   * inside projects (true: its `withinProjects` cells too); an unknown role grants nothing.
   */
  organizationPermissions(role: string, settings: PermissionSettings, withinProjects = false): PermissionSet {
    const granted = new Map<string, Scope>();
    const definition = this.organizationRoles.get(role);
    if (!definition) return granted;
    for (const permission of this.permissionNames) {
      const cell = definition.permissions[permission];
      if (cell === undefined) continue;
      if (typeof cell === "string") granted.set(permission, cell);
      else if ((cell.onlyIf === undefined || settings[cell.onlyIf]) && (!cell.withinProjects || withinProjects)) granted.set(permission, cell.scope);
    }
    return granted;
  }

  /** The union of several organization roles: every permission any of them grants, at its widest scope. */
  organizationPermissionsOf(roles: readonly string[], settings: PermissionSettings, withinProjects = false): PermissionSet {
    return roles.reduce((into, role) => union(into, this.organizationPermissions(role, settings, withinProjects)), new Map<string, Scope>());
  }

  /** Whether the permissions reach every project (admin and owner in the shipped catalog). */
  reachesEveryProject(permissions: PermissionSet): boolean {
    const every = this.definition.everyProject;
    return every !== undefined && permissions.has(every.permission);
  }

  /**
   * What a member has inside one project, from the project roles they hold there (their union). The
   * organization permissions are a ceiling: a project role cannot give more than the organization
   * allows (a read-only member who is Editor of a project can only view it), so access is always
   * bounded by one place an administrator can check. A member who reaches every project acts in
   * each as the catalog's `everyProject.actsAs` role with their organization-wide scope.
   */
  projectPermissions(ceiling: PermissionSet, projectRoles: readonly string[]): PermissionSet {
    const everyProject = this.reachesEveryProject(ceiling);
    const roles = everyProject ? [...projectRoles, this.definition.everyProject!.actsAs] : projectRoles;
    const granted = new Map<string, Scope>();
    for (const role of roles) {
      for (const [permission, scope] of Object.entries(this.projectRoles.get(role)?.permissions ?? {})) {
        const allowed = ceiling.get(permission);
        if (allowed === undefined) continue;
        union(granted, new Map([[permission, everyProject || allowed === "own" ? allowed : scope]]));
      }
    }
    return granted;
  }

  /**
   * This catalog with an organization's custom roles added: organization roles ranked below every
   * catalog role where the catalog ranks roles (never the role shown over a catalog role), granting
   * organization-wide what they list.
   */
  withCustomRoles(roles: readonly { readonly name: string; readonly description?: string; readonly permissions: Readonly<Record<string, Scope>> }[]): AccessCatalog {
    if (!roles.length) return this;
    const known = roles.filter((r) => !this.organizationRoles.has(r.name));
    const definition: CatalogDefinition = {
      ...this.definition,
      organizationRoles: [...this.definition.organizationRoles, ...known.map((r) => ({ name: r.name, permissions: { ...r.permissions } }))],
      ...(this.definition.rank?.organizationRoles ? { rank: { ...this.definition.rank, organizationRoles: [...known.map((r) => r.name), ...this.definition.rank.organizationRoles] } } : {}),
    };
    return new AccessCatalog(definition);
  }

  /** Whether every permission of `wanted` is within `ceiling`, scopes included. */
  static within(wanted: PermissionSet, ceiling: PermissionSet): boolean {
    for (const [permission, scope] of wanted) {
      const allowed = ceiling.get(permission);
      if (allowed === undefined || (scope === "all" && allowed === "own")) return false;
    }
    return true;
  }

  /** Orders roles strongest first where the catalog declares a rank; otherwise keeps their order. */
  strongestFirst<T extends { readonly role: string }>(items: T[], kind: "organization" | "project"): T[] {
    const rank = (role: string) => (kind === "organization" ? this.organizationRoleRank(role) : this.projectRoleRank(role));
    if (kind === "organization" ? !this.definition.rank?.organizationRoles : !this.definition.rank?.projectRoles) return items;
    return items.sort((a, b) => rank(b.role)! - rank(a.role)!);
  }
}

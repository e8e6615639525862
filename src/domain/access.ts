/**
 * Effective access: what a member may do, worked out from everything that grants it (ownership,
 * group mappings, local assignments, temporary grants, the organization default) and explained
 * source by source, so that an access review can say where every grant came from.
 */
import type { AccessCatalog } from "./catalog";
import {
  scopeCovers,
  SHIPPED_CATALOG,
  type OrganizationRole,
  type Permission,
  type PermissionSet,
  type PermissionSettings,
  type ProjectRole,
} from "./permissions";

/** An organization role other than the Owner's: ownership is never granted by a mapping or a grant, it moves only by transfer. */
export type GrantableRole = OrganizationRole;

export interface ProjectAssignment {
  readonly projectId: string;
  readonly role: ProjectRole;
}

/**
 * How an identity provider group (or an Entra app role) turns into access. Mapping by group id or
 * externalId follows the group through renames; mapping by display name is easier to write but
 * breaks when the group is renamed in the identity provider.
 */
export interface GroupMapping {
  readonly id: string;
  readonly match: { readonly kind: "group_id" | "external_id" | "display_name" | "app_role"; readonly value: string };
  readonly organizationRole?: GrantableRole;
  readonly projects?: readonly ProjectAssignment[];
}

/** A group the identity provider says the user is in. */
export interface IdentityGroup {
  readonly id: string;
  readonly externalId?: string;
  readonly displayName: string;
}

/**
 * Access given by an administrator for a limited time (an incident, a cover for a colleague). A
 * project grant needs both projectId and projectRole. It is over at `until`, without any job having
 * to run: expiry is decided here, against the clock the caller passes.
 */
export interface TemporaryGrant {
  readonly id: string;
  readonly organizationRole?: GrantableRole;
  readonly projectId?: string;
  readonly projectRole?: ProjectRole;
  readonly until: Date;
  readonly reason: string;
  readonly grantedBy: string;
}

export interface AccessSettings extends PermissionSettings {
  /** The role of a member nothing else gives a role to (a catalog role); "none" admits only mapped or assigned users. */
  readonly defaultRole: OrganizationRole | "none";
  /** Admit only users some group mapping matches (or the owner, or users given access here). */
  readonly requireMappingForAccess?: boolean;
  /** The longest a temporary grant may last, in days (domain/temporary-access.ts: 7 by default, at most 90). */
  readonly temporaryAccessMaximumDays?: number;
  /** The longest a member's own personal API token may live, in days (domain/personal-tokens.ts); 90 when absent. */
  readonly personalTokenMaximumDays?: number;
}

/** The member whose access is worked out. */
export interface AccessSubject {
  readonly id: string;
  readonly isOwner: boolean;
  /** SCIM `active`: false when the identity provider has deprovisioned the user. */
  readonly active: boolean;
  /** A local overlay: set in Gatehouse, and nothing the identity provider sends can lift it. */
  readonly suspended: boolean;
  /**
   * Assigned in the local admin API. The Owner's role here is honoured only together with `isOwner`: a stale
   * value left after a transfer must not keep ownership alive.
   */
  readonly localRole?: OrganizationRole;
  readonly localProjects?: readonly ProjectAssignment[];
}

export interface AccessInput {
  readonly user: AccessSubject;
  readonly groups: readonly IdentityGroup[];
  /** Entra ID sends app role assignments in the user's SCIM `roles[].value`. */
  readonly appRoles: readonly string[];
  readonly mappings: readonly GroupMapping[];
  readonly settings: AccessSettings;
  readonly temporaryGrants: readonly TemporaryGrant[];
  readonly now: Date;
  /** The access catalog in force; the shipped one when absent. */
  readonly catalog?: AccessCatalog;
  /**
   * The organization's projects: a grant of a project that is not among them (deleted, while a
   * local or temporary grant still names it) gives nothing. Every project counts when absent.
   */
  readonly projectIds?: ReadonlySet<string>;
}

/** One thing that granted a role, and the role it granted. */
export interface AccessSource<R extends string = OrganizationRole | ProjectRole> {
  readonly kind: "owner" | "mapping" | "local" | "temporary" | "default";
  readonly role: R;
  readonly mappingId?: string;
  readonly groupId?: string;
  readonly groupName?: string;
  readonly appRole?: string;
  readonly grantId?: string;
  readonly until?: Date;
}

export interface ProjectAccess {
  readonly projectId: string;
  /** The strongest project role assigned (the first found when the catalog ranks none), before the organization role's ceiling is applied. */
  readonly role: ProjectRole;
  /** Every source that assigned a role in this project, strongest first: the permissions are the union of their roles. */
  readonly sources: readonly AccessSource<ProjectRole>[];
  /** What the member may do in the project: the ceiling applied, admin and owner raised to Editor. */
  readonly permissions: PermissionSet;
}

export interface EffectiveAccess {
  readonly userId: string;
  /** Undefined when the member has no access at all; `denial` then says why. */
  readonly organizationRole?: OrganizationRole;
  /** Every organization role held, strongest first where the catalog ranks them: the permissions are their union. */
  readonly organizationRoles: readonly OrganizationRole[];
  readonly denial?: string;
  /** Every source that gave an organization role, strongest first (the first gives the effective role). */
  readonly sources: readonly AccessSource<OrganizationRole>[];
  readonly permissions: PermissionSet;
  /**
   * Admin and owner reach every project, including ones created later, as Editor. The domain does
   * not know the project list, so this is said once rather than per project.
   */
  readonly allProjects: boolean;
  /** What `allProjects` gives in any project; empty unless `allProjects`. */
  readonly allProjectsPermissions: PermissionSet;
  /** Projects assigned explicitly (by mapping, locally or temporarily), by project id. */
  readonly projects: readonly ProjectAccess[];
}

/** The group or app role through which a mapping applies to the user, if it does. */
function matchOf(mapping: GroupMapping, groups: readonly IdentityGroup[], appRoles: readonly string[]): Partial<AccessSource> | undefined {
  const { kind, value } = mapping.match;
  if (kind === "app_role") {
    const appRole = appRoles.find((role) => sameText(role, value));
    return appRole === undefined ? undefined : { appRole };
  }
  const group = groups.find((g) =>
    kind === "group_id" ? g.id === value : kind === "external_id" ? g.externalId === value : sameText(g.displayName, value),
  );
  return group && { groupId: group.id, groupName: group.displayName };
}

/** Display names and app role values are compared as an administrator reads them: ignoring case. */
/** Whether the mapping applies to members of this group (by its id, externalId or displayName): what a group's page lists. */
export function mappingMatchesGroup(mapping: GroupMapping, group: IdentityGroup): boolean {
  return mapping.match.kind !== "app_role" && matchOf(mapping, [group], []) !== undefined;
}

function sameText(a: string, b: string): boolean {
  return a.normalize("NFC").toLowerCase() === b.normalize("NFC").toLowerCase();
}

/**
 * Stored data may not honour the catalog: ownership from anywhere but `isOwner` is ignored, and so
 * is a role the catalog in force does not declare (left by an earlier catalog).
 */
const grantable = (catalog: AccessCatalog, role: OrganizationRole | undefined): GrantableRole | undefined =>
  role === undefined || role === catalog.ownerRole || !catalog.isOrganizationRole(role) ? undefined : role;

const noAccess = (userId: string, denial: string): EffectiveAccess => ({
  userId,
  organizationRoles: [],
  denial,
  sources: [],
  permissions: new Map(),
  allProjects: false,
  allProjectsPermissions: new Map(),
  projects: [],
});

/**
 * The permissions are the union of every role any source gives (organization-wide), and per
 * project the union of the project roles held there, under that ceiling; the role shown is the
 * strongest where the catalog ranks roles. Deactivation and suspension come first and win over everything, ownership included: a
 * deprovisioned or suspended person must not keep a way in.
 */
export function effectiveAccess(input: AccessInput): EffectiveAccess {
  const { user, settings, now } = input;
  const catalog = input.catalog ?? SHIPPED_CATALOG;
  if (!user.active) return noAccess(user.id, "user is deactivated");
  if (user.suspended) return noAccess(user.id, "user is suspended");

  const orgSources: AccessSource<OrganizationRole>[] = [];
  const projectSources = new Map<string, AccessSource<ProjectRole>[]>();
  const addProject = (projectId: string, source: AccessSource<ProjectRole>): void => {
    if (input.projectIds && !input.projectIds.has(projectId)) return;
    projectSources.set(projectId, [...(projectSources.get(projectId) ?? []), source]);
  };

  const projectRole = (role: ProjectRole) => catalog.isProjectRole(role);
  if (user.isOwner) orgSources.push({ kind: "owner", role: catalog.ownerRole });
  const localRole = grantable(catalog, user.localRole);
  if (localRole) orgSources.push({ kind: "local", role: localRole });
  for (const { projectId, role } of user.localProjects ?? []) if (projectRole(role)) addProject(projectId, { kind: "local", role });

  let anyMappingMatched = false;
  for (const mapping of input.mappings) {
    const matched = matchOf(mapping, input.groups, input.appRoles);
    if (!matched) continue;
    anyMappingMatched = true;
    const via = { kind: "mapping", mappingId: mapping.id, ...matched } as const;
    const role = grantable(catalog, mapping.organizationRole);
    if (role) orgSources.push({ ...via, role });
    for (const { projectId, role } of mapping.projects ?? []) if (projectRole(role)) addProject(projectId, { ...via, role });
  }

  // Strictly before `until`: a grant that ends at 10:00 is over at 10:00.
  const liveGrants = input.temporaryGrants.filter((grant) => grant.until.getTime() > now.getTime());
  for (const grant of liveGrants) {
    const via = { kind: "temporary", grantId: grant.id, until: grant.until } as const;
    const role = grantable(catalog, grant.organizationRole);
    if (role) orgSources.push({ ...via, role });
    if (grant.projectId !== undefined && grant.projectRole && projectRole(grant.projectRole)) addProject(grant.projectId, { ...via, role: grant.projectRole });
  }

  if (orgSources.length === 0) {
    // Something deliberately given here (a local assignment or a grant) counts as admission too.
    const admittedHere = (user.localProjects ?? []).length > 0 || liveGrants.length > 0;
    if (settings.requireMappingForAccess && !anyMappingMatched && !admittedHere) {
      return noAccess(user.id, "no group mapping matches and the organization requires one");
    }
    const defaultRole = grantable(catalog, settings.defaultRole);
    if (defaultRole === undefined) return noAccess(user.id, "no role is granted and the organization's default role is none");
    orgSources.push({ kind: "default", role: defaultRole });
  }

  catalog.strongestFirst(orgSources, "organization");
  const organizationRoles = rolesOf(orgSources);
  const organizationRole = organizationRoles[0]!;
  const permissions = catalog.organizationPermissionsOf(organizationRoles, settings);
  // Inside projects the ceiling also holds what the roles grant only there (`withinProjects`).
  const projectCeiling = catalog.organizationPermissionsOf(organizationRoles, settings, true);
  const allProjects = catalog.reachesEveryProject(permissions);
  const projects = [...projectSources.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([projectId, sources]): ProjectAccess => {
      catalog.strongestFirst(sources, "project");
      const roles = rolesOf(sources);
      return { projectId, role: roles[0]!, sources, permissions: catalog.projectPermissions(projectCeiling, roles) };
    });

  return {
    userId: user.id,
    organizationRole,
    organizationRoles,
    sources: orgSources,
    permissions,
    allProjects,
    allProjectsPermissions: allProjects ? catalog.projectPermissions(projectCeiling, []) : new Map(),
    projects,
  };
}

/** The distinct roles of some sources, in their order. */
export function rolesOf<R extends string>(sources: readonly AccessSource<R>[]): R[] {
  return [...new Set(sources.map((s) => s.role))];
}

/** "admin role", or, where the catalog ranks no roles and several are held, "editor + auditor roles". */
function rolesNamed(roles: readonly string[]): { name: string; verb: "does" | "do" } {
  return roles.length > 1 ? { name: `${roles.join(" + ")} roles`, verb: "do" } : { name: `${roles[0]} role`, verb: "does" };
}

export interface AccessDecision {
  readonly allowed: boolean;
  /** Written for the administrator reading an access review or a refusal. */
  readonly reason: string;
}

/**
 * May this member do `action`? With a `projectId`, project permissions (reports, dashboards,
 * comments …) are decided in that project; without one, and for organization-wide permissions
 * (users, billing …), the organization role decides.
 */
export function authorize(
  access: EffectiveAccess,
  action: Permission,
  { projectId, ownResource = false }: { projectId?: string; ownResource?: boolean },
  settings: PermissionSettings,
  catalog: AccessCatalog = SHIPPED_CATALOG,
): AccessDecision {
  const role = access.organizationRole;
  if (role === undefined) return { allowed: false, reason: access.denial ?? "no access" };

  const noun = catalog.projectNoun;
  const inProject = projectId !== undefined && catalog.isProjectPermission(action);
  const assigned = inProject ? access.projects.find((p) => p.projectId === projectId) : undefined;
  if (inProject && !assigned && !access.allProjects) return { allowed: false, reason: `no access to ${noun} ${projectId}` };

  const permissions = !inProject ? access.permissions : access.allProjects ? access.allProjectsPermissions : assigned!.permissions;
  const scope = permissions.get(action);
  const where = inProject ? ` in ${noun} ${projectId}` : "";
  const held = rolesNamed(catalog.organizationRoleRank(role) !== undefined ? [role] : access.organizationRoles);
  const heldInProject = assigned && rolesNamed(catalog.projectRoleRank(assigned.role) !== undefined ? [assigned.role] : rolesOf(assigned.sources));
  if (scope === undefined) {
    // The organization role is the ceiling: name it when it is what refuses.
    if (access.permissions.has(action) && heldInProject) return { allowed: false, reason: `${heldInProject.name}${where} ${heldInProject.verb} not grant ${action}` };
    for (const heldRole of access.organizationRoles) {
      const cell = catalog.cell(heldRole, action);
      if (typeof cell === "object" && cell.onlyIf !== undefined && !settings[cell.onlyIf]) {
        return { allowed: false, reason: `${heldRole} role grants ${action} only when the organization enables ${cell.onlyIf}` };
      }
    }
    return { allowed: false, reason: `${held.name} ${held.verb} not grant ${action}` };
  }
  if (!scopeCovers(scope, ownResource)) return { allowed: false, reason: `${action}${where} is granted only on the user's own resources` };
  const grantedBy = inProject && !access.allProjects ? { name: `${heldInProject!.name}${where}`, verb: heldInProject!.verb } : held;
  return { allowed: true, reason: `${grantedBy.name} ${grantedBy.verb === "do" ? "grant" : "grants"} ${action}${scope === "own" ? " on own resources" : ""}` };
}

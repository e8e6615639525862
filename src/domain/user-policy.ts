/**
 * "May this actor do that to this user?" for the local admin API. Pure, so every rule is a row in
 * a table-driven test rather than a branch hidden in a route handler.
 */
import { AccessCatalog, type PermissionSet } from "./catalog";
import { SHIPPED_CATALOG, type OrganizationRole } from "./permissions";
import type { LocalAccess, UserManagement } from "./user";

export interface ManagingActor {
  readonly id: string;
  readonly role: OrganizationRole;
  /** What the actor may do organization-wide (the union of every role they hold); the role's own permissions when absent. */
  readonly permissions?: PermissionSet;
}

export interface ManagedUser {
  readonly id: string;
  readonly role: OrganizationRole;
  readonly isOwner: boolean;
  readonly managedBy: UserManagement;
  /** The grants made in Gatehouse itself (for a managed user: kept from before the link, or a former Owner's). */
  readonly localAccess?: LocalAccess;
}

export type UserChangeKind =
  | "edit_profile"
  | "change_role"
  | "change_projects"
  | "deactivate"
  | "remove"
  | "suspend"
  | "unsuspend"
  | "sign_out_everywhere"
  | "grant_temporary";

export interface UserChange {
  readonly kind: UserChangeKind;
  /** The role asked for by change_role, or by grant_temporary when it grants an organization role. */
  readonly newRole?: OrganizationRole;
  /** For change_role and change_projects: the local grants the change leaves (role absent: removed). */
  readonly newLocalAccess?: LocalAccess;
}

export type PolicyRefusal = "forbidden" | "managed_by_identity_provider" | "owner_protected" | "no_self_elevation";

export type PolicyDecision = { readonly allowed: true } | { readonly allowed: false; readonly code: PolicyRefusal; readonly message: string };

const allowed: PolicyDecision = { allowed: true };
const refuse = (code: PolicyRefusal, message: string): PolicyDecision => ({ allowed: false, code, message });

/**
 * What the identity provider is the source of truth for. Changing it here would be overwritten at
 * the next sync, or would silently diverge from what the administrator sees in Okta or Entra.
 * Suspension, signing out everywhere and temporary grants are local overlays on top, so they
 * remain possible.
 */
const OWNED_BY_IDENTITY_PROVIDER: ReadonlySet<UserChangeKind> = new Set(["edit_profile", "change_role", "change_projects", "deactivate", "remove"]);

/** Changes that would leave the organization without an owner who can sign in. */
const ENDS_OWNERSHIP: ReadonlySet<UserChangeKind> = new Set(["change_role", "deactivate", "remove", "suspend"]);

/**
 * The organization settings are not known here: a role's ceiling is compared with every
 * setting-dependent cell off, the narrowest reading.
 */
const NO_SETTINGS = { readOnlyMayComment: false } as const;

/**
 * The ceiling rule: a role may be given only by someone who already holds everything it grants
 * (scopes included). In a ranked catalog this is "not above your own role".
 */
export function withinCeiling(role: OrganizationRole, ceiling: PermissionSet, catalog: AccessCatalog = SHIPPED_CATALOG): boolean {
  return AccessCatalog.within(catalog.organizationPermissions(role, NO_SETTINGS), ceiling);
}

export function mayManageUser(actor: ManagingActor, target: ManagedUser, change: UserChange, catalog: AccessCatalog = SHIPPED_CATALOG): PolicyDecision {
  const actorPermissions = actor.permissions ?? catalog.organizationPermissions(actor.role, NO_SETTINGS);
  const manages = catalog.definition.administration.changeMemberAccess;
  if (!actorPermissions.has(manages)) {
    return refuse("forbidden", `only a member whose role grants ${manages} manages users`);
  }
  const self = actor.id === target.id;
  if (self && change.kind === "grant_temporary") return refuse("no_self_elevation", "nobody grants themselves temporary access");
  if (self && change.kind === "change_role" && change.newRole && !withinCeiling(change.newRole, actorPermissions, catalog)) {
    return refuse("no_self_elevation", "nobody raises their own role");
  }
  if (change.newRole === catalog.ownerRole) return refuse("owner_protected", "ownership moves only by transfer");
  if (target.isOwner && !self) return refuse("owner_protected", "only the owner changes the owner's account");
  if (target.isOwner && ENDS_OWNERSHIP.has(change.kind)) {
    return refuse("owner_protected", "the organization cannot be left without an owner: transfer ownership first");
  }
  if (target.managedBy !== "local" && OWNED_BY_IDENTITY_PROVIDER.has(change.kind) && !lowersLocalGrants(target, change, catalog)) {
    return refuse(
      "managed_by_identity_provider",
      `this user is managed by ${target.managedBy}: change them in the identity provider (grants made here can be lowered or removed, never raised)`,
    );
  }
  if (change.kind === "change_role" && change.newRole === undefined && change.newLocalAccess === undefined) return refuse("forbidden", "change_role needs the new role");
  return allowed;
}

/**
 * Every grant can be removed by someone inside the product. The identity provider owns a managed
 * member's profile and group-given access, but grants made in Gatehouse — kept when a local member
 * was linked to the provider, or a former Owner's role after a transfer — stay Gatehouse's: an
 * administrator may lower or remove them, and never raise them (raising is the provider's, through
 * its groups). "Lower" is by permissions, not by rank: the new role grants nothing the local role
 * did not (scopes included), and each project keeps a role within the one it had, or is dropped.
 */
export function lowersLocalGrants(target: Pick<ManagedUser, "localAccess">, change: UserChange, catalog: AccessCatalog = SHIPPED_CATALOG): boolean {
  if ((change.kind !== "change_role" && change.kind !== "change_projects") || change.newLocalAccess === undefined) return false;
  const before = target.localAccess ?? {};
  const after = change.newLocalAccess;
  if (after.role !== undefined) {
    if (before.role === undefined) return false;
    if (after.role !== before.role && !AccessCatalog.within(catalog.organizationPermissions(after.role, NO_SETTINGS), catalog.organizationPermissions(before.role, NO_SETTINGS))) return false;
  }
  const projectRole = (name: string): PermissionSet => new Map(Object.entries(catalog.definition.projectRoles.find((r) => r.name === name)?.permissions ?? {}));
  return (after.projects ?? []).every((assignment) => {
    const held = before.projects?.find((p) => p.projectId === assignment.projectId);
    return held !== undefined && (held.role === assignment.role || AccessCatalog.within(projectRole(assignment.role), projectRole(held.role)));
  });
}

/**
 * What a member holds inside projects, from the same effective access the authorization answers
 * use: a project role that carries member-management permissions there (`withinProjects` cells,
 * under the organization roles' ceiling) makes them a manager of that project only.
 */
export interface ProjectManagingActor {
  readonly id: string;
  /** The actor's permissions in a project, as `/authorize` with that `projectId` reads them; undefined: none there. */
  readonly permissionsIn: (projectId: string) => PermissionSet | undefined;
}

export interface ProjectAssignmentChange {
  readonly projectId: string;
  readonly role: string;
}

/** What one project role grants, before any ceiling; an unknown role grants nothing. */
export function projectRolePermissions(role: string, catalog: AccessCatalog = SHIPPED_CATALOG): PermissionSet {
  return new Map(Object.entries(catalog.definition.projectRoles.find((r) => r.name === role)?.permissions ?? {}));
}

/** The ceiling rule inside one project: the role grants nothing the actor does not hold there. */
function withinProjectCeiling(role: string, held: PermissionSet, catalog: AccessCatalog): boolean {
  return AccessCatalog.within(projectRolePermissions(role, catalog), held);
}

/**
 * An invitation by a member who may invite people only inside some projects (the catalog's
 * `inviteMembers` permission held there, not organization-wide): into those projects only, each
 * with a role within what the inviter holds there, and with no organization role named — the new
 * member gets the organization's default role, which by the catalog's rule administers nothing.
 */
export function mayInviteIntoProjects(
  actor: ProjectManagingActor,
  invitation: { readonly role?: string; readonly projects?: readonly ProjectAssignmentChange[] },
  catalog: AccessCatalog = SHIPPED_CATALOG,
): PolicyDecision {
  const invites = catalog.definition.administration.inviteMembers;
  const noun = catalog.projectNoun;
  if (invitation.role !== undefined) {
    return refuse("forbidden", `${invites} is granted only inside ${catalog.definition.project.plural}: the new member gets the organization's default role; leave role out`);
  }
  if (!invitation.projects?.length) return refuse("forbidden", `${invites} is granted only inside ${catalog.definition.project.plural}: name the ${noun} to invite into`);
  for (const { projectId, role } of invitation.projects) {
    const held = actor.permissionsIn(projectId);
    if (!held?.has(invites)) return refuse("forbidden", `${invites} is not granted in ${noun} ${projectId}`);
    if (!withinProjectCeiling(role, held, catalog)) return refuse("forbidden", `nobody gives a role above their own: ${role} grants more than the inviter holds in ${noun} ${projectId}`);
  }
  return allowed;
}

/**
 * A change of another member's projects by someone who may change members' access only inside
 * some projects: the organization role stays as it is, the Owner and the actor themselves are out
 * of reach, and every project whose roles the change touches must be one the actor manages, where
 * both the roles taken away and the roles given are within what the actor holds there (nobody
 * gives a role above their own, nor changes someone who holds more there than they do). Projects
 * the change leaves as they were may be anything. A member an identity provider manages keeps the
 * existing rule: local grants can only be lowered or removed.
 */
export function mayChangeProjectAccess(
  actor: ProjectManagingActor,
  target: ManagedUser,
  change: { readonly touchesOrganizationRole: boolean; readonly projects?: readonly ProjectAssignmentChange[] },
  catalog: AccessCatalog = SHIPPED_CATALOG,
): PolicyDecision {
  const manages = catalog.definition.administration.changeMemberAccess;
  const noun = catalog.projectNoun;
  if (change.touchesOrganizationRole) {
    return refuse("forbidden", `${manages} is granted only inside ${catalog.definition.project.plural}: the organization role is changed by a member whose role grants ${manages} organization-wide`);
  }
  if (change.projects === undefined) return refuse("forbidden", "change_projects needs the new projects");
  if (actor.id === target.id) return refuse("no_self_elevation", "nobody changes their own project access");
  if (target.isOwner) return refuse("owner_protected", "only the owner changes the owner's account");
  const before = target.localAccess?.projects ?? [];
  const rolesIn = (list: readonly ProjectAssignmentChange[], projectId: string) => [...new Set(list.filter((p) => p.projectId === projectId).map((p) => p.role))].sort();
  const projectIds = [...new Set([...before, ...change.projects].map((p) => p.projectId))];
  for (const projectId of projectIds) {
    const was = rolesIn(before, projectId);
    const will = rolesIn(change.projects, projectId);
    if (was.join("\n") === will.join("\n")) continue;
    const held = actor.permissionsIn(projectId);
    if (!held?.has(manages)) return refuse("forbidden", `${manages} is not granted in ${noun} ${projectId}`);
    for (const role of [...was, ...will]) {
      if (!withinProjectCeiling(role, held, catalog)) return refuse("forbidden", `nobody gives or changes a role above their own: ${role} grants more than the actor holds in ${noun} ${projectId}`);
    }
  }
  if (target.managedBy !== "local" && !lowersLocalGrants(target, { kind: "change_projects", newLocalAccess: { ...(target.localAccess ?? {}), projects: [...change.projects] } }, catalog)) {
    return refuse("managed_by_identity_provider", `this user is managed by ${target.managedBy}: change them in the identity provider (grants made here can be lowered or removed, never raised)`);
  }
  return allowed;
}

export interface OwnershipHolder {
  readonly id: string;
  readonly organizationId: string;
  readonly isOwner: boolean;
}

export interface OwnershipCandidate {
  readonly id: string;
  readonly organizationId: string;
  readonly active: boolean;
  readonly suspended: boolean;
}

/**
 * Ownership is handed over, never taken: only the current owner transfers it, and only to someone
 * who can actually sign in, so the organization always has an owner able to act.
 */
export function mayTransferOwnership(actor: OwnershipHolder, newOwner: OwnershipCandidate): PolicyDecision {
  if (!actor.isOwner) return refuse("forbidden", "only the owner transfers ownership");
  if (newOwner.organizationId !== actor.organizationId) return refuse("forbidden", "the new owner must belong to the same organization");
  if (newOwner.id === actor.id) return refuse("forbidden", "the owner already owns the organization");
  if (!newOwner.active || newOwner.suspended) return refuse("owner_protected", "the new owner must be an active, unsuspended user");
  return allowed;
}

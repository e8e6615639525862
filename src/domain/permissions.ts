/**
 * The shipped access catalog (src/domain/catalogs/analytics.json: the matrix of the product guides)
 * and the matrix questions asked of it. Names are plain strings: another catalog (ACCESS_CATALOG)
 * brings other permissions and roles, and the code that serves it takes that catalog as a
 * parameter. The functions here answer for the shipped catalog, the one the product guides and
 * test/unit/permissions.test.ts describe.
 */
import { AccessCatalog, type CatalogDefinition, type PermissionSet, type PermissionSettings, type Scope } from "./catalog";
import shippedDefinition from "./catalogs/analytics.json";

export type { MatrixCell, PermissionSet, PermissionSettings, Scope } from "./catalog";

/** A permission of the catalog in force, e.g. `view_reports`. */
export type Permission = string;
/** An organization role of the catalog in force, e.g. `admin`. */
export type OrganizationRole = string;
/** A project role of the catalog in force, e.g. `editor`. */
export type ProjectRole = string;

/** The catalog Gatehouse ships: the one in force unless ACCESS_CATALOG names another. */
export const SHIPPED_CATALOG: AccessCatalog = AccessCatalog.of(shippedDefinition as CatalogDefinition);

/** The shipped catalog's names, in its declared order (organization and project roles weakest first). */
export const ORGANIZATION_ROLES: readonly OrganizationRole[] = SHIPPED_CATALOG.organizationRoleNames;
export const PROJECT_ROLES: readonly ProjectRole[] = SHIPPED_CATALOG.projectRoleNames;
export const PERMISSIONS: readonly Permission[] = SHIPPED_CATALOG.permissionNames;

/** Whether a scope covers the resource at hand: "own" needs the user to own it. */
export function scopeCovers(scope: Scope | undefined, ownResource = false): boolean {
  return scope === "all" || (scope === "own" && ownResource);
}

export function organizationPermissions(role: OrganizationRole, settings: PermissionSettings, catalog: AccessCatalog = SHIPPED_CATALOG): PermissionSet {
  return catalog.organizationPermissions(role, settings);
}

/** May this organization role do this, on a resource the user owns or not? */
export function can(
  role: OrganizationRole,
  permission: Permission,
  settings: PermissionSettings,
  { ownResource = false }: { ownResource?: boolean } = {},
  catalog: AccessCatalog = SHIPPED_CATALOG,
): boolean {
  return scopeCovers(catalog.organizationPermissions(role, settings).get(permission), ownResource);
}

/**
 * What a member of this organization role has inside one project where they hold `projectRole`
 * (see AccessCatalog.projectPermissions: the organization role is the ceiling).
 */
export function projectPermissions(
  orgRole: OrganizationRole,
  projectRole: ProjectRole | undefined,
  settings: PermissionSettings,
  catalog: AccessCatalog = SHIPPED_CATALOG,
): PermissionSet {
  return catalog.projectPermissions(catalog.organizationPermissions(orgRole, settings), projectRole === undefined ? [] : [projectRole]);
}

import type { AccessSource, EffectiveAccess } from "../domain/access";
import type { PermissionSet } from "../domain/permissions";
import type { MemberView } from "../services/members";

/** Permissions as JSON: `{ "edit_reports": "own", "view_reports": "all", … }`, sorted by name. */
function permissions(set: PermissionSet): Record<string, string> {
  return Object.fromEntries([...set].sort(([a], [b]) => a.localeCompare(b)));
}

/** Where a grant came from, as the API shows it (access answers and the access review). */
export function presentSource(s: AccessSource) {
  return {
    kind: s.kind,
    role: s.role,
    ...(s.mappingId ? { mappingId: s.mappingId } : {}),
    ...(s.groupId ? { groupId: s.groupId, groupName: s.groupName } : {}),
    ...(s.appRole ? { appRole: s.appRole } : {}),
    ...(s.grantId ? { grantId: s.grantId } : {}),
    ...(s.until ? { until: s.until.toISOString() } : {}),
  };
}

/** What `GET /api/v1/users/{id}/access` answers: the role, what it allows, and where it came from. */
export function presentAccess(access: EffectiveAccess) {
  return {
    userId: access.userId,
    organizationRole: access.organizationRole ?? null,
    ...(access.denial ? { denial: access.denial } : {}),
    permissions: permissions(access.permissions),
    sources: access.sources.map(presentSource),
    allProjects: access.allProjects,
    ...(access.allProjects ? { allProjectsPermissions: permissions(access.allProjectsPermissions) } : {}),
    projects: access.projects.map((p) => ({ projectId: p.projectId, role: p.role, permissions: permissions(p.permissions), sources: p.sources.map(presentSource) })),
  };
}

/** What `GET /api/v1/users/{id}` answers about a member. */
export function presentMember(view: MemberView) {
  const { user, access } = view;
  return {
    id: user.id,
    userName: user.userName,
    ...(user.displayName ? { displayName: user.displayName } : {}),
    ...(user.emails?.length ? { emails: user.emails.map((e) => e.value).filter(Boolean) } : {}),
    active: user.active,
    managedBy: user.managedBy,
    ...(user.managedVia ? { managedVia: user.managedVia } : {}),
    editable: view.editable,
    isOwner: view.isOwner,
    role: access.organizationRole ?? null,
    projects: access.projects.map((p) => ({ id: p.projectId, role: p.role })),
    allProjects: access.allProjects,
    lastLogin: null,
    created: user.created.toISOString(),
    lastModified: user.lastModified.toISOString(),
  };
}

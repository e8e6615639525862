/**
 * A member's effective access as the audit trail records it (`user.access_changed`): the roles
 * the authorization evaluation (domain/access.ts `effectiveAccess`) gives, without the sources —
 * what a person may do, not why. Two summaries equal means "no change of access": no event.
 */
import type { EffectiveAccess } from "./access";

export interface AccessSummary {
  /** The effective (strongest) organization role; null when the member has no access. */
  readonly organizationRole: string | null;
  /** Every organization role held, strongest first; empty when the member has no access. */
  readonly organizationRoles: readonly string[];
  /** Whether the organization roles reach every project (admin and owner in the shipped catalog). */
  readonly allProjects: boolean;
  /** Projects assigned explicitly, by project id: the strongest role and every role held there. */
  readonly projects: readonly { readonly projectId: string; readonly role: string; readonly roles: readonly string[] }[];
  /** Why the member has no access, when they have none. */
  readonly denial?: string;
}

export function summarizeAccess(access: EffectiveAccess): AccessSummary {
  return {
    organizationRole: access.organizationRole ?? null,
    organizationRoles: [...access.organizationRoles],
    allProjects: access.allProjects,
    projects: access.projects.map((p) => ({ projectId: p.projectId, role: p.role, roles: [...new Set(p.sources.map((s) => s.role))] })),
    ...(access.denial !== undefined && access.organizationRole === undefined ? { denial: access.denial } : {}),
  };
}

/** Roles held, as comparable keys: `org:<role>` and `project:<id>:<role>`. */
function grantsOf(summary: AccessSummary): Set<string> {
  return new Set([...summary.organizationRoles.map((r) => `org:${r}`), ...summary.projects.flatMap((p) => p.roles.map((r) => `project:${p.projectId}:${r}`))]);
}

/**
 * Whether the access is the same: the same organization roles, the same roles in the same projects.
 * The reason for having none (`denial`) is not access: deactivated → suspended is no change.
 */
export function sameAccess(a: AccessSummary, b: AccessSummary): boolean {
  const [x, y] = [grantsOf(a), grantsOf(b)];
  return x.size === y.size && [...x].every((grant) => y.has(grant)) && a.allProjects === b.allProjects;
}

/** What a change gives and takes: the organization roles and the project roles gained and lost. */
export interface AccessDelta {
  readonly gained: { readonly organizationRoles: readonly string[]; readonly projects: readonly { readonly projectId: string; readonly role: string }[] };
  readonly lost: { readonly organizationRoles: readonly string[]; readonly projects: readonly { readonly projectId: string; readonly role: string }[] };
}

export function accessDelta(before: AccessSummary, after: AccessSummary): AccessDelta {
  const side = (from: AccessSummary, to: AccessSummary) => {
    const kept = grantsOf(to);
    return {
      organizationRoles: from.organizationRoles.filter((r) => !kept.has(`org:${r}`)),
      projects: from.projects.flatMap((p) => p.roles.filter((r) => !kept.has(`project:${p.projectId}:${r}`)).map((role) => ({ projectId: p.projectId, role }))),
    };
  };
  return { gained: side(after, before), lost: side(before, after) };
}

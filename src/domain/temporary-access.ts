/**
 * The bounds of temporary access (issue 13 §2): a grant lasts at most the organization's maximum
 * (`temporaryAccessMaximumDays`, 7 days unless an administrator changes it, never above 90), and a
 * grant must raise something — a "grant" of Read-Only to an Admin used to be accepted and did nothing.
 */
import { AccessCatalog } from "./catalog";
import type { EffectiveAccess } from "./access";

/** A new organization's maximum, in days. */
export const TEMPORARY_ACCESS_DEFAULT_DAYS = 7;
/** No organization's maximum goes above this: longer access is a role, given and reviewed as one. */
export const TEMPORARY_ACCESS_HARD_CAP_DAYS = 90;

const dayMs = 24 * 60 * 60 * 1000;

/** How long a grant may last in an organization whose setting is `maximumDays` (absent: the default). */
export function temporaryAccessMaximumMs(maximumDays: number | undefined): number {
  return Math.min(maximumDays ?? TEMPORARY_ACCESS_DEFAULT_DAYS, TEMPORARY_ACCESS_HARD_CAP_DAYS) * dayMs;
}

/**
 * Whether `after` (the member's access with the grant) gives anything `before` did not: a
 * permission or a wider scope organization-wide, every project where there was none, or more in
 * one project. Worked out on effective access, so the ceiling and every other source count: Editor
 * of a project for an Admin (who reaches every project as Editor already) raises nothing.
 */
export function raisesAccess(before: EffectiveAccess, after: EffectiveAccess): boolean {
  if (!AccessCatalog.within(after.permissions, before.permissions)) return true;
  if (after.allProjects && !before.allProjects) return true;
  if (!AccessCatalog.within(after.allProjectsPermissions, before.allProjectsPermissions)) return true;
  return after.projects.some((project) => {
    const held = before.projects.find((p) => p.projectId === project.projectId)?.permissions ?? before.allProjectsPermissions;
    return !AccessCatalog.within(project.permissions, held);
  });
}

import { effectiveAccess, type TemporaryGrant } from "../../src/domain/access";
import { raisesAccess, temporaryAccessMaximumMs } from "../../src/domain/temporary-access";

/** "Does this temporary grant raise anything?", row by row, on the shipped catalog; written out by hand. */
const now = new Date("2026-12-02T12:00:00Z");
const tomorrow = new Date("2026-12-03T12:00:00Z");

function accessOf(localRole: string | undefined, localProjects: { projectId: string; role: string }[], grants: Omit<TemporaryGrant, "id" | "reason" | "grantedBy" | "until">[] = []) {
  return effectiveAccess({
    user: { id: "u", isOwner: false, active: true, suspended: false, ...(localRole ? { localRole } : {}), localProjects },
    groups: [],
    appRoles: [],
    mappings: [],
    settings: { defaultRole: "read_only", readOnlyMayComment: false },
    temporaryGrants: grants.map((g, i) => ({ ...g, id: `g${i}`, reason: "r", grantedBy: "a", until: tomorrow })),
    now,
  });
}

describe("raisesAccess", () => {
  it.each<[string, string | undefined, { projectId: string; role: string }[], Omit<TemporaryGrant, "id" | "reason" | "grantedBy" | "until">, boolean]>([
    ["read_only to an admin", "admin", [], { organizationRole: "read_only" }, false],
    ["admin to an admin", "admin", [], { organizationRole: "admin" }, false],
    ["user to an admin", "admin", [], { organizationRole: "user" }, false],
    ["admin to a user", "user", [], { organizationRole: "admin" }, true],
    ["user to a read-only member", "read_only", [], { organizationRole: "user" }, true],
    ["editor of a project to an admin (every project as Editor already)", "admin", [], { projectId: "p", projectRole: "editor" }, false],
    ["editor of a project to its editor", "user", [{ projectId: "p", role: "editor" }], { projectId: "p", projectRole: "editor" }, false],
    ["viewer of a project to its editor", "user", [{ projectId: "p", role: "editor" }], { projectId: "p", projectRole: "viewer" }, false],
    ["editor of a project to its viewer", "user", [{ projectId: "p", role: "viewer" }], { projectId: "p", projectRole: "editor" }, true],
    ["viewer of another project", "user", [{ projectId: "p", role: "editor" }], { projectId: "q", projectRole: "viewer" }, true],
    ["read_only to a member the default makes read_only", undefined, [], { organizationRole: "read_only" }, false],
  ])("%s → %s", (_title, role, projects, grant, expected) => {
    expect(raisesAccess(accessOf(role, projects), accessOf(role, projects, [grant]))).toBe(expected);
  });
});

describe("temporaryAccessMaximumMs", () => {
  it("is 7 days by default, the setting's days otherwise, and never above 90 days", () => {
    expect(temporaryAccessMaximumMs(undefined)).toBe(7 * 86_400_000);
    expect(temporaryAccessMaximumMs(0.5)).toBe(43_200_000);
    expect(temporaryAccessMaximumMs(365)).toBe(90 * 86_400_000);
  });
});

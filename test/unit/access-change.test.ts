import { accessDelta, sameAccess, type AccessSummary } from "../../src/domain/access-change";

// What counts as a change of effective access (domain/access-change.ts), written out by hand.
const none: AccessSummary = { organizationRole: null, organizationRoles: [], allProjects: false, projects: [], denial: "user is deactivated" };
const suspended: AccessSummary = { ...none, denial: "user is suspended" };
const readOnly: AccessSummary = { organizationRole: "read_only", organizationRoles: ["read_only"], allProjects: false, projects: [] };
const admin: AccessSummary = { organizationRole: "admin", organizationRoles: ["admin"], allProjects: true, projects: [] };
const adminAndUser: AccessSummary = { organizationRole: "admin", organizationRoles: ["admin", "user"], allProjects: true, projects: [] };
const viewerOfP: AccessSummary = { ...readOnly, projects: [{ projectId: "p", role: "viewer", roles: ["viewer"] }] };
const editorOfP: AccessSummary = { ...readOnly, projects: [{ projectId: "p", role: "editor", roles: ["editor"] }] };

describe("a change of effective access", () => {
  it.each([
    ["no access, for another reason", none, suspended, true],
    ["the same role", readOnly, { ...readOnly }, true],
    ["a role gained", readOnly, admin, false],
    ["a second role held beside the same effective role", admin, adminAndUser, false],
    ["a project role changed", viewerOfP, editorOfP, false],
    ["a project assignment gained", readOnly, viewerOfP, false],
    ["access lost", readOnly, none, false],
  ])("%s: same = %s", (_what, before, after, same) => {
    expect(sameAccess(before, after)).toBe(same);
    expect(sameAccess(after, before)).toBe(same);
  });

  it("says what is gained and what is lost", () => {
    expect(accessDelta(readOnly, admin)).toEqual({ gained: { organizationRoles: ["admin"], projects: [] }, lost: { organizationRoles: ["read_only"], projects: [] } });
    expect(accessDelta(viewerOfP, editorOfP)).toEqual({ gained: { organizationRoles: [], projects: [{ projectId: "p", role: "editor" }] }, lost: { organizationRoles: [], projects: [{ projectId: "p", role: "viewer" }] } });
    expect(accessDelta(adminAndUser, admin)).toEqual({ gained: { organizationRoles: [], projects: [] }, lost: { organizationRoles: ["user"], projects: [] } });
    expect(accessDelta(readOnly, none)).toEqual({ gained: { organizationRoles: [], projects: [] }, lost: { organizationRoles: ["read_only"], projects: [] } });
  });
});

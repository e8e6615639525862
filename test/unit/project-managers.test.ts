import { readFileSync } from "node:fs";
import path from "node:path";
import { effectiveAccess } from "../../src/domain/access";
import { AccessCatalog, type CatalogDefinition } from "../../src/domain/catalog";
import { SHIPPED_CATALOG } from "../../src/domain/permissions";
import { mayChangeProjectAccess, mayInviteIntoProjects, type ManagedUser, type ProjectManagingActor } from "../../src/domain/user-policy";

/**
 * Member management inside a project (issue 13 §1): in the example workspace catalog a `member`
 * who is `steward` of a workspace holds invite_people and manage_access there, and nowhere else.
 * The actor's permissions per project come from effectiveAccess, as the authorization answers read them.
 */
const workspace = AccessCatalog.of(JSON.parse(readFileSync(path.join(__dirname, "..", "..", "src", "domain", "catalogs", "workspace.json"), "utf8")) as CatalogDefinition);

function actorOf(catalog: AccessCatalog, localRole: string, localProjects: { projectId: string; role: string }[]): ProjectManagingActor {
  const access = effectiveAccess({
    user: { id: "actor", isOwner: false, active: true, suspended: false, localRole, localProjects },
    groups: [],
    appRoles: [],
    mappings: [],
    settings: { defaultRole: catalog.definition.defaultRole, readOnlyMayComment: false },
    temporaryGrants: [],
    now: new Date(),
    catalog,
  });
  return { id: "actor", permissionsIn: (projectId) => (access.allProjects ? access.allProjectsPermissions : access.projects.find((p) => p.projectId === projectId)?.permissions) };
}

const steward = actorOf(workspace, "member", [{ projectId: "W1", role: "steward" }, { projectId: "W2", role: "reader" }]);
const writer = actorOf(workspace, "member", [{ projectId: "W1", role: "writer" }]);
// A guest's organization role carries no withinProjects cell: steward of W1 gives them nothing to manage.
const guestSteward = actorOf(workspace, "guest", [{ projectId: "W1", role: "steward" }]);

const colleague = (over: Partial<ManagedUser> = {}): ManagedUser => ({
  id: "colleague",
  role: "member",
  isOwner: false,
  managedBy: "local",
  localAccess: { role: "member", projects: [{ projectId: "W1", role: "reader" }, { projectId: "W2", role: "writer" }] },
  ...over,
});

describe("inviting into a project with a project role's permission", () => {
  // prettier-ignore
  const cases: [string, ProjectManagingActor, Parameters<typeof mayInviteIntoProjects>[1], string | null][] = [
    ["a steward invites a reader into W1",                         steward,      { projects: [{ projectId: "W1", role: "reader" }] },   null],
    ["a steward invites a steward into W1 (their own role)",       steward,      { projects: [{ projectId: "W1", role: "steward" }] },  null],
    ["a writer (no invite_people there) invites into W1",          writer,       { projects: [{ projectId: "W1", role: "reader" }] },   "forbidden"],
    ["a steward invites into W2, where they are a reader",         steward,      { projects: [{ projectId: "W2", role: "reader" }] },   "forbidden"],
    ["a steward invites into W1 and W2",                           steward,      { projects: [{ projectId: "W1", role: "reader" }, { projectId: "W2", role: "reader" }] }, "forbidden"],
    ["a steward gives writer (more than they hold) in W1",         steward,      { projects: [{ projectId: "W1", role: "writer" }] },   "forbidden"],
    ["a steward names an organization role",                       steward,      { role: "guest", projects: [{ projectId: "W1", role: "reader" }] }, "forbidden"],
    ["a steward invites into no workspace",                        steward,      { projects: [] },                                       "forbidden"],
    ["a guest who is steward of W1 (the ceiling holds nothing)",   guestSteward, { projects: [{ projectId: "W1", role: "reader" }] },   "forbidden"],
  ];
  it.each(cases)("%s", (_, actor, invitation, refused) => {
    const decision = mayInviteIntoProjects(actor, invitation, workspace);
    expect(decision.allowed ? null : decision.code).toBe(refused);
  });
});

describe("changing a colleague's projects with a project role's permission", () => {
  const keepW2 = { projectId: "W2", role: "writer" };
  // prettier-ignore
  const cases: [string, ProjectManagingActor, ManagedUser, Parameters<typeof mayChangeProjectAccess>[2], string | null][] = [
    ["a steward raises a reader of W1 to steward, W2 left as it was", steward, colleague(), { touchesOrganizationRole: false, projects: [{ projectId: "W1", role: "steward" }, keepW2] }, null],
    ["a steward removes a colleague from W1",                        steward, colleague(), { touchesOrganizationRole: false, projects: [keepW2] }, null],
    ["a steward adds a colleague to W1",                             steward, colleague({ localAccess: { projects: [keepW2] } }), { touchesOrganizationRole: false, projects: [keepW2, { projectId: "W1", role: "reader" }] }, null],
    ["a steward gives writer in W1 (above their own)",               steward, colleague(), { touchesOrganizationRole: false, projects: [{ projectId: "W1", role: "writer" }, keepW2] }, "forbidden"],
    ["a steward changes a writer of W1 (who holds more there)",      steward, colleague({ localAccess: { projects: [{ projectId: "W1", role: "writer" }] } }), { touchesOrganizationRole: false, projects: [{ projectId: "W1", role: "reader" }] }, "forbidden"],
    ["a steward drops the colleague's W2",                           steward, colleague(), { touchesOrganizationRole: false, projects: [{ projectId: "W1", role: "reader" }] }, "forbidden"],
    ["a steward adds the colleague to W3",                           steward, colleague(), { touchesOrganizationRole: false, projects: [{ projectId: "W1", role: "reader" }, keepW2, { projectId: "W3", role: "reader" }] }, "forbidden"],
    ["a steward changes the organization role",                      steward, colleague(), { touchesOrganizationRole: true, projects: [{ projectId: "W1", role: "reader" }, keepW2] }, "forbidden"],
    ["a steward changes the Owner's projects",                       steward, colleague({ isOwner: true, role: "founder" }), { touchesOrganizationRole: false, projects: [{ projectId: "W1", role: "reader" }, keepW2] }, "owner_protected"],
    ["a steward changes their own projects",                         steward, colleague({ id: "actor" }), { touchesOrganizationRole: false, projects: [{ projectId: "W1", role: "steward" }, keepW2] }, "no_self_elevation"],
    ["a writer of W1 changes W1",                                    writer,  colleague(), { touchesOrganizationRole: false, projects: [{ projectId: "W1", role: "steward" }, keepW2] }, "forbidden"],
    ["a steward lowers a managed member's local grant in W1",        steward, colleague({ managedBy: "scim", localAccess: { projects: [{ projectId: "W1", role: "steward" }] } }), { touchesOrganizationRole: false, projects: [{ projectId: "W1", role: "reader" }] }, null],
    ["a steward raises a managed member's local grant in W1",        steward, colleague({ managedBy: "scim", localAccess: { projects: [{ projectId: "W1", role: "reader" }] } }), { touchesOrganizationRole: false, projects: [{ projectId: "W1", role: "steward" }] }, "managed_by_identity_provider"],
  ];
  it.each(cases)("%s", (_, actor, target, change, refused) => {
    const decision = mayChangeProjectAccess(actor, target, change, workspace);
    expect(decision.allowed ? null : decision.code).toBe(refused);
  });
});

describe("the shipped analytics catalog", () => {
  it("gives no project role member management: a user who is editor of a project manages nothing there", () => {
    const editor = actorOf(SHIPPED_CATALOG, "user", [{ projectId: "P", role: "editor" }]);
    expect(mayInviteIntoProjects(editor, { projects: [{ projectId: "P", role: "viewer" }] }, SHIPPED_CATALOG)).toMatchObject({ allowed: false, code: "forbidden" });
    const target = colleague({ role: "user", localAccess: { projects: [{ projectId: "P", role: "viewer" }] } });
    expect(mayChangeProjectAccess(editor, target, { touchesOrganizationRole: false, projects: [{ projectId: "P", role: "editor" }] }, SHIPPED_CATALOG)).toMatchObject({ allowed: false, code: "forbidden" });
  });
});

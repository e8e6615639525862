import Ajv2020 from "ajv/dist/2020";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { ConfigError, loadConfig } from "../../src/config";
import { accessCatalogJsonSchema, readAccessCatalog } from "../../src/config/access-catalog";
import { authorize, effectiveAccess, type AccessInput } from "../../src/domain/access";
import { AccessCatalog, type CatalogDefinition } from "../../src/domain/catalog";
import { SHIPPED_CATALOG } from "../../src/domain/permissions";

const root = path.resolve(__dirname, "..", "..");
const schemaFile = path.join(root, "schemas", "access-catalog.schema.json");
const shippedFile = path.join(root, "src", "domain", "catalogs", "analytics.json");
const workspaceFile = path.join(root, "src", "domain", "catalogs", "workspace.json");
const readJson = (file: string) => JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;

let directory: string;
beforeAll(() => {
  directory = mkdtempSync(path.join(tmpdir(), "gatehouse-catalog-"));
});
afterAll(() => rmSync(directory, { recursive: true, force: true }));

/** A catalog file in a temporary directory: the shipped one with `change` applied. */
function catalogFile(change: (definition: Record<string, any>) => unknown, name = "catalog.json"): string {
  const definition = readJson(shippedFile);
  change(definition);
  const file = path.join(directory, name);
  writeFileSync(file, JSON.stringify(definition));
  return file;
}

function problemsOf(environment: Record<string, string>): string[] {
  try {
    loadConfig(environment);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error("the configuration loaded");
}

describe("the access catalog file", () => {
  it("schemas/access-catalog.schema.json is the JSON Schema of what start-up accepts (UPDATE_SCHEMA_FILES=1 rewrites it)", () => {
    const derived = accessCatalogJsonSchema();
    if (process.env.UPDATE_SCHEMA_FILES) writeFileSync(schemaFile, `${JSON.stringify(derived, null, 2)}\n`);
    expect(readJson(schemaFile)).toEqual(derived);
  });

  it("the shipped catalog and the example second product are valid against the JSON Schema, and a broken one is not", () => {
    const ajv = new Ajv2020({ allErrors: true, strict: false });
    const validate = ajv.compile(readJson(schemaFile));
    expect({ shipped: validate(readJson(shippedFile)), errors: validate.errors }).toEqual({ shipped: true, errors: null });
    expect(validate(readJson(workspaceFile))).toBe(true);
    expect(validate({ ...readJson(shippedFile), ownerRole: undefined, extra: 1 })).toBe(false);
    expect(validate.errors!.map((e) => e.message)).toEqual(expect.arrayContaining(["must have required property 'ownerRole'", "must NOT have additional properties"]));
  });

  it("is the shipped one when ACCESS_CATALOG is unset, and the named one otherwise", () => {
    expect(loadConfig({}).accessCatalog).toBe(SHIPPED_CATALOG);
    const workspace = loadConfig({ ACCESS_CATALOG: workspaceFile }).accessCatalog;
    expect(workspace.projectNoun).toBe("workspace");
    expect(workspace.permissionNames).toContain("manage_access");
    expect(workspace.permissionNames).not.toContain("view_reports");
  });

  it("lists every problem of a broken catalog at start-up, each under ACCESS_CATALOG, together with the other variables'", () => {
    const file = catalogFile((d) => {
      d.permissions.push({ name: "view_reports" });
      d.organizationRoles[1].permissions.fly_planes = "all";
      d.projectRoles.push({ name: "viewer", permissions: {} });
      d.ownerRole = "king";
      d.defaultRole = "admin";
      d.administration.changeMemberAccess = "approve_everything";
    });
    const problems = problemsOf({ ACCESS_CATALOG: file, PORT: "eighty" });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^PORT: /),
        `ACCESS_CATALOG: ${file}: permissions: "view_reports" is declared more than once`,
        `ACCESS_CATALOG: ${file}: projectRoles: "viewer" is declared more than once`,
        expect.stringContaining(`ACCESS_CATALOG: ${file}: organizationRoles.user: "fly_planes" is not a permission of the catalog`),
        expect.stringContaining(`ACCESS_CATALOG: ${file}: ownerRole: "king" is not an organization role of the catalog`),
        expect.stringContaining(`ACCESS_CATALOG: ${file}: administration.changeMemberAccess: "approve_everything" is not a permission of the catalog`),
        `ACCESS_CATALOG: ${file}: defaultRole: "admin" grants a permission of administration: a default role must administer nothing`,
      ]),
    );
  });

  it("reports the shape first: a missing owner role, a bad scope, an unknown setting, each by its path", () => {
    const file = catalogFile((d) => {
      delete d.ownerRole;
      d.organizationRoles[0].permissions.view_reports = "everything";
      d.organizationRoles[0].permissions.comment = { scope: "all", onlyIf: "moonIsFull" };
    });
    const problems = problemsOf({ ACCESS_CATALOG: file });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`^ACCESS_CATALOG: ${file}: ownerRole: `)),
        expect.stringMatching(new RegExp(`^ACCESS_CATALOG: ${file}: organizationRoles\\.0\\.permissions\\.view_reports: `)),
        expect.stringMatching(new RegExp(`^ACCESS_CATALOG: ${file}: organizationRoles\\.0\\.permissions\\.comment`)),
      ]),
    );
  });

  it("says when the file is missing or is not JSON", () => {
    expect(problemsOf({ ACCESS_CATALOG: path.join(directory, "absent.json") })).toEqual([`ACCESS_CATALOG: cannot read ${path.join(directory, "absent.json")} (ENOENT)`]);
    const notJson = path.join(directory, "not.json");
    writeFileSync(notJson, "{ permissions: [");
    expect(problemsOf({ ACCESS_CATALOG: notJson })[0]).toMatch(new RegExp(`^ACCESS_CATALOG: ${notJson} is not JSON`));
  });

  it("refuses an owner role that does not grant everything, and a rank that leaves a role out", () => {
    const { problems } = readAccessCatalog(
      catalogFile((d) => {
        delete d.organizationRoles[3].permissions.delete_account;
        d.rank.organizationRoles = ["read_only", "user", "owner"];
      }),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining('organizationRoles.owner: the owner role must grant every permission with scope "all" (missing delete_account)'),
        expect.stringContaining('rank.organizationRoles: "admin" is missing'),
      ]),
    );
  });
});

/** A product whose roles do not form a chain, with no rank: analyst, publisher, auditor. */
const unranked: CatalogDefinition = {
  product: "Test",
  project: { singular: "space", plural: "spaces" },
  permissions: ["read", "write", "publish", "audit", "invite", "manage", "remove", "settings", "integrations", "everywhere"].map((name) => ({ name })),
  organizationRoles: [
    { name: "analyst", permissions: { read: "all", write: "own", invite: { scope: "all", withinProjects: true }, manage: { scope: "all", withinProjects: true } } },
    { name: "publisher", permissions: { read: "all", publish: "all" } },
    { name: "auditor", permissions: { audit: "all", write: "all" } },
    {
      name: "boss",
      permissions: Object.fromEntries(["read", "write", "publish", "audit", "invite", "manage", "remove", "settings", "integrations", "everywhere"].map((p) => [p, "all"])),
    },
  ],
  projectRoles: [
    { name: "contributor", permissions: { read: "all", write: "all" } },
    { name: "caretaker", permissions: { read: "all", invite: "all", manage: "all" } },
  ],
  ownerRole: "boss",
  formerOwnerRole: "auditor",
  defaultRole: "analyst",
  defaultProjectRole: "contributor",
  everyProject: { permission: "everywhere", actsAs: "contributor" },
  administration: { inviteMembers: "invite", changeMemberAccess: "manage", removeMembers: "remove", changeSettings: "settings", manageIntegrations: "integrations" },
};

describe("roles that do not form a chain", () => {
  const catalog = AccessCatalog.of(unranked);
  const input = (overrides: Partial<AccessInput>): AccessInput => ({
    user: { id: "u", isOwner: false, active: true, suspended: false },
    groups: [{ id: "g-pub", displayName: "Publishers" }, { id: "g-aud", displayName: "Auditors" }],
    appRoles: [],
    mappings: [
      { id: "m-pub", match: { kind: "group_id", value: "g-pub" }, organizationRole: "publisher" },
      { id: "m-aud", match: { kind: "group_id", value: "g-aud" }, organizationRole: "auditor", projects: [{ projectId: "s1", role: "caretaker" }] },
    ],
    settings: { defaultRole: "none", readOnlyMayComment: false },
    temporaryGrants: [],
    now: new Date("2026-01-01T00:00:00Z"),
    catalog,
    ...overrides,
  });

  it("gives a member with several roles the union of their permissions, the wider scope winning", () => {
    const access = effectiveAccess(input({ user: { id: "u", isOwner: false, active: true, suspended: false, localRole: "analyst" } }));
    expect(access.organizationRoles).toEqual(["analyst", "publisher", "auditor"]);
    expect(Object.fromEntries(access.permissions)).toEqual({ read: "all", write: "all", publish: "all", audit: "all" });
  });

  it("keeps the order sources were found in when the catalog ranks no roles, and names every role held in answers", () => {
    const access = effectiveAccess(input({}));
    expect(access.organizationRole).toBe("publisher");
    expect(authorize(access, "publish", {}, { readOnlyMayComment: false }, catalog)).toEqual({ allowed: true, reason: "publisher + auditor roles grant publish" });
    expect(authorize(access, "settings", {}, { readOnlyMayComment: false }, catalog)).toEqual({ allowed: false, reason: "publisher + auditor roles do not grant settings" });
  });

  it("grants a permission a role holds only within projects inside a project whose role grants it, and nowhere else", () => {
    const access = effectiveAccess(input({ groups: [{ id: "g-aud", displayName: "Auditors" }], user: { id: "u", isOwner: false, active: true, suspended: false, localRole: "analyst" } }));
    expect(access.permissions.has("manage")).toBe(false);
    const settings = { readOnlyMayComment: false };
    expect(authorize(access, "manage", { projectId: "s1" }, settings, catalog).allowed).toBe(true);
    expect(authorize(access, "manage", {}, settings, catalog).allowed).toBe(false);
    expect(authorize(access, "manage", { projectId: "s2" }, settings, catalog)).toEqual({ allowed: false, reason: "no access to space s2" });
    // Without a role that allows it within projects, the caretaker role gives nothing of it: the ceiling.
    const withoutCeiling = effectiveAccess(input({ groups: [{ id: "g-aud", displayName: "Auditors" }] }));
    expect(authorize(withoutCeiling, "manage", { projectId: "s1" }, settings, catalog).allowed).toBe(false);
  });
});

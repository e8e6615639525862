import { InvalidArgumentError, Option, type Command } from "commander";
import type { AccessCatalog } from "../domain/catalog";
import type { Services } from "../services";
import { requireOrganization, withOrganization } from "./organizations";
import { oneOf, runs, table, UsageError, type OperatorContext } from "./program";

type ProjectGrant = { projectId: string; role: string };

/** `--project PROJECT_ID:ROLE`, repeatable, ROLE a project role of the catalog (editor or viewer in the shipped one). */
const projectGrant = (catalog: AccessCatalog) => (value: string, previous: ProjectGrant[] | undefined): ProjectGrant[] => {
  const [projectId, role] = value.split(":");
  if (!projectId || role === undefined || !catalog.isProjectRole(role)) {
    throw new InvalidArgumentError(`Give ${catalog.projectRoleNames.map((r) => `PROJECT_ID:${r}`).join(" or ")}.`);
  }
  return [...(previous ?? []), { projectId, role }];
};

/** `--seat-limit N|none`. */
function seatLimit(value: string): number | "none" {
  if (value === "none") return value;
  if (!/^[1-9]\d*$/.test(value)) throw new InvalidArgumentError("Give a positive number or none.");
  return Number(value);
}

function describeMapping(m: { organizationRole?: string; projects?: readonly { projectId: string; role: string }[] }): string {
  return [m.organizationRole && `role ${m.organizationRole}`, ...(m.projects ?? []).map((p) => `project ${p.projectId} as ${p.role}`)].filter(Boolean).join(", ");
}

async function createProject(services: Services, ctx: OperatorContext, options: { org: string; json?: boolean }, [words]: [string[]]): Promise<string[]> {
  const org = await requireOrganization(services, options.org);
  const project = await services.access.createProject({ ...ctx, organizationId: org }, words.join(" "));
  return [options.json ? JSON.stringify(project) : `Project ${project.id}: ${project.name}`];
}

async function listProjects(services: Services, _ctx: OperatorContext, options: { org: string; json?: boolean }): Promise<string[]> {
  const org = await requireOrganization(services, options.org);
  const projects = await services.access.projects({ organizationId: org });
  return options.json ? [JSON.stringify(projects)] : table(projects.map((p) => ({ id: p.id, name: p.name, created: p.created })));
}

interface MappingAddOptions {
  org: string;
  groupId?: string;
  externalId?: string;
  displayName?: string;
  appRole?: string;
  role?: string;
  project?: ProjectGrant[];
  json?: boolean;
}

/** `mapping add`: an identity-provider group or app role onto an organization role and project roles. */
async function addMapping(services: Services, ctx: OperatorContext, options: MappingAddOptions): Promise<string[]> {
  const org = await requireOrganization(services, options.org);
  const matches = (
    [
      ["group_id", options.groupId],
      ["external_id", options.externalId],
      ["display_name", options.displayName],
      ["app_role", options.appRole],
    ] as const
  ).filter(([, v]) => v !== undefined);
  if (matches.length !== 1) throw new UsageError("mapping add needs exactly one of --group-id, --external-id, --display-name, --app-role");
  const [kind, value] = matches[0]!;
  const projects = options.project ?? [];
  const mapping = await services.access.addMapping(
    { ...ctx, organizationId: org },
    {
      match: { kind, value: value! },
      ...(options.role ? { organizationRole: options.role } : {}),
      ...(projects.length ? { projects } : {}),
    },
  );
  return [options.json ? JSON.stringify(mapping) : `Mapping ${mapping.id}: ${kind} "${value}" → ${describeMapping(mapping)}`];
}

async function listMappings(services: Services, _ctx: OperatorContext, options: { org: string; json?: boolean }): Promise<string[]> {
  const org = await requireOrganization(services, options.org);
  const mappings = await services.access.mappings({ organizationId: org });
  return options.json ? [JSON.stringify(mappings)] : table(mappings.map((m) => ({ id: m.id, match: `${m.match.kind}:${m.match.value}`, grants: describeMapping(m) })));
}

async function removeMapping(services: Services, ctx: OperatorContext, options: { org: string }, [mappingId]: [string]): Promise<string[]> {
  const org = await requireOrganization(services, options.org);
  await services.access.removeMapping({ ...ctx, organizationId: org }, mappingId);
  return [`Removed mapping ${mappingId}.`];
}

interface AccessSettingsOptions {
  org: string;
  defaultRole?: string;
  readOnlyMayComment?: "true" | "false";
  requireMapping?: "true" | "false";
  seatLimit?: number | "none";
}

/** `access-settings`: changes the flags given, then prints all of them (and the seat limit) as JSON. */
async function accessSettings(services: Services, ctx: OperatorContext, options: AccessSettingsOptions): Promise<string[]> {
  const org = await requireOrganization(services, options.org);
  const flag = (value: "true" | "false" | undefined) => (value === undefined ? undefined : value === "true");
  const changes = Object.fromEntries(
    Object.entries({
      defaultRole: options.defaultRole,
      readOnlyMayComment: flag(options.readOnlyMayComment),
      requireMappingForAccess: flag(options.requireMapping),
    }).filter(([, v]) => v !== undefined),
  );
  const settings = Object.keys(changes).length ? await services.access.setSettings({ ...ctx, organizationId: org }, changes) : await services.access.settings({ organizationId: org });
  if (options.seatLimit !== undefined) await services.access.setSeatLimit({ ...ctx, organizationId: org }, options.seatLimit === "none" ? undefined : options.seatLimit);
  return [JSON.stringify({ ...settings, seatLimit: (await services.access.seatLimit({ organizationId: org })) ?? null })];
}

const matchFlags = ["group-id", "external-id", "display-name", "app-role"] as const;

export function accessCommands(program: Command, catalog: AccessCatalog): void {
  const project = program.command("project").description(`Projects (${catalog.definition.project.plural}): what project roles (${catalog.projectRoleNames.join(", ")}) are granted on.`);
  runs(
    withOrganization(project.command("create"))
      .description("create a project")
      .argument("<NAME...>", "the project's name (several words make one name)")
      .option("--json", "print the project as JSON"),
    createProject,
  );
  runs(withOrganization(project.command("list")).description("list the organization's projects").option("--json", "print them as a JSON array"), listProjects);

  const mapping = program.command("mapping").description("Group mappings: access from identity-provider groups and app roles.");
  const add = withOrganization(mapping.command("add"))
    .usage(`--org ID (--group-id ID | --external-id ID | --display-name NAME | --app-role VALUE) [--role ${[...catalog.grantableRoleNames].reverse().join("|")}] [--project PROJECT_ID:${[...catalog.projectRoleNames].reverse().join("|")} ...] [--json]`)
    .summary("map an identity-provider group or app role onto access")
    .description("Maps an identity-provider group (by id, externalId or displayName) or an app role onto an organization role and project roles.");
  const match: [string, string][] = [
    ["--group-id <ID>", "the group's SCIM id"],
    ["--external-id <ID>", "the group's externalId (Entra ID: the group's object id)"],
    ["--display-name <NAME>", "the group's displayName"],
    ["--app-role <VALUE>", "an app role the identity provider sends in the user's roles"],
  ];
  match.forEach(([flags, description], i) => add.addOption(new Option(flags, description).conflicts(matchFlags.filter((_, j) => j !== i).map((f) => f.replace(/-(\w)/g, (_m, c: string) => c.toUpperCase())))));
  add
    .addOption(oneOf("--role <ROLE>", "the organization role it grants (ownership is transferred, never mapped)", [...catalog.grantableRoleNames].reverse()))
    .option("--project <PROJECT_ID:ROLE>", `a project role it grants, ${catalog.projectRoleNames.join(" or ")} (repeatable)`, projectGrant(catalog))
    .option("--json", "print the mapping as JSON");
  runs(add, addMapping);
  runs(withOrganization(mapping.command("list")).description("list the organization's group mappings").option("--json", "print them as a JSON array"), listMappings);
  runs(withOrganization(mapping.command("remove")).description("remove a group mapping").argument("<MAPPING_ID>", "the mapping's id, as mapping list shows it"), removeMapping);

  runs(
    withOrganization(program.command("access-settings"))
      .summary("the organization's access settings: changes those given, prints all as JSON")
      .description("Changes the access settings given, then prints all of them and the seat limit as one JSON object.")
      .addOption(oneOf("--default-role <ROLE>", "the organization role of a member no mapping grants one (none: no access)", [...[...catalog.defaultRoleNames].reverse(), "none"]))
      .addOption(oneOf("--read-only-may-comment <BOOL>", "whether read_only members may comment", ["true", "false"]))
      .addOption(oneOf("--require-mapping <BOOL>", "whether access requires a mapped group (leaving the last one then deprovisions)", ["true", "false"]))
      .option("--seat-limit <N|none>", "how many active members the organization may have (none: no limit)", seatLimit),
    accessSettings,
  );
}

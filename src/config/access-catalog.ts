import { readFileSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import { AccessCatalog, catalogProblems, PERMISSION_SETTING_NAMES, type CatalogDefinition } from "../domain/catalog";
import { SHIPPED_CATALOG } from "../domain/permissions";

/**
 * The access catalog file (ACCESS_CATALOG), read and checked at start-up: its shape against the
 * zod schema below — schemas/access-catalog.schema.json is this schema's JSON Schema, written out
 * for editors and for other tools (test/unit/access-catalog.test.ts keeps the two equal) — then
 * the cross-references the shape cannot express (domain/catalog.ts `catalogProblems`). Every
 * problem is listed, prefixed with the variable, like the rest of the configuration.
 */

/** Names that read well in an API, a CSV and a log line: lower case, digits, `_`, `-` and `.`. */
const name = z
  .string()
  .regex(/^[a-z][a-z0-9_.-]{0,63}$/, "must start with a lower-case letter and hold only a-z, 0-9, _, - and . (at most 64 characters)")
  .describe("A name as the API shows it.");
const scope = z.enum(["own", "all"]).describe("`all`: on anyone's resources; `own`: only on resources the member created.");
const cell = z.union([
  scope,
  z
    .object({
      scope,
      onlyIf: z.enum(PERMISSION_SETTING_NAMES).optional().describe("The organization setting that must be on for the role to have the permission."),
      withinProjects: z
        .literal(true)
        .optional()
        .describe("The role grants the permission only inside the projects where a project role grants it (it is the ceiling there), never organization-wide."),
    })
    .strict(),
]);
const role = <C extends z.ZodType>(value: C) =>
  z
    .object({
      name,
      description: z.string().min(1).optional(),
      permissions: z.record(z.string(), value).describe("Permission → scope: what the role grants; a permission not listed is not granted."),
    })
    .strict();

export const AccessCatalogFile = z
  .object({
    $schema: z.string().optional().describe("The JSON Schema of this file, for editors."),
    product: z.string().min(1).describe("The product this catalog describes."),
    project: z
      .object({ singular: z.string().min(1), plural: z.string().min(1) })
      .strict()
      .describe('What the product calls a project: "project", "workspace", "account" — used in answers and documents.'),
    permissions: z.array(z.object({ name, description: z.string().min(1).optional() }).strict()).min(1).describe("Every permission of the product."),
    organizationRoles: z.array(role(cell)).min(1).describe("Roles that hold across the organization. A member with several has the union of their permissions."),
    projectRoles: z
      .array(role(scope))
      .describe("Roles held inside one project, bounded by the member's organization permissions (the ceiling). A permission any project role grants is decided per project."),
    rank: z
      .object({ organizationRoles: z.array(name).optional(), projectRoles: z.array(name).optional() })
      .strict()
      .optional()
      .describe("Weakest first, every role listed. Only where declared is one role 'higher' than another (the role shown, sources listed strongest first)."),
    ownerRole: name.describe("The organization role ownership gives: it must grant every permission, and moves only by transfer."),
    formerOwnerRole: name.describe("The role the former Owner keeps after handing ownership over."),
    defaultRole: name.describe("A new organization's default role, or `none` (members need a mapping or an assignment)."),
    defaultProjectRole: name.describe("The project role a request means when it names a project without a role."),
    everyProject: z
      .object({ permission: name, actsAs: name })
      .strict()
      .optional()
      .describe("A permission that reaches every project, present and future, acting in each as the `actsAs` project role."),
    administration: z
      .object({ inviteMembers: name, changeMemberAccess: name, removeMembers: name, changeSettings: name, manageIntegrations: name })
      .strict()
      .describe("The catalog's permissions that Gatehouse's own admin API asks for."),
  })
  .strict()
  .describe("A product's access model for Gatehouse: permissions, organization and project roles, ownership and defaults.");

/** schemas/access-catalog.schema.json: the file's JSON Schema (draft 2020-12), derived from `AccessCatalogFile`. */
export function accessCatalogJsonSchema(): Record<string, unknown> {
  const { $schema, ...rest } = z.toJSONSchema(AccessCatalogFile, { io: "input", unrepresentable: "throw" }) as Record<string, unknown>;
  return {
    $schema,
    title: "Gatehouse access catalog",
    ...rest,
  };
}

/** Where the shipped catalog is (dist/domain/catalogs when built, src/domain/catalogs under the tests). */
export const SHIPPED_CATALOG_FILE = path.resolve(__dirname, "../domain/catalogs/analytics.json");

/**
 * The catalog in `file`, or the problems that keep it from being used, each naming where it is.
 * `variable` prefixes every problem (ACCESS_CATALOG, as the configuration reports).
 */
export function readAccessCatalog(file: string | undefined, variable = "ACCESS_CATALOG"): { catalog?: AccessCatalog; problems: string[] } {
  if (file === undefined) return { catalog: SHIPPED_CATALOG, problems: [] };
  let text: string;
  try {
    text = readFileSync(path.resolve(file), "utf8");
  } catch (error) {
    return { problems: [`${variable}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? "error"})`] };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { problems: [`${variable}: ${file} is not JSON (${(error as Error).message})`] };
  }
  const parsed = AccessCatalogFile.safeParse(json);
  if (!parsed.success) return { problems: parsed.error.issues.map((issue) => `${variable}: ${file}: ${issue.path.join(".") || "(top)"}: ${issue.message}`) };
  const definition = parsed.data as CatalogDefinition;
  const problems = catalogProblems(definition).map((problem) => `${variable}: ${file}: ${problem}`);
  return problems.length ? { problems } : { catalog: AccessCatalog.of(definition), problems };
}

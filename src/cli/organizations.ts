import type { Command } from "commander";
import type { Services } from "../services";
import { runs, table, UsageError, type OperatorContext } from "./program";

/** `--org ID`, which most commands need: the organization they act on. */
export const withOrganization = (command: Command): Command => command.requiredOption("--org <ID>", "the organization's id");

/** The organization `--org` names, which must exist. */
export async function requireOrganization(services: Services, id: string): Promise<string> {
  if (!(await services.organizations.get(id))) throw new UsageError(`No organization ${id}`);
  return id;
}

/** `org create NAME…`: the organization, its first SCIM token (shown once) and, with --owner, its Owner. */
async function createOrganization(services: Services, ctx: OperatorContext, options: { owner?: string; json?: boolean }, [words]: [string[]]): Promise<string[]> {
  const name = words.join(" ").trim();
  if (!name) throw new UsageError("org create needs a NAME");
  const { organization, scimToken, owner } = await services.organizations.create(name, ctx, { ownerEmail: options.owner });
  if (options.json) {
    return [JSON.stringify({ id: organization.id, name: organization.name, scimToken: scimToken.token, scimTokenId: scimToken.id, ...(owner ? { ownerId: owner.id } : {}) })];
  }
  return [
    `Organization: ${organization.name}`,
    `ID:           ${organization.id}`,
    `SCIM token:   ${scimToken.token}`,
    ...(owner ? [`Owner:        ${owner.userName} (${owner.id})`] : []),
    "",
    "The token is shown only now. Give it to your identity provider with the SCIM base URL.",
  ];
}

async function listOrganizations(services: Services, _ctx: OperatorContext, options: { json?: boolean }): Promise<string[]> {
  const organizations = await services.organizations.list();
  return options.json ? [JSON.stringify(organizations)] : table(organizations.map((o) => ({ id: o.id, name: o.name, created: o.created })));
}

/** `org set-owner`: the operator's break-glass when the identity provider deprovisioned the Owner. */
async function setOwner(services: Services, ctx: OperatorContext, options: { org: string; email: string }): Promise<string[]> {
  const org = await requireOrganization(services, options.org);
  const user = await services.users.findByUserName({ organizationId: org }, options.email);
  if (!user) throw new UsageError(`No user ${options.email} in organization ${org}`);
  if (!user.active || user.suspended) throw new UsageError(`${options.email} is not an active, unsuspended member`);
  await services.organizations.transferOwnership({ ...ctx, organizationId: org }, user.id);
  return [`${user.userName} (${user.id}) is now the Owner of ${org}.`];
}

export function organizationCommands(program: Command): void {
  const org = program.command("org").description("Organizations: each has its own users, groups, tokens and SAML connection.");
  runs(
    org
      .command("create")
      .summary("create an organization, its first SCIM token and (with --owner) its Owner as a local user")
      .description("Creates an organization and its first SCIM token (\"Initial SCIM token\"), shown only now; with --owner, its Owner as a local user.")
      .argument("<NAME...>", "the organization's name (several words make one name)")
      .option("--owner <EMAIL>", "also create the Owner, a local user with this userName")
      .option("--json", 'print {"id", "name", "scimToken", "scimTokenId", "ownerId"} as one JSON object'),
    createOrganization,
  );
  runs(org.command("list").description("list organizations").option("--json", "print them as a JSON array"), listOrganizations);
  runs(
    withOrganization(org.command("set-owner"))
      .summary("the operator's break-glass: make an active member the Owner (e.g. when the identity provider deprovisioned the Owner)")
      .description("The operator's break-glass: makes an active, unsuspended member the Owner (e.g. when the identity provider deprovisioned the Owner). Audited as organization.ownership_transferred.")
      .requiredOption("--email <EMAIL>", "the userName of the member who becomes the Owner"),
    setOwner,
  );
}

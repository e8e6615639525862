import { InvalidArgumentError, type Command } from "commander";
import type { Services } from "../services";
import { isServiceTokenScope, SERVICE_TOKEN_SCOPES, type TokenScope } from "../domain/token-scopes";
import { requireOrganization, withOrganization } from "./organizations";
import { runs, table, UsageError, type OperatorContext } from "./program";

/** `--expires`: a date the token stops working at (`2027-01-01`, `2027-01-01T00:00:00Z`). */
function expiry(value: string): Date {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new InvalidArgumentError("Give an ISO date such as 2027-01-01 or 2027-01-01T00:00:00Z.");
  return date;
}

async function createScimToken(services: Services, ctx: OperatorContext, options: { org: string; name?: string; expires?: Date; json?: boolean }): Promise<string[]> {
  const org = await requireOrganization(services, options.org);
  const token = await services.scimTokens.issue({ ...ctx, organizationId: org }, { name: options.name, expires: options.expires });
  return [options.json ? JSON.stringify({ id: token.id, name: token.name, token: token.token }) : `SCIM token ${token.id} (${token.name}): ${token.token}`];
}

async function listScimTokens(services: Services, _ctx: OperatorContext, options: { org: string; json?: boolean }): Promise<string[]> {
  const tokens = await services.scimTokens.list(options.org);
  return options.json ? [JSON.stringify(tokens)] : table(tokens.map((t) => ({ id: t.id, name: t.name, created: t.created, lastUsed: t.lastUsed, expires: t.expires, revoked: t.revoked })));
}

async function revokeToken(services: Services, ctx: OperatorContext, _options: object, [tokenId]: [string]): Promise<string[]> {
  const token = await services.scimTokens.find(tokenId);
  if (!token) throw new UsageError(`No SCIM token ${tokenId}`);
  await services.scimTokens.revoke({ ...ctx, organizationId: token.organizationId }, tokenId);
  return [`Revoked SCIM token ${tokenId} (${token.name}).`];
}

async function createPersonalToken(services: Services, ctx: OperatorContext, options: { org: string; email: string; name?: string; json?: boolean }): Promise<string[]> {
  const org = await requireOrganization(services, options.org);
  const user = await services.users.findByUserName({ organizationId: org }, options.email);
  if (!user) throw new UsageError(`No user ${options.email} in organization ${org}`);
  const token = await services.scimTokens.issue({ ...ctx, organizationId: org }, { name: options.name ?? `Personal API token of ${user.userName}`, purpose: "personal", userId: user.id });
  return [options.json ? JSON.stringify({ token: token.token }) : `Personal API token ${token.id} for ${user.userName}: ${token.token}`];
}

/** `--scope`, repeatable or comma-separated: the scopes of a service token (domain/token-scopes.ts). */
function scopeList(value: string, previous: TokenScope[] = []): TokenScope[] {
  const scopes = value.split(",").map((part) => part.trim()).filter(Boolean);
  const unknown = scopes.filter((scope) => !isServiceTokenScope(scope));
  if (unknown.length || !scopes.length) throw new InvalidArgumentError(`Scopes are ${SERVICE_TOKEN_SCOPES.join(", ")}; not ${unknown.join(", ") || "empty"}.`);
  return [...previous, ...(scopes as TokenScope[])];
}

async function createServiceToken(services: Services, ctx: OperatorContext, options: { org: string; name?: string; scope?: TokenScope[]; json?: boolean }): Promise<string[]> {
  const org = await requireOrganization(services, options.org);
  const token = await services.scimTokens.issue({ ...ctx, organizationId: org }, { name: options.name ?? "Service token", purpose: "service", ...(options.scope ? { scopes: options.scope } : {}) });
  return [options.json ? JSON.stringify({ token: token.token }) : `Service token ${token.id} (${token.name}, scopes ${token.scopes?.join(", ")}): ${token.token}`];
}

export function tokenCommands(program: Command): void {
  const token = program.command("token").description("SCIM tokens: the bearer tokens identity providers provision with. Secrets are shown once and stored hashed.");
  runs(
    withOrganization(token.command("create"))
      .summary("issue another SCIM token (shown once)")
      .description("Issues another SCIM token for the organization, shown only now.")
      .option("--name <NAME>", 'a label for the token (default "SCIM token")')
      .option("--expires <ISO-DATE>", "the token stops working at this time (2027-01-01 or 2027-01-01T00:00:00Z)", expiry)
      .option("--json", 'print {"id", "name", "token"}'),
    createScimToken,
  );
  runs(
    withOrganization(token.command("list"))
      .summary("list an organization's SCIM tokens (never their secrets)")
      .description("Lists the organization's tokens: id, name, created, lastUsed, expires, revoked. Never the secrets.")
      .option("--json", "print them as a JSON array"),
    listScimTokens,
  );
  runs(
    token
      .command("revoke")
      .summary("revoke a SCIM or service token; it stops working on the next request")
      .description("Revokes a SCIM, service or personal API token: it is refused from the next request on.")
      .argument("<TOKEN_ID>", "the token's id, as token list shows it"),
    revokeToken,
  );
  runs(
    withOrganization(program.command("user-token").description("Personal API tokens, for /api/v1 as a member.").command("create"))
      .summary('a personal API token for /api/v1 (with --json: {"token": "…"})')
      .description("Issues a personal API token for a member, for the admin API at /api/v1, shown only now.")
      .requiredOption("--email <EMAIL>", "the member's userName")
      .option("--name <NAME>", 'a label for the token (default "Personal API token of EMAIL")')
      .option("--json", 'print exactly {"token": "…"}'),
    createPersonalToken,
  );
  runs(
    withOrganization(program.command("service-token").description("Service tokens, for the product's back end.").command("create"))
      .summary('a token for the product\'s back end: authorization answers at /api/v1 (with --json: {"token": "…"})')
      .description("Issues a token for the product's back end, for authorization answers at /api/v1, shown only now.")
      .option("--name <NAME>", 'a label for the token (default "Service token")')
      .option("--scope <SCOPE>", `what the token may do, repeatable or comma-separated: ${SERVICE_TOKEN_SCOPES.join(", ")} (default: authorize)`, scopeList)
      .option("--json", 'print exactly {"token": "…"}'),
    createServiceToken,
  );
}

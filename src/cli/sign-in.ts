import type { Command } from "commander";
import { NotFoundError } from "../errors";
import type { Services } from "../services";
import { requireOrganization, withOrganization } from "./organizations";
import { runs, switchOption, table, UsageError, type OperatorContext } from "./program";

/**
 * Signing in to the console besides SAML: the organization's email domains (sign-in discovery),
 * break-glass sign-in links, and requiring single sign-on.
 */

async function addDomain(services: Services, ctx: OperatorContext, options: { org: string; json?: boolean }, [domain]: [string]): Promise<string[]> {
  const org = await requireOrganization(services, options.org);
  const added = await services.emailDomains.add({ ...ctx, organizationId: org }, domain);
  return [options.json ? JSON.stringify({ domain: added.domain }) : `Email domain ${added.domain} now leads to organization ${org}.`];
}

async function listDomains(services: Services, _ctx: OperatorContext, options: { org: string; json?: boolean }): Promise<string[]> {
  const org = await requireOrganization(services, options.org);
  const domains = await services.emailDomains.list({ organizationId: org });
  return options.json ? [JSON.stringify(domains.map((d) => ({ domain: d.domain, created: d.created })))] : table(domains.map((d) => ({ domain: d.domain, created: d.created })));
}

async function removeDomain(services: Services, ctx: OperatorContext, options: { org: string }, [domain]: [string]): Promise<string[]> {
  const org = await requireOrganization(services, options.org);
  await services.emailDomains.remove({ ...ctx, organizationId: org }, domain);
  return [`Removed email domain ${domain} from organization ${org}.`];
}

async function signInLink(services: Services, ctx: OperatorContext, options: { org: string; email: string; json?: boolean }): Promise<string[]> {
  const org = await requireOrganization(services, options.org);
  const link = await services.signInLinks.issue({ ...ctx, organizationId: org }, options.email).catch((error: unknown) => {
    throw error instanceof NotFoundError ? new UsageError(`No user ${options.email} in organization ${org}`) : error;
  });
  if (options.json) return [JSON.stringify({ url: link.url, expiresAt: link.expires.toISOString(), userId: link.user.id })];
  return [
    `Sign-in link for ${link.user.userName}, valid once until ${link.expires.toISOString()}:`,
    link.url,
    "",
    "Open it in the browser that should be signed in; it leads to the console. Anyone holding it can use it: send it only to that person.",
  ];
}

async function signInPolicy(services: Services, ctx: OperatorContext, options: { org: string; requireSso?: boolean; json?: boolean }): Promise<string[]> {
  const org = await requireOrganization(services, options.org);
  const scope = { ...ctx, organizationId: org };
  const policy = options.requireSso === undefined ? await services.signInPolicy.get(scope) : await services.signInPolicy.setRequireSso(scope, options.requireSso);
  return [options.json ? JSON.stringify(policy) : `requireSso: ${policy.requireSso}`];
}

export function signInCommands(program: Command): void {
  const domains = program.command("email-domain").description("Email domains: a person signing in with an address there is sent to the organization's single sign-on.");
  runs(
    withOrganization(domains.command("add"))
      .summary("declare an email domain for the organization (one organization per domain)")
      .description("Declares an email domain: sign-in discovery sends people with addresses there to this organization's SAML sign-in. Audited.")
      .argument("<DOMAIN>", "e.g. example.com")
      .option("--json", 'print {"domain"}'),
    addDomain,
  );
  runs(
    withOrganization(domains.command("list")).summary("list the organization's email domains").description("Lists the organization's email domains.").option("--json", "print them as a JSON array"),
    listDomains,
  );
  runs(
    withOrganization(domains.command("remove")).summary("remove one of the organization's email domains").description("Removes an email domain of the organization. Audited.").argument("<DOMAIN>", "the domain"),
    removeDomain,
  );
  runs(
    withOrganization(program.command("sign-in-link"))
      .summary("print a single-use break-glass sign-in link, valid for 10 minutes")
      .description(
        "Prints a link that signs a member in once, within 10 minutes, and opens the console: the way in before single sign-on is configured or while the identity provider is down. Only for an active, unsuspended member; under require-sso only for the Owner. Audited (creation and use).",
      )
      .requiredOption("--email <EMAIL>", "the member's userName")
      .option("--json", 'print {"url", "expiresAt", "userId"}'),
    signInLink,
  );
  runs(
    switchOption(
      withOrganization(program.command("sign-in-policy"))
        .summary("show or change whether the organization requires single sign-on")
        .description("Without a switch, shows the policy. With --require-sso, every way in but SAML (sign-in links, personal API tokens) works for the Owner only. Audited.")
        .option("--json", 'print {"requireSso"}'),
      "require-sso",
      "require single sign-on for everyone but the Owner",
      "stop requiring single sign-on",
    ),
    signInPolicy,
  );
}

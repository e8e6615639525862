import { InvalidArgumentError, type Command } from "commander";
import { isDirectoryEventType } from "../domain/directory-events";
import type { Services } from "../services";
import { requireOrganization, withOrganization } from "./organizations";
import { runs, table, type OperatorContext } from "./program";

/** `--type`, repeatable or comma-separated: directory event types (domain/directory-events.ts). */
function typeList(value: string, previous: string[] = []): string[] {
  const types = value.split(",").map((part) => part.trim()).filter(Boolean);
  const unknown = types.filter((type) => !isDirectoryEventType(type));
  if (unknown.length || !types.length) throw new InvalidArgumentError(`Not an event type: ${unknown.join(", ") || "(empty)"}. See GET /api/v1/openapi.json, DirectoryEvent.type.`);
  return [...previous, ...types];
}

async function createWebhook(services: Services, ctx: OperatorContext, options: { org: string; url: string; type?: string[]; json?: boolean }): Promise<string[]> {
  const org = await requireOrganization(services, options.org);
  const endpoint = await services.webhooks.register({ ...ctx, organizationId: org }, { url: options.url, ...(options.type ? { types: options.type } : {}) });
  return [options.json ? JSON.stringify({ id: endpoint.id, url: endpoint.url, secret: endpoint.secret }) : `Webhook endpoint ${endpoint.id} (${endpoint.url}); signing secret (shown once): ${endpoint.secret}`];
}

async function listWebhooks(services: Services, _ctx: OperatorContext, options: { org: string; json?: boolean }): Promise<string[]> {
  const endpoints = await services.webhooks.list({ organizationId: options.org });
  return options.json
    ? [JSON.stringify(endpoints)]
    : table(endpoints.map((e) => ({ id: e.id, url: e.url, types: e.types === "all" ? "all" : e.types.join(","), status: e.status, failedAttempts: e.failedAttempts, nextAttemptAt: e.nextAttemptAt })));
}

async function removeWebhook(services: Services, ctx: OperatorContext, options: { org: string }, [id]: [string]): Promise<string[]> {
  await services.webhooks.remove({ ...ctx, organizationId: options.org }, id);
  return [`Removed webhook endpoint ${id}.`];
}

async function rotateWebhookSecret(services: Services, ctx: OperatorContext, options: { org: string; overlapMinutes: string; json?: boolean }, [id]: [string]): Promise<string[]> {
  const minutes = Number(options.overlapMinutes);
  if (!Number.isInteger(minutes) || minutes < 0) throw new InvalidArgumentError("--overlap-minutes: a whole number of minutes");
  const rotated = await services.webhooks.rotateSecret({ ...ctx, organizationId: options.org }, id, minutes * 60_000);
  return [options.json ? JSON.stringify({ secret: rotated.secret, previousExpireAt: rotated.previousExpireAt }) : `New signing secret (shown once): ${rotated.secret}; the previous one signs until ${rotated.previousExpireAt.toISOString()}`];
}

export function webhookCommands(program: Command): void {
  const webhook = program.command("webhook").description("Webhook endpoints: directory events delivered, signed (Standard Webhooks), to the product.");
  runs(
    withOrganization(webhook.command("create"))
      .summary("register an endpoint (its signing secret is shown once)")
      .description("Registers an endpoint for the organization's directory events from now on; prints its signing secret (whsec_…), shown only now.")
      .requiredOption("--url <URL>", "https only (unless WEBHOOK_ALLOW_HTTP=true); no private, loopback or link-local address (unless WEBHOOK_ALLOW_PRIVATE_DESTINATIONS=true)")
      .option("--type <TYPE>", "an event type to deliver, repeatable or comma-separated (default: all)", typeList)
      .option("--json", 'print {"id", "url", "secret"}'),
    createWebhook,
  );
  runs(withOrganization(webhook.command("list")).summary("list endpoints and their delivery state").description("Lists the organization's endpoints: status, failed attempts, next attempt.").option("--json", "print them as a JSON array"), listWebhooks);
  runs(withOrganization(webhook.command("remove")).summary("remove an endpoint").description("Removes an endpoint: nothing more is sent to it.").argument("<ENDPOINT_ID>", "the endpoint's id (wh_…)"), removeWebhook);
  runs(
    withOrganization(webhook.command("rotate-secret"))
      .summary("a new signing secret; the old one signs on for the overlap")
      .description("Issues a new signing secret (shown once); the previous ones keep signing for the overlap, so the receiver can switch over.")
      .argument("<ENDPOINT_ID>", "the endpoint's id (wh_…)")
      .option("--overlap-minutes <MINUTES>", "how long the previous secret keeps signing", "1440")
      .option("--json", 'print {"secret", "previousExpireAt"}'),
    rotateWebhookSecret,
  );
}

import type { AuditTrail } from "../audit/audit-trail";
import type { RequestContext } from "../domain/context";
import type { ScimTokens } from "./scim-tokens";

type Scope = Pick<RequestContext, "organizationId">;

/** The kinds of change an administrator counts to see that the identity provider is syncing. */
export type ProvisioningKind = "creates" | "updates" | "deactivations" | "deletes";

/** Which audit actions (source `scim`) count as which kind; other SCIM actions are not counted. */
export const PROVISIONING_ACTIONS: Readonly<Record<string, ProvisioningKind>> = {
  "user.provisioned": "creates",
  "group.created": "creates",
  "user.updated": "updates",
  "user.reactivated": "updates",
  "user.linked": "updates",
  "group.updated": "updates",
  "group.members_changed": "updates",
  "user.deactivated": "deactivations",
  "user.deleted": "deletes",
  "group.deleted": "deletes",
};

export interface ProvisioningDay {
  /** The UTC day, `2026-12-02`. */
  readonly date: string;
  readonly creates: number;
  readonly updates: number;
  readonly deactivations: number;
  readonly deletes: number;
}

/** What the last SCIM request was and how it was answered, as this process saw it. */
export interface ScimRequestOutcome {
  readonly at: Date;
  readonly method: string;
  readonly status: number;
}

export interface ProvisioningActivityReport {
  /** Oldest first, `days` of them, today (UTC) last. */
  readonly days: readonly ProvisioningDay[];
  /** The newest change SCIM made (from the audit trail). */
  readonly lastChange?: { readonly at: Date; readonly action: string };
  /** When a SCIM token of the organization was last used (to the minute): reads count too. */
  readonly lastTokenUse?: Date;
  /** The last SCIM request this server process answered for the organization, with its status. */
  readonly lastRequest?: ScimRequestOutcome;
}

const DAY_MS = 86_400_000;

/**
 * Recent provisioning from the audit trail: per UTC day, the SCIM creates, updates, deactivations
 * and deletes; the last change; when a SCIM token was last used; and the last SCIM request's status.
 *
 * Cheap on both databases: on the embedded database the resident audit index (storage/audit-index.ts)
 * counts from memory without reading a document; elsewhere one query over the organization's SCIM
 * events of the window, two fields each, served by the `{organizationId, source, at, _id}` index on
 * MongoDB. The last request's status is kept in this process's memory (no write per SCIM request):
 * exact on the embedded database, whose one server answers every request; with several instances
 * on MongoDB, the instance answering shows what it last answered itself.
 */
export class ProvisioningActivity {
  private readonly lastRequests = new Map<string, ScimRequestOutcome>();

  constructor(
    private readonly audit: AuditTrail,
    private readonly tokens: ScimTokens,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Called when a SCIM request of the organization has been answered (app.ts). */
  answered(organizationId: string, outcome: ScimRequestOutcome): void {
    this.lastRequests.set(organizationId, outcome);
  }

  async report(ctx: Scope, days = 14): Promise<ProvisioningActivityReport> {
    const today = Math.floor(this.now().getTime() / DAY_MS) * DAY_MS;
    const from = new Date(today - (days - 1) * DAY_MS);
    const counts = Array.from({ length: days }, () => ({ creates: 0, updates: 0, deactivations: 0, deletes: 0 }));
    let lastChange: { at: Date; action: string } | undefined;
    const visit = (at: number, action: string) => {
      const kind = PROVISIONING_ACTIONS[action];
      if (!kind) return;
      const day = Math.floor((at - from.getTime()) / DAY_MS);
      if (day >= 0 && day < days) counts[day]![kind]++;
      if (!lastChange || at >= lastChange.at.getTime()) lastChange = { at: new Date(at), action };
    };
    await this.audit.tally(ctx.organizationId, "scim", from, visit);
    const tokens = await this.tokens.list(ctx.organizationId);
    const lastTokenUse = tokens
      .filter((token) => token.lastUsed)
      .map((token) => token.lastUsed!)
      .sort((a, b) => b.getTime() - a.getTime())[0];
    const lastRequest = this.lastRequests.get(ctx.organizationId);
    return {
      days: counts.map((count, i) => ({ date: new Date(from.getTime() + i * DAY_MS).toISOString().slice(0, 10), ...count })),
      ...(lastChange ? { lastChange } : {}),
      ...(lastTokenUse ? { lastTokenUse } : {}),
      ...(lastRequest ? { lastRequest } : {}),
    };
  }
}

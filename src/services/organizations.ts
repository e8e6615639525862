import { randomUUID } from "node:crypto";
import type { AuditTrail } from "../audit/audit-trail";
import type { Actor, ChangeSource } from "../domain/context";
import type { Organization } from "../domain/organization";
import { InvalidError } from "../errors";
import type { OrganizationStore } from "../storage/organizations";
import type { IssuedScimToken, ScimTokens } from "./scim-tokens";

export class Organizations {
  constructor(
    private readonly store: OrganizationStore,
    private readonly tokens: ScimTokens,
    private readonly audit: AuditTrail,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Creates an organization together with its first SCIM token, so an IdP can connect at once. */
  async create(
    name: string,
    by: { actor: Actor; source: ChangeSource; requestId: string },
  ): Promise<{ organization: Organization; scimToken: IssuedScimToken }> {
    const trimmed = name.trim();
    if (!trimmed) throw new InvalidError("An organization needs a name");
    const organization: Organization = { id: randomUUID(), name: trimmed, created: this.now() };
    await this.store.insert(organization);
    const ctx = { ...by, organizationId: organization.id };
    await this.audit.record(ctx, { action: "organization.created", target: { type: "organization", id: organization.id, display: trimmed }, after: organization });
    const scimToken = await this.tokens.issue(ctx, { name: "Initial SCIM token" });
    return { organization, scimToken };
  }

  list(): Promise<Organization[]> {
    return this.store.list();
  }

  get(id: string): Promise<Organization | undefined> {
    return this.store.findById(id);
  }
}

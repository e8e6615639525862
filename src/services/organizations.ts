import { randomUUID } from "node:crypto";
import type { AuditTrail } from "../audit/audit-trail";
import type { Actor, ChangeSource, RequestContext } from "../domain/context";
import type { User } from "../domain/user";
import type { UserDirectory } from "./users";
import type { Organization } from "../domain/organization";
import { InvalidError } from "../errors";
import type { OrganizationStore } from "../storage/organizations";
import type { IssuedScimToken, ScimTokens } from "./scim-tokens";

export class Organizations {
  constructor(
    private readonly store: OrganizationStore,
    private readonly tokens: ScimTokens,
    private readonly users: UserDirectory,
    private readonly audit: AuditTrail,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /**
   * Creates an organization together with its first SCIM token, so an IdP can connect at once, and
   * — given an e-mail address — its Owner, as a local user.
   */
  async create(
    name: string,
    by: { actor: Actor; source: ChangeSource; requestId: string },
    options: { ownerEmail?: string } = {},
  ): Promise<{ organization: Organization; scimToken: IssuedScimToken; owner?: User }> {
    const trimmed = name.trim();
    if (!trimmed) throw new InvalidError("An organization needs a name");
    const organization: Organization = { id: randomUUID(), name: trimmed, created: this.now() };
    const ctx = { ...by, organizationId: organization.id };
    await this.store.insert(organization, this.audit.event(ctx, { action: "organization.created", target: { type: "organization", id: organization.id, display: trimmed }, after: organization }));
    const scimToken = await this.tokens.issue(ctx, { name: "Initial SCIM token" });
    if (!options.ownerEmail) return { organization, scimToken };
    const owner = await this.setUpOwner(ctx, options.ownerEmail);
    return { organization, scimToken, owner };
  }

  private async setUpOwner(ctx: RequestContext, email: string): Promise<User> {
    if (!/^[^\s@]+@[^\s@]+$/.test(email)) throw new InvalidError(`"${email}" is not an e-mail address`);
    const owner = await this.users.provision(ctx, { userName: email, emails: [{ value: email, type: "work", primary: true }] }, "local");
    await this.transferOwnership(ctx, owner.id);
    return owner;
  }

  /** Makes a user the Owner (the only way ownership moves); the callers check who may do it. */
  async transferOwnership(ctx: RequestContext, userId: string): Promise<void> {
    const before = (await this.store.accessPolicy(ctx.organizationId))?.ownerUserId;
    await this.store.setOwner(
      ctx.organizationId,
      userId,
      this.audit.event(ctx, {
        action: "organization.ownership_transferred",
        target: { type: "organization", id: ctx.organizationId },
        before: { ownerUserId: before ?? null },
        after: { ownerUserId: userId },
      }),
    );
  }

  list(): Promise<Organization[]> {
    return this.store.list();
  }

  get(id: string): Promise<Organization | undefined> {
    return this.store.findById(id);
  }
}

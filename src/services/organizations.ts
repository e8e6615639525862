import { randomUUID } from "node:crypto";
import type { AuditTrail } from "../audit/audit-trail";
import type { Actor, ChangeSource, RequestContext } from "../domain/context";
import type { User } from "../domain/user";
import type { UserDirectory } from "./users";
import type { Organization } from "../domain/organization";
import { InvalidError, NotFoundError } from "../errors";
import type { OrganizationStore } from "../storage/organizations";
import type { IssuedScimToken, ScimTokens } from "./scim-tokens";

/** The longest organization name: it is shown in page titles and the sign-in page. */
export const ORGANIZATION_NAME_MAX = 100;

/** A name as stored: trimmed, 1 to ORGANIZATION_NAME_MAX characters; InvalidError otherwise. */
export function organizationName(input: string): string {
  const trimmed = input.trim();
  if (!trimmed) throw new InvalidError("An organization needs a name");
  if (trimmed.length > ORGANIZATION_NAME_MAX) throw new InvalidError(`An organization's name is at most ${ORGANIZATION_NAME_MAX} characters (this one has ${trimmed.length})`);
  return trimmed;
}

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
    const trimmed = organizationName(name);
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

  /**
   * Renames the organization (the name people see: the console, sign-in discovery, the IdP app);
   * audited as `organization.renamed`, its own action because a name changes nobody's access.
   * Nothing is written when the name is already the one given.
   */
  async rename(ctx: RequestContext, name: string): Promise<Organization> {
    const trimmed = organizationName(name);
    const before = await this.store.findById(ctx.organizationId);
    if (!before) throw new NotFoundError(`No organization ${ctx.organizationId}`);
    if (before.name === trimmed) return before;
    await this.store.setName(
      ctx.organizationId,
      trimmed,
      this.audit.event(ctx, { action: "organization.renamed", target: { type: "organization", id: ctx.organizationId, display: trimmed }, before: { name: before.name }, after: { name: trimmed } }),
    );
    return { ...before, name: trimmed };
  }

  list(): Promise<Organization[]> {
    return this.store.list();
  }

  get(id: string): Promise<Organization | undefined> {
    return this.store.findById(id);
  }
}

import type { AuditTrail } from "../audit/audit-trail";
import type { RequestContext } from "../domain/context";
import { NotFoundError, UnauthenticatedError } from "../errors";
import type { OrganizationStore } from "../storage/organizations";

type Scope = Pick<RequestContext, "organizationId">;

/**
 * The ways into an organization that `requireSso` closes. SAML sign-in is the way it leaves open;
 * machine credentials (SCIM tokens, service tokens) are not sign-ins of a person and are unaffected.
 * - `sign_in_link`: break-glass links — refused when created and when used, and the sessions they
 *   started are refused from the next request on;
 * - `personal_token`: personal API tokens — refused on every request (they are not revoked: turning
 *   the setting off lets them work again).
 * The Owner is excepted from both: the way in when the identity provider is down.
 */
export type NonSsoSignIn = "sign_in_link" | "personal_token";

const REFUSAL: Record<NonSsoSignIn, string> = {
  sign_in_link: "This organization requires single sign-on: sign-in links work for its Owner only",
  personal_token: "This organization requires single sign-on: personal API tokens work for its Owner only",
};

/** The organization's sign-in policy: `requireSso` (admin API `PUT /api/v1/sign-in-policy`, audited). */
export class SignInPolicy {
  constructor(
    private readonly organizations: OrganizationStore,
    private readonly audit: AuditTrail,
  ) {}

  async get(ctx: Scope): Promise<{ requireSso: boolean }> {
    const requireSso = await this.organizations.requiresSso(ctx.organizationId);
    if (requireSso === undefined) throw new NotFoundError(`No organization ${ctx.organizationId}`);
    return { requireSso };
  }

  /** Sets `requireSso`; audited as `organization.sign_in_policy_changed` (nothing is written when it already has the value). */
  async setRequireSso(ctx: RequestContext, requireSso: boolean): Promise<{ requireSso: boolean }> {
    const before = await this.get(ctx);
    if (before.requireSso === requireSso) return before;
    await this.organizations.setRequireSso(
      ctx.organizationId,
      requireSso,
      this.audit.event(ctx, { action: "organization.sign_in_policy_changed", target: { type: "organization", id: ctx.organizationId }, before, after: { requireSso } }),
    );
    return { requireSso };
  }

  /**
   * Whether the person may come in this way, which is not SAML: always, unless SSO is required and
   * they are not the Owner (the same rule for each way today; `way` names it for the refusal).
   * One `_id` read, resident on the embedded database.
   */
  async admits(ctx: Scope, userId: string, _way: NonSsoSignIn): Promise<boolean> {
    if (!(await this.organizations.requiresSso(ctx.organizationId))) return true;
    return (await this.organizations.accessPolicy(ctx.organizationId))?.ownerUserId === userId;
  }

  /** `admits`, or UnauthenticatedError saying the organization requires single sign-on. */
  async requireAdmitted(ctx: Scope, userId: string, way: NonSsoSignIn): Promise<void> {
    if (!(await this.admits(ctx, userId, way))) throw new UnauthenticatedError(REFUSAL[way]);
  }
}

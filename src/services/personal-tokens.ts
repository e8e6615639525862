import type { RequestContext } from "../domain/context";
import { personalTokenExpiryProblem, personalTokenMaximumDays } from "../domain/personal-tokens";
import { mayManageUser } from "../domain/user-policy";
import { ForbiddenError, InvalidError, NotFoundError, PolicyRefusedError } from "../errors";
import type { AccessDirectory } from "./access";
import type { ApiActor } from "./members";
import type { IssuedScimToken, ScimTokens, ScimTokenSummary } from "./scim-tokens";
import type { UserDirectory } from "./users";

type Person = Extract<ApiActor, { kind: "user" }>;

/**
 * Personal API tokens members manage themselves (issue 13 §2): a member creates, lists and revokes
 * their own, each with an expiry no later than the organization's maximum. A token acts as its
 * member with the access they have at each request (the admin API resolves it afresh every time),
 * never more; a member without access (suspended, deactivated, no role) is refused before getting
 * here. Minting, hashing and auditing are ScimTokens' (`personal_token.created` / `.revoked`), as
 * for the operator's `gatehouse user-token create`.
 *
 * Administrators (the catalog's `changeMemberAccess`: Admin and Owner in the shipped catalog) may
 * list and revoke another member's tokens under the rules that govern signing them out
 * everywhere: managed members too, never an Admin for the Owner.
 */
export class PersonalTokens {
  constructor(
    private readonly tokens: ScimTokens,
    private readonly access: AccessDirectory,
    private readonly users: UserDirectory,
    private readonly now: () => Date = () => new Date(),
  ) {}

  private person(actor: ApiActor): Person {
    if (actor.kind !== "user") throw new ForbiddenError("Personal API tokens belong to people: a service token has none");
    return actor;
  }

  /** The member's own tokens, revoked and expired ones included, oldest first. Never a secret. */
  async listOwn(ctx: RequestContext, actor: ApiActor): Promise<ScimTokenSummary[]> {
    return this.listOf(ctx, this.person(actor).user.id);
  }

  async create(ctx: RequestContext, actor: ApiActor, request: { name?: string; expires: Date }): Promise<IssuedScimToken> {
    const person = this.person(actor);
    // Belt and braces: the acting person was resolved with access, but a token must never be minted for someone without it.
    if (!person.user.active || person.user.suspended || !person.access.organizationRole) {
      throw new ForbiddenError("A member without access (deactivated, suspended or without a role) creates no tokens");
    }
    const maximumDays = personalTokenMaximumDays(await this.access.settings(ctx));
    const problem = personalTokenExpiryProblem(request.expires, this.now(), maximumDays);
    if (problem) throw new InvalidError(problem);
    return this.tokens.issue(ctx, { purpose: "personal", userId: person.user.id, expires: request.expires, ...(request.name ? { name: request.name } : {}) });
  }

  /** Revokes one of the caller's own tokens; another member's token is "not found", whoever owns it. */
  async revokeOwn(ctx: RequestContext, actor: ApiActor, tokenId: string): Promise<ScimTokenSummary> {
    return this.revokeOf(ctx, this.person(actor).user.id, tokenId);
  }

  /** An administrator's view of a member's tokens. */
  async listFor(ctx: RequestContext, actor: ApiActor, userId: string): Promise<ScimTokenSummary[]> {
    await this.mayManageTokensOf(ctx, actor, userId);
    return this.listOf(ctx, userId);
  }

  /** An administrator revokes a member's token (a lost laptop, an incident). */
  async revokeFor(ctx: RequestContext, actor: ApiActor, userId: string, tokenId: string): Promise<ScimTokenSummary> {
    await this.mayManageTokensOf(ctx, actor, userId);
    return this.revokeOf(ctx, userId, tokenId);
  }

  private async listOf(ctx: RequestContext, userId: string): Promise<ScimTokenSummary[]> {
    const tokens = await this.tokens.personalTokensOf(ctx, userId);
    return tokens.sort((a, b) => a.created.getTime() - b.created.getTime() || (a.id < b.id ? -1 : 1));
  }

  private async revokeOf(ctx: RequestContext, userId: string, tokenId: string): Promise<ScimTokenSummary> {
    const token = await this.tokens.find(tokenId);
    if (!token || token.organizationId !== ctx.organizationId || token.purpose !== "personal" || token.userId !== userId) {
      throw new NotFoundError(`No personal API token ${tokenId} of this member`);
    }
    return this.tokens.revoke(ctx, tokenId);
  }

  /** Yourself always; someone else only as an administrator, under the sign-out-everywhere rules. */
  private async mayManageTokensOf(ctx: RequestContext, actor: ApiActor, userId: string): Promise<void> {
    const person = this.person(actor);
    if (person.user.id === userId) return;
    const user = await this.users.get(ctx, userId);
    const [target, ownerUserId] = await Promise.all([this.access.accessOf(ctx, user), this.access.ownerOf(ctx)]);
    const decision = mayManageUser(
      { id: person.user.id, role: person.access.organizationRole!, permissions: person.access.permissions },
      { id: userId, role: target.organizationRole ?? "", isOwner: ownerUserId === userId, managedBy: user.managedBy },
      { kind: "sign_out_everywhere" },
      person.catalog,
    );
    if (!decision.allowed) throw new PolicyRefusedError(decision.code, decision.message);
  }
}

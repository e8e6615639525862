import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { AuditTrail } from "../audit/audit-trail";
import type { RequestContext } from "../domain/context";
import type { ScimToken, TokenPurpose } from "../domain/organization";
import { NotFoundError, UnauthenticatedError } from "../errors";
import { DEFAULT_SERVICE_SCOPES, scopesOf, type TokenScope } from "../domain/token-scopes";
import type { ScimTokenStore } from "../storage/organizations";

/** A token as shown to an administrator: never its secret or hash. */
export interface ScimTokenSummary {
  id: string;
  organizationId: string;
  purpose: TokenPurpose;
  /** For a personal API token: the member it acts as. */
  userId?: string;
  name: string;
  created: Date;
  lastUsed?: Date;
  expires?: Date;
  revoked?: Date;
  /** Service tokens: what the token may do (stored, or the defaults of a token issued before scopes). */
  scopes?: readonly TokenScope[];
}

export interface IssuedScimToken extends ScimTokenSummary {
  /** The bearer token itself; shown once and never stored. */
  token: string;
}

/** The prefix says what a token is for, so a leaked one is recognisable (and secret scanners can match it). */
const prefixes: Record<TokenPurpose, string> = { scim: "gsc", service: "gsv", personal: "gpt" };
const tokenPattern = /^(gsc|gsv|gpt)_([0-9a-f]{24})_([A-Za-z0-9_-]{43})$/;
/** lastUsed is a hint for administrators; writing it on every request would double SCIM's writes. */
const lastUsedResolutionMs = 60_000;

function hashSecret(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

export function summarize(token: ScimToken): ScimTokenSummary {
  const { secretHash: _hash, scopes: _scopes, ...summary } = token;
  return token.purpose === "service" ? { ...summary, scopes: scopesOf(token) } : summary;
}

export class ScimTokens {
  constructor(
    private readonly store: ScimTokenStore,
    private readonly audit: AuditTrail,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async issue(ctx: RequestContext, options: { name?: string; expires?: Date; purpose?: TokenPurpose; userId?: string; scopes?: readonly TokenScope[] } = {}): Promise<IssuedScimToken> {
    const purpose = options.purpose ?? "scim";
    const id = randomBytes(12).toString("hex");
    const secret = randomBytes(32).toString("base64url");
    const token: ScimToken = {
      id,
      organizationId: ctx.organizationId,
      purpose,
      ...(options.userId ? { userId: options.userId } : {}),
      name: options.name ?? { scim: "SCIM token", service: "Service token", personal: "Personal API token" }[purpose],
      secretHash: hashSecret(secret),
      created: this.now(),
      expires: options.expires,
      // Only service tokens are scoped; one issued without scopes gets today's defaults, stored.
      ...(purpose === "service" ? { scopes: [...new Set(options.scopes ?? DEFAULT_SERVICE_SCOPES)] } : {}),
    };
    const summary = summarize(token);
    await this.store.insert(token, this.audit.event(ctx, { action: `${purpose}_token.created`, target: { type: `${purpose}_token`, id, display: token.name }, after: summary }));
    return { ...summary, token: `${prefixes[purpose]}_${id}_${secret}` };
  }

  /** A token by id, in any organization: the operator's CLI revokes by id alone. */
  async find(tokenId: string): Promise<ScimTokenSummary | undefined> {
    const token = await this.store.findById(tokenId);
    return token && summarize(token);
  }

  async list(organizationId: string, purpose: TokenPurpose = "scim"): Promise<ScimTokenSummary[]> {
    return (await this.store.listForOrganization(organizationId)).filter((t) => t.purpose === purpose).map(summarize);
  }

  /** Revocation is checked on every request, so it takes effect on the very next one. */
  async revoke(ctx: RequestContext, tokenId: string): Promise<ScimTokenSummary> {
    const token = await this.store.findById(tokenId);
    if (!token || token.organizationId !== ctx.organizationId) throw new NotFoundError(`No SCIM token ${tokenId}`);
    if (token.revoked) return summarize(token);
    const revoked = { ...token, revoked: this.now() };
    await this.store.markRevoked(
      tokenId,
      revoked.revoked,
      this.audit.event(ctx, {
        action: `${token.purpose}_token.revoked`,
        target: { type: `${token.purpose}_token`, id: tokenId, display: token.name },
        before: summarize(token),
        after: summarize(revoked),
      }),
    );
    return summarize(revoked);
  }

  /** What a bearer string claims to be, from its prefix (before any check). */
  static purposeOf(bearer: string): TokenPurpose | undefined {
    const prefix = tokenPattern.exec(bearer)?.[1];
    return (Object.keys(prefixes) as TokenPurpose[]).find((purpose) => prefixes[purpose] === prefix);
  }

  /** A member about to be created holds no personal token yet (ScimTokenStore.newMember). */
  newMember(ctx: Pick<RequestContext, "organizationId">, userId: string): void {
    this.store.newMember(ctx.organizationId, userId);
  }

  /** A user's personal tokens, revoked ones included (found through a lookup key, without a scan). */
  async personalTokensOf(ctx: Pick<RequestContext, "organizationId">, userId: string): Promise<ScimTokenSummary[]> {
    return (await this.store.personalTokensOf(ctx.organizationId, userId)).map(summarize);
  }

  /** Revokes every personal token of a user (deprovisioning): they stop working on the next request. */
  async revokeAllOf(ctx: RequestContext, userId: string): Promise<string[]> {
    const tokens = (await this.store.personalTokensOf(ctx.organizationId, userId)).filter((t) => !t.revoked);
    for (const token of tokens) await this.revoke(ctx, token.id);
    return tokens.map((t) => t.id);
  }

  /** Finds the live token of that purpose a bearer string stands for; UnauthenticatedError otherwise. */
  async authenticate(bearer: string, purpose: TokenPurpose = "scim"): Promise<ScimToken> {
    const match = tokenPattern.exec(bearer);
    if (!match || match[1] !== prefixes[purpose]) {
      throw new UnauthenticatedError(`The bearer token is not a Gatehouse ${{ scim: "SCIM", service: "service", personal: "personal API" }[purpose]} token`);
    }
    const token = await this.store.findById(match[2]);
    const presented = Buffer.from(hashSecret(match[3]), "hex");
    const expected = Buffer.from(token?.secretHash ?? "0".repeat(64), "hex");
    if (!token || !timingSafeEqual(presented, expected) || token.purpose !== purpose) throw new UnauthenticatedError("The bearer token is not valid");
    const now = this.now();
    if (token.revoked) throw new UnauthenticatedError("The bearer token has been revoked");
    if (token.expires && token.expires <= now) throw new UnauthenticatedError("The bearer token has expired");
    if (!token.lastUsed || now.getTime() - token.lastUsed.getTime() > lastUsedResolutionMs) {
      await this.store.markUsed(token.id, now);
    }
    return token;
  }
}

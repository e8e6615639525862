import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { AuditTrail } from "../audit/audit-trail";
import type { RequestContext } from "../domain/context";
import type { User } from "../domain/user";
import { ForbiddenError, NotFoundError } from "../errors";
import type { SignInLinkStore } from "../storage/sign-in";
import type { SamlState } from "./saml-state";
import type { Sessions, StartedSession } from "./sessions";
import type { SignInPolicy } from "./sign-in-policy";
import type { UserDirectory } from "./users";

/** How long a link works after it is printed. */
export const signInLinkLifetimeMs = 10 * 60_000;

/** `<id: 16 bytes hex>.<secret: 32 bytes base64url>`, the last path segment of the link. */
const tokenPattern = /^([0-9a-f]{32})\.([A-Za-z0-9_-]{43})$/;
const hashSecret = (secret: string) => createHash("sha256").update(secret).digest("hex");
const unknownSecretHash = "0".repeat(64);

/** Why a link does not sign anyone in, as the page shown for it says. */
export class SignInLinkRefusal extends Error {
  constructor(
    readonly reason: "not_found" | "expired" | "used" | "refused",
    message: string,
  ) {
    super(message);
  }
}

export interface IssuedSignInLink {
  readonly id: string;
  /** The link (PUBLIC_BASE_URL and a path holding the secret): shown once, stored only hashed. */
  readonly url: string;
  readonly user: User;
  readonly expires: Date;
}

/**
 * Break-glass sign-in: before single sign-on is configured, or while the identity provider is down,
 * the operator prints a link (`gatehouse sign-in-link --org ID --email E`) that starts a browser
 * session for an existing, active, unsuspended member — the same kind of session SAML sign-in
 * starts (`via: "sign_in_link"`). The link works once, within ten minutes; only a SHA-256 hash of
 * its secret is stored; its creation (`sign_in_link.created`) and use (`sign_in_link.used`, then
 * `session.started`) are audited. Under `requireSso` only the Owner's links work.
 */
export class SignInLinks {
  constructor(
    private readonly store: SignInLinkStore,
    private readonly users: UserDirectory,
    private readonly sessions: Sessions,
    private readonly policy: SignInPolicy,
    private readonly samlState: SamlState,
    private readonly audit: AuditTrail,
    /** Config's PUBLIC_BASE_URL: where people reach Gatehouse. */
    private readonly publicBaseUrl: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Issues a link for the member with this userName; NotFoundError, or ForbiddenError saying why they may not have one. */
  async issue(ctx: RequestContext, userName: string): Promise<IssuedSignInLink> {
    const user = await this.users.findByUserName(ctx, userName);
    if (!user) throw new NotFoundError(`No user ${userName} in organization ${ctx.organizationId}`);
    this.mayEnter(user);
    if (!(await this.policy.admits(ctx, user.id, "sign_in_link"))) throw new ForbiddenError("This organization requires single sign-on: sign-in links work for its Owner only");
    const id = randomBytes(16).toString("hex");
    const secret = randomBytes(32).toString("base64url");
    const created = this.now();
    const expires = new Date(created.getTime() + signInLinkLifetimeMs);
    await this.store.insert(
      { id, organizationId: ctx.organizationId, userId: user.id, secretHash: hashSecret(secret), created, expires },
      this.audit.event(ctx, { action: "sign_in_link.created", target: { type: "user", id: user.id, display: user.userName }, after: { linkId: id, expiresAt: expires } }),
    );
    return { id, url: `${this.publicBaseUrl.replace(/\/+$/, "")}/auth/sign-in-link/${id}.${secret}`, user, expires };
  }

  /** The link's member, without using it (the confirmation page); SignInLinkRefusal when it would not sign in. */
  async inspect(token: string): Promise<{ user: User; expires: Date }> {
    const { link, user } = await this.check(token);
    return { user, expires: link.expires };
  }

  /**
   * Uses the link: claims its single use (an insert keyed by the link in the assertion ledger, which
   * only one request can make, on any instance), records the use, and starts the session.
   */
  async use(token: string, meta: { requestId: string; ip?: string; userAgent?: string }): Promise<{ session: StartedSession; user: User }> {
    const { link, user } = await this.check(token);
    const ctx: RequestContext = { organizationId: link.organizationId, actor: { type: "user", id: user.id, name: user.userName }, source: "admin", requestId: meta.requestId };
    if (!(await this.samlState.useAssertion(link.organizationId, `sign-in-link/${link.id}`, new Date(link.expires.getTime() + 60_000)))) {
      throw new SignInLinkRefusal("used", "This sign-in link has already been used. Ask your operator for a new one.");
    }
    const now = this.now();
    await this.store.markUsed(link.id, now, this.audit.event(ctx, { action: "sign_in_link.used", target: { type: "user", id: user.id, display: user.userName }, after: { linkId: link.id } }));
    const session = await this.sessions.start(ctx, user, { via: "sign_in_link", ...(meta.ip ? { ip: meta.ip } : {}), ...(meta.userAgent ? { userAgent: meta.userAgent } : {}) });
    return { session, user };
  }

  private async check(token: string) {
    const match = tokenPattern.exec(token);
    if (!match) throw new SignInLinkRefusal("not_found", "This sign-in link is not valid. Check that it was copied whole.");
    const [, id, secret] = match as unknown as [string, string, string];
    const link = await this.store.find(id);
    const presented = Buffer.from(hashSecret(secret), "hex");
    const expected = Buffer.from(link?.secretHash ?? unknownSecretHash, "hex");
    if (!link || !timingSafeEqual(presented, expected)) throw new SignInLinkRefusal("not_found", "This sign-in link is not valid. Check that it was copied whole.");
    if (link.used) throw new SignInLinkRefusal("used", "This sign-in link has already been used. Ask your operator for a new one.");
    if (this.now().getTime() >= link.expires.getTime()) throw new SignInLinkRefusal("expired", "This sign-in link has expired: links work for 10 minutes. Ask your operator for a new one.");
    const scope = { organizationId: link.organizationId };
    const user = await this.users.get(scope, link.userId).catch((error: unknown) => {
      if (error instanceof NotFoundError) throw new SignInLinkRefusal("refused", "The member this link was made for no longer exists.");
      throw error;
    });
    try {
      this.mayEnter(user);
    } catch (error) {
      if (error instanceof ForbiddenError) throw new SignInLinkRefusal("refused", error.message);
      throw error;
    }
    if (!(await this.policy.admits(scope, user.id, "sign_in_link"))) {
      throw new SignInLinkRefusal("refused", "This organization requires single sign-on: sign in through your identity provider.");
    }
    return { link, user };
  }

  private mayEnter(user: User): void {
    if (!user.active) throw new ForbiddenError(`${user.userName} is deactivated`);
    if (user.suspended) throw new ForbiddenError(`${user.userName} is suspended`);
  }

  /** Deletes links expired more than a day ago (a few per organization at most). */
  sweep(): Promise<number> {
    return this.store.deleteExpiredBefore(new Date(this.now().getTime() - 24 * 3_600_000));
  }
}

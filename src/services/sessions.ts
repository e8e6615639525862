import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { AuditTrail } from "../audit/audit-trail";
import type { RequestContext } from "../domain/context";
import { defaultSessionTimeouts, sessionRefusal, type Session, type SessionOrigin, type SessionTimeouts } from "../domain/session";
import type { User } from "../domain/user";
import { ForbiddenError, InvalidError, NotFoundError, UnauthenticatedError } from "../errors";
import type { SessionStore } from "../storage/sessions";
import type { UserDirectory } from "./users";

/** `<session id: 16 bytes hex>.<secret: 32 bytes base64url>`, the session cookie's value. */
const cookiePattern = /^([0-9a-f]{32})\.([A-Za-z0-9_-]{43})$/;
/** lastSeenAt drives the idle timeout; writing it on every request would add a write to every read. */
const lastSeenResolutionMs = 60_000;
/** Ended and expired sessions stay this long (what a support person may still look at), then the sweep deletes them. */
const sweepGraceMs = 24 * 60 * 60_000;

const hashSecret = (secret: string) => createHash("sha256").update(secret).digest("hex");
const unknownSecretHash = "0".repeat(64);

/**
 * The CSRF token of a session: base64url(HMAC-SHA256(key = the cookie's secret, "gatehouse
 * csrf")). Derived, so nothing more is stored; only the holder of the cookie's secret (the
 * session's own pages, through GET /api/v1/session) can know it, and another site's form cannot.
 * Undefined for a value that is not a session cookie.
 */
export function csrfTokenOf(cookieValue: string): string | undefined {
  const secret = cookiePattern.exec(cookieValue)?.[2];
  return secret && createHmac("sha256", Buffer.from(secret, "base64url")).update("gatehouse csrf").digest("base64url");
}

/** Compares a presented CSRF token with the session's, in constant time. */
export function isValidCsrfToken(cookieValue: string, presented: string | undefined): boolean {
  const expected = csrfTokenOf(cookieValue);
  if (!expected || !presented) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(presented);
  return a.length === b.length && timingSafeEqual(a, b);
}

export interface StartedSession {
  /** Goes into the cookie (http/session-cookie.ts) and nowhere else: never logged, never stored. */
  cookieValue: string;
  sessionId: string;
  /** The absolute expiry: the cookie's lifetime. */
  expiresAt: Date;
}

/**
 * Browser sessions after single sign-on, kept in MongoDB so every instance behind the load
 * balancer sees the same sessions and the same sign-outs. Nothing is cached in the process: each
 * request reads its session and its user by `_id`, so a SCIM deactivation made on one instance
 * (which raises the user's session epoch in the same write) refuses the very next request on
 * every instance.
 */
export class Sessions {
  private readonly timeouts: SessionTimeouts;

  constructor(
    private readonly store: SessionStore,
    private readonly users: UserDirectory,
    private readonly audit: AuditTrail,
    timeouts: SessionTimeouts = defaultSessionTimeouts,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.timeouts = { ...timeouts };
  }

  /**
   * Starts a session for a user who has just signed in. The id is always new — never one a
   * browser presented — so a session id planted before sign-in is worthless (session fixation).
   * Audited as `session.started` on the user, in the session's own insert.
   */
  async start(ctx: RequestContext, user: User, meta: { via: SessionOrigin; ip?: string; userAgent?: string }): Promise<StartedSession> {
    if (user.organizationId !== ctx.organizationId) throw new InvalidError("The user belongs to another organization");
    if (!user.active) throw new ForbiddenError(`${user.userName} is deactivated`);
    if (user.suspended) throw new ForbiddenError(`${user.userName} is suspended`);
    const id = randomBytes(16).toString("hex");
    const secret = randomBytes(32).toString("base64url");
    const now = this.now();
    const session: Session = {
      id,
      organizationId: ctx.organizationId,
      userId: user.id,
      // An epoch read before a concurrent deactivation is already stale: the session is born dead.
      userEpoch: user.sessionEpoch ?? 0,
      via: meta.via,
      secretHash: hashSecret(secret),
      createdAt: now,
      lastSeenAt: now,
      absoluteExpiresAt: new Date(now.getTime() + this.timeouts.absoluteTimeoutHours * 3_600_000),
      ...(meta.ip ? { ip: meta.ip } : {}),
      ...(meta.userAgent ? { userAgent: meta.userAgent.slice(0, 512) } : {}),
    };
    await this.store.insert(
      session,
      this.audit.event(ctx, {
        action: "session.started",
        target: { type: "user", id: user.id, display: user.userName },
        after: { sessionId: id, via: meta.via, expiresAt: session.absoluteExpiresAt, ...(session.ip ? { ip: session.ip } : {}), ...(session.userAgent ? { userAgent: session.userAgent } : {}) },
      }),
    );
    return { cookieValue: `${id}.${secret}`, sessionId: id, expiresAt: session.absoluteExpiresAt };
  }

  /**
   * The live session a cookie value stands for, and its user; UnauthenticatedError saying why
   * otherwise. Two `_id` reads (the session, then its user) and, at most once a minute, an `_id`
   * update of lastSeenAt.
   */
  async authenticate(cookieValue: string): Promise<{ session: Session; user: User }> {
    const match = cookiePattern.exec(cookieValue);
    if (!match) throw new UnauthenticatedError("The session cookie is malformed");
    const [, id, secret] = match as unknown as [string, string, string];
    const session = await this.store.findById(id);
    const presented = Buffer.from(hashSecret(secret), "hex");
    const expected = Buffer.from(session?.secretHash ?? unknownSecretHash, "hex");
    if (!session || !timingSafeEqual(presented, expected)) throw new UnauthenticatedError("The session is not valid: sign in again");
    const user = await this.users.get({ organizationId: session.organizationId }, session.userId).catch((error: unknown) => {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    });
    const now = this.now();
    const refusal = sessionRefusal(session, user, this.timeouts, now);
    if (refusal || !user) throw new UnauthenticatedError(refusal ?? "The session's user no longer exists");
    if (now.getTime() - session.lastSeenAt.getTime() >= lastSeenResolutionMs) {
      await this.store.markSeen(session.id, now);
      return { session: { ...session, lastSeenAt: now }, user };
    }
    return { session, user };
  }

  /** Signs one session out (audited `session.ended`); ending an ended session changes nothing. */
  async end(ctx: RequestContext, sessionId: string): Promise<void> {
    const session = await this.store.findById(sessionId);
    if (!session || session.organizationId !== ctx.organizationId) throw new NotFoundError(`No session ${sessionId}`);
    if (session.endedAt) return;
    await this.store.markEnded(
      sessionId,
      this.now(),
      this.audit.event(ctx, { action: "session.ended", target: { type: "user", id: session.userId }, after: { sessionId, via: session.via } }),
    );
  }

  /** Ends every session of the user at once by raising their epoch (UserDirectory.signOutEverywhere). */
  async signOutEverywhere(ctx: RequestContext, userId: string, reason?: string): Promise<void> {
    await this.users.signOutEverywhere(ctx, userId, reason);
  }

  /**
   * Deletes sessions that ended or expired more than a day ago, at most `limit` per run (the
   * maintenance timer runs it every minute on every instance; running it twice is harmless).
   */
  async sweep(limit = 500): Promise<number> {
    const cutoff = new Date(this.now().getTime() - sweepGraceMs);
    return this.store.deleteDeadBefore(cutoff, this.timeouts.idleTimeoutMinutes * 60_000, limit);
  }
}

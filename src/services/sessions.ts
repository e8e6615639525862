import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { AuditTrail } from "../audit/audit-trail";
import type { RequestContext } from "../domain/context";
import { defaultSessionTimeouts, sessionRefusal, type SamlSessionDetails, type Session, type SessionOrigin, type SessionTimeouts } from "../domain/session";
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

/** Only what single logout uses, trimmed; a SessionIndex or format that is empty is left out. */
function samlDetails(details: SamlSessionDetails): SamlSessionDetails {
  return {
    nameId: details.nameId,
    ...(details.nameIdFormat ? { nameIdFormat: details.nameIdFormat } : {}),
    ...(details.sessionIndex ? { sessionIndex: details.sessionIndex } : {}),
  };
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
   * Audited as `session.started` on the user, in the session's own insert. `saml` keeps what
   * single logout needs (the assertion's NameID and SessionIndex) and makes the session findable
   * by that NameID.
   */
  async start(ctx: RequestContext, user: User, meta: { via: SessionOrigin; ip?: string; userAgent?: string; saml?: SamlSessionDetails }): Promise<StartedSession> {
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
      ...(meta.saml?.nameId ? { saml: samlDetails(meta.saml) } : {}),
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

  /**
   * The session a cookie value stands for, whatever its state (ended, expired, its user gone), or
   * undefined when the value is not a session's cookie (the secret is checked as in authenticate).
   * For signing out: a session that already timed out may still have a session at the identity
   * provider worth ending.
   */
  async sessionOfCookie(cookieValue: string): Promise<Session | undefined> {
    const match = cookiePattern.exec(cookieValue);
    if (!match) return undefined;
    const [, id, secret] = match as unknown as [string, string, string];
    const session = await this.store.findById(id);
    const presented = Buffer.from(hashSecret(secret), "hex");
    const expected = Buffer.from(session?.secretHash ?? unknownSecretHash, "hex");
    return session && timingSafeEqual(presented, expected) ? session : undefined;
  }

  /** Signs one session out (audited `session.ended`, with `reason` when given); ending an ended session changes nothing. */
  async end(ctx: RequestContext, sessionId: string, reason?: string): Promise<void> {
    const session = await this.store.findById(sessionId);
    if (!session || session.organizationId !== ctx.organizationId) throw new NotFoundError(`No session ${sessionId}`);
    if (session.endedAt) return;
    await this.markEnded(ctx, session, reason);
  }

  /**
   * Single logout started at the identity provider (SAML Profiles §4.4): ends the live sessions
   * begun with this NameID — only those with one of `sessionIndexes` when the request names any —
   * each audited as `session.ended` with `reason`. Found through the NameID's lookup key, by `_id`
   * reads only; ids of sessions ended here or gone are dropped from it. Returns the ended ids.
   */
  async endSamlSessions(ctx: RequestContext, subject: { nameId: string; sessionIndexes: readonly string[] }, reason: string): Promise<string[]> {
    const ids = await this.store.samlSessionIds(ctx.organizationId, subject.nameId);
    const now = this.now();
    const ended: string[] = [];
    const forget: string[] = [];
    for (const id of ids) {
      const session = await this.store.findById(id);
      if (!session || session.organizationId !== ctx.organizationId || session.saml?.nameId !== subject.nameId) {
        forget.push(id);
        continue;
      }
      if (subject.sessionIndexes.length && !subject.sessionIndexes.includes(session.saml.sessionIndex ?? "")) continue;
      forget.push(id);
      if (session.endedAt || now.getTime() >= session.absoluteExpiresAt.getTime()) continue;
      await this.markEnded(ctx, session, reason);
      ended.push(id);
    }
    if (forget.length) await this.store.forgetSamlSessions(ctx.organizationId, subject.nameId, forget);
    return ended;
  }

  /**
   * A member's own live sessions, newest first: read through the user's lookup key by `_id` only.
   * Entries naming sessions that ended, expired, died with the user's session epoch, or are gone are
   * dropped from the key as they are read. Sessions started before the key existed are not listed.
   */
  async listOwn(ctx: Pick<RequestContext, "organizationId">, user: User): Promise<Session[]> {
    const ids = await this.store.userSessionIds(ctx.organizationId, user.id);
    const now = this.now();
    const live: Session[] = [];
    const forget: string[] = [];
    const sessions = await Promise.all(ids.map((id) => this.store.findById(id)));
    ids.forEach((id, i) => {
      const session = sessions[i];
      if (session && this.isLiveSessionOf(session, ctx, user, now)) live.push(session);
      else forget.push(id);
    });
    if (forget.length) await this.store.forgetUserSessions(ctx.organizationId, user.id, forget);
    return live.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? -1 : 1));
  }

  /**
   * Ends one of the member's own sessions, as signing out does (`session.ended`); NotFoundError for
   * a session that is not theirs (or not live: nothing of theirs to end), so nobody learns of
   * another person's session ids. The session is refused from its next request.
   */
  async endOwn(ctx: RequestContext, user: User, sessionId: string): Promise<void> {
    const session = await this.store.findById(sessionId);
    if (!session || !this.isLiveSessionOf(session, ctx, user, this.now())) throw new NotFoundError(`No session ${sessionId} of yours`);
    await this.markEnded(ctx, session);
    await this.store.forgetUserSessions(ctx.organizationId, user.id, [session.id]);
  }

  /** The session is `user`'s, in this organization, and still lets them in. */
  private isLiveSessionOf(session: Session, ctx: Pick<RequestContext, "organizationId">, user: User, now: Date): boolean {
    return session.organizationId === ctx.organizationId && session.userId === user.id && !sessionRefusal(session, user, this.timeouts, now);
  }

  private async markEnded(ctx: RequestContext, session: Session, reason?: string): Promise<void> {
    await this.store.markEnded(
      session.id,
      this.now(),
      this.audit.event(ctx, {
        action: "session.ended",
        target: { type: "user", id: session.userId },
        after: { sessionId: session.id, via: session.via },
        ...(reason ? { reason } : {}),
      }),
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

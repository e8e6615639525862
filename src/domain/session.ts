/**
 * A person's browser session after single sign-on. The browser holds `<id>.<secret>` in a cookie;
 * Gatehouse keeps the session under its id with a hash of the secret, so a stolen copy of the
 * database cannot be replayed as cookies.
 *
 * A session is alive while all of these hold: not ended (signed out), used within the idle
 * timeout, younger than the absolute timeout, and its `userEpoch` equal to the user's current
 * `sessionEpoch` (deactivation, suspension and "sign out everywhere" raise the user's epoch,
 * which kills every session of that user in that very write).
 */
/** How a session began: SAML sign-in, or a break-glass sign-in link (services/sign-in-links.ts). */
export type SessionOrigin = "saml" | "sign_in_link";

/**
 * What single logout needs from the assertion a session began with (SAML Core §3.7.1): the NameID
 * and its format, which a LogoutRequest must repeat exactly, and the identity provider's
 * SessionIndex, which names its session. None of it is a secret.
 */
export interface SamlSessionDetails {
  readonly nameId: string;
  readonly nameIdFormat?: string;
  readonly sessionIndex?: string;
}

export interface Session {
  readonly id: string;
  readonly organizationId: string;
  readonly userId: string;
  readonly userEpoch: number;
  readonly via: SessionOrigin;
  /** SHA-256 (hex) of the cookie's secret part. */
  readonly secretHash: string;
  readonly createdAt: Date;
  /** The last request seen, written at most once a minute (the idle timeout slides with it). */
  readonly lastSeenAt: Date;
  readonly absoluteExpiresAt: Date;
  readonly endedAt?: Date;
  readonly ip?: string;
  readonly userAgent?: string;
  /** Present on sessions begun by a SAML assertion since single logout exists. */
  readonly saml?: SamlSessionDetails;
}

/** Session timeouts (configuration: SESSION_IDLE_TIMEOUT_MINUTES, SESSION_ABSOLUTE_TIMEOUT_HOURS). */
export interface SessionTimeouts {
  readonly idleTimeoutMinutes: number;
  readonly absoluteTimeoutHours: number;
}

export const defaultSessionTimeouts: SessionTimeouts = { idleTimeoutMinutes: 30, absoluteTimeoutHours: 12 };

/**
 * Why a session no longer admits its bearer, or undefined while it does: a pure decision so each
 * rule is a row in a table-driven test. `user` is undefined when the user no longer exists.
 */
export function sessionRefusal(
  session: Session,
  user: { active: boolean; suspended?: boolean; sessionEpoch?: number } | undefined,
  timeouts: SessionTimeouts,
  now: Date,
): string | undefined {
  if (session.endedAt) return "The session has ended: it was signed out";
  if (now.getTime() >= session.absoluteExpiresAt.getTime()) return `The session has expired: sessions last at most ${timeouts.absoluteTimeoutHours} hours; sign in again`;
  if (now.getTime() >= session.lastSeenAt.getTime() + timeouts.idleTimeoutMinutes * 60_000) {
    return `The session has expired after ${timeouts.idleTimeoutMinutes} minutes without activity; sign in again`;
  }
  if (!user) return "The session's user no longer exists";
  if (!user.active) return "The session's user has been deactivated";
  if (user.suspended) return "The session's user is suspended";
  if (session.userEpoch !== (user.sessionEpoch ?? 0)) return "The session was ended by signing out everywhere (or by a deactivation or suspension since it began); sign in again";
  return undefined;
}

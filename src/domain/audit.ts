import { createHash } from "node:crypto";
import type { Actor, ChangeSource } from "./context";

/** One change, as an access review needs it: who, when, through what, to what, before and after. */
export interface AuditEvent {
  readonly id: string;
  readonly organizationId: string;
  readonly at: Date;
  readonly actor: Actor;
  readonly source: ChangeSource;
  readonly action: string;
  readonly target: { readonly type: string; readonly id: string; readonly display?: string };
  readonly before?: unknown;
  readonly after?: unknown;
  readonly requestId: string;
  readonly reason?: string;
  /**
   * For an event derived from another (`user.access_changed`, domain/access-change.ts): the change
   * that caused it — its action, its event's id and its target — and, for a temporary grant that
   * ran out, when the access actually changed (`effectiveAt`, before the event was recorded).
   */
  readonly cause?: AccessChangeCause;
}

export interface AccessChangeCause {
  readonly action: string;
  readonly eventId: string;
  readonly target: { readonly type: string; readonly id: string; readonly display?: string };
  readonly effectiveAt?: Date;
}

/**
 * The id of an event derived from others (an effective access change from its cause, a certificate
 * noticed expiring): a UUID-shaped digest of what it derives from, so deriving it twice (a crash,
 * two instances) names the same event, and the trail keeps it once.
 */
export function derivedEventId(...parts: readonly string[]): string {
  const hex = createHash("sha256").update(parts.join("\u0000")).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

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

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
}

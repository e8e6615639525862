import type { ChangeSource } from "../domain/context";
import { InvalidError } from "../errors";

/**
 * Searching the audit trail: the conditions an identity administrator narrows it by, and the
 * position a page ends at. Kept apart from the trail itself so the query document it becomes can be
 * read (and tested) on its own.
 */

/** Which events an administrator asks for; every condition is optional and they all must hold. */
export interface AuditFilter {
  /** Who made the change (`actor.id`: a user id, a SCIM token id, the CLI operator's name). */
  readonly actorId?: string;
  /** What was changed (`target.id`: a user, group, mapping, token or organization id). */
  readonly targetId?: string;
  /** Exact action name, e.g. `user.deactivated`. */
  readonly action?: string;
  readonly source?: ChangeSource;
  /** Inclusive lower bound on `at`. */
  readonly from?: Date;
  /** Exclusive upper bound on `at`, so consecutive windows [from, to) neither overlap nor leave gaps. */
  readonly to?: Date;
}

/**
 * Where a page stopped: the last event's time and id. Events are ordered newest first by
 * `(at, _id)`; several events often share one millisecond (a bulk request, a group sync), so the id
 * breaks ties and the next page starts strictly after this pair — nothing is skipped or repeated.
 */
export interface AuditPosition {
  readonly at: Date;
  readonly id: string;
}

/**
 * The MongoDB query for an organization's events matching `filter`, after `position` in newest-first
 * order. Only plain equality, `$gte/$lt` and `$or/$and` are used, which MongoDB and FerretDB v1.24.2
 * both evaluate (/work/shared/MONGODB.md); on MongoDB the `{organizationId, at}` index serves it.
 * Filter values are always used as literals, never as patterns or operators.
 */
export function auditEventQuery(organizationId: string, filter: AuditFilter, position?: AuditPosition): Record<string, unknown> {
  const query: Record<string, unknown> = { organizationId };
  if (filter.actorId !== undefined) query["actor.id"] = filter.actorId;
  if (filter.targetId !== undefined) query["target.id"] = filter.targetId;
  if (filter.action !== undefined) query.action = filter.action;
  if (filter.source !== undefined) query.source = filter.source;
  const window: Record<string, Date> = {};
  if (filter.from) window.$gte = filter.from;
  if (filter.to) window.$lt = filter.to;
  const conditions: Record<string, unknown>[] = [];
  if (Object.keys(window).length) conditions.push({ at: window });
  if (position) {
    conditions.push({ $or: [{ at: { $lt: position.at } }, { at: position.at, _id: { $lt: position.id } }] });
  }
  if (conditions.length) query.$and = conditions;
  return query;
}

/** Newest first, the id breaking ties: the order `AuditPosition` continues in. */
export const auditEventOrder = { at: -1, _id: -1 } as const;

/**
 * The opaque `cursor` / `nextCursor` of `GET /api/v1/audit`: base64url of `[epoch ms, event id]`.
 * Opaque so clients do not build positions themselves; not signed, because a forged one can only
 * move the caller within their own organization's events.
 */
export function encodeAuditCursor(position: AuditPosition): string {
  return Buffer.from(JSON.stringify([position.at.getTime(), position.id]), "utf8").toString("base64url");
}

/** The position a cursor names; InvalidError for anything this server did not hand out. */
export function decodeAuditCursor(cursor: string): AuditPosition {
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw new InvalidError("cursor is not one this server returned", "query");
  }
  if (!Array.isArray(decoded) || decoded.length !== 2 || !Number.isSafeInteger(decoded[0]) || typeof decoded[1] !== "string" || !decoded[1]) {
    throw new InvalidError("cursor is not one this server returned", "query");
  }
  return { at: new Date(decoded[0] as number), id: decoded[1] };
}

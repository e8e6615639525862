import { DIRECTORY_EVENT_TYPES, isDirectoryEventType, type DirectoryEvent, type DirectoryEventType } from "../domain/directory-events";
import type { RequestContext } from "../domain/context";
import { InvalidError } from "../errors";
import type { DirectoryEventLog } from "../storage/directory-events";

type Scope = Pick<RequestContext, "organizationId">;

/** How long directory events are kept (the retention sweep empties older ones): 30 days. */
export const DIRECTORY_EVENT_RETENTION_DAYS = 30;

/**
 * The events API's cursor: the position in the organization's event sequence
 * (storage/directory-events.ts), opaque to callers (`ev1_<base36>`); stable — the same cursor
 * always continues at the same place, on every instance.
 */
export function encodeEventCursor(position: number): string {
  return `ev1_${position.toString(36)}`;
}

export function decodeEventCursor(cursor: string): number {
  const match = /^ev1_([0-9a-z]{1,11})$/.exec(cursor);
  const position = match ? Number.parseInt(match[1]!, 36) : Number.NaN;
  if (!Number.isSafeInteger(position) || position < 0) throw new InvalidError("after: not a cursor this API gave (use the `cursor` of a previous answer, or leave it out to start at the oldest event kept)", "query");
  return position;
}

export function parseEventTypes(list: string | undefined): ReadonlySet<DirectoryEventType> | undefined {
  if (list === undefined) return undefined;
  const names = list.split(",").map((name) => name.trim()).filter(Boolean);
  const unknown = names.filter((name) => !isDirectoryEventType(name));
  if (unknown.length) throw new InvalidError(`types: ${unknown.map((name) => `"${name}"`).join(", ")} ${unknown.length === 1 ? "is not an event type" : "are not event types"} (${Object.keys(DIRECTORY_EVENT_TYPES).join(", ")})`, "query");
  return new Set(names as DirectoryEventType[]);
}

/** Following the directory: one page of an organization's events after a cursor. */
export class DirectoryEvents {
  constructor(
    private readonly log: DirectoryEventLog,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async list(scope: Scope, options: { after?: string; types?: ReadonlySet<DirectoryEventType>; limit: number }): Promise<{ events: DirectoryEvent[]; cursor: string }> {
    const page = await this.log.page(scope.organizationId, { ...(options.after !== undefined ? { after: decodeEventCursor(options.after) } : {}), ...(options.types ? { types: options.types } : {}), limit: options.limit });
    return { events: page.events, cursor: encodeEventCursor(page.position) };
  }

  /** The retention sweep for one organization (the maintenance timer). */
  sweep(scope: Scope): Promise<number> {
    return this.log.sweep(scope.organizationId, new Date(this.now().getTime() - DIRECTORY_EVENT_RETENTION_DAYS * 86_400_000));
  }
}

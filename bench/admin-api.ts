import { request, timed } from "./driver";

/**
 * How the benchmark pages through a list of the admin API (/api/v1), read from the server's own
 * OpenAPI document rather than assumed: keyset paging (a `cursor` parameter, the answer's
 * `nextCursor`) where the operation offers it, else `startIndex`, and the page-size parameter
 * (`count` or `limit`) with its maximum. The same bench runs against servers before and after
 * keyset paging arrives.
 */
export interface Paging {
  path: string;
  cursor: boolean;
  offset: boolean;
  sizeParameter?: string;
  maxSize: number;
}

interface OpenApiParameter {
  name: string;
  in: string;
  schema?: { maximum?: number; anyOf?: { maximum?: number }[] };
}

export async function pagingOf(adminBase: string, path: string): Promise<Paging> {
  const document = (await request(`${adminBase}/openapi.json`, { expect: [200] })).json<{ paths: Record<string, { get?: { parameters?: OpenApiParameter[] } }> }>();
  const operation = document.paths[path]?.get;
  if (!operation) throw new Error(`the OpenAPI document has no GET ${path}`);
  const query = (operation.parameters ?? []).filter((p) => p.in === "query");
  const named = (name: string) => query.find((p) => p.name === name);
  const size = named("limit") ?? named("count");
  const maximum = size?.schema?.maximum ?? size?.schema?.anyOf?.find((s) => s.maximum !== undefined)?.maximum;
  return { path, cursor: named("cursor") !== undefined, offset: named("startIndex") !== undefined, sizeParameter: size?.name, maxSize: maximum ?? 100 };
}

/** The URL of a page of `size` items, after `cursor` or from `startIndex`, with extra query parameters. */
export function pageUrl(adminBase: string, paging: Paging, page: { size: number; cursor?: string; startIndex?: number; extra?: Record<string, string> }): string {
  const query = new URLSearchParams(page.extra);
  if (paging.sizeParameter) query.set(paging.sizeParameter, String(Math.min(page.size, paging.maxSize)));
  if (page.cursor) query.set("cursor", page.cursor);
  if (page.startIndex !== undefined) query.set("startIndex", String(page.startIndex));
  return `${adminBase}${paging.path}?${query}`;
}

/** The cursor of the next page: `nextCursor` (the audit trail's name), or `next`. */
function nextOf(page: Record<string, unknown>): string | undefined {
  const next = page.nextCursor ?? page.next;
  return typeof next === "string" && next ? next : undefined;
}

/**
 * A cursor at (about) `depth` items into the list, reached by following `nextCursor` with the
 * largest pages the operation allows — unmeasured set-up. Stops early when the list ends or the
 * time budget runs out, and answers how deep it got: a deep page is what the next request reads.
 */
export async function cursorAtDepth(adminBase: string, paging: Paging, headers: Record<string, string>, depth: number, budgetMs: number): Promise<{ cursor?: string; depth: number; exhausted: boolean }> {
  let cursor: string | undefined;
  let reached = 0;
  const started = Date.now();
  while (reached < depth) {
    if (Date.now() - started > budgetMs) return { cursor, depth: reached, exhausted: true };
    const size = Math.min(paging.maxSize, depth - reached);
    const [answer] = await timed(() => request(pageUrl(adminBase, paging, { size, cursor }), { headers, expect: [200] }));
    const page = answer.json<Record<string, unknown>>();
    const items = Object.values(page).find(Array.isArray) as unknown[] | undefined;
    const next = nextOf(page);
    if (!next) return { cursor, depth: reached, exhausted: false };
    reached += items?.length ?? size;
    cursor = next;
  }
  return { cursor, depth: reached, exhausted: false };
}

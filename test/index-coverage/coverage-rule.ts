import mongoose from "mongoose";
import { defineModels } from "../../src/storage/models";
import type { Condition, FilterShape, QueryShape, SortKey } from "./query-shape";

/**
 * Whether MongoDB's planner can answer a query shape from a declared index, without scanning the
 * collection (COLLSCAN) or sorting the documents it found in memory (a blocking SORT).
 *
 * The rule, as MongoDB's documentation states it ("The ESR (Equality, Sort, Range) Guideline",
 * "Use Indexes to Sort Query Results"):
 * - an index serves a conjunction when it begins with fields the query compares for equality
 *   (`eq`, `$in`; in any order), and then, optionally, ONE field the query bounds (a range, an
 *   anchored case-sensitive regular expression; `$exists: true` on a sparse index only);
 * - a sort is served when its keys follow that equality prefix in the index's order, all in the
 *   index's directions or all reversed (sort keys compared for equality are no-ops and skipped);
 *   a sort an index serves needs no equality prefix (an index scan in order, which a limit stops)
 *   when the query has no condition an index could bound, or bounds that index's first field;
 * - nothing else bounds a scan: `$ne`, `$nin`, `$not`, `$exists: false`, unanchored or
 *   case-insensitive regular expressions only filter what an index already chose;
 * - a sparse index serves only a query that excludes documents lacking its fields;
 * - an `$or` is served when the conjunction around it is served on its own, or when every branch
 *   (with the conjunction around it) is served by some index;
 * - the `_id` index always exists.
 */

export interface DeclaredIndex {
  readonly collection: string;
  readonly keys: readonly SortKey[];
  readonly sparse: boolean;
  readonly unique: boolean;
}

/** How one index serves (part of) a shape. */
export interface IndexUse {
  readonly index: DeclaredIndex;
  /** e.g. "eq organizationId, groups; sort _id". */
  readonly how: string;
  /** What the planner would prefer: more equality fields, then a served sort, then a range. */
  readonly strength: number;
}

/** The index uses a covered shape has: one, or one per `$or` branch. */
export type Coverage = readonly IndexUse[];

export function indexName(index: DeclaredIndex): string {
  return index.keys.map((k) => `${k.path}_${k.direction}`).join("_");
}

/** Every index the application declares (src/storage/models.ts), with each collection's `_id` index. */
export function declaredIndexes(): DeclaredIndex[] {
  // A connection that never connects: defining models needs no server.
  const connection = mongoose.createConnection();
  const models = defineModels(connection);
  return Object.values(models).flatMap((model): DeclaredIndex[] => {
    const collection = model.collection.collectionName;
    const declared = model.schema.indexes().map(([fields, options]): DeclaredIndex => ({
      collection,
      keys: Object.entries(fields).map(([path, direction]) => ({ path, direction: direction === -1 ? -1 : 1 })),
      sparse: options?.sparse === true,
      unique: options?.unique === true,
    }));
    return [{ collection, keys: [{ path: "_id", direction: 1 }], sparse: false, unique: true }, ...declared];
  });
}

const equalityKinds = new Set<Condition["kind"]>(["eq", "in"]);
/** `$exists: true` bounds nothing on an ordinary index (every document is in it): only on a sparse one. */
const boundKinds = (index: DeclaredIndex) => new Set<Condition["kind"]>(index.sparse ? ["range", "regex-prefix", "exists"] : ["range", "regex-prefix"]);
/** Conditions that no document lacking the field can meet (a sparse index may serve them). */
const presenceKinds = new Set<Condition["kind"]>(["eq", "in", "range", "regex-prefix", "exists"]);

/** How `index` serves the conjunction `conditions` sorted by `sort`, or undefined if it cannot. */
export function useOfIndex(index: DeclaredIndex, conditions: readonly Condition[], sort: readonly SortKey[]): IndexUse | undefined {
  const equality = new Set(conditions.filter((c) => equalityKinds.has(c.kind)).map((c) => c.path));
  const pointEquality = new Set(conditions.filter((c) => c.kind === "eq").map((c) => c.path));
  const bounds = boundKinds(index);
  const bounded = new Set(conditions.filter((c) => bounds.has(c.kind)).map((c) => c.path));
  if (index.sparse && !index.keys.some((k) => conditions.some((c) => c.path === k.path && presenceKinds.has(c.kind)))) return undefined;

  let position = 0;
  while (position < index.keys.length && equality.has(index.keys[position]!.path)) position++;
  const prefix = index.keys.slice(0, position).map((k) => (pointEquality.has(k.path) ? k.path : `${k.path} (in)`));
  const parts = prefix.length ? [`eq ${prefix.join(", ")}`] : [];

  const sortRest = sort.filter((k) => !pointEquality.has(k.path));
  // An index that only orders, while the query has conditions another index could bound, is
  // walked whole: not a use.
  if (!prefix.length && sortRest.length && (equality.size || bounded.size) && !bounded.has(index.keys[0]!.path)) return undefined;
  if (sortRest.length) {
    const next = index.keys.slice(position, position + sortRest.length);
    if (next.length < sortRest.length || next.some((k, i) => k.path !== sortRest[i]!.path)) return undefined;
    const forward = next.every((k, i) => k.direction === sortRest[i]!.direction);
    const backward = next.every((k, i) => k.direction === -sortRest[i]!.direction);
    if (!forward && !backward) return undefined;
    parts.push(`sort ${sortRest.map((k) => k.path).join(", ")}${backward ? " (backwards)" : ""}`);
    const rangeOnSort = bounded.has(next[0]!.path);
    return { index, how: [...parts, ...(rangeOnSort ? [`range ${next[0]!.path}`] : [])].join("; "), strength: position * 100 + 10 + (rangeOnSort ? 1 : 0) };
  }
  const range = index.keys[position];
  const rangeUsed = range !== undefined && bounded.has(range.path);
  if (rangeUsed) parts.push(`range ${range.path}`);
  return parts.length ? { index, how: parts.join("; "), strength: position * 100 + (rangeUsed ? 1 : 0) } : undefined;
}

/** The best use of one index for a conjunction: the one that bounds or orders the most. */
function bestUse(indexes: readonly DeclaredIndex[], conditions: readonly Condition[], sort: readonly SortKey[]): IndexUse | undefined {
  let best: IndexUse | undefined;
  for (const index of indexes) {
    const use = useOfIndex(index, conditions, sort);
    if (use && (!best || use.strength > best.strength)) best = use;
  }
  return best;
}

function coverFilter(indexes: readonly DeclaredIndex[], filter: FilterShape, sort: readonly SortKey[]): Coverage | undefined {
  const whole = bestUse(indexes, filter.conditions, sort);
  if (whole) return [whole];
  for (const branches of filter.anyOf) {
    const uses: IndexUse[] = [];
    const everyBranch = branches.every((branch) => {
      const others = filter.anyOf.filter((b) => b !== branches);
      const covered = coverFilter(indexes, { conditions: [...filter.conditions, ...branch.conditions], anyOf: [...branch.anyOf, ...others] }, sort);
      if (covered) uses.push(...covered);
      return covered !== undefined;
    });
    if (everyBranch) return uses;
  }
  return undefined;
}

/** The indexes that serve `shape`, or undefined when MongoDB would scan its collection or sort in memory. */
export function coverageOf(shape: QueryShape, indexes: readonly DeclaredIndex[]): Coverage | undefined {
  return coverFilter(
    indexes.filter((index) => index.collection === shape.collection),
    shape.filter,
    shape.sort,
  );
}

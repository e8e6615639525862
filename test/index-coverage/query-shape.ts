/**
 * The shape of a query: which fields it filters on, with which kind of condition, and how it
 * sorts — values dropped. Read from the commands the MongoDB driver sends (command monitoring), so
 * what is recorded is what reaches the server, whatever built it (mongoose or the driver).
 */

/**
 * What an index can do with a condition on one field:
 * - `eq`, `in`: point bounds (an equality prefix of an index);
 * - `range` ($gt/$gte/$lt/$lte), `regex-prefix` (anchored, case-sensitive), `exists`: one bounded
 *   interval (the single range key of equality–sort–range);
 * - the rest bound nothing (`$ne`, `$nin`, `$not`, `$exists: false`, unanchored or
 *   case-insensitive regular expressions, `$elemMatch`, …): they filter what an index already chose.
 */
export type ConditionKind = "eq" | "in" | "range" | "regex-prefix" | "exists" | "not-exists" | "regex" | "ne" | "nin" | "not" | "elemMatch" | "other";

export interface Condition {
  readonly path: string;
  readonly kind: ConditionKind;
}

/** A conjunction of field conditions and of `$or`s (each `$or` a list of alternative shapes). */
export interface FilterShape {
  readonly conditions: readonly Condition[];
  readonly anyOf: readonly (readonly FilterShape[])[];
}

export interface SortKey {
  readonly path: string;
  readonly direction: 1 | -1;
}

export interface QueryShape {
  readonly collection: string;
  /** find, count, distinct, update, delete, findAndModify. */
  readonly operation: string;
  readonly filter: FilterShape;
  readonly sort: readonly SortKey[];
}

type Document = Record<string, unknown>;

const isDocument = (value: unknown): value is Document =>
  typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Map) && !(value instanceof Date) && !(value instanceof RegExp) && !isBsonValue(value);

/** ObjectId, Binary, Decimal128, BSONRegExp …: values, not query documents. */
function isBsonValue(value: object): boolean {
  return typeof (value as { _bsontype?: unknown })._bsontype === "string";
}

/**
 * The query shapes one command holds: none for commands that filter nothing (insert, getMore,
 * createIndexes, hello …), several for an update or delete command carrying several statements.
 */
export function shapesOfCommand(commandName: string, command: Document): QueryShape[] {
  const collection = command[commandName];
  if (typeof collection !== "string") return [];
  const shape = (operation: string, filter: unknown, sort?: unknown): QueryShape => ({
    collection,
    operation,
    filter: filterShape(isDocument(filter) ? filter : {}),
    sort: sortShape(sort),
  });
  switch (commandName) {
    case "find":
      return [shape("find", command.filter, command.sort)];
    case "count":
      return [shape("count", command.query)];
    case "distinct":
      return [shape("distinct", command.query)];
    case "findAndModify":
      return [shape("findAndModify", command.query, command.sort)];
    case "update":
      return statements(command.updates).map((s) => shape("update", s.q));
    case "delete":
      return statements(command.deletes).map((s) => shape("delete", s.q));
    case "aggregate":
      return [aggregateShape(collection, command.pipeline)];
    default:
      return [];
  }
}

function statements(value: unknown): Document[] {
  return Array.isArray(value) ? value.filter(isDocument) : [];
}

/**
 * The leading `$match`/`$sort` stages of a pipeline are what an index can serve (countDocuments is
 * `[$match, $group]`); what follows a `$group` or `$project` cannot use one.
 */
function aggregateShape(collection: string, pipeline: unknown): QueryShape {
  const matches: Document[] = [];
  let sort: unknown;
  let operation = "aggregate";
  for (const stage of Array.isArray(pipeline) ? pipeline.filter(isDocument) : []) {
    if (isDocument(stage.$match)) matches.push(stage.$match);
    else if (isDocument(stage.$sort) && sort === undefined) sort = stage.$sort;
    else if ("$skip" in stage || "$limit" in stage) continue;
    else {
      // countDocuments: `{$group: {_id: 1, n: {$sum: 1}}}`.
      if (isDocument(stage.$group) && Object.keys(stage.$group).length === 2 && stage.$group._id === 1) operation = "count";
      break;
    }
  }
  const filter = matches.length === 1 ? matches[0]! : matches.length ? { $and: matches } : {};
  return { collection, operation, filter: filterShape(filter), sort: sortShape(sort) };
}

/** A sort as the driver sends it: a Map of field → direction (or a plain document). */
export function sortShape(sort: unknown): SortKey[] {
  const entries = sort instanceof Map ? [...(sort as Map<string, unknown>).entries()] : isDocument(sort) ? Object.entries(sort) : [];
  return entries.map(([path, direction]) => ({ path, direction: direction === -1 || direction === "desc" || direction === "descending" ? -1 : 1 }));
}

/** The shape of a query document: `$and`s flattened, `$or`s kept as alternatives. */
export function filterShape(query: Document): FilterShape {
  const conditions: Condition[] = [];
  const anyOf: FilterShape[][] = [];
  const visit = (document: Document) => {
    for (const [key, value] of Object.entries(document)) {
      if (key === "$and" && Array.isArray(value)) {
        value.filter(isDocument).forEach(visit);
      } else if (key === "$or" && Array.isArray(value)) {
        const branches = value.filter(isDocument).map(filterShape);
        // A one-branch $or is its branch.
        if (branches.length === 1) visit(value.find(isDocument)!);
        else anyOf.push(branches);
      } else if (key.startsWith("$")) {
        // $nor, $expr, $where, $text, $comment …: nothing an index bound can come from.
        if (key !== "$comment") conditions.push({ path: key, kind: "other" });
      } else {
        conditions.push(...fieldConditions(key, value));
      }
    }
  };
  visit(query);
  return { conditions: sortConditions(dedupe(conditions)), anyOf };
}

function fieldConditions(path: string, value: unknown): Condition[] {
  if (value instanceof RegExp) return [{ path, kind: regexKind(value.source, value.flags) }];
  if (isDocument(value) && (value as { _bsontype?: unknown })._bsontype === undefined && Object.keys(value).some((k) => k.startsWith("$"))) {
    const operators = Object.keys(value);
    if (operators.includes("$regex")) return [{ path, kind: regexKind(regexSource(value.$regex), regexFlags(value.$regex, value.$options)) }];
    return operators.map((operator): Condition => ({ path, kind: operatorKind(operator, value[operator]) }));
  }
  if (isBsonRegex(value)) return [{ path, kind: regexKind(value.pattern, value.options) }];
  // A plain value, null or a whole embedded document: equality.
  return [{ path, kind: "eq" }];
}

function operatorKind(operator: string, operand: unknown): ConditionKind {
  switch (operator) {
    case "$eq":
      return "eq";
    case "$in":
      return "in";
    case "$gt":
    case "$gte":
    case "$lt":
    case "$lte":
      return "range";
    case "$exists":
      return operand ? "exists" : "not-exists";
    case "$ne":
      return "ne";
    case "$nin":
      return "nin";
    case "$not":
      return "not";
    case "$elemMatch":
      return "elemMatch";
    default:
      return "other";
  }
}

function isBsonRegex(value: unknown): value is { pattern: string; options: string } {
  return typeof value === "object" && value !== null && (value as { _bsontype?: unknown })._bsontype === "BSONRegExp";
}

function regexSource(value: unknown): string {
  if (value instanceof RegExp) return value.source;
  if (isBsonRegex(value)) return value.pattern;
  return String(value);
}

function regexFlags(value: unknown, options: unknown): string {
  if (value instanceof RegExp) return value.flags + (typeof options === "string" ? options : "");
  if (isBsonRegex(value)) return value.options + (typeof options === "string" ? options : "");
  return typeof options === "string" ? options : "";
}

/**
 * An anchored, case-sensitive regular expression whose first character is a literal bounds an index
 * scan to the keys with that prefix; any other regular expression examines every key.
 */
function regexKind(source: string, flags: string): ConditionKind {
  const anchored = source.startsWith("^") || source.startsWith("\\A");
  const literalStart = /^(\^|\\A)([^.*+?()[\]{}|\\^$]|\\[.*+?()[\]{}|\\^$/-])/.test(source);
  return anchored && literalStart && !flags.includes("i") && !flags.includes("m") ? "regex-prefix" : "regex";
}

function dedupe(conditions: Condition[]): Condition[] {
  const seen = new Set<string>();
  return conditions.filter((c) => {
    const key = `${c.path} ${c.kind}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function sortConditions(conditions: Condition[]): Condition[] {
  return [...conditions].sort((a, b) => (a.path === b.path ? (a.kind < b.kind ? -1 : 1) : a.path < b.path ? -1 : 1));
}

/** One line per shape, the key under which shapes are counted and allowlisted. */
export function describeShape(shape: QueryShape): string {
  const sort = shape.sort.length ? ` sort {${shape.sort.map((k) => `${k.path}: ${k.direction}`).join(", ")}}` : "";
  return `${shape.collection}.${shape.operation} ${describeFilter(shape.filter)}${sort}`;
}

export function describeFilter(filter: FilterShape): string {
  const parts = [
    ...filter.conditions.map((c) => `${c.path}: ${c.kind}`),
    ...filter.anyOf.map((branches) => `$or: [${branches.map(describeFilter).join(", ")}]`),
  ];
  return `{${parts.join(", ")}}`;
}

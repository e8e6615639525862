import type { MongoQuery } from "./criteria-query";

/**
 * The MongoDB query documents `criteriaToMongoQuery` writes, evaluated on stored documents held in
 * memory (the resident directory, storage/resident-directory.ts), with the database's own
 * semantics: a dotted path reaches into arrays (any element may satisfy the condition), a numeric
 * part names an array position, `{f: null}` also matches a missing field, ordering operators only
 * compare values of one type, and sorting follows the BSON order (missing and null first, then
 * numbers, strings, objects, arrays, booleans, dates; an array sorts by its least element
 * ascending and its greatest descending).
 *
 * Evaluating the translated query rather than the domain criteria keeps one translation: whatever
 * the database would answer for a filter — positional element criteria, `pr`'s empty values, the
 * lower-cased copies, the condition budget — memory answers the same. test/integration/
 * resident-directory.test.ts compares both on the same data. Only the operators that translation
 * emits are understood; anything else is a programming error, thrown rather than guessed.
 */

const MISSING = Symbol("missing");
type Candidate = unknown;

/** Whether `doc` satisfies `query`. */
export function matchesQuery(doc: Record<string, unknown>, query: MongoQuery): boolean {
  return compileQuery(query)(doc);
}

type Predicate = (doc: Record<string, unknown>) => boolean;
type FieldTest = (values: Candidate[]) => boolean;

/**
 * `query` turned into a function, once per listing: paths split and regular expressions built
 * once, not once per document (a filter is tested against every document of an organization).
 */
export function compileQuery(query: MongoQuery): Predicate {
  const tests: Predicate[] = Object.entries(query).map(([key, condition]): Predicate => {
    switch (key) {
      case "$and": {
        const all = (condition as MongoQuery[]).map(compileQuery);
        return (doc) => all.every((p) => p(doc));
      }
      case "$or": {
        const any = (condition as MongoQuery[]).map(compileQuery);
        return (doc) => any.some((p) => p(doc));
      }
      case "$nor": {
        const none = (condition as MongoQuery[]).map(compileQuery);
        return (doc) => !none.some((p) => p(doc));
      }
      default: {
        if (key.startsWith("$")) throw new Error(`Query operator ${key} is not evaluated in memory`);
        const parts = key.split(".");
        const test = compileField(condition);
        return (doc) => {
          const out: Candidate[] = [];
          resolve(doc, parts, 0, out);
          return test(out);
        };
      }
    }
  });
  return tests.length === 1 ? tests[0]! : (doc) => tests.every((p) => p(doc));
}

function resolve(value: unknown, parts: string[], index: number, out: Candidate[]): void {
  if (index === parts.length) {
    out.push(value);
    return;
  }
  const part = parts[index]!;
  if (Array.isArray(value)) {
    if (/^\d+$/.test(part)) {
      const position = Number(part);
      if (position < value.length) resolve(value[position], parts, index + 1, out);
      return;
    }
    for (const element of value) if (isPlainObject(element)) resolve(element, parts, index, out);
    return;
  }
  if (isPlainObject(value)) {
    if (Object.prototype.hasOwnProperty.call(value, part)) resolve(value[part], parts, index + 1, out);
    else out.push(MISSING);
    return;
  }
  // A scalar has no fields: the path reaches nothing there.
}

/** The values a condition is tested against: each reached value, and an array's elements too. */
function expand(values: Candidate[]): Candidate[] {
  if (values.length === 1 && !Array.isArray(values[0])) return values;
  const out: Candidate[] = [];
  for (const value of values) {
    if (Array.isArray(value)) out.push(...value);
    out.push(value);
  }
  return out;
}

function compileField(condition: unknown): FieldTest {
  if (!isOperatorObject(condition)) return (values) => equalsAny(values, condition);
  const tests = Object.entries(condition)
    .filter(([operator]) => operator !== "$options")
    .map(([operator, operand]) => compileOperator(operator, operand, condition));
  return tests.length === 1 ? tests[0]! : (values) => tests.every((test) => test(values));
}

function compileOperator(operator: string, operand: unknown, condition: Record<string, unknown>): FieldTest {
  switch (operator) {
    case "$eq":
      return (values) => equalsAny(values, operand);
    case "$ne":
      return (values) => !equalsAny(values, operand);
    case "$in":
      return (values) => (operand as unknown[]).some((v) => equalsAny(values, v));
    case "$nin":
      return (values) => !(operand as unknown[]).some((v) => equalsAny(values, v));
    case "$exists":
      return (values) => values.some((v) => v !== MISSING) === Boolean(operand);
    case "$gt":
    case "$gte":
    case "$lt":
    case "$lte":
      return (values) => expand(values).some((v) => ordered(v, operand, operator));
    case "$regex": {
      const pattern = new RegExp(String(operand), typeof condition.$options === "string" ? condition.$options : "");
      return (values) => expand(values).some((v) => typeof v === "string" && pattern.test(v));
    }
    case "$not": {
      const inner = compileField(operand);
      return (values) => !inner(values);
    }
    default:
      throw new Error(`Query operator ${operator} is not evaluated in memory`);
  }
}

function equalsAny(values: Candidate[], wanted: unknown): boolean {
  if (wanted === null) return expand(values).some((v) => v === null || v === MISSING) || values.length === 0;
  return expand(values).some((v) => v !== MISSING && sameValue(v, wanted));
}

function ordered(value: unknown, operand: unknown, operator: string): boolean {
  const rank = typeRank(value);
  if (value === MISSING || rank !== typeRank(operand)) return false;
  const order = compareSameType(value, operand);
  switch (operator) {
    case "$gt":
      return order > 0;
    case "$gte":
      return order >= 0;
    case "$lt":
      return order < 0;
    default:
      return order <= 0;
  }
}

/** BSON comparison order of types (MongoDB's "Comparison/Sort Order"). */
function typeRank(value: unknown): number {
  if (value === MISSING || value === null || value === undefined) return 1;
  if (typeof value === "number") return 2;
  if (typeof value === "string") return 3;
  if (Array.isArray(value)) return 5;
  if (typeof value === "boolean") return 8;
  if (value instanceof Date) return 9;
  return 4;
}

function compareSameType(a: unknown, b: unknown): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (typeof a === "string" && typeof b === "string") return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === "boolean" && typeof b === "boolean") return Number(a) - Number(b);
  if (a instanceof Date && b instanceof Date) return a.getTime() - b.getTime();
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      const order = compareValues(a[i], b[i]);
      if (order) return order;
    }
    return a.length - b.length;
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const [x, y] = [Object.entries(a), Object.entries(b)];
    for (let i = 0; i < Math.min(x.length, y.length); i++) {
      const order = compareValues(x[i]![1], y[i]![1]) || (x[i]![0] < y[i]![0] ? -1 : x[i]![0] > y[i]![0] ? 1 : 0);
      if (order) return order;
    }
    return x.length - y.length;
  }
  return 0;
}

/** Two values in BSON order (missing as null). */
export function compareValues(a: unknown, b: unknown): number {
  const [x, y] = [typeRank(a), typeRank(b)];
  return x !== y ? x - y : compareSameType(a, b);
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a instanceof Date || b instanceof Date) return a instanceof Date && b instanceof Date && a.getTime() === b.getTime();
  if (Array.isArray(a) || Array.isArray(b)) return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => sameValue(v, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const [x, y] = [Object.keys(a), Object.keys(b)];
    return x.length === y.length && x.every((key, i) => key === y[i] && sameValue(a[key], b[key]));
  }
  return a === b;
}

/**
 * The key a document sorts by on `path` in one direction, as the database sorts: an array by its
 * least element ascending and its greatest descending (an empty array before everything), a
 * missing field as null.
 */
export function sortKey(doc: Record<string, unknown>, path: string, descending: boolean): unknown {
  const reached = sortValuesAt(doc, path.split("."));
  const candidates: unknown[] = [];
  let emptyArray = false;
  for (const value of reached) {
    if (Array.isArray(value)) {
      if (value.length === 0) emptyArray = true;
      candidates.push(...value);
    } else candidates.push(value);
  }
  if (!candidates.length) return emptyArray ? EMPTY_ARRAY : null;
  let best = candidates[0];
  for (const value of candidates.slice(1)) {
    const order = compareValues(value, best);
    if (descending ? order > 0 : order < 0) best = value;
  }
  return best;
}

/**
 * What FerretDB v1.24 sorts by on a dotted path: it follows objects only — a path through an array
 * of objects (`emails.value`) reaches nothing and sorts as missing, where MongoDB would take the
 * elements' values (measured; test/integration/resident-directory.test.ts compares both). The
 * resident directory serves the embedded database only, so it sorts as FerretDB does.
 */
function sortValuesAt(doc: unknown, parts: string[]): unknown[] {
  let value: unknown = doc;
  for (const part of parts) {
    if (!isPlainObject(value) || !Object.prototype.hasOwnProperty.call(value, part)) return [null];
    value = value[part];
  }
  return [value];
}

/** The sort key of a field holding only empty arrays: before null, as the database orders it. */
const EMPTY_ARRAY = Symbol("empty array");

/** compareValues, with the empty-array key first. */
export function compareSortKeys(a: unknown, b: unknown): number {
  if (a === EMPTY_ARRAY || b === EMPTY_ARRAY) return a === b ? 0 : a === EMPTY_ARRAY ? -1 : 1;
  return compareValues(a, b);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

function isOperatorObject(value: unknown): value is Record<string, unknown> {
  if (!isPlainObject(value)) return false;
  const keys = Object.keys(value);
  return keys.length > 0 && keys.every((key) => key.startsWith("$"));
}

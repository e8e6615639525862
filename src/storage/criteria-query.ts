import type { Criteria } from "../domain/criteria";
import { InvalidError } from "../errors";

/**
 * Criteria → MongoDB query document, limited to operators that MongoDB and FerretDB v1.24.2 both
 * evaluate ($and $or $nor $not $ne $gt $gte $lt $lte $nin $exists $regex): no collation, $expr or
 * $where (/work/shared/MONGODB.md).
 *
 * Element criteria deserve a note. FerretDB v1.24.2's `$elemMatch` only applies operators to the
 * array as a value: `{emails: {$elemMatch: {type: "work"}}}` matches nothing and `$and/$or/$nor/
 * $ne/$not` inside it are "not implemented yet" (FerretDB#730, #731). So one element satisfying a
 * whole condition is spelled with positions instead: `emails.0.type …, emails.1.type …`, up to the
 * attribute's `maxItems`. Where "some element matches" is exactly what a dotted path over the array
 * means already (a single positive comparison, or an `or` of them), the dotted path is used.
 */

export interface FieldMapping {
  /** Stored field path; defaults to the domain path. */
  field?: string;
  /** A lower-cased copy of a caseExact-false string, compared without regular expressions (and with an index). */
  lowerCaseField?: string;
  /** For multi-valued attributes: the most elements a stored array holds; later ones are not searched by element criteria. */
  maxItems?: number;
}

export type MongoQuery = Record<string, unknown>;

/** Positions searched by element criteria when the mapping gives no `maxItems`. */
export const DEFAULT_MAX_ITEMS = 20;

/**
 * The most field conditions one query may hold. A query's cost is its number of conditions times
 * the documents it is tested against: FerretDB tests every document in Go (measured on 2,000 users:
 * about 90 ms per condition, so 100 conditions ≈ 9 s), and MongoDB does the same for the
 * documents an index leaves. Element criteria count once per position searched (`maxItems`), so
 * a value filter of two conditions costs 40 (60 with `ne`/`not`, which add an existence test). The SCIM layer bounds what a client writes
 * before parsing (src/scim/filter.ts); this bounds what that becomes.
 */
export const MAX_QUERY_CONDITIONS = 100;

/**
 * `fields` is keyed by domain path, e.g. `{ id: { field: "_id" }, userName: { lowerCaseField: "userNameLower" } }`.
 * InvalidError (subject "query") when the query would hold more than MAX_QUERY_CONDITIONS conditions.
 */
export function criteriaToMongoQuery(criteria: Criteria, fields: Record<string, FieldMapping>): MongoQuery {
  return translate(criteria, { fields, budget: { used: 0 } });
}

interface Context {
  fields: Record<string, FieldMapping>;
  /** Field conditions written so far, shared by the whole translation. */
  budget: { used: number };
  /** Inside element criteria: the element's domain path, its stored field, and the stored prefix of the element's fields. */
  element?: { domainPath: string; field: string; fieldPrefix: string };
}

function spend(context: Context, conditions = 1): void {
  context.budget.used += conditions;
  if (context.budget.used > MAX_QUERY_CONDITIONS) {
    throw new InvalidError(
      `The filter needs more than ${MAX_QUERY_CONDITIONS} conditions in the database (a value filter such as emails[…] counts once per element searched); narrow it`,
      "query",
    );
  }
}

function translate(criteria: Criteria, context: Context): MongoQuery {
  switch (criteria.kind) {
    case "and":
      return { $and: criteria.all.map((c) => translate(c, context)) };
    case "or": {
      const values = exactValuesOfOneField(criteria, context);
      if (values) {
        // `id eq "a" or id eq "b" …` (and the group lookup of members[value eq …]) is one $in.
        spend(context);
        return { [values.field]: { $in: values.values } };
      }
      return { $or: criteria.any.map((c) => translate(c, context)) };
    }
    case "not":
      return { $nor: [translate(criteria.criteria, context)] };
    case "present":
      spend(context);
      // RFC 7644 §3.4.2.2 pr: has a non-empty value (null, "", [] and {} are empty).
      return { [fieldOf(criteria.path, context)]: { $exists: true, $nin: [null, "", [], {}] } };
    case "compare":
      spend(context);
      return comparison(criteria, context);
    case "element":
      return element(criteria, context);
  }
}

function element(criteria: Extract<Criteria, { kind: "element" }>, context: Context): MongoQuery {
  if (context.element) throw new Error(`Element criteria cannot be nested (${criteria.path} inside ${context.element.domainPath})`);
  const field = fieldOf(criteria.path, context);
  const inElement = (fieldPrefix: string): Context => ({ ...context, element: { domainPath: criteria.path, field, fieldPrefix } });
  if (matchesAnyElementWhenDotted(criteria.criteria)) return translate(criteria.criteria, inElement(`${field}.`));
  const maxItems = context.fields[criteria.path]?.maxItems ?? DEFAULT_MAX_ITEMS;
  // The element must exist when a missing one would satisfy the criteria (`ne`, `not`, `eq null`).
  const existence = satisfiableByMissing(criteria.criteria);
  if (existence) spend(context, maxItems);
  return {
    $or: Array.from({ length: maxItems }, (_, index) => {
      const inner = translate(criteria.criteria, inElement(`${field}.${index}.`));
      return existence ? { $and: [{ [`${field}.${index}`]: { $exists: true } }, inner] } : inner;
    }),
  };
}

/** Whether criteria could hold for an element that does not exist (every field of it missing). */
function satisfiableByMissing(criteria: Criteria): boolean {
  switch (criteria.kind) {
    case "and":
      return criteria.all.every(satisfiableByMissing);
    case "or":
      return criteria.any.some(satisfiableByMissing);
    case "not":
      return true;
    case "present":
      return false;
    case "compare":
      return criteria.op === "ne" || criteria.value === null;
    case "element":
      return false;
  }
}

/**
 * On an array of documents `{"emails.value": c}` means "some element's value satisfies c", which is
 * the element criteria exactly for a positive comparison — not for `ne`/`eq null` (they test every
 * element) nor for `and`/`not`/`pr` (each part could be satisfied by a different element).
 */
function matchesAnyElementWhenDotted(criteria: Criteria): boolean {
  if (criteria.kind === "or") return criteria.any.every(matchesAnyElementWhenDotted);
  return criteria.kind === "compare" && criteria.op !== "ne" && criteria.value !== null;
}

/**
 * An `or` of `eq` comparisons on one field whose values compare exactly (caseExact strings, or a
 * lower-cased copy; booleans, numbers), outside element criteria: their stored field and values.
 */
function exactValuesOfOneField(criteria: Extract<Criteria, { kind: "or" }>, context: Context): { field: string; values: unknown[] } | undefined {
  if (context.element || criteria.any.length < 2) return undefined;
  let field: string | undefined;
  const values: unknown[] = [];
  for (const c of criteria.any) {
    if (c.kind !== "compare" || c.op !== "eq" || c.value === null || c.type === "dateTime") return undefined;
    const lowerCaseField = typeof c.value === "string" && !c.caseExact ? lowerCaseFieldOf(c.path, context) : undefined;
    if (typeof c.value === "string" && !c.caseExact && !lowerCaseField) return undefined;
    const target = lowerCaseField ?? fieldOf(c.path, context);
    if (field !== undefined && field !== target) return undefined;
    field = target;
    values.push(lowerCaseField ? String(c.value).toLowerCase() : c.value);
  }
  return field === undefined ? undefined : { field, values };
}

const orderOperators = { gt: "$gt", ge: "$gte", lt: "$lt", le: "$lte" } as const;

function comparison(criteria: Extract<Criteria, { kind: "compare" }>, context: Context): MongoQuery {
  const { op, caseExact } = criteria;
  const field = fieldOf(criteria.path, context);
  if (criteria.value === null) return { [field]: op === "ne" ? { $ne: null } : null };
  if (typeof criteria.value !== "string" || criteria.type === "dateTime") {
    // Stored dateTimes are BSON dates; numbers and booleans compare as they are.
    const value = criteria.type === "dateTime" ? new Date(String(criteria.value)) : criteria.value;
    if (op === "eq") return { [field]: value };
    if (op === "ne") return { [field]: { $ne: value } };
    if (op === "co" || op === "sw" || op === "ew") throw new Error(`"${op}" cannot be applied to ${criteria.type} ${criteria.path}`);
    return { [field]: { [orderOperators[op]]: value } };
  }

  // RFC 7643 §2.2 caseExact false: compare a lower-cased copy if there is one, otherwise use a
  // case-insensitive regular expression. User input is always escaped: it is data, never a pattern.
  const lowerCaseField = caseExact ? undefined : lowerCaseFieldOf(criteria.path, context);
  const target = lowerCaseField ?? field;
  const value = lowerCaseField ? criteria.value.toLowerCase() : criteria.value;
  const viaRegex = !caseExact && !lowerCaseField;
  const options = viaRegex ? { $options: "i" } : {};
  const literal = escapeRegex(value);
  switch (op) {
    case "eq":
      return { [target]: viaRegex ? { $regex: `^${literal}$`, ...options } : value };
    case "ne":
      return { [target]: viaRegex ? { $not: { $regex: `^${literal}$`, ...options } } : { $ne: value } };
    case "co":
      return { [target]: { $regex: literal, ...options } };
    case "sw":
      return { [target]: { $regex: `^${literal}`, ...options } };
    case "ew":
      return { [target]: { $regex: `${literal}$`, ...options } };
    default:
      // Ordering cannot be made case-insensitive without a lower-cased copy: compare as stored.
      return { [target]: { [orderOperators[op]]: value } };
  }
}

/** Escapes every metacharacter shared by PCRE (MongoDB) and RE2 (FerretDB). */
export function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** The stored path of a domain path; inside element criteria, of the element's own field (`emails.3.value`). */
function fieldOf(path: string, context: Context): string {
  return mappedPath(path, "field", context) ?? (context.element ? context.element.fieldPrefix + path : path);
}

function lowerCaseFieldOf(path: string, context: Context): string | undefined {
  return mappedPath(path, "lowerCaseField", context);
}

/** Mappings are keyed by full domain path; inside an element the mapped path is re-rooted at the element's position. */
function mappedPath(path: string, which: "field" | "lowerCaseField", context: Context): string | undefined {
  const element = context.element;
  const mapped = context.fields[element ? `${element.domainPath}.${path}` : path]?.[which];
  if (!element || mapped === undefined) return mapped;
  // An array of plain values (a user's `groups` ids) stores each element's `value` as the element itself.
  if (mapped === element.field) return element.fieldPrefix.slice(0, -1);
  if (!mapped.startsWith(`${element.field}.`)) throw new Error(`Field mapping ${mapped} lies outside its element ${element.field}`);
  return element.fieldPrefix + mapped.slice(element.field.length + 1);
}

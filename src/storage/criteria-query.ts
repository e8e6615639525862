import type { Criteria } from "../domain/criteria";

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

/** `fields` is keyed by domain path, e.g. `{ id: { field: "_id" }, userName: { lowerCaseField: "userNameLower" } }`. */
export function criteriaToMongoQuery(criteria: Criteria, fields: Record<string, FieldMapping>): MongoQuery {
  return translate(criteria, { fields });
}

interface Context {
  fields: Record<string, FieldMapping>;
  /** Inside element criteria: the element's domain path, its stored field, and the stored prefix of the element's fields. */
  element?: { domainPath: string; field: string; fieldPrefix: string };
}

function translate(criteria: Criteria, context: Context): MongoQuery {
  switch (criteria.kind) {
    case "and":
      return { $and: criteria.all.map((c) => translate(c, context)) };
    case "or":
      return { $or: criteria.any.map((c) => translate(c, context)) };
    case "not":
      return { $nor: [translate(criteria.criteria, context)] };
    case "present":
      // RFC 7644 §3.4.2.2 pr: has a non-empty value (null, "", [] and {} are empty).
      return { [fieldOf(criteria.path, context)]: { $exists: true, $nin: [null, "", [], {}] } };
    case "compare":
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
  return {
    $or: Array.from({ length: maxItems }, (_, index) => ({
      // The element must exist: a missing one would satisfy `ne` or `not`.
      $and: [{ [`${field}.${index}`]: { $exists: true } }, translate(criteria.criteria, inElement(`${field}.${index}.`))],
    })),
  };
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
  if (!mapped.startsWith(`${element.field}.`)) throw new Error(`Field mapping ${mapped} lies outside its element ${element.field}`);
  return element.fieldPrefix + mapped.slice(element.field.length + 1);
}

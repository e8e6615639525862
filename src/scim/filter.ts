import SCIMMY from "scimmy";
import { parse, type Compare, type Filter, type Suffix, type ValuePath } from "scim2-parse-filter";
import type { AttributeType, Comparison, Criteria } from "../domain/criteria";

/**
 * SCIM filters (RFC 7644 §3.4.2.2) → domain Criteria.
 *
 * The raw expression is parsed with scim2-parse-filter, whose AST keeps `not`, grouping and
 * separate value filters exactly as written (scimmy's own parser rewrites them, see
 * /work/shared/SCIMMY.md). Attribute names are resolved against a FilterSchema, and every value
 * is checked against its attribute's type here, so storage receives only well-typed criteria.
 */

/** The filter cannot be evaluated; the message is returned to the client as 400 invalidFilter (RFC 7644 §3.12). */
export class InvalidFilterError extends Error {
  override name = "InvalidFilterError";
}

export interface FilterAttribute {
  name: string;
  type: AttributeType;
  caseExact: boolean;
  multiValued: boolean;
  /** Where the attribute lives in the domain; "" marks a container that only its sub-attributes make filterable (`meta`). */
  domainPath: string;
  subAttributes?: FilterAttribute[];
}

export interface FilterSchema {
  /** The core schema's URN, so that fully qualified core names (`urn:…:core:2.0:User:userName`) resolve (RFC 7644 §3.10). */
  urn?: string;
  attributes: FilterAttribute[];
  extensions: { urn: string; domainPrefix: string; attributes: FilterAttribute[] }[];
}

export interface ResolvedAttributePath {
  domainPath: string;
  type: AttributeType;
  caseExact: boolean;
  /** The path has several values per resource (it is, or passes through, a multi-valued attribute). */
  multiValued: boolean;
}

export interface ScimmyFilterOptions {
  /** Domain prefix per schema extension URN, e.g. the enterprise extension → "enterprise". */
  extensionPrefixes: Record<string, string>;
}

type ScimmyAttribute = SCIMMY.Types.Attribute;
type ScimmySchemaDefinition = SCIMMY.Types.SchemaDefinition;

/**
 * Builds a FilterSchema from a scimmy schema definition (with its extensions, which scimmy lists
 * among `attributes` as SchemaDefinition instances whose `id` is the extension URN).
 */
export function filterSchemaFromScimmy(definition: ScimmySchemaDefinition, options: ScimmyFilterOptions): FilterSchema {
  const attributes: FilterAttribute[] = [];
  const extensions: FilterSchema["extensions"] = [];
  for (const entry of definition.attributes as (ScimmyAttribute | ScimmySchemaDefinition)[]) {
    if (entry instanceof SCIMMY.Types.SchemaDefinition) {
      const domainPrefix = options.extensionPrefixes[entry.id];
      if (domainPrefix === undefined) throw new Error(`No domain prefix configured for schema extension ${entry.id}`);
      const extensionAttributes = entry.attributes.filter(isFilterable).map((a) => fromScimmy(a, `${domainPrefix}.`));
      extensions.push({ urn: entry.id, domainPrefix, attributes: extensionAttributes });
    } else if (entry.name === "meta") {
      // Of the common attributes (RFC 7643 §3.1) only the timestamps are stored, as top-level
      // fields; `schemas` follows from the resource type and is not stored at all.
      const timestamps = (entry.subAttributes ?? []).filter((a) => a.name === "created" || a.name === "lastModified");
      attributes.push({ ...fromScimmy(entry, ""), domainPath: "", subAttributes: timestamps.map((a) => fromScimmy(a, "")) });
    } else if (entry.name === "userName") {
      // RFC 7643 §4.1.1: userName is caseExact false, whatever the definition says.
      attributes.push({ ...fromScimmy(entry, ""), caseExact: false });
    } else if (entry.name !== "schemas" && isFilterable(entry)) {
      attributes.push(fromScimmy(entry, ""));
    }
  }
  return { urn: definition.id, attributes, extensions };
}

/**
 * Attributes a client may filter on: not write-only ones like `password` (RFC 7643 §7 returned
 * "never": a filter would reveal the value), and not `$ref`, which no filter can spell and
 * storage does not keep under that name.
 */
function isFilterable(attribute: ScimmyAttribute): boolean {
  const { returned, direction } = attribute.config; // scimmy spells returned "never" as false
  const writeOnly = returned === false || returned === "never" || direction === "in";
  return !writeOnly && !attribute.name.startsWith("$");
}

function fromScimmy(attribute: ScimmyAttribute, prefix: string): FilterAttribute {
  const domainPath = prefix + attribute.name;
  return {
    name: attribute.name,
    type: attribute.type,
    caseExact: attribute.config.caseExact === true,
    multiValued: attribute.config.multiValued === true,
    domainPath,
    ...(attribute.subAttributes
      ? { subAttributes: attribute.subAttributes.filter(isFilterable).map((s) => fromScimmy(s, `${domainPath}.`)) }
      : {}),
  };
}

/**
 * What one filter may cost. RFC 7644 §3.4.2.2 sets no bound, and an unbounded filter is a denial
 * of service: a 300-term filter took 16.7 s to answer and a 20,000-term one held the server for a
 * minute. Identity providers send one or two terms; these bounds leave room for generous
 * hand-written filters (an `or` of 100 ids) and are documented in the README.
 */
export const filterLimits = Object.freeze({
  /** Characters in the expression. */
  maxLength: 4096,
  /** Attribute expressions (`userName eq "x"`, `emails pr`, each inside a value filter too). */
  maxTerms: 100,
  /** Parentheses and value-filter brackets open at once. */
  maxDepth: 10,
});

const operatorWords = new Set(["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr"]);

/**
 * Checks a filter against filterLimits in one pass over its characters, before any parser or
 * query builder sees it (their cost grows with the expression). Terms are counted as operator
 * words outside string literals; depth as open "(" and "[" outside them.
 */
export function checkFilterBounds(expression: string, what = "filter"): void {
  const { maxLength, maxTerms, maxDepth } = filterLimits;
  if (expression.length > maxLength) {
    throw new InvalidFilterError(`The ${what} is ${expression.length} characters long; at most ${maxLength} are accepted`);
  }
  let terms = 0;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < expression.length; i++) {
    const ch = expression[i];
    if (inString) {
      if (ch === "\\") i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') {
      inString = true;
    } else if (ch === "(" || ch === "[") {
      if (++depth > maxDepth) throw new InvalidFilterError(`The ${what} nests parentheses or brackets more than ${maxDepth} deep`);
    } else if (ch === ")" || ch === "]") {
      depth--;
    } else if (/[A-Za-z]/.test(ch) && (i === 0 || !/[\w.:$-]/.test(expression[i - 1]))) {
      let end = i + 1;
      while (end < expression.length && /[\w.:$-]/.test(expression[end])) end++;
      if (operatorWords.has(expression.slice(i, end).toLowerCase()) && ++terms > maxTerms) {
        throw new InvalidFilterError(`The ${what} has more than ${maxTerms} attribute expressions`);
      }
      i = end - 1;
    }
  }
}

/** Parses a SCIM filter expression; InvalidFilterError when it is malformed, too costly or does not fit the schema. */
export function parseFilter(expression: string, schema: FilterSchema): Criteria {
  checkFilterBounds(expression);
  let tree: Filter;
  try {
    tree = parse(expression);
  } catch (error) {
    throw new InvalidFilterError(`Malformed filter: ${error instanceof Error ? error.message : String(error)}`);
  }
  // scim2-parse-filter reads `emails[type eq "work"].value eq "x"` as two independent conditions
  // (any work e-mail, and any e-mail "x"). RFC 7644 §3.4.2.2 has no such filter form (it is a
  // PATCH path, §3.5.2), so refuse it rather than answer a different question.
  if (/\]\./.test(expression.replace(/"(?:[^"\\]|\\.|\n)*"/g, '""'))) {
    throw new InvalidFilterError(
      'A sub-attribute after "]" is not valid in a filter; put the condition inside the brackets, e.g. emails[type eq "work" and value eq "x"]',
    );
  }
  return toCriteria(tree, { schema });
}

/** Resolves an attribute path as `sortBy` names it (RFC 7644 §3.4.2.3). */
export function resolveAttributePath(scimPath: string, schema: FilterSchema): ResolvedAttributePath {
  let { attribute, container } = resolve(scimPath, schema);
  if (attribute.type === "complex") [container, attribute] = [attribute, valueOf(attribute, scimPath)];
  return {
    domainPath: filterablePath(attribute, scimPath),
    type: attribute.type,
    caseExact: attribute.caseExact,
    multiValued: attribute.multiValued || container?.multiValued === true,
  };
}

/** Where a node is read: at the top, or inside `parent[...]` of a value filter. */
interface Scope {
  schema: FilterSchema;
  parent?: FilterAttribute;
}

function toCriteria(node: Filter, scope: Scope): Criteria {
  switch (node.op) {
    case "and":
      return { kind: "and", all: node.filters.map((f) => toCriteria(f, scope)) };
    case "or":
      return { kind: "or", any: node.filters.map((f) => toCriteria(f, scope)) };
    case "not":
      // scim2-parse-filter also accepts `A not B`, as a "not" node with `filters` and no `filter`.
      if (node.filter === undefined) throw new InvalidFilterError('Malformed filter: "not" must precede a parenthesised filter, as in not (A)');
      return { kind: "not", criteria: toCriteria(node.filter, scope) };
    case "[]":
      return valueFilter(node, scope);
    default:
      return attributeExpression(node, scope);
  }
}

/** `emails[type eq "work" and value co "@x"]`: one element must satisfy the whole inner filter. */
function valueFilter(node: ValuePath, scope: Scope): Criteria {
  if (scope.parent) throw new InvalidFilterError(`Value filters cannot be nested: "${node.attrPath}[...]" inside "${scope.parent.name}[...]"`);
  const { attribute, container } = resolve(node.attrPath, scope.schema);
  if (attribute.type !== "complex" || container) {
    throw new InvalidFilterError(`"${node.attrPath}" is not a complex attribute, so it cannot have a value filter "[...]"`);
  }
  const criteria = toCriteria(node.valFilter, { schema: scope.schema, parent: attribute });
  // A single-valued complex attribute has one "element": its sub-attributes are plain paths.
  return attribute.multiValued ? { kind: "element", path: attribute.domainPath, criteria } : criteria;
}

function attributeExpression(node: Compare | Suffix, scope: Scope): Criteria {
  let { attribute, container } = scope.parent
    ? { attribute: subAttribute(scope.parent, node.attrPath, node.attrPath), container: scope.parent }
    : resolve(node.attrPath, scope.schema);
  if (node.op !== "pr" && attribute.type === "complex") {
    // RFC 7644 §3.4.2.2: a comparison on a multi-valued complex attribute applies to its "value".
    if (!attribute.multiValued || container) {
      throw new InvalidFilterError(`"${node.attrPath}" is a complex attribute; compare one of its sub-attributes instead`);
    }
    [container, attribute] = [attribute, valueOf(attribute, node.attrPath)];
  }
  const absolutePath = filterablePath(attribute, node.attrPath);
  const leaf = (path: string): Criteria =>
    node.op === "pr" ? { kind: "present", path } : comparison(node, attribute, path);

  if (!container?.multiValued) return leaf(absolutePath);
  const relativePath = absolutePath.slice(container.domainPath.length + 1);
  if (scope.parent) return leaf(relativePath);
  // RFC 7644 §3.4.2.2: a multi-valued attribute matches if any of its values matches. Positive
  // comparisons on a dotted path have that meaning; `ne`, `eq null` and `pr` would instead test
  // all values at once, so they become a condition on one element.
  const criteria = leaf(relativePath);
  const existential = criteria.kind === "compare" && criteria.op !== "ne" && criteria.value !== null;
  return existential ? leaf(absolutePath) : { kind: "element", path: container.domainPath, criteria };
}

/** RFC 7643 §2.3 / RFC 7644 §3.4.2.2: which operators make sense for a type, and which JSON value it takes. */
const ordering: readonly Comparison[] = ["eq", "ne", "gt", "ge", "lt", "le"];
const everyOperator: readonly Comparison[] = [...ordering, "co", "sw", "ew"];
const rules: Record<Exclude<AttributeType, "complex">, { operators: readonly Comparison[]; jsonType: string; accepts(v: unknown): boolean }> = {
  string: { operators: everyOperator, jsonType: "a string", accepts: (v) => typeof v === "string" },
  reference: { operators: everyOperator, jsonType: "a string", accepts: (v) => typeof v === "string" },
  binary: { operators: ["eq", "ne"], jsonType: "a string", accepts: (v) => typeof v === "string" },
  boolean: { operators: ["eq", "ne"], jsonType: "true or false", accepts: (v) => typeof v === "boolean" },
  integer: { operators: ordering, jsonType: "an integer", accepts: (v) => Number.isInteger(v) },
  decimal: { operators: ordering, jsonType: "a number", accepts: (v) => typeof v === "number" },
  dateTime: { operators: ordering, jsonType: "a date-time string", accepts: (v) => typeof v === "string" },
};

function comparison(node: Compare, attribute: FilterAttribute, path: string): Criteria {
  const rule = rules[attribute.type as Exclude<AttributeType, "complex">];
  if (!rule.operators.includes(node.op)) {
    throw new InvalidFilterError(`"${node.op}" cannot be used on ${attribute.type} attribute "${node.attrPath}" (allowed: ${rule.operators.join(", ")}, pr)`);
  }
  let value = node.compValue;
  if (value === null) {
    if (node.op !== "eq" && node.op !== "ne") throw new InvalidFilterError(`null can only be compared with eq or ne ("${node.attrPath}")`);
  } else if (!rule.accepts(value)) {
    throw new InvalidFilterError(`The value for "${node.attrPath}" must be ${rule.jsonType}, not ${JSON.stringify(value)}`);
  } else if (typeof value === "string") {
    value = decodeJsonString(value);
    if (attribute.type === "dateTime") value = isoDateTime(value, node.attrPath);
  }
  return { kind: "compare", path, op: node.op, value, type: attribute.type, caseExact: attribute.caseExact };
}

/**
 * scim2-parse-filter only honours the `\"` escape and keeps every other backslash literally, so
 * `"a\\b"` arrives as `a\\b`. Putting the quotes back yields the literal as the client wrote it,
 * decoded here as the JSON string RFC 7644 §3.4.2.2 says it is (`\\`, `\n`, `\u00e9` …).
 */
function decodeJsonString(parsed: string): string {
  try {
    return JSON.parse(`"${parsed.replace(/"/g, '\\"')}"`) as string;
  } catch {
    throw new InvalidFilterError(`Invalid escape sequence in the string ${JSON.stringify(parsed)}`);
  }
}

const dateTimeSyntax = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/;

/**
 * RFC 7643 §2.3.5: an xsd:dateTime with date and time. A value without a zone is read as UTC, so
 * the result does not depend on the server's time zone. Returns the canonical ISO form.
 */
function isoDateTime(text: string, attrPath: string): string {
  const match = dateTimeSyntax.exec(text.toUpperCase());
  if (match) {
    const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number);
    const calendar = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
    const exists =
      calendar.getUTCFullYear() === year && calendar.getUTCMonth() === month - 1 && calendar.getUTCDate() === day &&
      calendar.getUTCHours() === hour && calendar.getUTCMinutes() === minute && calendar.getUTCSeconds() === second;
    if (exists) return new Date(match[8] ? match[0] : `${match[0]}Z`).toISOString();
  }
  throw new InvalidFilterError(`The value for "${attrPath}" must be a date-time such as "2024-05-13T04:42:34Z", not ${JSON.stringify(text)}`);
}

/** The attribute a path names, and the complex attribute it passes through (`name` for `name.givenName`). */
function resolve(scimPath: string, schema: FilterSchema): { attribute: FilterAttribute; container?: FilterAttribute } {
  const { attributes, rest } = withoutSchemaUrn(scimPath, schema);
  const [name, subName, ...deeper] = rest.split(".");
  const attribute = findByName(attributes, name);
  if (!attribute || deeper.length > 0) throw unknownAttribute(scimPath);
  if (subName === undefined) return { attribute };
  return { attribute: subAttribute(attribute, subName, scimPath), container: attribute };
}

/**
 * RFC 7644 §3.10: an attribute may be qualified with its schema URN; extension attributes must be.
 * URNs contain dots ("2.0"), so they are matched as known prefixes, not split on separators.
 */
function withoutSchemaUrn(scimPath: string, schema: FilterSchema): { attributes: FilterAttribute[]; rest: string } {
  if (!scimPath.toLowerCase().startsWith("urn:")) return { attributes: schema.attributes, rest: scimPath };
  const namespaces = [...schema.extensions, ...(schema.urn ? [{ urn: schema.urn, attributes: schema.attributes }] : [])];
  const namespace = namespaces
    .sort((a, b) => b.urn.length - a.urn.length)
    .find((n) => scimPath.toLowerCase().startsWith(`${n.urn.toLowerCase()}:`));
  if (!namespace) throw new InvalidFilterError(`Unknown schema in attribute "${scimPath}"`);
  return { attributes: namespace.attributes, rest: scimPath.slice(namespace.urn.length + 1) };
}

/** RFC 7643 §2.1: attribute names are case-insensitive. */
function findByName(attributes: readonly FilterAttribute[], name: string): FilterAttribute | undefined {
  return attributes.find((a) => a.name.toLowerCase() === name.toLowerCase());
}

function subAttribute(parent: FilterAttribute, name: string, scimPath: string): FilterAttribute {
  const found = findByName(parent.subAttributes ?? [], name);
  if (!found) throw unknownAttribute(scimPath);
  return found;
}

function valueOf(attribute: FilterAttribute, scimPath: string): FilterAttribute {
  if (!attribute.multiValued) throw new InvalidFilterError(`"${scimPath}" is a complex attribute; name one of its sub-attributes`);
  return subAttribute(attribute, "value", `${scimPath}.value`);
}

function filterablePath(attribute: FilterAttribute, scimPath: string): string {
  if (attribute.domainPath === "") throw new InvalidFilterError(`"${scimPath}" cannot be used in a filter or sort; only its sub-attributes can`);
  return attribute.domainPath;
}

function unknownAttribute(scimPath: string): InvalidFilterError {
  return new InvalidFilterError(`Unknown or unsupported attribute "${scimPath}"`);
}

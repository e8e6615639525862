import SCIMMY from "scimmy";
import { parse, type Filter } from "scim2-parse-filter";
import { checkFilterBounds, InvalidFilterError } from "./filter";

/**
 * PATCH `path` validation (RFC 7644 §3.5.2), before anything is read or applied:
 *
 *     PATH      = attrPath / valuePath [subAttr]
 *     attrPath  = [URI ":"] ATTRNAME *1subAttr
 *     valuePath = attrPath "[" valFilter "]"
 *     ATTRNAME  = ALPHA *(nameChar); nameChar = "-" / "_" / DIGIT / ALPHA; subAttr = "." ATTRNAME
 *
 * plus a schema extension's URN on its own (the extension as one complex attribute, which
 * Microsoft's and scim2-tester's clients send). scimmy is lenient here: `name..givenName` changed
 * `name.givenName`, and `meta.created` was accepted although it is readOnly. A malformed or
 * unknown path answers 400 invalidPath, a path to a readOnly attribute 400 mutability (§3.5.2,
 * §3.12); a value filter beyond the filter limits 400 invalidFilter.
 */

type Attribute = SCIMMY.Types.Attribute;
type Definition = SCIMMY.Types.SchemaDefinition;

export type PatchTarget =
  /** The extension URN itself: the extension's attributes as one complex value. */
  | { kind: "extension"; urn: string }
  | { kind: "attribute"; urn: string; attribute: string; subAttribute?: string; filtered: boolean };

const attrName = "[A-Za-z][\\w-]*";
const attrPath = new RegExp(`^(${attrName})(?:\\.(${attrName}))?$`);
const valuePath = new RegExp(`^(${attrName})\\[(.*)\\](?:\\.(${attrName}))?$`, "s");

function invalidPath(index: number, path: string, why: string) {
  return new SCIMMY.Types.Error(400, "invalidPath", `Operation ${index}: path ${JSON.stringify(path)} ${why}`);
}

function namespaces(definition: Definition): { urn: string; attributes: Attribute[]; extension: boolean }[] {
  const core: Attribute[] = [];
  const extensions: { urn: string; attributes: Attribute[]; extension: boolean }[] = [];
  for (const entry of definition.attributes as (Attribute | Definition)[]) {
    if (entry instanceof SCIMMY.Types.SchemaDefinition) {
      // scimmy gives every definition the common attributes; in an extension they are not its own.
      const own = (entry.attributes as Attribute[]).filter((a) => !["schemas", "id", "externalId", "meta"].includes(a.name));
      extensions.push({ urn: entry.id, attributes: own, extension: true });
    } else {
      core.push(entry);
    }
  }
  return [{ urn: definition.id, attributes: core, extension: false }, ...extensions].sort((a, b) => b.urn.length - a.urn.length);
}

function named(attributes: readonly Attribute[] | undefined, name: string): Attribute | undefined {
  return attributes?.find((a) => a.name.toLowerCase() === name.toLowerCase());
}

/** scimmy spells RFC 7643 §7 mutability "readOnly" as `mutable: false`. */
function readOnly(attribute: Attribute): boolean {
  const mutable = attribute.config.mutable as unknown;
  return mutable === false || mutable === "readOnly";
}

/** Checks one operation's path against the grammar and the resource's schema (with its extensions). */
export function checkPatchPath(path: string, definition: Definition, index: number): PatchTarget {
  const trimmed = path.trim();
  let urn = definition.id;
  let attributes: Attribute[] | undefined;
  let rest = trimmed;
  if (/^urn:/i.test(trimmed)) {
    const lower = trimmed.toLowerCase();
    const namespace = namespaces(definition).find((n) => lower === n.urn.toLowerCase() || lower.startsWith(`${n.urn.toLowerCase()}:`));
    if (!namespace) throw invalidPath(index, path, "names a schema this resource does not have");
    if (lower === namespace.urn.toLowerCase()) {
      if (!namespace.extension) throw invalidPath(index, path, "names the core schema; name an attribute, or leave path out");
      return { kind: "extension", urn: namespace.urn };
    }
    urn = namespace.urn;
    attributes = namespace.attributes;
    rest = trimmed.slice(namespace.urn.length + 1);
  } else {
    attributes = namespaces(definition).find((n) => !n.extension)?.attributes;
  }

  const plain = attrPath.exec(rest);
  const filtered = plain ? undefined : valuePath.exec(rest);
  if (!plain && !filtered) throw invalidPath(index, path, 'is not an attribute path (RFC 7644 §3.5.2: attribute, attribute.subAttribute or attribute[filter].subAttribute)');
  const [, name, second, third] = (plain ?? filtered)!;
  const subName = plain ? second : third;
  const attribute = named(attributes, name);
  if (!attribute) throw invalidPath(index, path, `names no attribute of ${urn}`);

  if (filtered) {
    if (attribute.type !== "complex" || !attribute.config.multiValued) {
      throw invalidPath(index, path, `filters "${attribute.name}", which is not a multi-valued complex attribute`);
    }
    checkValueFilter(second, attribute, path, index);
  }
  let subAttribute: Attribute | undefined;
  if (subName !== undefined) {
    if (attribute.type !== "complex") throw invalidPath(index, path, `names a sub-attribute of "${attribute.name}", which has none`);
    subAttribute = named(attribute.subAttributes, subName);
    if (!subAttribute) throw invalidPath(index, path, `names no sub-attribute of "${attribute.name}"`);
  }
  const target = subAttribute ?? attribute;
  if (readOnly(attribute) || readOnly(target)) {
    throw new SCIMMY.Types.Error(400, "mutability", `Operation ${index}: "${trimmed}" is readOnly (RFC 7643 §7) and cannot be changed`);
  }
  return { kind: "attribute", urn, attribute: attribute.name, ...(subAttribute ? { subAttribute: subAttribute.name } : {}), filtered: Boolean(filtered) };
}

/** The filter inside `attribute[…]`: bounded, well-formed, and naming only sub-attributes of `attribute`. */
function checkValueFilter(expression: string, attribute: Attribute, path: string, index: number): void {
  try {
    checkFilterBounds(expression, "path filter");
  } catch (error) {
    if (error instanceof InvalidFilterError) throw new SCIMMY.Types.Error(400, "invalidFilter", `Operation ${index}: ${error.message}`);
    throw error;
  }
  let tree: Filter;
  try {
    if (!expression.trim()) throw new Error("the filter is empty");
    tree = parse(expression);
  } catch (error) {
    throw invalidPath(index, path, `has a malformed filter: ${error instanceof Error ? error.message : String(error)}`);
  }
  const check = (node: Filter): void => {
    switch (node.op) {
      case "and":
      case "or":
        node.filters.forEach(check);
        return;
      case "not":
        if (node.filter === undefined) throw invalidPath(index, path, 'has a malformed filter: "not" must precede a parenthesised filter');
        check(node.filter);
        return;
      case "[]":
        throw invalidPath(index, path, "nests a value filter inside a value filter");
      default:
        if (!named(attribute.subAttributes, node.attrPath)) throw invalidPath(index, path, `filters on "${node.attrPath}", which is no sub-attribute of "${attribute.name}"`);
    }
  };
  check(tree);
}

import SCIMMY from "scimmy";
import { coreUserSchema, enterpriseUserSchema } from "./user-mapping";

/**
 * Identity-provider quirks, normalised in this one place before scimmy validates anything
 * (../shared/fixtures/README.md, ../shared/SCIMMY.md §6). Each rule names the provider that needs it.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const booleanAttributes = new Set(["active", "primary"]);
const managerPath = `${enterpriseUserSchema}:manager`.toLowerCase();

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Entra's default mode sends booleans as strings: "True", "False". */
function booleanFromString(value: Json): Json {
  if (typeof value === "string" && /^(true|false)$/i.test(value)) return value.toLowerCase() === "true";
  return value;
}

/** Walks a value and turns string booleans of `active` and `primary` into booleans (Entra). */
function coerceBooleans(value: Json): Json {
  if (Array.isArray(value)) return value.map(coerceBooleans);
  if (!isObject(value)) return value;
  const out: JsonObject = {};
  for (const [key, item] of Object.entries(value)) {
    out[key] = booleanAttributes.has(key.toLowerCase()) ? booleanFromString(item) : coerceBooleans(item);
  }
  return out;
}

/** Entra sends the enterprise manager as a bare id string instead of `{ "value": id }`. */
function managerObject(value: Json): Json {
  return typeof value === "string" ? (value ? { value } : null) : value;
}

/**
 * A User resource on its way in (POST, PUT, Bulk, or a PATCH result):
 * - `password` (Okta sends one) is dropped here: never stored, returned or logged;
 * - `groups` is read-only and computed (RFC 7643 §4.1.2); Okta sends `groups: []` on create;
 * - Entra's string booleans and bare-string manager are made well-typed.
 */
export function normalizeIncomingUser(resource: unknown): unknown {
  if (!isObject(resource)) return resource;
  const out = coerceBooleans(resource) as JsonObject;
  for (const key of Object.keys(out)) {
    const lower = key.toLowerCase();
    if (lower === "password" || lower === "groups") delete out[key];
    if (lower === enterpriseUserSchema.toLowerCase() && isObject(out[key])) {
      const extension = { ...(out[key] as JsonObject) };
      for (const attribute of Object.keys(extension)) {
        if (attribute.toLowerCase() === "manager") extension[attribute] = managerObject(extension[attribute]);
      }
      out[key] = extension;
    }
    if (lower === managerPath) out[key] = managerObject(out[key]);
  }
  return out;
}

export interface PatchOperation {
  op: string;
  path?: string;
  value?: Json;
}

const valuePathWithSubAttribute = /^([A-Za-z][\w-]*)\[\s*type\s+eq\s+"([^"]*)"\s*\]\.([A-Za-z][\w-]*)$/i;

/**
 * A PatchOp body before scimmy applies it to a user (RFC 7644 §3.5.2):
 * - op names case-insensitively (Entra sends "Replace", "Add", "Remove");
 * - string booleans in values and `password` operations (Okta) as above;
 * - Entra's bare-string manager on `…:enterprise:2.0:User:manager`;
 * - Entra's `emails[type eq "work"].value` add/replace when no such e-mail exists yet creates it
 *   (RFC 7644 §3.5.2.1 "add" semantics), which scimmy would otherwise answer with 400 noTarget.
 * `current` is the resource as it is now.
 */
export function normalizeUserPatch(operations: PatchOperation[], current: Record<string, unknown>): PatchOperation[] {
  const result: PatchOperation[] = [];
  const queue = [...operations];
  while (queue.length) {
    const operation = queue.shift()!;
    const op = typeof operation.op === "string" ? operation.op.toLowerCase() : operation.op;
    // RFC 7644 §3.10 lets a path carry the core schema's URN; scimmy knows only the short form.
    const path = typeof operation.path === "string" ? withoutCoreUrn(operation.path.trim()) : operation.path;
    let value = operation.value === undefined ? undefined : coerceBooleans(operation.value);

    if (typeof path === "string") {
      const lower = path.toLowerCase();
      if (lower === "password") continue;
      if (lower === enterpriseUserSchema.toLowerCase()) {
        queue.unshift(...extensionOperations(op, value, current));
        continue;
      }
      if (booleanAttributes.has(lower) && value !== undefined) value = booleanFromString(value);
      if (lower === managerPath && value !== undefined) value = managerObject(value);
      const filtered = valuePathWithSubAttribute.exec(path);
      if (filtered && (op === "add" || op === "replace") && value !== undefined) {
        const [, attribute, type, subAttribute] = filtered;
        const items = current[attribute] ?? current[Object.keys(current).find((k) => k.toLowerCase() === attribute.toLowerCase()) ?? ""];
        const exists = Array.isArray(items) && items.some((item) => isObject(item) && String(item.type).toLowerCase() === type.toLowerCase());
        if (!exists) {
          result.push({ op: "add", path: attribute, value: [{ type, [subAttribute]: value }] });
          continue;
        }
      }
    } else if (isObject(value)) {
      const withoutPassword = normalizeIncomingUser(value) as JsonObject;
      value = withoutPassword;
    }
    result.push({ ...operation, op, ...(path !== undefined ? { path } : {}), ...(value !== undefined ? { value } : {}) });
  }
  return result;
}

/**
 * A path that is the enterprise extension's URN addresses the extension as one complex attribute
 * (Microsoft's clients and scim2-tester send it; scimmy fails on it with its own internals). Per
 * RFC 7644 §3.5.2.1 and §3.5.2.3, add and replace of a complex attribute set the sub-attributes
 * given and leave the others; remove without a value removes every one (§3.5.2.2). So it becomes
 * one operation per attribute, each then normalised like any other.
 */
function extensionOperations(op: string, value: Json | undefined, current: Record<string, unknown>): PatchOperation[] {
  if (op === "remove") {
    const present = current[enterpriseUserSchema];
    return isObject(present) ? Object.keys(present).map((attribute) => ({ op, path: `${enterpriseUserSchema}:${attribute}` })) : [];
  }
  if (!isObject(value)) {
    throw new SCIMMY.Types.Error(400, "invalidValue", `${op} on "${enterpriseUserSchema}" needs an object of its attributes as value`);
  }
  // `schemas` inside the value (scim2-tester sends it) is no attribute of the extension: the
  // resource's `schemas` follows from what it holds.
  return Object.entries(value)
    .filter(([attribute]) => attribute.toLowerCase() !== "schemas")
    .map(([attribute, item]) => ({ op, path: `${enterpriseUserSchema}:${attribute}`, value: item }));
}

/**
 * The value of a PATCH that is exactly one `replace` of `active` by a boolean (Entra's and Okta's
 * deactivation and reactivation: `{"op": "Replace", "path": "active", "value": "False"}`, any case,
 * the path with or without the core schema's URN, the boolean as a string or not); undefined for
 * anything else. RFC 7644 §3.5.2.3: replacing a singular attribute sets it — the resource with that
 * one attribute changed, which is what applying the operation gives.
 */
export function activeReplacement(operations: unknown): boolean | undefined {
  if (!Array.isArray(operations) || operations.length !== 1) return undefined;
  const [operation] = operations as unknown[];
  if (!isObject(operation)) return undefined;
  const { op, path, value } = operation;
  if (typeof op !== "string" || op.toLowerCase() !== "replace" || typeof path !== "string") return undefined;
  if (withoutCoreUrn(path.trim()).toLowerCase() !== "active" || value === undefined) return undefined;
  const active = booleanFromString(value);
  return typeof active === "boolean" ? active : undefined;
}

function withoutCoreUrn(path: string): string {
  return path.toLowerCase().startsWith(`${coreUserSchema.toLowerCase()}:`) ? path.slice(coreUserSchema.length + 1) : path;
}

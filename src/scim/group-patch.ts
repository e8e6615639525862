import SCIMMY from "scimmy";
import { emptyGroupChange, type GroupChange } from "../domain/group";
import { coreGroupSchema } from "./group-mapping";
import { checkPatchPath } from "./patch-path";

/**
 * PATCH on a group, read as a delta (RFC 7644 §3.5.2). scimmy's PatchOp would read the whole group,
 * apply the operations in memory and rewrite every member (../shared/SCIMMY.md §4); here the
 * operations become a GroupChange that touches only the members they name. Covers what identity
 * providers send: Okta's `members[value eq "…"]` removal, Entra's `path: "members"` removal with
 * a `value` array, path-less replace carrying displayName/externalId/members, capitalised ops.
 */

interface Operation {
  op: string;
  path?: string;
  value?: unknown;
}

const memberFilterPath = /^members\s*\[\s*value\s+eq\s+"((?:[^"\\]|\\.)*)"\s*\]$/i;

function error(scimType: string, message: string) {
  return new SCIMMY.Types.Error(400, scimType, message);
}

/** Member ids from a members value: an array of `{value}` (or one), refusing nested groups. */
function memberIds(value: unknown, index: number): string[] {
  const items = Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
  return items.map((item) => {
    if (typeof item !== "object" || item === null || typeof (item as { value?: unknown }).value !== "string" || !(item as { value: string }).value) {
      throw error("invalidValue", `Operation ${index}: each member needs a "value" with the user's id`);
    }
    if (String((item as { type?: unknown }).type ?? "User").toLowerCase() === "group") {
      throw error("invalidValue", `Operation ${index}: nested groups are not supported; members must be users`);
    }
    return (item as { value: string }).value;
  });
}

function add(change: GroupChange, ids: string[]) {
  for (const id of ids) {
    change.addMembers.add(id);
    change.removeMembers.delete(id);
  }
}

function remove(change: GroupChange, ids: string[]) {
  for (const id of ids) {
    change.removeMembers.add(id);
    change.addMembers.delete(id);
  }
}

function replaceAll(change: GroupChange, ids: string[]) {
  change.replaceMembers = new Set(ids);
  change.addMembers.clear();
  change.removeMembers.clear();
}

function stringOrNull(value: unknown, attribute: string, index: number): string | null {
  if (value === null || value === "") return null;
  if (typeof value !== "string") throw error("invalidValue", `Operation ${index}: ${attribute} must be a string`);
  return value;
}

/** Validates a PatchOp message with scimmy and turns its operations into one GroupChange. */
export function groupChangeFromPatch(message: unknown, groupId: string): GroupChange {
  const operations = (message as { Operations?: unknown } | null)?.Operations;
  // Microsoft's SCIM validator sends an empty Operations list: a no-op rather than scimmy's 400.
  if (Array.isArray(operations) && operations.length === 0) return emptyGroupChange();
  const patch = new SCIMMY.Messages.PatchOp(message as never) as unknown as { Operations: Operation[] };
  const change = emptyGroupChange();
  patch.Operations.forEach((operation, i) => {
    const index = i + 1;
    const op = String(operation.op).toLowerCase();
    const rawPath = typeof operation.path === "string" ? operation.path.trim() : undefined;
    if (rawPath) checkPatchPath(rawPath, SCIMMY.Schemas.Group.definition, index);
    const path = rawPath?.replace(new RegExp(`^${coreGroupSchema.replace(/[.]/g, "\\.")}:`, "i"), "");
    const value = operation.value;

    if (path === undefined || path === "") {
      if (op === "remove") throw error("noTarget", `Operation ${index}: remove needs a path`);
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        throw error("invalidSyntax", `Operation ${index}: a path-less ${op} needs an object value`);
      }
      for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
        switch (key.toLowerCase()) {
          case "displayname":
            if (typeof item !== "string") throw error("invalidValue", `Operation ${index}: displayName must be a string`);
            change.displayName = item;
            break;
          case "externalid":
            change.externalId = stringOrNull(item, "externalId", index);
            break;
          case "members":
            if (op === "replace") replaceAll(change, memberIds(item, index));
            else add(change, memberIds(item, index));
            break;
          case "id":
            if (item !== groupId) throw error("mutability", `Operation ${index}: id cannot be changed`);
            break;
          case "schemas":
          case "meta":
            break;
          default:
            throw error("invalidPath", `Operation ${index}: unknown attribute "${key}"`);
        }
      }
      return;
    }

    const lower = path.toLowerCase();
    const memberFilter = memberFilterPath.exec(path);
    if (lower === "members") {
      if (op === "add") add(change, memberIds(value, index));
      else if (op === "replace") replaceAll(change, memberIds(value, index));
      else if (value === undefined || value === null) replaceAll(change, []);
      else remove(change, memberIds(value, index));
    } else if (memberFilter) {
      if (op !== "remove") throw error("invalidPath", `Operation ${index}: only remove can target a member by filter`);
      remove(change, [JSON.parse(`"${memberFilter[1]}"`) as string]);
    } else if (lower === "displayname") {
      if (op === "remove") throw error("invalidValue", `Operation ${index}: displayName is required and cannot be removed`);
      if (typeof value !== "string") throw error("invalidValue", `Operation ${index}: displayName must be a string`);
      change.displayName = value;
    } else if (lower === "externalid") {
      change.externalId = op === "remove" ? null : stringOrNull(value, "externalId", index);
    } else {
      throw error("invalidPath", `Operation ${index}: "${path}" is not a path Gatehouse can change on a group`);
    }
  });
  return change;
}

import type { Group, GroupMember } from "../domain/group";
import { etagOf } from "./user-mapping";

export const coreGroupSchema = "urn:ietf:params:scim:schemas:core:2.0:Group";

type ScimObject = Record<string, unknown>;

/**
 * A group as a SCIM Group resource (RFC 7643 §4.2); `members` only when they were loaded, and an
 * empty member list is left out (RFC 7643 §2.5: empty and unassigned are the same state).
 */
export function groupToScim(group: Group, baseUrl: string, members?: GroupMember[]): ScimObject {
  const resource: ScimObject = { schemas: [coreGroupSchema], id: group.id };
  if (group.externalId !== undefined) resource.externalId = group.externalId;
  resource.displayName = group.displayName;
  if (members?.length) {
    resource.members = members.map((m) => ({
      value: m.userId,
      ...(m.display !== undefined ? { display: m.display } : {}),
      $ref: `${baseUrl}/Users/${m.userId}`,
      type: "User",
    }));
  }
  resource.meta = {
    resourceType: "Group",
    created: group.created.toISOString(),
    lastModified: group.lastModified.toISOString(),
    location: `${baseUrl}/Groups/${group.id}`,
    version: etagOf(group.version),
  };
  return resource;
}

/** A user's `groups` attribute (RFC 7643 §4.1.2): read-only, direct memberships. */
export function userGroupsToScim(groups: Group[], baseUrl: string): ScimObject[] {
  return groups.map((g) => ({ value: g.id, display: g.displayName, $ref: `${baseUrl}/Groups/${g.id}`, type: "direct" }));
}

import type { ProfileInput, User } from "../domain/user";

export const coreUserSchema = "urn:ietf:params:scim:schemas:core:2.0:User";
export const enterpriseUserSchema = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

const simpleAttributes = [
  "externalId", "displayName", "nickName", "profileUrl", "title", "userType", "preferredLanguage", "locale", "timezone",
] as const;
const multiValuedAttributes = ["emails", "phoneNumbers", "ims", "photos", "addresses", "entitlements", "roles", "x509Certificates"] as const;

type ScimObject = Record<string, unknown>;

/** Drops undefined, null and empty values, so "absent" has one spelling in storage. */
function compact<T>(value: T): T | undefined {
  if (value === null || value === undefined || value === "") return undefined;
  if (Array.isArray(value)) {
    const items = value.map(compact).filter((v) => v !== undefined);
    return (items.length ? items : undefined) as T | undefined;
  }
  if (typeof value === "object" && !(value instanceof Date)) {
    const entries = Object.entries(value as ScimObject)
      .map(([k, v]) => [k, compact(v)] as const)
      .filter(([, v]) => v !== undefined);
    return (entries.length ? Object.fromEntries(entries) : undefined) as T | undefined;
  }
  return value;
}

/** A SCIM User resource, as validated by scimmy, into the domain's profile (RFC 7643 §4.1, §4.3). */
export function profileFromScim(resource: ScimObject): ProfileInput {
  const profile: Record<string, unknown> = {
    userName: resource.userName,
  };
  // Absent `active` is decided by the use-case: active on create, unchanged on replace.
  if (resource.active !== undefined && resource.active !== null) profile.active = resource.active;
  for (const attribute of simpleAttributes) {
    const value = compact(resource[attribute]);
    if (value !== undefined) profile[attribute] = value;
  }
  const name = compact(resource.name);
  if (name !== undefined) profile.name = name;
  for (const attribute of multiValuedAttributes) {
    const value = compact(resource[attribute]);
    if (value !== undefined) profile[attribute] = value;
  }
  const enterprise = compact(resource[enterpriseUserSchema] as ScimObject | undefined);
  if (enterprise !== undefined) {
    const { manager, ...rest } = enterprise as ScimObject & { manager?: ScimObject };
    const managerValue = manager && compact({ value: manager.value, displayName: manager.displayName });
    profile.enterprise = { ...rest, ...(managerValue ? { manager: managerValue } : {}) };
  }
  return profile as unknown as ProfileInput;
}

/**
 * The domain user as a SCIM User resource; `baseUrl` is the absolute SCIM base (…/scim/v2) and
 * `groups` the user's read-only `groups` attribute, when it was loaded.
 */
export function userToScim(user: User, baseUrl: string, groups?: ScimObject[]): ScimObject {
  const resource: ScimObject = { schemas: [coreUserSchema], id: user.id };
  if (user.externalId !== undefined) resource.externalId = user.externalId;
  resource.userName = user.userName;
  if (user.name) resource.name = user.name;
  for (const attribute of simpleAttributes) {
    if (attribute !== "externalId" && user[attribute] !== undefined) resource[attribute] = user[attribute];
  }
  // After a PATCH remove of `active` the user is inactive and the attribute is unassigned.
  if (!user.activeRemoved) resource.active = user.active;
  for (const attribute of multiValuedAttributes) {
    if (user[attribute] !== undefined) resource[attribute] = user[attribute];
  }
  if (groups?.length) resource.groups = groups;
  if (user.enterprise) {
    const { manager, ...rest } = user.enterprise;
    resource.schemas = [coreUserSchema, enterpriseUserSchema];
    resource[enterpriseUserSchema] = {
      ...rest,
      ...(manager?.value ? { manager: { ...manager, $ref: `${baseUrl}/Users/${manager.value}` } } : {}),
    };
  }
  resource.meta = {
    resourceType: "User",
    created: user.created.toISOString(),
    lastModified: user.lastModified.toISOString(),
    location: `${baseUrl}/Users/${user.id}`,
    version: etagOf(user.version),
  };
  return resource;
}

/**
 * The entity tag and location of a presented resource, kept beside its JSON (not in it) so the
 * ETag and Location headers survive `attributes` that leave `meta` out of the body.
 */
const headersOfResources = new WeakMap<object, { etag?: string; location?: string }>();

/** Remembers a presented resource's ETag and location (scimmy's instances cannot be extended). */
export function withResourceHeaders<T extends object>(instance: T, resource: Record<string, unknown>): T {
  const meta = resource.meta as { version?: string; location?: string } | undefined;
  headersOfResources.set(instance, { etag: meta?.version, location: meta?.location });
  return instance;
}

export function resourceHeaders(instance: unknown): { etag?: string; location?: string } | undefined {
  return typeof instance === "object" && instance !== null ? headersOfResources.get(instance) : undefined;
}

/** Weak entity tag of a resource version (RFC 7644 §3.14, RFC 7232 §2.3). */
export function etagOf(version: number): string {
  return `W/"${version}"`;
}

/** The version an If-Match / If-None-Match entity tag names, or undefined for one we never issued. */
export function versionFromEtag(tag: string): number | undefined {
  const match = /^(?:W\/)?"(\d+)"$/.exec(tag.trim());
  return match ? Number(match[1]) : undefined;
}

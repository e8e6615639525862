import type { OffboardingHold } from "./offboarding";

/**
 * A person in an organization, as the identity provider describes them. Attribute names follow
 * RFC 7643 §4.1 because that is the vocabulary identity administrators already use; the enterprise
 * extension (§4.3) lives under `enterprise`.
 */
export interface MultiValue {
  value?: string;
  display?: string;
  type?: string;
  primary?: boolean;
}

export interface Address {
  formatted?: string;
  streetAddress?: string;
  locality?: string;
  region?: string;
  postalCode?: string;
  country?: string;
  type?: string;
  primary?: boolean;
}

export interface PersonName {
  formatted?: string;
  familyName?: string;
  givenName?: string;
  middleName?: string;
  honorificPrefix?: string;
  honorificSuffix?: string;
}

export interface EnterpriseProfile {
  employeeNumber?: string;
  costCenter?: string;
  organization?: string;
  division?: string;
  department?: string;
  manager?: { value?: string; displayName?: string };
}

/** Everything about a user that the identity provider owns and may change. */
export interface UserProfile {
  userName: string;
  externalId?: string;
  active: boolean;
  /**
   * The identity provider removed `active` (a SCIM PATCH `remove`, RFC 7644 §3.5.2.2): the user
   * has no `active` value, which Gatehouse treats as inactive (`active` is false here).
   */
  activeRemoved?: true;
  name?: PersonName;
  displayName?: string;
  nickName?: string;
  profileUrl?: string;
  title?: string;
  userType?: string;
  preferredLanguage?: string;
  locale?: string;
  timezone?: string;
  emails?: MultiValue[];
  phoneNumbers?: MultiValue[];
  ims?: MultiValue[];
  photos?: MultiValue[];
  addresses?: Address[];
  entitlements?: MultiValue[];
  roles?: MultiValue[];
  x509Certificates?: MultiValue[];
  enterprise?: EnterpriseProfile;
}

/**
 * A profile as a provider sends it: `active` may be left out (keep it as it is), or null when
 * the provider removed it (the user becomes inactive, see UserProfile.activeRemoved).
 */
export type ProfileInput = Omit<UserProfile, "active" | "activeRemoved"> & { active?: boolean | null };

/**
 * The `active` state a replacement leads to, given the state before. (On creation there is
 * nothing to remove: a missing or null `active` means active, RFC 7643 §4.1.1.)
 */
export function resolveActive(input: ProfileInput, before: Pick<UserProfile, "active" | "activeRemoved">): Pick<UserProfile, "active" | "activeRemoved"> {
  if (input.active === null) return { active: false, activeRemoved: true };
  if (input.active !== undefined) return { active: input.active };
  return before.activeRemoved ? { active: before.active, activeRemoved: true } : { active: before.active };
}

/** Which system is the source of truth for a user: a local account or an identity provider. */
export type UserManagement = "local" | "scim" | "saml";

/** Access assigned in Gatehouse itself (local users), as opposed to through identity-provider groups. */
export interface LocalAccess {
  /** A role of the access catalog (domain/catalog.ts); the Owner's counts only for the Owner. */
  readonly role?: string;
  readonly projects?: readonly { readonly projectId: string; readonly role: string }[];
}

export interface TemporaryAccess {
  readonly id: string;
  /** A role of the access catalog other than the Owner's. */
  readonly organizationRole?: string;
  readonly projectId?: string;
  readonly projectRole?: string;
  readonly until: Date;
  readonly reason: string;
  readonly grantedBy: string;
  /** Set once the end of the grant has been written to the audit trail. */
  readonly endRecorded?: boolean;
}

/** Who suspended a member, when, and why (the member API's `suspended`). */
export interface Suspension {
  readonly since: Date;
  readonly by: { readonly type: string; readonly id: string; readonly name: string };
  readonly reason?: string;
}

/** Where a member stands, for the member list's `status` filter: deactivated wins over suspended. */
export type MemberStatus = "active" | "suspended" | "deactivated";

export function memberStatusOf(user: Pick<User, "active" | "suspended">): MemberStatus {
  return !user.active ? "deactivated" : user.suspended ? "suspended" : "active";
}

export interface User extends UserProfile {
  readonly id: string;
  readonly organizationId: string;
  readonly managedBy: UserManagement;
  /** For a managed user, the connection that manages them (e.g. the SCIM token's name), for messages. */
  readonly managedVia?: string;
  readonly localAccess?: LocalAccess;
  /** A local overlay for security incidents: denied everywhere, whatever the identity provider says. */
  readonly suspended?: boolean;
  /**
   * Set when the suspension is HR's offboarding hold (domain/offboarding.ts): which offboarding,
   * and a conflict when the identity provider reactivated the member since. Written with the
   * suspension; cleared when an administrator lifts it.
   */
  readonly offboarding?: OffboardingHold;
  /** With `suspended`: since when, by whom, why (absent for suspensions recorded before it was kept). */
  readonly suspension?: Suspension;
  /** Higher access for a while, with a reason; it ends by itself at `until` (checked on evaluation). */
  readonly temporaryGrants?: readonly TemporaryAccess[];
  readonly created: Date;
  readonly lastModified: Date;
  /** Increases with every change; the SCIM ETag is derived from it (RFC 7644 §3.14). */
  readonly version: number;
  /**
   * Groups the identity provider made this user a direct member of. Read-only here: maintained by
   * group membership changes. May name a group deleted a moment ago until its sweep has run;
   * readers keep only groups that exist.
   */
  readonly groupIds: readonly string[];
  /**
   * Sessions are valid only while they carry the user's current epoch. Deactivation, suspension
   * and "sign out everywhere" raise it in the same single-document write as the change itself, so
   * every session dies with that write, on every instance; reactivation does not lower it.
   */
  readonly sessionEpoch?: number;
  /** Groups named by the last SAML assertion (group sync for organizations without SCIM). */
  readonly samlGroups?: readonly string[];
  /** When the user last signed in (SAML). */
  readonly lastLogin?: Date;
}

/** The profile attributes a user has, in a stable order, for audit before/after snapshots. */
export function profileOf(user: User): UserProfile {
  const {
    id: _id,
    organizationId: _org,
    managedBy: _m,
    managedVia: _mv,
    localAccess: _la,
    suspended: _s,
    offboarding: _o,
    suspension: _su,
    temporaryGrants: _t,
    created: _c,
    lastModified: _l,
    version: _v,
    groupIds: _g,
    sessionEpoch: _e,
    samlGroups: _sg,
    lastLogin: _ll,
    ...profile
  } = user;
  return profile;
}

/** The user with a new profile: what Gatehouse keeps beside the profile (access, overlays) stays. */
export function withProfile(user: User, profile: UserProfile): User {
  const kept: Record<string, unknown> = { ...user };
  for (const attribute of Object.keys(profileOf(user))) delete kept[attribute];
  return { ...(kept as unknown as User), ...profile };
}

/** userName is case-insensitive (RFC 7643 §4.1.1 caseExact false): this is its comparison key. */
export function userNameKey(userName: string): string {
  return userName.normalize("NFC").toLowerCase();
}

import type { AccessSettings, GroupMapping } from "./access";
import { TEMPORARY_ACCESS_DEFAULT_DAYS } from "./temporary-access";

/** The tenant: every user, group, token and audit event belongs to exactly one organization. */
export interface Organization {
  readonly id: string;
  readonly name: string;
  readonly created: Date;
}

/** What a token is for: SCIM provisioning by an identity provider, or the product's back end. */
export type TokenPurpose = "scim" | "service" | "personal";

/**
 * A bearer token: an identity provider's for SCIM, or a service token the product's back end uses
 * for authorization answers. Only a hash of its secret is kept; the token itself is shown once.
 */
export interface ScimToken {
  readonly id: string;
  readonly organizationId: string;
  readonly purpose: TokenPurpose;
  /** For a personal API token: the user it acts as. */
  readonly userId?: string;
  readonly name: string;
  readonly secretHash: string;
  readonly created: Date;
  readonly lastUsed?: Date;
  readonly expires?: Date;
  readonly revoked?: Date;
  /** Service tokens: the scopes stored at issue (domain/token-scopes.ts); absent on older tokens. */
  readonly scopes?: readonly string[];
}

export interface Project {
  readonly id: string;
  readonly name: string;
  readonly created: Date;
}

/**
 * A role an organization adds on top of the access catalog's: organization-wide permissions of the
 * catalog, never more than its creator holds. Its name starts with `custom:` so that answers, the
 * audit trail and reviews show it is the organization's own.
 */
export interface CustomRole {
  readonly name: string;
  readonly description?: string;
  readonly permissions: Readonly<Record<string, "own" | "all">>;
  readonly created: Date;
  readonly createdBy: string;
}

/** An organization's access policy: everything besides the user that decides their access. */
export interface AccessPolicy {
  /** Roles the organization added to the catalog's. */
  readonly customRoles?: readonly CustomRole[];
  readonly ownerUserId?: string;
  readonly seatLimit?: number;
  readonly settings: AccessSettings;
  readonly projects: readonly Project[];
  readonly mappings: readonly (GroupMapping & { readonly created: Date })[];
  /** The SAML connection syncs groups from assertions: a member's asserted groups count as their groups. */
  readonly samlGroupSync?: boolean;
}

/** A new organization admits unmapped members as Read-Only, and Read-Only members do not comment. */
export const defaultAccessSettings: AccessSettings = {
  defaultRole: "read_only",
  readOnlyMayComment: false,
  requireMappingForAccess: false,
  temporaryAccessMaximumDays: TEMPORARY_ACCESS_DEFAULT_DAYS,
};

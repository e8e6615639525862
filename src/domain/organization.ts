/** The tenant: every user, group, token and audit event belongs to exactly one organization. */
export interface Organization {
  readonly id: string;
  readonly name: string;
  readonly created: Date;
}

/**
 * A bearer token an identity provider uses for SCIM. Only a hash of its secret is kept; the token
 * itself is shown once, when it is made.
 */
export interface ScimToken {
  readonly id: string;
  readonly organizationId: string;
  readonly name: string;
  readonly secretHash: string;
  readonly created: Date;
  readonly lastUsed?: Date;
  readonly expires?: Date;
  readonly revoked?: Date;
}

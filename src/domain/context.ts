/** Where a change came from; recorded with every audit event. */
export const CHANGE_SOURCES = ["scim", "saml", "admin", "cli", "system"] as const;
export type ChangeSource = (typeof CHANGE_SOURCES)[number];

/** Who made a change: an identity provider (its SCIM token or SAML connection), a person, or the operator at the CLI. */
export interface Actor {
  readonly type: "scim_token" | "saml_connection" | "user" | "operator" | "system";
  readonly id: string;
  readonly name: string;
}

/**
 * What every write carries: the organization it happens in, who does it, through which channel,
 * and the request that caused it, so the audit event needs no extra work at each call site.
 */
export interface RequestContext {
  readonly organizationId: string;
  readonly actor: Actor;
  readonly source: ChangeSource;
  readonly requestId: string;
}

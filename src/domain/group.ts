/**
 * A group as the identity provider pushes it (RFC 7643 §4.2). Its members are users of the same
 * organization; nested groups are not provisioned by Okta or Entra ID and are refused.
 */
export interface Group {
  readonly id: string;
  readonly organizationId: string;
  readonly displayName: string;
  readonly externalId?: string;
  readonly created: Date;
  readonly lastModified: Date;
  readonly version: number;
}

export interface GroupMember {
  readonly userId: string;
  readonly display?: string;
}

/** displayName is case-insensitive for uniqueness within an organization. */
export function displayNameKey(displayName: string): string {
  return displayName.normalize("NFC").toLowerCase();
}

/**
 * What one PATCH or PUT does to a group, worked out before anything is written so that all of it
 * is validated together (RFC 7644 §3.5.2: a PATCH is applied whole or not at all).
 */
export interface GroupChange {
  displayName?: string;
  /** null removes it. */
  externalId?: string | null;
  /** Members to add, after `replaceMembers` when both are given. */
  addMembers: Set<string>;
  removeMembers: Set<string>;
  /** The complete new member list (replace of `members`); applied as a difference. */
  replaceMembers?: Set<string>;
}

export function emptyGroupChange(): GroupChange {
  return { addMembers: new Set(), removeMembers: new Set() };
}

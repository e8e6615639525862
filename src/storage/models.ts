import { Schema, type Connection } from "mongoose";

/**
 * Every mongoose model, in one place. Documents are read with lean() and mapped to domain types by
 * the repositories; nothing outside storage/ sees a mongoose document.
 *
 * Keys that would contain "." or start with "$" (SCIM URNs, "$ref") never reach storage: the
 * enterprise extension is stored under `enterprise` (../shared/MONGODB.md).
 *
 * `typeKey: "$type"` lets SCIM's own "type" sub-attribute be an ordinary field name.
 */
const options = { typeKey: "$type", versionKey: false, strict: "throw" } as const;

/**
 * An organization and its access policy: its projects, group mappings and settings are bounded in
 * number (tens to hundreds), so they live in the organization document and one `_id` read gives
 * everything an authorization answer needs besides the user and their groups.
 */
export interface OrganizationDocument {
  _id: string;
  outbox?: AuditEventDocument[];
  name: string;
  createdAt: Date;
  ownerUserId?: string;
  samlConnection?: Record<string, unknown>;
  /** Most active users the organization may have; absent means no limit. */
  seatLimit?: number;
  accessSettings?: { defaultRole: "user" | "read_only" | "none"; readOnlyMayComment: boolean; requireMappingForAccess: boolean };
  projects?: { id: string; name: string; created: Date }[];
  mappings?: {
    id: string;
    match: { kind: "group_id" | "external_id" | "display_name" | "app_role"; value: string };
    organizationRole?: "admin" | "user" | "read_only";
    projects?: { projectId: string; role: "editor" | "viewer" }[];
    created: Date;
  }[];
}

export interface ScimTokenDocument {
  _id: string;
  outbox?: AuditEventDocument[];
  organizationId: string;
  /** "scim" for identity providers, "service" for the product's back end (authorization answers). */
  purpose?: "scim" | "service" | "personal";
  userId?: string;
  name: string;
  /** SHA-256 of the token's secret part: tokens are verifiers, never stored in the clear. */
  secretHash: string;
  createdAt: Date;
  lastUsedAt?: Date;
  expiresAt?: Date;
  revokedAt?: Date;
}

export const profileAttributes = [
  "name", "displayName", "nickName", "profileUrl", "title", "userType", "preferredLanguage", "locale",
  "timezone", "emails", "phoneNumbers", "ims", "photos", "addresses", "entitlements", "roles",
  "x509Certificates", "enterprise", "activeRemoved",
] as const;

/**
 * Field names are the domain's attribute names (RFC 7643 §4.1), so a filter's attribute path is a
 * field path; only `id` (`_id`) and the lower-cased copy of userName differ.
 */
export interface UserDocument {
  _id: string;
  organizationId: string;
  userName: string;
  /** Case-insensitive comparisons (RFC 7643 §4.1.1 caseExact false) without collation. */
  userNameLower: string;
  externalId?: string;
  active: boolean;
  managedBy: "local" | "scim" | "saml";
  managedVia?: string;
  localAccess?: { role?: "owner" | "admin" | "user" | "read_only"; projects?: { projectId: string; role: "editor" | "viewer" }[] };
  suspended?: boolean;
  temporaryGrants?: {
    id: string;
    organizationRole?: "admin" | "user" | "read_only";
    projectId?: string;
    projectRole?: "editor" | "viewer";
    until: Date;
    reason: string;
    grantedBy: string;
    endRecorded?: boolean;
  }[];
  created: Date;
  lastModified: Date;
  version: number;
  /**
   * Ids of the groups the user is a direct member of. Membership lives here, on the member: a
   * one-member change is one $addToSet/$pull on one document addressed by _id, and no document
   * grows with the size of a group (a user is in tens of groups; a group may have 500,000 members).
   */
  groups?: string[];
  sessionEpoch?: number;
  samlGroups?: string[];
  lastLogin?: Date;
  /** Audit events of this user's changes on their way to the trail (storage/outbox.ts). */
  outbox?: AuditEventDocument[];
  /** Set while the user's deletion completes: readers treat the user as gone. */
  deletedAt?: Date;
  [attribute: string]: unknown;
}

export interface GroupDocument {
  _id: string;
  organizationId: string;
  displayName: string;
  displayNameLower: string;
  externalId?: string;
  created: Date;
  lastModified: Date;
  version: number;
  outbox?: AuditEventDocument[];
  deletedAt?: Date;
}

/** A deleted group whose memberships are still to be cleared from its former members. */
export interface GroupSweepDocument {
  _id: string;
  organizationId: string;
  requested: Date;
}

/**
 * A key document makes a lookup or a uniqueness rule an `_id` operation: FerretDB's SQLite backend
 * answers only `{_id: …}` filters from SQLite and scans for anything else, and in a sharded cluster
 * a unique index must contain the shard key. `_id` is "<organization>/<kind>/<value>".
 */
export interface LookupKeyDocument {
  _id: string;
  owners: string[];
}

export interface AuditEventDocument {
  _id: string;
  organizationId: string;
  at: Date;
  actor: { type: string; id: string; name: string };
  source: string;
  action: string;
  target: { type: string; id: string; display?: string };
  before?: unknown;
  after?: unknown;
  requestId: string;
  reason?: string;
}

/**
 * An AuthnRequest Gatehouse sent, awaiting its answer (SAML InResponseTo). `_id` is
 * "<organization>/<request id>" ("<organization>/logout/<request id>" for a LogoutRequest): shared
 * by every instance, so any of them can take the answer.
 */
export interface SamlRequestDocument {
  _id: string;
  createdAt: Date;
  expiresAt: Date;
}

/**
 * An assertion already used to sign in, kept until it would have expired anyway, so the same
 * assertion is never accepted twice (IdP-initiated ones included). `_id` is "<organization>/<assertion ID>";
 * a LogoutRequest an identity provider sent is kept the same way as "<organization>/logout/<request ID>".
 */
export interface SamlAssertionDocument {
  _id: string;
  expiresAt: Date;
}

/**
 * A browser session (services/sessions.ts). `_id` is the random session id, so every request's
 * session check is an `_id` read; only a SHA-256 hash of the cookie's secret is stored. No TTL
 * index (FerretDB has none): expiry is checked on every read, and a sweep deletes old sessions.
 */
export interface SessionDocument {
  _id: string;
  organizationId: string;
  userId: string;
  /** The user's session epoch when the session began; the session is dead once they differ. */
  userEpoch: number;
  via: "saml";
  secretHash: string;
  createdAt: Date;
  lastSeenAt: Date;
  absoluteExpiresAt: Date;
  endedAt?: Date;
  ip?: string;
  userAgent?: string;
  /**
   * The assertion's NameID, its format and the SessionIndex, for single logout. Sessions are found
   * by NameID through the lookup key "<organization>/session.samlSession/<NameID>" (storage/sessions.ts).
   */
  saml?: { nameId: string; nameIdFormat?: string; sessionIndex?: string };
  outbox?: AuditEventDocument[];
}

export interface AuthFailureDocument {
  _id: string;
  count: number;
  expiresAt: Date;
}

/**
 * Documents still carrying audit events (storage/outbox.ts): almost none at any time, so a sparse
 * index keeps the recovery query from scanning on MongoDB.
 */
const outboxIndex = [{ "outbox._id": 1 }, { sparse: true }] as const;

const organizationSchema = new Schema<OrganizationDocument>(
  {
    _id: String,
    name: { $type: String, required: true },
    createdAt: { $type: Date, required: true },
    ownerUserId: String,
    samlConnection: Schema.Types.Mixed,
    seatLimit: Number,
    accessSettings: Schema.Types.Mixed,
    projects: Schema.Types.Mixed,
    mappings: Schema.Types.Mixed,
    outbox: Schema.Types.Mixed,
  },
  options,
);
organizationSchema.index(...outboxIndex);

const scimTokenSchema = new Schema<ScimTokenDocument>(
  {
    _id: String,
    organizationId: { $type: String, required: true, index: true },
    purpose: String,
    userId: String,
    name: { $type: String, required: true },
    secretHash: { $type: String, required: true },
    createdAt: { $type: Date, required: true },
    lastUsedAt: Date,
    expiresAt: Date,
    revokedAt: Date,
    outbox: Schema.Types.Mixed,
  },
  options,
);
scimTokenSchema.index(...outboxIndex);

const userSchema = new Schema<UserDocument>(
  {
    _id: String,
    organizationId: { $type: String, required: true },
    userName: { $type: String, required: true },
    userNameLower: { $type: String, required: true },
    externalId: String,
    active: { $type: Boolean, required: true },
    managedBy: { $type: String, required: true },
    managedVia: String,
    localAccess: Schema.Types.Mixed,
    suspended: Boolean,
    temporaryGrants: Schema.Types.Mixed,
    created: { $type: Date, required: true },
    lastModified: { $type: Date, required: true },
    version: { $type: Number, required: true },
    groups: { $type: [String], default: undefined },
    sessionEpoch: Number,
    samlGroups: { $type: [String], default: undefined },
    lastLogin: Date,
    outbox: Schema.Types.Mixed,
    deletedAt: Date,
    ...Object.fromEntries(profileAttributes.map((attribute) => [attribute, Schema.Types.Mixed])),
  },
  options,
);
// Uniqueness is enforced through lookup keys; this index backs it up on a single replica set and
// serves filtered and sorted listings on MongoDB.
userSchema.index({ organizationId: 1, userNameLower: 1 }, { unique: true });
userSchema.index({ organizationId: 1, externalId: 1 });
userSchema.index({ organizationId: 1, created: 1 });
// Members of a group (GET /Groups/{id}, the deletion sweep): a multikey index on MongoDB.
userSchema.index({ organizationId: 1, groups: 1 });
userSchema.index(...outboxIndex);

const groupSchema = new Schema<GroupDocument>(
  {
    _id: String,
    organizationId: { $type: String, required: true },
    displayName: { $type: String, required: true },
    displayNameLower: { $type: String, required: true },
    externalId: String,
    created: { $type: Date, required: true },
    lastModified: { $type: Date, required: true },
    version: { $type: Number, required: true },
    outbox: Schema.Types.Mixed,
    deletedAt: Date,
  },
  options,
);
groupSchema.index(...outboxIndex);
groupSchema.index({ organizationId: 1, displayNameLower: 1 }, { unique: true });
groupSchema.index({ organizationId: 1, externalId: 1 });

const groupSweepSchema = new Schema<GroupSweepDocument>(
  { _id: String, organizationId: { $type: String, required: true }, requested: { $type: Date, required: true } },
  options,
);

const lookupKeySchema = new Schema<LookupKeyDocument>({ _id: String, owners: { $type: [String], default: [] } }, options);

const auditEventSchema = new Schema<AuditEventDocument>(
  {
    _id: String,
    organizationId: { $type: String, required: true },
    at: { $type: Date, required: true },
    actor: { $type: Schema.Types.Mixed, required: true },
    source: { $type: String, required: true },
    action: { $type: String, required: true },
    target: { $type: Schema.Types.Mixed, required: true },
    before: Schema.Types.Mixed,
    after: Schema.Types.Mixed,
    requestId: { $type: String, required: true },
    reason: String,
  },
  options,
);
// Newest first with ties broken by _id: the audit query's order and cursor (admin/audit-routes.ts).
auditEventSchema.index({ organizationId: 1, at: -1, _id: -1 });

const sessionSchema = new Schema<SessionDocument>(
  {
    _id: String,
    organizationId: { $type: String, required: true },
    userId: { $type: String, required: true },
    userEpoch: { $type: Number, required: true },
    via: { $type: String, required: true },
    secretHash: { $type: String, required: true },
    createdAt: { $type: Date, required: true },
    lastSeenAt: { $type: Date, required: true },
    absoluteExpiresAt: { $type: Date, required: true },
    endedAt: Date,
    ip: String,
    userAgent: String,
    saml: Schema.Types.Mixed,
    outbox: Schema.Types.Mixed,
  },
  options,
);
sessionSchema.index(...outboxIndex);
// The sweep's conditions (a scan on FerretDB, index scans on MongoDB); requests read by _id only.
sessionSchema.index({ absoluteExpiresAt: 1 });
sessionSchema.index({ lastSeenAt: 1 });
sessionSchema.index({ endedAt: 1 }, { sparse: true });

const authFailureSchema = new Schema<AuthFailureDocument>(
  { _id: String, count: { $type: Number, required: true }, expiresAt: { $type: Date, required: true } },
  options,
);

const samlRequestSchema = new Schema<SamlRequestDocument>(
  { _id: String, createdAt: { $type: Date, required: true }, expiresAt: { $type: Date, required: true } },
  options,
);
// Expired entries are deleted by the maintenance sweep (no TTL index: FerretDB has none).
samlRequestSchema.index({ expiresAt: 1 });

const samlAssertionSchema = new Schema<SamlAssertionDocument>({ _id: String, expiresAt: { $type: Date, required: true } }, options);
samlAssertionSchema.index({ expiresAt: 1 });

export function defineModels(connection: Connection) {
  return {
    Organization: connection.model<OrganizationDocument>("Organization", organizationSchema, "organizations"),
    ScimToken: connection.model<ScimTokenDocument>("ScimToken", scimTokenSchema, "scim_tokens"),
    User: connection.model<UserDocument>("User", userSchema, "users"),
    Group: connection.model<GroupDocument>("Group", groupSchema, "groups"),
    GroupSweep: connection.model<GroupSweepDocument>("GroupSweep", groupSweepSchema, "group_sweeps"),
    LookupKey: connection.model<LookupKeyDocument>("LookupKey", lookupKeySchema, "lookup_keys"),
    AuditEvent: connection.model<AuditEventDocument>("AuditEvent", auditEventSchema, "audit_events"),
    AuthFailure: connection.model<AuthFailureDocument>("AuthFailure", authFailureSchema, "auth_failures"),
    SamlRequest: connection.model<SamlRequestDocument>("SamlRequest", samlRequestSchema, "saml_requests"),
    SamlAssertion: connection.model<SamlAssertionDocument>("SamlAssertion", samlAssertionSchema, "saml_assertions"),
    Session: connection.model<SessionDocument>("Session", sessionSchema, "sessions"),
  };
}

export type Models = ReturnType<typeof defineModels>;

import { Schema, type Connection, type InferRawDocType } from "mongoose";

/**
 * Every mongoose model, in one place. Documents are read with lean() and mapped to domain types by
 * the repositories; nothing outside storage/ sees a mongoose document.
 *
 * Each collection is declared once, as its schema definition; its document type (`UserDocument` …)
 * is derived from that definition by mongoose's own inference (`StoredDocument` below), so the
 * type and the schema cannot drift apart.
 *
 * Keys that would contain "." or start with "$" (SCIM URNs, "$ref") never reach storage: the
 * enterprise extension is stored under `enterprise` (../shared/MONGODB.md).
 *
 * `typeKey: "$type"` lets SCIM's own "type" sub-attribute be an ordinary field name.
 */
const options = { typeKey: "$type", versionKey: false, strict: "throw" } as const;

/**
 * The document type of a schema definition, as the repositories read it with lean(): mongoose's
 * InferRawDocType (required paths required, the others optional, `_id` as declared) without the
 * `null` mongoose adds to every optional path because it would accept one: Gatehouse's writes leave
 * an absent value out or `$unset` it rather than store null (storage/plain.ts), so an optional
 * field is typed `T | undefined`, as the hand-written interfaces this replaced had it.
 */
type StoredDocument<Definition> = { [K in keyof Raw<Definition>]: Exclude<Raw<Definition>[K], null> };
type Raw<Definition> = InferRawDocType<Definition, typeof options>;

/**
 * The type of what the repositories keep in a path whose schema type cannot say it: a Mixed path
 * (stored as given, neither cast nor validated; mongoose infers `any`), or a String path whose
 * values the repositories limit to a few (no `enum` validator: the schema never had one, and most
 * writes go through the driver, which would not run it). Spread into a path definition it adds
 * nothing at run time; the property exists only in the type, where InferRawDocType reads it as the
 * path's type (mongoose's type-hint hook).
 */
function holding<T>(): Holding<T> {
  return {} as Holding<T>;
}
type Holding<T> = { readonly __rawDocTypeHint: T };

/** Role names are the access catalog's (domain/catalog.ts): plain strings here. */
type OrganizationRole = string;
type ProjectGrant = { projectId: string; role: string };

/**
 * A recorded change (audit/audit-trail.ts), in `audit_events` and, on its way there, in the
 * `outbox` of the document it changed (storage/outbox.ts). `actor`, `target`, `before` and `after`
 * are Mixed: written whole, as the trail presents them, without casting or added sub-document `_id`s.
 */
const auditEventPaths = {
  _id: String,
  organizationId: { $type: String, required: true },
  at: { $type: Date, required: true },
  actor: { $type: Schema.Types.Mixed, required: true, ...holding<{ type: string; id: string; name: string }>() },
  source: { $type: String, required: true },
  action: { $type: String, required: true },
  target: { $type: Schema.Types.Mixed, required: true, ...holding<{ type: string; id: string; display?: string }>() },
  before: { $type: Schema.Types.Mixed, ...holding<unknown>() },
  after: { $type: Schema.Types.Mixed, ...holding<unknown>() },
  requestId: { $type: String, required: true },
  reason: String,
  /** What caused a derived event (`user.access_changed`): domain/audit.ts AccessChangeCause. */
  cause: { $type: Schema.Types.Mixed, ...holding<{ action: string; eventId: string; target: { type: string; id: string; display?: string }; effectiveAt?: Date }>() },
} as const;
export type AuditEventDocument = StoredDocument<typeof auditEventPaths>;

/**
 * Audit events of a document's own changes on their way to the trail (storage/outbox.ts). Mixed,
 * not an array of sub-schemas: the events are pushed and pulled by the driver as whole values and
 * must be stored exactly as `audit_events` will hold them (no casting, no added `_id`s).
 */
const outboxPath = { $type: Schema.Types.Mixed, ...holding<AuditEventDocument[]>() } as const;

/**
 * An organization and its access policy: its projects, group mappings and settings are bounded in
 * number (tens to hundreds), so they live in the organization document and one `_id` read gives
 * everything an authorization answer needs besides the user and their groups.
 */
const organizationPaths = {
  _id: String,
  name: { $type: String, required: true },
  createdAt: { $type: Date, required: true },
  ownerUserId: String,
  samlConnection: { $type: Schema.Types.Mixed, ...holding<Record<string, unknown>>() },
  /** Most active users the organization may have; absent means no limit. */
  seatLimit: Number,
  /** Every sign-in but SAML refused, the Owner's excepted (services/sign-in-policy.ts). */
  requireSso: Boolean,
  accessSettings: {
    $type: Schema.Types.Mixed,
    ...holding<{ defaultRole: string; readOnlyMayComment: boolean; requireMappingForAccess: boolean; personalTokenMaximumDays?: number }>(),
  },
  projects: { $type: Schema.Types.Mixed, ...holding<{ id: string; name: string; created: Date }[]>() },
  /** The organization's custom roles (domain/organization.ts CustomRole). */
  customRoles: {
    $type: Schema.Types.Mixed,
    ...holding<{ name: string; description?: string; permissions: Record<string, "own" | "all">; created: Date; createdBy: string }[]>(),
  },
  mappings: {
    $type: Schema.Types.Mixed,
    ...holding<
      {
        id: string;
        match: { kind: "group_id" | "external_id" | "display_name" | "app_role"; value: string };
        organizationRole?: OrganizationRole;
        projects?: ProjectGrant[];
        created: Date;
      }[]
    >(),
  },
  outbox: outboxPath,
} as const;
export type OrganizationDocument = StoredDocument<typeof organizationPaths>;

const scimTokenPaths = {
  _id: String,
  organizationId: { $type: String, required: true },
  /** "scim" for identity providers, "service" for the product's back end (authorization answers). */
  purpose: { $type: String, ...holding<"scim" | "service" | "personal">() },
  userId: String,
  name: { $type: String, required: true },
  /** SHA-256 of the token's secret part: tokens are verifiers, never stored in the clear. */
  secretHash: { $type: String, required: true },
  createdAt: { $type: Date, required: true },
  lastUsedAt: Date,
  expiresAt: Date,
  revokedAt: Date,
  /** Service tokens: what the token may do (domain/token-scopes.ts); absent = the abilities tokens had before scopes. */
  scopes: { $type: [String], default: undefined },
  outbox: outboxPath,
} as const;
export type ScimTokenDocument = StoredDocument<typeof scimTokenPaths>;

export const profileAttributes = [
  "name", "displayName", "nickName", "profileUrl", "title", "userType", "preferredLanguage", "locale",
  "timezone", "emails", "phoneNumbers", "ims", "photos", "addresses", "entitlements", "roles",
  "x509Certificates", "enterprise", "activeRemoved",
] as const;

/** The SCIM profile attributes, stored as the domain holds them (Mixed: SCIM's schema validated them). */
const profilePaths = Object.fromEntries(profileAttributes.map((attribute) => [attribute, Schema.Types.Mixed])) as Record<
  (typeof profileAttributes)[number],
  typeof Schema.Types.Mixed & Holding<unknown>
>;

/**
 * Field names are the domain's attribute names (RFC 7643 §4.1), so a filter's attribute path is a
 * field path; only `id` (`_id`) and the lower-cased copy of userName differ.
 */
const userPaths = {
  _id: String,
  organizationId: { $type: String, required: true },
  userName: { $type: String, required: true },
  /** Case-insensitive comparisons (RFC 7643 §4.1.1 caseExact false) without collation. */
  userNameLower: { $type: String, required: true },
  externalId: String,
  active: { $type: Boolean, required: true },
  managedBy: { $type: String, required: true, ...holding<"local" | "scim" | "saml">() },
  managedVia: String,
  localAccess: { $type: Schema.Types.Mixed, ...holding<{ role?: OrganizationRole; projects?: ProjectGrant[] }>() },
  suspended: Boolean,
  /** With `suspended`: since when, by whom, why (domain/user.ts Suspension). */
  suspension: { $type: Schema.Types.Mixed, ...holding<{ since: Date; by: { type: string; id: string; name: string }; reason?: string }>() },
  temporaryGrants: {
    $type: Schema.Types.Mixed,
    ...holding<
      {
        id: string;
        organizationRole?: OrganizationRole;
        projectId?: string;
        projectRole?: string;
        until: Date;
        reason: string;
        grantedBy: string;
        endRecorded?: boolean;
      }[]
    >(),
  },
  created: { $type: Date, required: true },
  lastModified: { $type: Date, required: true },
  version: { $type: Number, required: true },
  /**
   * Ids of the groups the user is a direct member of. Membership lives here, on the member: a
   * one-member change is one $addToSet/$pull on one document addressed by _id, and no document
   * grows with the size of a group (a user is in tens of groups; a group may have 500,000 members).
   */
  groups: { $type: [String], default: undefined },
  sessionEpoch: Number,
  /**
   * Member search on MongoDB (UserStore.memberPage): the lower-cased words of the userName, the
   * names, the displayName and the emails, and each of those values whole. A prefix regular
   * expression anchored at `^` is served by the {organizationId, searchTerms} index, so a search
   * is word-prefix there (the resident directory matches any substring, from memory).
   */
  searchTerms: { $type: [String], default: undefined },
  samlGroups: { $type: [String], default: undefined },
  lastLogin: Date,
  /** HR's offboarding hold on a suspended user (domain/offboarding.ts OffboardingHold). */
  offboarding: { $type: Schema.Types.Mixed, ...holding<{ offboardingId: string; status: "carried_out" | "completed"; since: Date; conflict?: { at: Date; detail: string } }>() },
  /** Audit events of this user's changes on their way to the trail (storage/outbox.ts). */
  outbox: outboxPath,
  /** Set while the user's deletion completes: readers treat the user as gone. */
  deletedAt: Date,
  ...profilePaths,
} as const;
export type UserDocument = StoredDocument<typeof userPaths>;

const groupPaths = {
  _id: String,
  organizationId: { $type: String, required: true },
  displayName: { $type: String, required: true },
  displayNameLower: { $type: String, required: true },
  externalId: String,
  created: { $type: Date, required: true },
  lastModified: { $type: Date, required: true },
  version: { $type: Number, required: true },
  outbox: outboxPath,
  deletedAt: Date,
} as const;
export type GroupDocument = StoredDocument<typeof groupPaths>;

/** A deleted group whose memberships are still to be cleared from its former members. */
const groupSweepPaths = { _id: String, organizationId: { $type: String, required: true }, requested: { $type: Date, required: true } } as const;
export type GroupSweepDocument = StoredDocument<typeof groupSweepPaths>;

/**
 * A key document makes a lookup or a uniqueness rule an `_id` operation: FerretDB's SQLite backend
 * answers only `{_id: …}` filters from SQLite and scans for anything else, and in a sharded cluster
 * a unique index must contain the shard key. `_id` is "<organization>/<kind>/<value>".
 */
const lookupKeyPaths = { _id: String, owners: { $type: [String], default: [] as string[] } } as const;
export type LookupKeyDocument = StoredDocument<typeof lookupKeyPaths>;

/**
 * An AuthnRequest Gatehouse sent, awaiting its answer (SAML InResponseTo). `_id` is
 * "<organization>/<request id>" ("<organization>/logout/<request id>" for a LogoutRequest): shared
 * by every instance, so any of them can take the answer.
 */
const samlRequestPaths = { _id: String, createdAt: { $type: Date, required: true }, expiresAt: { $type: Date, required: true } } as const;
export type SamlRequestDocument = StoredDocument<typeof samlRequestPaths>;

/**
 * An assertion already used to sign in, kept until it would have expired anyway, so the same
 * assertion is never accepted twice (IdP-initiated ones included). `_id` is "<organization>/<assertion ID>";
 * a LogoutRequest an identity provider sent is kept the same way as "<organization>/logout/<request ID>".
 */
const samlAssertionPaths = { _id: String, expiresAt: { $type: Date, required: true } } as const;
export type SamlAssertionDocument = StoredDocument<typeof samlAssertionPaths>;

/**
 * A browser session (services/sessions.ts). `_id` is the random session id, so every request's
 * session check is an `_id` read; only a SHA-256 hash of the cookie's secret is stored. No TTL
 * index (FerretDB has none): expiry is checked on every read, and a sweep deletes old sessions.
 */
const sessionPaths = {
  _id: String,
  organizationId: { $type: String, required: true },
  userId: { $type: String, required: true },
  /** The user's session epoch when the session began; the session is dead once they differ. */
  userEpoch: { $type: Number, required: true },
  via: { $type: String, required: true, ...holding<"saml" | "sign_in_link">() },
  secretHash: { $type: String, required: true },
  createdAt: { $type: Date, required: true },
  lastSeenAt: { $type: Date, required: true },
  absoluteExpiresAt: { $type: Date, required: true },
  endedAt: Date,
  ip: String,
  userAgent: String,
  /**
   * The assertion's NameID, its format and the SessionIndex, for single logout. Sessions are found
   * by NameID through the lookup key "<organization>/session.samlSession/<NameID>" (storage/sessions.ts).
   */
  saml: { $type: Schema.Types.Mixed, ...holding<{ nameId: string; nameIdFormat?: string; sessionIndex?: string }>() },
  outbox: outboxPath,
} as const;
export type SessionDocument = StoredDocument<typeof sessionPaths>;

/**
 * An HR offboarding (services/offboardings.ts). `_id` is derived from the organization and the
 * caller's idempotency key (domain/offboarding.ts offboardingIdOf), so the same key twice is one
 * offboarding on every instance; writes are compare-and-set on `version`.
 */
const offboardingPaths = {
  _id: String,
  organizationId: { $type: String, required: true },
  userId: { $type: String, required: true },
  userName: { $type: String, required: true },
  memberReference: { $type: Schema.Types.Mixed, required: true, ...holding<{ by: "id" | "userName" | "email" | "externalId"; value: string }>() },
  effectiveAt: { $type: Date, required: true },
  reason: { $type: String, required: true },
  status: { $type: String, required: true, ...holding<"scheduled" | "carried_out" | "completed" | "cancelled">() },
  requestedBy: { $type: Schema.Types.Mixed, required: true, ...holding<{ type: string; id: string; name: string }>() },
  created: { $type: Date, required: true },
  reminderSentAt: Date,
  carriedOutAt: Date,
  completedAt: Date,
  completedBecause: String,
  cancelledAt: Date,
  cancelledBecause: String,
  conflict: { $type: Schema.Types.Mixed, ...holding<{ at: Date; detail: string }>() },
  revokedTokens: { $type: [String], default: undefined },
  version: { $type: Number, required: true },
  outbox: outboxPath,
} as const;
export type OffboardingDocument = StoredDocument<typeof offboardingPaths>;

/**
 * The scheduler's agenda: one small document per offboarding still scheduled, `_id` the
 * offboarding's, `wakeAt` when the scheduler next has to look at it (the reminder, then the time).
 * Deleted once the offboarding is carried out or cancelled, so the collection holds only what is
 * pending — what the scheduler's query reads every tick stays small on FerretDB (which scans) and
 * is an index range on MongoDB.
 */
const offboardingAgendaPaths = { _id: String, wakeAt: { $type: Date, required: true } } as const;
export type OffboardingAgendaDocument = StoredDocument<typeof offboardingAgendaPaths>;

/**
 * A claim on one step of one offboarding by one instance: `_id` is "<offboarding>/<step>/<lease
 * window>", so of two instances that want the same step in the same window only one insert
 * succeeds (a unique `_id` is atomic on FerretDB as on MongoDB, unlike its updates).
 */
const offboardingClaimPaths = { _id: String, claimedAt: { $type: Date, required: true } } as const;
export type OffboardingClaimDocument = StoredDocument<typeof offboardingClaimPaths>;

/**
 * An email domain an organization declared (services/email-domains.ts). `_id` is the lower-cased
 * domain: one organization per domain, by the `_id`'s uniqueness, on every server and in a
 * sharded cluster alike; sign-in discovery is one `_id` read.
 */
const emailDomainPaths = {
  _id: String,
  organizationId: { $type: String, required: true },
  createdAt: { $type: Date, required: true },
  outbox: outboxPath,
} as const;
export type EmailDomainDocument = StoredDocument<typeof emailDomainPaths>;

/**
 * A break-glass sign-in link (services/sign-in-links.ts): `_id` is the link's random id; only a
 * SHA-256 hash of its secret is stored. Its single use is claimed in the assertion ledger.
 */
const signInLinkPaths = {
  _id: String,
  organizationId: { $type: String, required: true },
  userId: { $type: String, required: true },
  secretHash: { $type: String, required: true },
  createdAt: { $type: Date, required: true },
  expiresAt: { $type: Date, required: true },
  /** When it was used (its single use is claimed in the assertion ledger first). */
  usedAt: Date,
  outbox: outboxPath,
} as const;
export type SignInLinkDocument = StoredDocument<typeof signInLinkPaths>;

/**
 * A SAML test sign-in an administrator started (services/saml-tests.ts): `_id` is its random id;
 * `outcome` is what the assertion carried and what Gatehouse would have decided, once it came back.
 */
const samlTestPaths = {
  _id: String,
  organizationId: { $type: String, required: true },
  startedBy: { $type: Schema.Types.Mixed, required: true, ...holding<{ type: string; id: string; name: string }>() },
  createdAt: { $type: Date, required: true },
  expiresAt: { $type: Date, required: true },
  outcome: { $type: Schema.Types.Mixed, ...holding<Record<string, unknown>>() },
  outbox: outboxPath,
} as const;
export type SamlTestDocument = StoredDocument<typeof samlTestPaths>;

const authFailurePaths = { _id: String, count: { $type: Number, required: true }, expiresAt: { $type: Date, required: true } } as const;
export type AuthFailureDocument = StoredDocument<typeof authFailurePaths>;

/**
 * Documents still carrying audit events (storage/outbox.ts): almost none at any time, so a sparse
 * index keeps the recovery query from scanning on MongoDB.
 */
const outboxIndex = [{ "outbox._id": 1 }, { sparse: true }] as const;

const organizationSchema = new Schema<OrganizationDocument>(organizationPaths, options);
organizationSchema.index(...outboxIndex);
// Every organization, oldest first (CLI and operator listings).
organizationSchema.index({ createdAt: 1 });

const scimTokenSchema = new Schema<ScimTokenDocument>(scimTokenPaths, options);
scimTokenSchema.index(...outboxIndex);
// An organization's tokens, oldest first.
scimTokenSchema.index({ organizationId: 1, createdAt: 1 });

const userSchema = new Schema<UserDocument>(userPaths, options);
// Uniqueness is enforced through lookup keys; this index backs it up on a single replica set and
// serves filtered and sorted listings on MongoDB.
userSchema.index({ organizationId: 1, userNameLower: 1 }, { unique: true });
// A list page ordered by userName (sortBy=userName, the admin API's member list), the id breaking
// ties as in every list (storage/directory-store.ts); the unique index above lacks the id.
userSchema.index({ organizationId: 1, userNameLower: 1, _id: 1 });
userSchema.index({ organizationId: 1, externalId: 1 });
// A list page's default order, the id breaking ties (storage/directory-store.ts): with the id in
// the index, MongoDB reads the page in order instead of sorting the organization's users.
userSchema.index({ organizationId: 1, created: 1, _id: 1 });
// Members of a group in id order (GET /Groups/{id}, the deletion sweep): a multikey index on MongoDB.
userSchema.index({ organizationId: 1, groups: 1, _id: 1 });
// Temporary grants whose time is up (the maintenance sweep); only users holding a grant are indexed.
userSchema.index({ "temporaryGrants.until": 1 }, { sparse: true });
// The member list by status, in userName order (UserStore.memberPage), and the seats taken
// (countActive): active and deactivated members by `active`, suspended ones by `suspended`.
userSchema.index({ organizationId: 1, active: 1, userNameLower: 1 });
userSchema.index({ organizationId: 1, suspended: 1, userNameLower: 1 });
// Member search on MongoDB: a prefix of one of the member's words (UserStore.memberPage).
userSchema.index({ organizationId: 1, searchTerms: 1 });
userSchema.index(...outboxIndex);

const groupSchema = new Schema<GroupDocument>(groupPaths, options);
groupSchema.index(...outboxIndex);
groupSchema.index({ organizationId: 1, displayNameLower: 1 }, { unique: true });
// The admin API's group list, by name, the id breaking ties (admin/group-routes.ts).
groupSchema.index({ organizationId: 1, displayNameLower: 1, _id: 1 });
groupSchema.index({ organizationId: 1, externalId: 1 });
// A list page's default order, the id breaking ties (storage/directory-store.ts).
groupSchema.index({ organizationId: 1, created: 1, _id: 1 });

const groupSweepSchema = new Schema<GroupSweepDocument>(groupSweepPaths, options);
// Deleted groups whose memberships are still to be cleared, oldest request first.
groupSweepSchema.index({ requested: 1 });

const lookupKeySchema = new Schema<LookupKeyDocument>(lookupKeyPaths, options);

const auditEventSchema = new Schema<AuditEventDocument>(auditEventPaths, options);
// Newest first with ties broken by _id: the audit query's order and cursor (audit/audit-query.ts).
// On MongoDB every audit log query is one organization's events in that order, optionally narrowed
// by one or more equality conditions and a time window: each condition alone has its index
// (equality first, then the order), and a combination is served by the index of one of its
// conditions with the others checked on the documents it reaches. The embedded database answers
// the same pages from its resident index (storage/audit-index.ts) instead.
auditEventSchema.index({ organizationId: 1, at: -1, _id: -1 });
auditEventSchema.index({ organizationId: 1, action: 1, at: -1, _id: -1 });
auditEventSchema.index({ organizationId: 1, "actor.id": 1, at: -1, _id: -1 });
auditEventSchema.index({ organizationId: 1, "target.id": 1, at: -1, _id: -1 });
auditEventSchema.index({ organizationId: 1, source: 1, at: -1, _id: -1 });

const sessionSchema = new Schema<SessionDocument>(sessionPaths, options);
sessionSchema.index(...outboxIndex);
// The sweep's conditions (a scan on FerretDB, index scans on MongoDB); requests read by _id only.
sessionSchema.index({ absoluteExpiresAt: 1 });
sessionSchema.index({ lastSeenAt: 1 });
sessionSchema.index({ endedAt: 1 }, { sparse: true });

const emailDomainSchema = new Schema<EmailDomainDocument>(emailDomainPaths, options);
emailDomainSchema.index(...outboxIndex);
// An organization's domains, in order (the admin API and the CLI list them).
emailDomainSchema.index({ organizationId: 1, _id: 1 });

const signInLinkSchema = new Schema<SignInLinkDocument>(signInLinkPaths, options);
signInLinkSchema.index(...outboxIndex);
// Expired links, deleted by the maintenance sweep.
signInLinkSchema.index({ expiresAt: 1 });

const samlTestSchema = new Schema<SamlTestDocument>(samlTestPaths, options);
samlTestSchema.index(...outboxIndex);
// Old tests, deleted by the maintenance sweep.
samlTestSchema.index({ expiresAt: 1 });

const authFailureSchema = new Schema<AuthFailureDocument>(authFailurePaths, options);
// Expired counters, deleted by the sweep (storage/auth-failures.ts); many under a password-spraying attack.
authFailureSchema.index({ expiresAt: 1 });

const samlRequestSchema = new Schema<SamlRequestDocument>(samlRequestPaths, options);
// Expired entries are deleted by the maintenance sweep (no TTL index: FerretDB has none).
samlRequestSchema.index({ expiresAt: 1 });

const samlAssertionSchema = new Schema<SamlAssertionDocument>(samlAssertionPaths, options);
samlAssertionSchema.index({ expiresAt: 1 });

const offboardingSchema = new Schema<OffboardingDocument>(offboardingPaths, options);
offboardingSchema.index(...outboxIndex);
// An organization's offboardings, newest first (GET /api/v1/offboardings).
offboardingSchema.index({ organizationId: 1, created: -1, _id: -1 });

const offboardingAgendaSchema = new Schema<OffboardingAgendaDocument>(offboardingAgendaPaths, options);
// What is due (the scheduler, every instance, every tick).
offboardingAgendaSchema.index({ wakeAt: 1 });

const offboardingClaimSchema = new Schema<OffboardingClaimDocument>(offboardingClaimPaths, options);
// Old claims, deleted by the scheduler.
offboardingClaimSchema.index({ claimedAt: 1 });
/**
 * Directory events (storage/directory-events.ts): `_id` `<organizationId>/<sequence, 12 digits>`,
 * and one `<organizationId>/floor` document per organization (the retention sweep's position).
 * Read and written by exact `_id` only: no secondary index.
 */
const directoryEventPaths = {
  _id: String,
  organizationId: { $type: String, required: true },
  sequence: { $type: Number, required: true },
  event: { $type: Schema.Types.Mixed, ...holding<import("../domain/directory-events").DirectoryEvent>() },
} as const;
export type DirectoryEventDocument = StoredDocument<typeof directoryEventPaths>;
const directoryEventSchema = new Schema<DirectoryEventDocument>(directoryEventPaths, options);

/**
 * Webhook endpoints and their delivery state (storage/webhooks.ts), one document each, plus the
 * `registry` document listing every endpoint; attempts are claimed by inserting
 * `webhook_attempts` documents under a deterministic `_id`. All read and written by exact `_id`.
 */
const webhookEndpointSchema = new Schema({ _id: String }, { ...options, strict: false });
const webhookAttemptPaths = { _id: String, endpointId: String, claimedAt: Date } as const;
const webhookAttemptSchema = new Schema(webhookAttemptPaths, { ...options, strict: false });

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
    Offboarding: connection.model<OffboardingDocument>("Offboarding", offboardingSchema, "offboardings"),
    OffboardingAgenda: connection.model<OffboardingAgendaDocument>("OffboardingAgenda", offboardingAgendaSchema, "offboarding_agenda"),
    OffboardingClaim: connection.model<OffboardingClaimDocument>("OffboardingClaim", offboardingClaimSchema, "offboarding_claims"),
    EmailDomain: connection.model<EmailDomainDocument>("EmailDomain", emailDomainSchema, "email_domains"),
    SignInLink: connection.model<SignInLinkDocument>("SignInLink", signInLinkSchema, "sign_in_links"),
    SamlTest: connection.model<SamlTestDocument>("SamlTest", samlTestSchema, "saml_tests"),
    DirectoryEvent: connection.model<DirectoryEventDocument>("DirectoryEvent", directoryEventSchema, "directory_events"),
    WebhookEndpoint: connection.model("WebhookEndpoint", webhookEndpointSchema, "webhook_endpoints"),
    WebhookAttempt: connection.model("WebhookAttempt", webhookAttemptSchema, "webhook_attempts"),
  };
}

export type Models = ReturnType<typeof defineModels>;

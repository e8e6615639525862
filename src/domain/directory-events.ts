/**
 * Directory events: what a product following its directory (through GET /api/v1/events or a
 * webhook) learns of each change. They are not a second record: each is derived from one audit
 * event (domain/audit.ts) by the table below, at the moment the audit event reaches the trail
 * (storage/outbox.ts, storage/directory-events.ts), so no change exists without its event.
 *
 * The schema is versioned (`version`): fields may be added within a version; a field's meaning
 * never changes within one. Version 1:
 *
 * ```
 * { id, type, version: 1, occurredAt, organizationId,
 *   data: { object, id, display?, before?, after?, reason?, actor: {type, id, name}, source, auditAction } }
 * ```
 * `id` is the audit event's id (stable: a receiver deduplicates by it), `occurredAt` the time of
 * the change, `data.object` what changed (`user`, `group`, `organization`, …), `data.id` its id.
 */

export const DIRECTORY_EVENT_VERSION = 1;

/** Every event type a product can receive, and what it means to it. */
export const DIRECTORY_EVENT_TYPES = {
  "member.provisioned": "a member was created (SCIM, SAML just-in-time, the admin API or the CLI)",
  "member.updated": "a member's profile changed (name, emails, attributes, identity provider link)",
  "member.deactivated": "the identity provider deactivated a member: every session and personal token ended",
  "member.reactivated": "a deactivated member became active again",
  "member.deleted": "a member was deleted",
  "member.suspended": "an administrator suspended a member (an overlay the identity provider cannot lift)",
  "member.lifted": "a member's suspension was lifted",
  "member.access_changed": "a member's effective access changed (before, after and the cause in `data`)",
  "group.created": "a group was created",
  "group.renamed": "a group's display name changed",
  "group.deleted": "a group was deleted",
  "group.membership_changed": "members were added to or removed from a group (`data.after.added`, `data.after.removed`)",
  "session.revoked": "every session of a member ended (signed out everywhere, deactivation, suspension)",
  "organization.ownership_vacated": "the Owner lost access and the organization has no able Owner",
  "certificate.expiring": "a SAML signing certificate expires soon",
  "offboarding.scheduled": "an offboarding was scheduled for a later date",
  "offboarding.cancelled": "a scheduled offboarding was cancelled",
  "offboarding.carried_out": "an offboarding took effect: the member is suspended",
  "offboarding.reminder": "a scheduled offboarding takes effect within a day",
  "offboarding.completed": "the identity provider deactivated or deleted an offboarded member",
  "offboarding.conflict_flagged": "the identity provider reactivated an offboarded member; the suspension stays",
  "webhook.endpoint_disabled": "a webhook endpoint failed for the whole retry period and was disabled",
} as const;

export type DirectoryEventType = keyof typeof DIRECTORY_EVENT_TYPES;

export function isDirectoryEventType(value: string): value is DirectoryEventType {
  return Object.hasOwn(DIRECTORY_EVENT_TYPES, value);
}

/** What the mapping reads of an audit event (the stored document or the domain value). */
export interface AuditFacts {
  readonly action: string;
  readonly target: { readonly type: string; readonly id: string; readonly display?: string };
  readonly before?: unknown;
  readonly after?: unknown;
}

type Mapping = DirectoryEventType | ((event: AuditFacts) => DirectoryEventType | undefined);

const displayNameOf = (snapshot: unknown): unknown => (snapshot && typeof snapshot === "object" ? (snapshot as { displayName?: unknown }).displayName : undefined);

/**
 * THE table: audit action → directory event type. An audit action not listed produces no
 * directory event (token issuance, SAML configuration, sign-ins … are the administrator's business,
 * not the product's). Actions other work adds — the access model's `user.access_changed` (before,
 * after, cause), the offboarding API's `offboarding.*` — are listed by name, so their events flow
 * as soon as those actions are recorded.
 */
export const AUDIT_ACTION_EVENTS: Readonly<Record<string, Mapping>> = {
  "user.provisioned": "member.provisioned",
  "user.updated": "member.updated",
  "user.linked": "member.updated",
  "user.deactivated": "member.deactivated",
  "user.reactivated": "member.reactivated",
  "user.deleted": "member.deleted",
  "user.suspended": "member.suspended",
  "user.unsuspended": "member.lifted",
  "user.access_changed": "member.access_changed",
  "group.created": "group.created",
  // group.updated also records externalId changes, which mean nothing to a product.
  "group.updated": (event) => (displayNameOf(event.before) !== displayNameOf(event.after) ? "group.renamed" : undefined),
  "group.deleted": "group.deleted",
  "group.members_changed": "group.membership_changed",
  // Every way in ended (sessions everywhere, personal tokens) after a deactivation, suspension,
  // deletion or loss of the last mapped group: the summary, not each step (user.sessions_ended).
  "user.access_revoked": "session.revoked",
  "user.signed_out_everywhere": "session.revoked",
  "organization.ownership_vacated": "organization.ownership_vacated",
  "saml_connection.certificate_expiring": "certificate.expiring",
  "offboarding.scheduled": "offboarding.scheduled",
  "offboarding.cancelled": "offboarding.cancelled",
  "offboarding.carried_out": "offboarding.carried_out",
  "offboarding.reminder": "offboarding.reminder",
  "offboarding.completed": "offboarding.completed",
  "offboarding.conflict_flagged": "offboarding.conflict_flagged",
  "webhook_endpoint.disabled": "webhook.endpoint_disabled",
};

/** The directory event type an audit event produces, if any. */
export function directoryEventTypeOf(event: AuditFacts): DirectoryEventType | undefined {
  const mapping = Object.hasOwn(AUDIT_ACTION_EVENTS, event.action) ? AUDIT_ACTION_EVENTS[event.action] : undefined;
  return typeof mapping === "function" ? mapping(event) : mapping;
}

/** One directory event, as the events API and webhooks present it. */
export interface DirectoryEvent {
  readonly id: string;
  readonly type: DirectoryEventType;
  readonly version: typeof DIRECTORY_EVENT_VERSION;
  readonly occurredAt: string;
  readonly organizationId: string;
  readonly data: {
    readonly object: string;
    readonly id: string;
    readonly display?: string;
    readonly before?: unknown;
    readonly after?: unknown;
    readonly reason?: string;
    readonly actor: { readonly type: string; readonly id: string; readonly name: string };
    readonly source: string;
    readonly auditAction: string;
  };
}

/** The directory event of a full audit event, or undefined when its action is not in the table. */
export function directoryEventOf(event: AuditFacts & { id: string; organizationId: string; at: Date; actor: { type: string; id: string; name: string }; source: string; reason?: string }): DirectoryEvent | undefined {
  const type = directoryEventTypeOf(event);
  if (!type) return undefined;
  return {
    id: event.id,
    type,
    version: DIRECTORY_EVENT_VERSION,
    occurredAt: event.at.toISOString(),
    organizationId: event.organizationId,
    data: {
      object: event.target.type,
      id: event.target.id,
      ...(event.target.display !== undefined ? { display: event.target.display } : {}),
      ...(event.before !== undefined ? { before: event.before } : {}),
      ...(event.after !== undefined ? { after: event.after } : {}),
      ...(event.reason !== undefined ? { reason: event.reason } : {}),
      actor: { type: event.actor.type, id: event.actor.id, name: event.actor.name },
      source: event.source,
      auditAction: event.action,
    },
  };
}

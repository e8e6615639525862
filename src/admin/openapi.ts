import { ORGANIZATION_ROLES, PERMISSIONS, PROJECT_ROLES } from "../domain/permissions";
import { SAML_SIGNATURE_REQUIREMENTS } from "../domain/saml";
import { METADATA_MEDIA_TYPES } from "./saml-routes";

/**
 * The OpenAPI 3.1 description of /api/v1, served at GET /api/v1/openapi.json without a token.
 *
 * It describes what the code does: the request schemas restate the zod schemas of the route files
 * (`.strict()` is `additionalProperties: false`), the response schemas the presenters, and each
 * operation lists every status it can answer with and, for errors, every `error.code` (also as an
 * `enum` in the response's schema, so a client or a test can check it). Schemas use JSON Schema
 * 2020-12, as OpenAPI 3.1 does. test/integration/openapi.test.ts checks real responses against it.
 */

type Schema = Record<string, unknown>;

/** A JSON value of the document: what `res.json` sends. */
export interface OpenApiDocument {
  readonly openapi: string;
  readonly info: { readonly title: string; readonly version: string; readonly description?: string };
  readonly servers: readonly { readonly url: string; readonly description?: string }[];
  readonly security: readonly Record<string, readonly string[]>[];
  readonly tags: readonly { readonly name: string; readonly description: string }[];
  readonly paths: Record<string, Record<string, unknown>>;
  readonly components: {
    readonly securitySchemes: Record<string, Schema>;
    readonly schemas: Record<string, Schema>;
    readonly parameters: Record<string, Schema>;
    readonly responses: Record<string, Schema>;
  };
}

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const nullable = (schema: Schema): Schema => ({ anyOf: [schema, { type: "null" }] });
const dateTime = (description?: string): Schema => ({ type: "string", format: "date-time", ...(description ? { description } : {}) });
const arrayOf = (items: Schema, description?: string): Schema => ({ type: "array", items, ...(description ? { description } : {}) });

/** A closed object: every property named, the required ones listed, nothing else. */
function object(properties: Record<string, Schema>, required: readonly string[] = Object.keys(properties), extra: Schema = {}): Schema {
  return { type: "object", required: [...required], additionalProperties: false, properties, ...extra };
}

const GRANTABLE_ROLES = ORGANIZATION_ROLES.filter((role) => role !== "owner").reverse();
const SOURCE_KINDS = ["owner", "local", "mapping", "temporary", "default"] as const;
const PROJECT_SOURCE_KINDS = ["local", "mapping", "temporary"] as const;
const CHANGE_SOURCES = ["scim", "saml", "admin", "cli", "system"] as const;

// --- Errors -----------------------------------------------------------------------------------

/** Every `error.code` the API answers with, and what it means. */
const ERROR_CODES = {
  invalid_request: "the parameters or the body do not match this description (the message names each problem)",
  invalid_json: "the body is not valid JSON",
  invalid: "the request is well-formed but cannot be carried out as asked (the message says why)",
  unauthenticated:
    "no bearer token and no session cookie, or a token that is not a valid, live token of a kind this operation accepts, or whose user no longer exists, or a session that is not valid (ended, expired, its user deactivated, suspended, signed out everywhere or gone); the message says which",
  csrf: "a change made with a session cookie without the session's `X-CSRF-Token` header (the `csrfToken` of `GET /session`), or from a page whose `Origin` is neither Gatehouse's nor in CORS_ALLOWED_ORIGINS",
  forbidden:
    "the caller may not do this: a service token where a person is needed, a role without the permission, or a person who has no access to the organization at all (deactivated, suspended, no role)",
  owner_protected: "the change would touch the Owner's account or ownership, which moves only by transfer and never leaves the organization without an able Owner",
  no_self_elevation: "nobody raises their own access (role, projects or temporary grants)",
  seat_limit_reached: "the organization has as many active users as its seat limit allows",
  not_found: "no such user, project, mapping, token or grant in the caller's organization, or no SAML connection configured",
  managed_by_identity_provider: "the user is managed by the organization's identity provider: change their role, projects and membership there",
  conflict: "a user with that userName (email) already exists in the organization",
  unavailable: "the database cannot be reached or did not answer in time; retry later",
} as const;
type ErrorCode = keyof typeof ERROR_CODES;

const STATUS_TEXT: Record<number, string> = {
  400: "The request is malformed or cannot be carried out.",
  401: "Authentication failed.",
  403: "The caller may not do this.",
  404: "Not found.",
  409: "The change conflicts with who manages the user, or with an existing user.",
  503: "The database is unavailable.",
};

/** An error response whose schema narrows `error.code` to the codes this operation answers with. */
function errorResponse(status: number, codes: readonly ErrorCode[], lead = STATUS_TEXT[status]): Schema {
  return {
    description: `${lead} Error codes: ${codes.map((code) => `\`${code}\` (${ERROR_CODES[code]})`).join("; ")}.`,
    content: {
      "application/json": {
        schema: {
          allOf: [ref("Error"), { type: "object", properties: { error: { type: "object", properties: { code: { enum: [...codes] } } } } }],
        },
      },
    },
  };
}

const unauthenticated = { $ref: "#/components/responses/Unauthenticated" };
const unavailable = { $ref: "#/components/responses/Unavailable" };

type Responses = Record<string, Schema>;

/** The errors every authenticated operation may answer with, besides its own. */
function withCommonErrors(responses: Responses, forbiddenCodes: readonly ErrorCode[] = ["forbidden"], forbiddenLead?: string): Responses {
  return {
    ...responses,
    "401": unauthenticated,
    "403": errorResponse(403, forbiddenCodes, forbiddenLead),
    "503": unavailable,
  };
}

/** The same for operations that change something (POST, PUT, PATCH, DELETE): with a session, also the CSRF check. */
function withChangeErrors(responses: Responses, forbiddenCodes: readonly ErrorCode[] = ["forbidden"], forbiddenLead?: string): Responses {
  return withCommonErrors(responses, [...forbiddenCodes, "csrf"], forbiddenLead);
}

const jsonResponse = (description: string, schema: Schema): Schema => ({ description, content: { "application/json": { schema } } });
const noContent = (description: string): Schema => ({ description });
const jsonBody = (schema: Schema, required = true, description?: string): Schema => ({
  required,
  ...(description ? { description } : {}),
  content: { "application/json": { schema } },
});

// --- Security -----------------------------------------------------------------------------------

type Security = Record<string, readonly string[]>[];
const PERSONAL: Security = [{ personalToken: [] }, { sessionCookie: [] }];
const PERSONAL_OR_SERVICE: Security = [{ personalToken: [] }, { serviceToken: [] }, { sessionCookie: [] }];
const SESSION: Security = [{ sessionCookie: [] }];
const personalOnly = "Accepts personal API tokens (`gpt_…`) and sessions only; a service token is answered `403 forbidden`.";
const personalOrService = "Accepts personal API tokens (`gpt_…`), sessions and organization service tokens (`gsv_…`).";
const sessionOnly = "Accepts a session cookie only (a bearer token is answered `401 unauthenticated`), also from a person who has no access to the organization.";

// --- Parameters ---------------------------------------------------------------------------------

const pathParameter = (name: string, description: string): Schema => ({ name, in: "path", required: true, description, schema: { type: "string", minLength: 1 } });
const queryParameter = (name: string, description: string, schema: Schema): Schema => ({ name, in: "query", required: false, description, schema });
const param = (name: string): Schema => ({ $ref: `#/components/parameters/${name}` });

const auditTime: Schema = {
  type: "string",
  anyOf: [{ format: "date-time" }, { format: "date" }],
  description: "An ISO 8601 time with a zone (`2025-01-31T12:00:00Z`, `…+02:00`) or a date (UTC midnight); local times without a zone are refused.",
};
const auditFilterParameters: Schema[] = [
  queryParameter("actor", "Only events by this actor (`actor.id`: a user id, a SCIM token id, the CLI operator's name).", { type: "string", minLength: 1 }),
  queryParameter("target", "Only events about this target (`target.id`: a user, group, mapping, project, token or organization id).", { type: "string", minLength: 1 }),
  queryParameter("action", "Only events with exactly this action, e.g. `user.deactivated`.", { type: "string", minLength: 1 }),
  queryParameter("source", "Only events that came through this channel.", { type: "string", enum: [...CHANGE_SOURCES] }),
  queryParameter("from", "Only events at or after this time (inclusive).", auditTime),
  queryParameter("to", "Only events before this time (exclusive); must be later than `from`.", auditTime),
];

// --- Schemas ------------------------------------------------------------------------------------

const sourceProperties = (kinds: readonly string[], role: string): Record<string, Schema> => ({
  kind: {
    type: "string",
    enum: [...kinds],
    description: "What granted the role: ownership, a local assignment, a group mapping, a temporary grant, or the organization's default role.",
  },
  role: ref(role),
  mappingId: { type: "string", description: "For `mapping`: the mapping that matched." },
  groupId: { type: "string", description: "For a mapping matched through a group: the group's id." },
  groupName: { type: "string", description: "With `groupId`: the group's display name." },
  appRole: { type: "string", description: "For a mapping matched through an Entra ID app role: the app role's value." },
  grantId: { type: "string", description: "For `temporary`: the grant." },
  until: dateTime("For `temporary`: when the grant ends."),
});

/** Sources of a given kind carry the fields that say which mapping or grant it was. */
const sourceConditions: Schema = {
  dependentRequired: { groupId: ["groupName"] },
  allOf: [
    { if: { properties: { kind: { const: "mapping" } } }, then: { required: ["mappingId"] } },
    { if: { properties: { kind: { const: "temporary" } } }, then: { required: ["grantId", "until"] } },
  ],
};

const permissionMap: Schema = {
  type: "object",
  description: "Permission → scope, sorted by name: `all` on anyone's resources, `own` only on resources the user created. A permission not listed is not granted.",
  propertyNames: ref("Permission"),
  additionalProperties: { type: "string", enum: ["own", "all"] },
};

const memberProperties: Record<string, Schema> = {
  id: { type: "string", description: "The user's id (the SCIM id)." },
  userName: { type: "string" },
  displayName: { type: "string", minLength: 1, description: "Present when the user has one." },
  emails: arrayOf({ type: "string" }, "The values of the user's emails; present when the user has any."),
  active: { type: "boolean", description: "SCIM `active`: false when the identity provider has deactivated the user." },
  managedBy: ref("ManagedBy"),
  managedVia: { type: "string", description: "For a managed user, the connection that manages them (e.g. the SCIM token's name)." },
  editable: { type: "boolean", description: "Whether the caller may change this member's role and projects here (always false for a service token)." },
  isOwner: { type: "boolean" },
  role: { ...nullable(ref("OrganizationRole")), description: "The effective organization role; null when the member has no access (deactivated, suspended, or nothing grants a role)." },
  projects: arrayOf(object({ id: { type: "string" }, role: ref("ProjectRole") }), "Projects assigned explicitly (by mapping, locally or temporarily)."),
  allProjects: { type: "boolean", description: "Admin and Owner reach every project, including ones created later, as Editor." },
  lastLogin: { type: ["string", "null"], format: "date-time", description: "The last SAML sign-in; null before the first." },
  created: dateTime(),
  lastModified: dateTime(),
};

const reviewedProject = object({
  id: { type: "string", description: "The project's id." },
  name: { type: ["string", "null"], description: "The project's name; null when the project was deleted but an assignment still names it." },
  role: ref("ProjectRole"),
  sources: arrayOf(ref("ProjectRoleSource"), "Every source that assigned a role in the project, strongest first."),
});

const tokenSummaryProperties: Record<string, Schema> = {
  id: { type: "string", pattern: "^[0-9a-f]{24}$" },
  organizationId: { type: "string" },
  purpose: { type: "string", const: "scim", description: "Always `scim` here: service and personal tokens are managed with the CLI." },
  name: { type: "string" },
  created: dateTime(),
  lastUsed: dateTime("When the token last authenticated a request (updated at most once a minute); absent if never used."),
  expires: dateTime("When the token stops working; absent if it does not expire."),
  revoked: dateTime("When the token was revoked; absent while it is live."),
};
const tokenSummaryRequired = ["id", "organizationId", "purpose", "name", "created"];

const projectItem: Schema = {
  description: "A project id (meaning the Editor role), or `{id, role}`.",
  oneOf: [
    { type: "string", minLength: 1 },
    {
      type: "object",
      required: ["id", "role"],
      description: "Other properties are ignored.",
      properties: { id: { type: "string", minLength: 1 }, role: ref("ProjectRole") },
    },
  ],
};

/** What a SAML connection request may set besides the identity provider's values. */
const samlSettings: Record<string, Schema> = {
  jit: { type: "boolean" },
  groupSync: { type: "boolean" },
  idpInitiated: { type: "boolean" },
  signatures: ref("SamlSignatureRequirement"),
  attributes: { ...ref("SamlAttributes"), description: "Attribute names; those left out take their defaults." },
  subject: ref("SamlSubjectKey"),
  signAuthnRequests: {
    type: "boolean",
    description:
      "Sign AuthnRequests with Gatehouse's key (SAML_SP_KEY_FILE). Read from the metadata's `WantAuthnRequestsSigned` when configured from metadata; `true` without a key is refused with `invalid`.",
  },
  reason: { type: "string", maxLength: 1000, description: "Recorded in the audit trail." },
};

const schemas: Record<string, Schema> = {
  Error: {
    ...object({
      error: object({
        code: { type: "string", enum: Object.keys(ERROR_CODES), description: "What went wrong, for programs: see each operation's responses for the codes it answers with." },
        message: { type: "string", description: "What went wrong, for people." },
      }),
    }),
    description: "Every error of /api/v1.",
  },
  OrganizationRole: { type: "string", enum: [...ORGANIZATION_ROLES], description: "Organization roles, weakest first." },
  GrantableRole: { type: "string", enum: GRANTABLE_ROLES, description: "An organization role other than owner: ownership moves only by transfer." },
  ProjectRole: { type: "string", enum: [...PROJECT_ROLES] },
  Permission: { type: "string", enum: [...PERMISSIONS] },
  ManagedBy: { type: "string", enum: ["local", "scim", "saml"], description: "The source of truth for the user: a local account, or an identity provider." },
  PermissionMap: permissionMap,
  OrganizationRoleSource: { ...object(sourceProperties(SOURCE_KINDS, "OrganizationRole"), ["kind", "role"]), ...sourceConditions, description: "One thing that granted an organization role." },
  ProjectRoleSource: { ...object(sourceProperties(PROJECT_SOURCE_KINDS, "ProjectRole"), ["kind", "role"]), ...sourceConditions, description: "One thing that assigned a project role." },

  Member: { ...object(memberProperties, ["id", "userName", "active", "managedBy", "editable", "isOwner", "role", "projects", "allProjects", "lastLogin", "created", "lastModified"]), description: "A member of the organization." },
  MemberPage: object({
    totalResults: { type: "integer", minimum: 0, description: "Members matching the query, on all pages." },
    startIndex: { type: "integer", minimum: 1 },
    users: arrayOf(ref("Member"), "This page, ordered by userName."),
  }),

  ProjectAccess: object({
    projectId: { type: "string" },
    role: { ...ref("ProjectRole"), description: "The strongest project role assigned, before the organization role's ceiling." },
    permissions: { ...ref("PermissionMap"), description: "What the member may do in the project, the organization role's ceiling applied." },
    sources: arrayOf(ref("ProjectRoleSource"), "Every source that assigned a role in the project, strongest first."),
  }),
  Access: {
    ...object(
      {
        userId: { type: "string" },
        organizationRole: { ...nullable(ref("OrganizationRole")), description: "The effective organization role; null when the member has no access (`denial` says why)." },
        denial: { type: "string", description: "Why the member has no access; present exactly when `organizationRole` is null." },
        permissions: { ...ref("PermissionMap"), description: "What the organization role allows (empty without access)." },
        sources: arrayOf(ref("OrganizationRoleSource"), "Every source that gave an organization role, strongest first: the first gives the effective role."),
        allProjects: { type: "boolean", description: "Admin and Owner reach every project, including ones created later." },
        allProjectsPermissions: { ...ref("PermissionMap"), description: "What `allProjects` gives in any project; present exactly when `allProjects` is true." },
        projects: arrayOf(ref("ProjectAccess"), "Projects assigned explicitly (by mapping, locally or temporarily), by project id."),
      },
      ["userId", "organizationRole", "permissions", "sources", "allProjects", "projects"],
    ),
    allOf: [
      { if: { properties: { allProjects: { const: true } } }, then: { required: ["allProjectsPermissions"] }, else: { not: { required: ["allProjectsPermissions"] } } },
      { if: { properties: { organizationRole: { type: "null" } } }, then: { required: ["denial"] }, else: { not: { required: ["denial"] } } },
    ],
    description: "A member's effective access, and where each grant came from.",
  },
  AuthorizeDecision: object({
    allowed: { type: "boolean" },
    reason: { type: "string", description: "Written for the administrator reading a refusal or an access review." },
  }),

  Project: object({ id: { type: "string" }, name: { type: "string", minLength: 1 }, created: dateTime() }),
  ProjectList: object({ projects: arrayOf(ref("Project")) }),

  Mapping: {
    ...object(
      {
        id: { type: "string" },
        match: ref("MappingMatch"),
        organizationRole: ref("GrantableRole"),
        projects: arrayOf(ref("MappingProject")),
        created: dateTime(),
      },
      ["id", "match", "created"],
    ),
    anyOf: [{ required: ["organizationRole"] }, { required: ["projects"] }],
    description: "Maps an identity-provider group, or an Entra ID app role, onto an organization role and/or projects (never ownership). `projects` may be empty when its projects were deleted and the mapping still grants a role.",
  },
  MappingMatch: object({
    kind: {
      type: "string",
      enum: ["group_id", "external_id", "display_name", "app_role"],
      description: "group_id and external_id follow a group through renames; display_name matches case-insensitively; app_role matches a value of the user's SCIM roles.",
    },
    value: { type: "string", minLength: 1 },
  }),
  MappingProject: object({ projectId: { type: "string", minLength: 1 }, role: ref("ProjectRole") }),
  MappingList: object({ mappings: arrayOf(ref("Mapping")) }),

  ScimTokenSummary: { ...object(tokenSummaryProperties, tokenSummaryRequired), description: "A SCIM token as shown to an administrator: never its secret." },
  IssuedToken: {
    ...object(
      { ...tokenSummaryProperties, token: { type: "string", pattern: "^gsc_[0-9a-f]{24}_[A-Za-z0-9_-]{43}$", description: "The bearer token itself: shown in this answer only (Gatehouse keeps a hash)." } },
      [...tokenSummaryRequired, "token"],
    ),
    description: "A SCIM token just created, with its secret.",
  },
  ScimTokenList: object({ tokens: arrayOf(ref("ScimTokenSummary"), "The organization's SCIM tokens, revoked ones included, oldest first.") }),

  TemporaryGrant: {
    ...object(
      {
        id: { type: "string" },
        organizationRole: ref("GrantableRole"),
        projectId: { type: "string" },
        projectRole: ref("ProjectRole"),
        until: dateTime("When the grant ends by itself."),
        reason: { type: "string", minLength: 1 },
        grantedBy: { type: "string", description: "The id of the person who granted it." },
      },
      ["id", "until", "reason", "grantedBy"],
    ),
    anyOf: [{ required: ["organizationRole"] }, { required: ["projectId", "projectRole"] }],
    description: "Higher access for a while, with a reason.",
  },

  Settings: object({
    defaultRole: { type: "string", enum: ["user", "read_only", "none"], description: "The role of a member nothing else gives a role to; `none` admits only mapped or assigned users." },
    readOnlyMayComment: { type: "boolean" },
    requireMappingForAccess: { type: "boolean", description: "Admit only users some group mapping matches (or the Owner, or users given access here)." },
    seatLimit: { type: ["integer", "null"], minimum: 1, description: "The most active users the organization may have; null for no limit." },
  }),

  AuditEvent: object(
    {
      id: { type: "string" },
      at: dateTime(),
      actor: object({
        type: { type: "string", enum: ["scim_token", "saml_connection", "user", "operator", "system"] },
        id: { type: "string" },
        name: { type: "string" },
      }),
      source: { type: "string", enum: [...CHANGE_SOURCES] },
      action: { type: "string", description: "e.g. `user.provisioned`, `user.access_changed`, `mapping.created`." },
      target: object({ type: { type: "string" }, id: { type: "string" }, display: { type: "string" } }, ["type", "id"]),
      before: { description: "The target before the change (any JSON value), when the action has one." },
      after: { description: "The target after the change (any JSON value), when the action has one." },
      reason: { type: "string", description: "The reason given with the change, if any." },
      requestId: { type: "string" },
    },
    ["id", "at", "actor", "source", "action", "target", "requestId"],
  ),
  AuditEventPage: object(
    {
      events: arrayOf(ref("AuditEvent"), "Newest first."),
      nextCursor: { type: "string", description: "Pass as `cursor` for the next page; absent on the last page." },
    },
    ["events"],
  ),

  ReviewedUser: object(
    {
      id: { type: "string" },
      userName: { type: "string" },
      displayName: { type: ["string", "null"] },
      active: { type: "boolean" },
      managedBy: ref("ManagedBy"),
      managedVia: { type: "string" },
      created: dateTime(),
      role: { ...nullable(ref("OrganizationRole")), description: "The effective organization role; null when the member has no access (`denial` says why)." },
      denial: { type: "string" },
      roleSources: arrayOf(ref("OrganizationRoleSource"), "Every source that gave an organization role, strongest first."),
      allProjects: { type: "boolean" },
      projects: arrayOf(reviewedProject),
      lastLogin: { type: ["string", "null"], format: "date-time", description: "The last SAML sign-in; null before the first." },
      flags: {
        type: "array",
        uniqueItems: true,
        items: { type: "string", enum: ["inactive_90_days", "elevated", "temporary_grant", "suspended"] },
        description: "`inactive_90_days`: no login (or, never logged in, created) more than 90 days ago; `elevated`: admin or owner; `temporary_grant`: some access is temporary.",
      },
    },
    ["id", "userName", "displayName", "active", "managedBy", "created", "role", "roleSources", "allProjects", "projects", "lastLogin", "flags"],
  ),
  AccessReview: {
    ...object({
      generatedAt: dateTime(),
      organizationId: { type: "string" },
      ownerUserId: { type: ["string", "null"] },
      vacantOwnership: { type: "boolean", description: "Nobody holds ownership: the organization has no Owner, or the Owner's user was deleted." },
      organizationFlags: {
        type: "array",
        uniqueItems: true,
        items: { type: "string", enum: ["vacant_ownership", "saml_certificate_expires_soon"] },
        description:
          "Findings about the organization rather than a member: `vacant_ownership` (as `vacantOwnership`); `saml_certificate_expires_soon`: a signing certificate of the SAML connection expires within 30 days or has expired.",
      },
      expiringSamlCertificates: arrayOf(
        object({ subject: { type: "string" }, validTo: dateTime("When the certificate expires (or expired).") }),
        "The SAML signing certificates behind `saml_certificate_expires_soon`; empty without it.",
      ),
      users: arrayOf(ref("ReviewedUser"), "Every member, ordered by userName."),
    }),
    description: "Who has access today, how much, and why.",
  },

  SamlConnection: {
    ...object({
      idpEntityId: { type: "string", minLength: 1, description: "The identity provider's entity id (its metadata's `entityID`)." },
      ssoUrl: { type: "string", description: "Where sign-in requests are sent (the SingleSignOnService location)." },
      sloUrl: {
        type: ["string", "null"],
        description: "The identity provider's single logout service (HTTP-Redirect binding), where sign-out continues; null when there is none (signing out then ends the Gatehouse session only).",
      },
      certificates: arrayOf(
        object({
          pem: { type: "string", pattern: "^-----BEGIN CERTIFICATE-----", description: "The certificate itself, as PEM: put it back in `certificates` to keep it." },
          subject: { type: "string", description: "e.g. `CN=Microsoft Azure Federated SSO Certificate`." },
          validTo: dateTime("When the certificate expires."),
          expiresSoon: { type: "boolean", description: "It expires within 30 days, or has expired." },
        }),
        "The identity provider's signing certificates; several during a rotation, any of them verifies a signature.",
      ),
      certificateExpiresSoon: { type: "boolean", description: "Some certificate expires within 30 days or has expired: add its successor." },
      signatures: ref("SamlSignatureRequirement"),
      jit: { type: "boolean", description: "Create users on first sign-in instead of refusing people the organization does not know." },
      groupSync: { type: "boolean", description: "Map the assertion's groups through the organization's mappings (for organizations without SCIM)." },
      idpInitiated: {
        type: "boolean",
        description:
          "Accept sign-ins started at the identity provider (the Okta tile, Entra ID's My Apps). Off by default: such an answer answers no request, so it cannot be bound to the browser that receives it (login CSRF).",
      },
      attributes: ref("SamlAttributes"),
      subject: ref("SamlSubjectKey"),
      signAuthnRequests: { type: "boolean", description: "AuthnRequests are signed with Gatehouse's key (the identity provider wants them signed)." },
      serviceProvider: {
        ...object({
          entityId: { type: "string", format: "uri" },
          metadataUrl: { type: "string", format: "uri" },
          loginUrl: { type: "string", format: "uri" },
          acsUrl: { type: "string", format: "uri", description: "The assertion consumer service (Okta's Single sign-on URL, Entra ID's Reply URL)." },
          logoutUrl: { type: "string", format: "uri" },
          signingCertificate: {
            oneOf: [
              object({ subject: { type: "string" }, validTo: { type: "string", format: "date-time" }, expiresSoon: { type: "boolean" } }),
              { type: "null" },
            ],
            description: "Gatehouse's own signing certificate (SAML_SP_CERT_FILE), which signs single logout messages; null when none is configured (logout requests then go unsigned, which Okta refuses).",
          },
        }),
        description: "Gatehouse's own SAML URLs for this organization: what to give the identity provider.",
      },
    }),
    description: "The organization's SAML connection. It holds no secrets.",
  },
  SamlSignatureRequirement: {
    type: "string",
    enum: [...SAML_SIGNATURE_REQUIREMENTS],
    description: "What the identity provider must sign: the assertion (the default, what Okta and Entra ID do), the whole response, or both.",
  },
  SamlSubjectKey: {
    oneOf: [
      object({ source: { type: "string", enum: ["nameId"] } }),
      object({ source: { type: "string", enum: ["attribute"] }, attribute: { type: "string", minLength: 1, maxLength: 256 } }),
    ],
    description:
      "Which value of the assertion says who signs in — nothing else ever does. `nameId` (the default): the NameID, matched against the member's userName, ignoring ASCII case only when both are email-shaped ASCII, exactly otherwise. `attribute`: the single value of the named attribute (e.g. Entra ID's `http://schemas.microsoft.com/identity/claims/objectidentifier`), matched exactly against the member's externalId. JIT creation and linking use the same key. No match: the sign-in is refused (`saml.sign_in_refused`, reason `unknown_subject`).",
  },
  SamlAttributes: object(
    {
      email: { type: "string", minLength: 1, maxLength: 256, description: "The assertion attribute with the email (default `email`)." },
      name: { type: "string", minLength: 1, maxLength: 256, description: "The attribute with the display name (default `displayName`)." },
      groups: { type: "string", minLength: 1, maxLength: 256, description: "The attribute with the groups (default `groups`)." },
    },
    [],
  ),

  // Request bodies.
  ChangeAccessRequest: {
    ...object(
      {
        role: { ...ref("OrganizationRole"), description: "`owner` is refused (`owner_protected`): ownership moves only by transfer." },
        projects: arrayOf(ref("ProjectItem"), "Replaces the member's local project assignments."),
        reason: { type: "string", maxLength: 1000, description: "Recorded in the audit trail." },
      },
      [],
    ),
    anyOf: [{ required: ["role"] }, { required: ["projects"] }],
  },
  ProjectItem: projectItem,
  Session: object(
    {
      user: object({ id: { type: "string" }, userName: { type: "string" }, displayName: { type: "string", minLength: 1, description: "Present when the user has one." } }, ["id", "userName"]),
      organizationId: { type: "string" },
      via: { type: "string", enum: ["saml"], description: "How the session began." },
      createdAt: dateTime("When the person signed in."),
      expiresAt: dateTime("The absolute expiry (SESSION_ABSOLUTE_TIMEOUT_HOURS after sign-in); the session ends earlier after SESSION_IDLE_TIMEOUT_MINUTES without a request."),
      csrfToken: { type: "string", pattern: "^[A-Za-z0-9_-]{43}$", description: "Send it as `X-CSRF-Token` with every POST, PUT, PATCH and DELETE made with this session. It is the same for the whole session." },
    },
  ),
  ReasonRequest: object({ reason: { type: "string", maxLength: 1000, description: "Recorded in the audit trail." } }, []),
  SuspensionRequest: object({ reason: { type: "string", maxLength: 1000, description: "Recorded in the audit trail." } }, []),
  TemporaryAccessRequest: {
    ...object(
      {
        role: ref("GrantableRole"),
        projectId: { type: "string", minLength: 1, description: "A project of the organization." },
        projectRole: ref("ProjectRole"),
        until: dateTime("When the grant ends; must be in the future. A time with a zone (`Z` or an offset)."),
        reason: { type: "string", minLength: 1, maxLength: 1000 },
      },
      ["until", "reason"],
    ),
    anyOf: [{ required: ["role"] }, { required: ["projectId", "projectRole"] }],
    description: "An organization role, or a project with a role, or both.",
  },
  AuthorizeRequest: {
    type: "object",
    required: ["userId", "action"],
    properties: {
      userId: { type: "string", minLength: 1 },
      action: ref("Permission"),
      projectId: { type: "string", minLength: 1, description: "Decide a project permission (reports, dashboards, comments …) in this project." },
      ownResource: { type: "boolean", description: "Whether the resource is the user's own (for permissions granted only on own resources)." },
    },
    description: "Other properties are ignored.",
  },
  Invitation: object(
    {
      email: { type: "string", format: "email", description: "Becomes the userName and the primary work email." },
      displayName: { type: "string", minLength: 1, maxLength: 256 },
      role: { ...ref("GrantableRole"), description: "Never above the inviter's own role." },
      projects: arrayOf(ref("ProjectItem")),
    },
    ["email"],
  ),
  OwnershipTransferRequest: object({ userId: { type: "string", minLength: 1, description: "An active, unsuspended member." } }),
  SettingsChange: object(
    {
      defaultRole: { type: "string", enum: ["user", "read_only", "none"] },
      readOnlyMayComment: { type: "boolean" },
      requireMappingForAccess: { type: "boolean" },
      seatLimit: { type: ["integer", "null"], minimum: 1, description: "null removes the limit." },
    },
    [],
  ),
  ProjectRequest: object({ name: { type: "string", minLength: 1, maxLength: 200, description: "Trimmed; must not be blank." } }),
  MappingRequest: {
    ...object(
      {
        match: ref("MappingMatch"),
        organizationRole: { ...ref("GrantableRole"), description: "`owner` is refused: ownership is never granted by a mapping." },
        projects: arrayOf(ref("MappingProject"), "Projects of the organization."),
      },
      ["match"],
    ),
    anyOf: [{ required: ["organizationRole"] }, { required: ["projects"], properties: { projects: { type: "array", minItems: 1 } } }],
    description: "An organization role, projects, or both.",
  },
  SamlConnectionRequest: {
    description:
      "The identity provider's values, or its metadata document (`idpMetadataXml`: entity id, SSO URL, SLO URL and signing certificates are read from it), with settings. Settings left out keep their current value (their default on a new connection).",
    oneOf: [
      object(
        {
          idpEntityId: { type: "string", minLength: 1, maxLength: 1024 },
          ssoUrl: { type: "string", minLength: 1, maxLength: 2048, description: "An https:// URL." },
          sloUrl: { type: "string", minLength: 1, maxLength: 2048, description: "The identity provider's single logout URL (HTTP-Redirect binding), an https:// URL. Left out: none." },
          certificates: { ...arrayOf({ type: "string", minLength: 1, maxLength: 20000 }, "PEM certificates, every one the identity provider may sign with (the old and the new during a rotation)."), minItems: 1, maxItems: 10 },
          ...samlSettings,
        },
        ["idpEntityId", "ssoUrl", "certificates"],
      ),
      object(
        {
          idpMetadataXml: { type: "string", minLength: 1, maxLength: 100000, description: "The identity provider's SAML 2.0 metadata (an EntityDescriptor, or an EntitiesDescriptor holding one); no DOCTYPE." },
          sloUrl: { type: "string", minLength: 1, maxLength: 2048, description: "Overrides the metadata's SingleLogoutService (HTTP-Redirect), e.g. when it has none; an https:// URL." },
          ...samlSettings,
        },
        ["idpMetadataXml"],
      ),
    ],
  },
  ScimTokenRequest: object(
    {
      name: { type: "string", minLength: 1, maxLength: 200, description: "Defaults to `SCIM token`." },
      expires: dateTime("When the token stops working; by default it does not expire."),
    },
    [],
  ),
};

// --- Operations ---------------------------------------------------------------------------------

const userId = param("UserId");
const bodyErrors = (...more: ErrorCode[]) => errorResponse(400, ["invalid_request", "invalid_json", ...more]);
const notFound = (what: string) => errorResponse(404, ["not_found"], `${what}.`);
const csvResponse = (description: string, columns: readonly string[]): Schema => ({
  description: `${description} RFC 4180 CSV (CRLF line ends, UTF-8, no byte-order mark), a header row with the columns ${columns.map((c) => `\`${c}\``).join(", ")}; values a spreadsheet would take as a formula start with \`'\`.`,
  headers: {
    "Content-Disposition": {
      required: true,
      description: "`attachment` with a file name.",
      schema: { type: "string", pattern: '^attachment; filename="[^"]+\\.csv"$' },
    },
  },
  content: { "text/csv": { schema: { type: "string" } } },
});

const paths: Record<string, Record<string, unknown>> = {
  "/openapi.json": {
    get: {
      operationId: "getOpenApiDocument",
      tags: ["Meta"],
      summary: "This description of the API",
      description: "Needs no token.",
      security: [],
      responses: {
        "200": jsonResponse("The OpenAPI 3.1 document.", {
          type: "object",
          required: ["openapi", "info", "paths"],
          properties: { openapi: { type: "string", pattern: "^3\\.1\\.\\d+$" }, info: { type: "object" }, paths: { type: "object" } },
        }),
      },
    },
  },

  "/users": {
    get: {
      operationId: "listUsers",
      tags: ["Members"],
      summary: "List members",
      description: `Admin and Owner only. Ordered by userName. ${personalOnly}`,
      security: PERSONAL,
      parameters: [
        queryParameter("q", "Only members whose userName contains this (ignoring case).", { type: "string" }),
        queryParameter("startIndex", "The 1-based index of the first member of the page.", { type: "integer", minimum: 1, default: 1 }),
        queryParameter("count", "The most members on the page.", { type: "integer", minimum: 0, maximum: 200, default: 50 }),
      ],
      responses: withCommonErrors({
        "200": jsonResponse("A page of members.", ref("MemberPage")),
        "400": errorResponse(400, ["invalid_request"]),
      }),
    },
    post: {
      operationId: "inviteUser",
      tags: ["Members"],
      summary: "Invite a local user",
      description: `Needs \`add_users\`. Creates a local user with a role (never above the inviter's own) and projects; the seat limit applies. ${personalOnly}`,
      security: PERSONAL,
      requestBody: jsonBody(ref("Invitation")),
      responses: withChangeErrors(
        {
          "201": jsonResponse("The new member.", ref("Member")),
          "400": bodyErrors("invalid"),
          "409": errorResponse(409, ["conflict"]),
        },
        ["forbidden", "seat_limit_reached"],
      ),
    },
  },

  "/users/{id}": {
    parameters: [userId],
    get: {
      operationId: "getUser",
      tags: ["Members"],
      summary: "One member",
      description: `Admins, the Owner, service tokens, and members about themselves. ${personalOrService}`,
      security: PERSONAL_OR_SERVICE,
      responses: withCommonErrors({
        "200": jsonResponse("The member.", ref("Member")),
        "404": notFound("No such user in the organization"),
      }),
    },
    put: {
      operationId: "changeUserAccess",
      tags: ["Members"],
      summary: "Change a local member's role and projects",
      description: `Admin and Owner only; users an identity provider manages are read-only here. Give \`role\`, \`projects\`, or both. ${personalOnly}`,
      security: PERSONAL,
      requestBody: jsonBody(ref("ChangeAccessRequest")),
      responses: withChangeErrors(
        {
          "200": jsonResponse("The member after the change.", ref("Member")),
          "400": bodyErrors("invalid"),
          "404": notFound("No such user in the organization"),
          "409": errorResponse(409, ["managed_by_identity_provider"]),
        },
        ["forbidden", "owner_protected", "no_self_elevation"],
      ),
    },
    delete: {
      operationId: "removeUser",
      tags: ["Members"],
      summary: "Remove a local member",
      description: `Admin and Owner only; never the Owner, and not users an identity provider manages. ${personalOnly}`,
      security: PERSONAL,
      parameters: [queryParameter("reason", "Recorded in the audit trail.", { type: "string" })],
      responses: withChangeErrors(
        {
          "204": noContent("Removed."),
          "404": notFound("No such user in the organization"),
          "409": errorResponse(409, ["managed_by_identity_provider"]),
        },
        ["forbidden", "owner_protected"],
      ),
    },
  },

  "/users/{id}/access": {
    parameters: [userId],
    get: {
      operationId: "getUserAccess",
      tags: ["Access"],
      summary: "A member's effective access",
      description: `The role, what it allows, and where each grant came from. Service tokens, admins, the Owner, and members about themselves. ${personalOrService}`,
      security: PERSONAL_OR_SERVICE,
      responses: withCommonErrors({
        "200": jsonResponse("The member's access.", ref("Access")),
        "404": notFound("No such user in the organization"),
      }),
    },
  },

  "/users/{id}/suspend": {
    parameters: [userId],
    post: {
      operationId: "suspendUser",
      tags: ["Members"],
      summary: "Suspend a member",
      description: `Admin and Owner only; managed users too. A suspended member is denied everywhere, whatever the identity provider says, and their personal tokens are revoked. ${personalOnly}`,
      security: PERSONAL,
      requestBody: jsonBody(ref("SuspensionRequest"), false),
      responses: withChangeErrors(
        {
          "200": jsonResponse("The member, now suspended (`role` null).", ref("Member")),
          "400": bodyErrors(),
          "404": notFound("No such user in the organization"),
        },
        ["forbidden", "owner_protected"],
      ),
    },
  },

  "/users/{id}/unsuspend": {
    parameters: [userId],
    post: {
      operationId: "unsuspendUser",
      tags: ["Members"],
      summary: "Lift a suspension",
      description: `Admin and Owner only. Revoked personal tokens stay revoked. ${personalOnly}`,
      security: PERSONAL,
      requestBody: jsonBody(ref("SuspensionRequest"), false),
      responses: withChangeErrors(
        {
          "200": jsonResponse("The member.", ref("Member")),
          "400": bodyErrors(),
          "404": notFound("No such user in the organization"),
        },
        ["forbidden", "owner_protected"],
      ),
    },
  },

  "/users/{id}/sign-out-everywhere": {
    parameters: [userId],
    post: {
      operationId: "signUserOutEverywhere",
      tags: ["Members"],
      summary: "End every session of a member",
      description: `Admin and Owner only (an Admin never for the Owner); managed users too. Every browser session of the member ends at once, on every instance; they sign in again. Personal API tokens are not affected. Audited as \`user.signed_out_everywhere\`. ${personalOnly}`,
      security: PERSONAL,
      requestBody: jsonBody(ref("ReasonRequest"), false),
      responses: withChangeErrors(
        {
          "204": noContent("Signed out everywhere."),
          "400": bodyErrors(),
          "404": notFound("No such user in the organization"),
        },
        ["forbidden", "owner_protected"],
      ),
    },
  },

  "/session": {
    get: {
      operationId: "getSession",
      tags: ["Session"],
      summary: "The caller's session",
      description: `Who is signed in, until when, and the CSRF token for changes. ${sessionOnly}`,
      security: SESSION,
      responses: {
        "200": jsonResponse("The session.", ref("Session")),
        "401": unauthenticated,
        "503": unavailable,
      },
    },
  },

  "/session/sign-out": {
    post: {
      operationId: "signOut",
      tags: ["Session"],
      summary: "Sign out",
      description: `Ends this session (audited as \`session.ended\`) and clears its cookie. ${sessionOnly}`,
      security: SESSION,
      responses: {
        "204": noContent("Signed out; the response clears the cookie."),
        "401": unauthenticated,
        "403": errorResponse(403, ["csrf"]),
        "503": unavailable,
      },
    },
  },

  "/session/sign-out-everywhere": {
    post: {
      operationId: "signOutEverywhere",
      tags: ["Session"],
      summary: "Sign out everywhere",
      description: `Ends every session of the caller, this one included, on every browser and instance (audited as \`user.signed_out_everywhere\`), and clears this session's cookie. ${sessionOnly}`,
      security: SESSION,
      responses: {
        "204": noContent("Signed out everywhere; the response clears the cookie."),
        "401": unauthenticated,
        "403": errorResponse(403, ["csrf"]),
        "503": unavailable,
      },
    },
  },

  "/users/{id}/temporary-access": {
    parameters: [userId],
    post: {
      operationId: "grantTemporaryAccess",
      tags: ["Members"],
      summary: "Grant temporary access",
      description: `Admin and Owner only, never to themselves; managed users too. Ends by itself at \`until\`. ${personalOnly}`,
      security: PERSONAL,
      requestBody: jsonBody(ref("TemporaryAccessRequest")),
      responses: withChangeErrors(
        {
          "201": jsonResponse("The grant.", ref("TemporaryGrant")),
          "400": bodyErrors("invalid"),
          "404": notFound("No such user in the organization"),
        },
        ["forbidden", "owner_protected", "no_self_elevation"],
      ),
    },
  },

  "/users/{id}/temporary-access/{grantId}": {
    parameters: [userId, pathParameter("grantId", "The grant's id.")],
    delete: {
      operationId: "endTemporaryAccess",
      tags: ["Members"],
      summary: "End a temporary grant early",
      description: `Admin and Owner only. ${personalOnly}`,
      security: PERSONAL,
      responses: withChangeErrors(
        {
          "204": noContent("Ended."),
          "404": notFound("No such user, or no live grant with that id"),
        },
        ["forbidden", "owner_protected", "no_self_elevation"],
      ),
    },
  },

  "/authorize": {
    post: {
      operationId: "authorize",
      tags: ["Access"],
      summary: "May this member do this?",
      description: `With a \`projectId\`, project permissions are decided in that project; otherwise (and for organization-wide permissions) the organization role decides. An unknown project is a refusal, not an error. Service tokens, admins, the Owner, and members about themselves. ${personalOrService}`,
      security: PERSONAL_OR_SERVICE,
      requestBody: jsonBody(ref("AuthorizeRequest")),
      responses: withChangeErrors({
        "200": jsonResponse("The decision.", ref("AuthorizeDecision")),
        "400": bodyErrors(),
        "404": notFound("No such user in the organization"),
      }),
    },
  },

  "/ownership/transfer": {
    post: {
      operationId: "transferOwnership",
      tags: ["Organization"],
      summary: "Transfer ownership",
      description: `The Owner only, to an active, unsuspended member; the former Owner becomes an Admin. ${personalOnly}`,
      security: PERSONAL,
      requestBody: jsonBody(ref("OwnershipTransferRequest")),
      responses: withChangeErrors(
        {
          "200": jsonResponse("The new Owner.", ref("Member")),
          "400": bodyErrors(),
          "404": notFound("No such user in the organization"),
        },
        ["forbidden", "owner_protected"],
      ),
    },
  },

  "/settings": {
    get: {
      operationId: "getSettings",
      tags: ["Organization"],
      summary: "The organization's access settings",
      description: `Needs \`modify_account_settings\`. ${personalOnly}`,
      security: PERSONAL,
      responses: withCommonErrors({ "200": jsonResponse("The settings.", ref("Settings")) }),
    },
    patch: {
      operationId: "updateSettings",
      tags: ["Organization"],
      summary: "Change access settings",
      description: `Needs \`modify_account_settings\`. Properties left out keep their value. ${personalOnly}`,
      security: PERSONAL,
      requestBody: jsonBody(ref("SettingsChange"), false),
      responses: withChangeErrors({
        "200": jsonResponse("The settings after the change.", ref("Settings")),
        "400": bodyErrors(),
      }),
    },
  },

  "/projects": {
    get: {
      operationId: "listProjects",
      tags: ["Projects"],
      summary: "The organization's projects",
      description: `Any member with access, and service tokens. ${personalOrService}`,
      security: PERSONAL_OR_SERVICE,
      responses: withCommonErrors({ "200": jsonResponse("The projects.", ref("ProjectList")) }),
    },
    post: {
      operationId: "createProject",
      tags: ["Projects"],
      summary: "Create a project",
      description: `Needs \`modify_account_settings\`. ${personalOnly}`,
      security: PERSONAL,
      requestBody: jsonBody(ref("ProjectRequest")),
      responses: withChangeErrors({
        "201": jsonResponse("The new project.", ref("Project")),
        "400": bodyErrors("invalid"),
      }),
    },
  },

  "/projects/{id}": {
    parameters: [pathParameter("id", "The project's id.")],
    patch: {
      operationId: "renameProject",
      tags: ["Projects"],
      summary: "Rename a project",
      description: `Needs \`modify_account_settings\`. ${personalOnly}`,
      security: PERSONAL,
      requestBody: jsonBody(ref("ProjectRequest")),
      responses: withChangeErrors({
        "200": jsonResponse("The renamed project.", ref("Project")),
        "400": bodyErrors("invalid"),
        "404": notFound("No such project in the organization"),
      }),
    },
    delete: {
      operationId: "deleteProject",
      tags: ["Projects"],
      summary: "Delete a project",
      description: `Needs \`modify_account_settings\`. Mappings lose their assignments to it; a mapping left granting nothing is deleted too. ${personalOnly}`,
      security: PERSONAL,
      responses: withChangeErrors({
        "204": noContent("Deleted."),
        "404": notFound("No such project in the organization"),
      }),
    },
  },

  "/mappings": {
    get: {
      operationId: "listMappings",
      tags: ["Mappings"],
      summary: "Group mappings",
      description: `Needs \`edit_user_permissions\`. ${personalOnly}`,
      security: PERSONAL,
      responses: withCommonErrors({ "200": jsonResponse("The mappings.", ref("MappingList")) }),
    },
    post: {
      operationId: "createMapping",
      tags: ["Mappings"],
      summary: "Map a group or app role onto a role and/or projects",
      description: `Needs \`edit_user_permissions\`. Takes effect on the next authorization answer. ${personalOnly}`,
      security: PERSONAL,
      requestBody: jsonBody(ref("MappingRequest")),
      responses: withChangeErrors({
        "201": jsonResponse("The new mapping.", ref("Mapping")),
        "400": bodyErrors("invalid"),
      }),
    },
  },

  "/mappings/{id}": {
    parameters: [pathParameter("id", "The mapping's id.")],
    delete: {
      operationId: "deleteMapping",
      tags: ["Mappings"],
      summary: "Delete a mapping",
      description: `Needs \`edit_user_permissions\`. ${personalOnly}`,
      security: PERSONAL,
      responses: withChangeErrors({
        "204": noContent("Deleted."),
        "404": notFound("No such mapping in the organization"),
      }),
    },
  },

  "/scim-tokens": {
    get: {
      operationId: "listScimTokens",
      tags: ["SCIM tokens"],
      summary: "SCIM tokens",
      description: `Needs \`manage_integrations\`. Never shows a token's secret. ${personalOnly}`,
      security: PERSONAL,
      responses: withCommonErrors({ "200": jsonResponse("The SCIM tokens.", ref("ScimTokenList")) }),
    },
    post: {
      operationId: "createScimToken",
      tags: ["SCIM tokens"],
      summary: "Create a SCIM token",
      description: `Needs \`manage_integrations\`. The token is in this answer only. ${personalOnly}`,
      security: PERSONAL,
      requestBody: jsonBody(ref("ScimTokenRequest"), false),
      responses: withChangeErrors({
        "201": jsonResponse("The new token, with its secret.", ref("IssuedToken")),
        "400": bodyErrors(),
      }),
    },
  },

  "/scim-tokens/{id}": {
    parameters: [pathParameter("id", "The SCIM token's id.")],
    delete: {
      operationId: "revokeScimToken",
      tags: ["SCIM tokens"],
      summary: "Revoke a SCIM token",
      description: `Needs \`manage_integrations\`. Takes effect on the token's next request; revoking a revoked token changes nothing. ${personalOnly}`,
      security: PERSONAL,
      responses: withChangeErrors({
        "200": jsonResponse("The token, revoked.", ref("ScimTokenSummary")),
        "404": notFound("No SCIM token with that id in the organization"),
      }),
    },
  },

  "/saml-connection": {
    get: {
      operationId: "getSamlConnection",
      tags: ["SAML"],
      summary: "The organization's SAML connection",
      description: `Needs \`manage_integrations\` (Admin and Owner). With Gatehouse's own URLs to give the identity provider and each certificate's expiry. ${personalOnly}`,
      security: PERSONAL,
      responses: withCommonErrors({
        "200": jsonResponse("The connection.", ref("SamlConnection")),
        "404": notFound("No SAML connection is configured"),
      }),
    },
    put: {
      operationId: "configureSamlConnection",
      tags: ["SAML"],
      summary: "Configure the SAML connection",
      description: `Needs \`manage_integrations\` (Admin and Owner). Creates or replaces the connection, from the identity provider's values or from its metadata XML: as JSON, or the raw document with \`Content-Type: application/samlmetadata+xml\` (or \`application/xml\`, \`text/xml\`), at most 100 kB, settings then unchanged. Metadata that is not SAML 2.0 identity-provider metadata, has a DOCTYPE, no SSO URL or no signing certificate is refused with \`invalid\`, and nothing changes. So is metadata that wants signed AuthnRequests (\`WantAuthnRequestsSigned=\"true\"\`, or \`signAuthnRequests: true\`) while Gatehouse has no signing key (SAML_SP_KEY_FILE). Recorded as \`saml_connection.configured\`. ${personalOnly}`,
      security: PERSONAL,
      requestBody: {
        required: true,
        content: {
          "application/json": { schema: ref("SamlConnectionRequest") },
          ...Object.fromEntries(METADATA_MEDIA_TYPES.map((type) => [type, { schema: { type: "string", description: "The identity provider's SAML 2.0 metadata document." } }])),
        },
      },
      responses: withCommonErrors({
        "200": jsonResponse("The connection as configured.", ref("SamlConnection")),
        "400": bodyErrors("invalid"),
      }),
    },
    delete: {
      operationId: "removeSamlConnection",
      tags: ["SAML"],
      summary: "Remove the SAML connection",
      description: `Needs \`manage_integrations\` (Admin and Owner). SAML sign-in to the organization stops. Recorded as \`saml_connection.removed\`. ${personalOnly}`,
      security: PERSONAL,
      parameters: [queryParameter("reason", "Recorded in the audit trail.", { type: "string" })],
      responses: withCommonErrors({
        "204": noContent("Removed."),
        "404": notFound("No SAML connection is configured"),
      }),
    },
  },

  "/audit": {
    get: {
      operationId: "searchAudit",
      tags: ["Audit"],
      summary: "Search the audit trail",
      description: `Admin and Owner only. Newest first, a page at a time. Each parameter at most once; unknown parameters are refused. ${personalOnly}`,
      security: PERSONAL,
      parameters: [
        ...auditFilterParameters,
        queryParameter("limit", "The most events on the page.", { type: "integer", minimum: 1, maximum: 1000, default: 100 }),
        queryParameter("cursor", "The `nextCursor` of the previous page.", { type: "string", minLength: 1, maxLength: 1000 }),
      ],
      responses: withCommonErrors({
        "200": jsonResponse("A page of events.", ref("AuditEventPage")),
        "400": errorResponse(400, ["invalid_request"]),
      }),
    },
  },

  "/audit/export.csv": {
    get: {
      operationId: "exportAudit",
      tags: ["Audit"],
      summary: "Export the audit trail as CSV",
      description: `Admin and Owner only. Every matching event, newest first, streamed; a failure after the first rows cuts the connection rather than end a partial file cleanly. Each parameter at most once; unknown parameters are refused. ${personalOnly}`,
      security: PERSONAL,
      parameters: auditFilterParameters,
      responses: withCommonErrors({
        "200": csvResponse("The events.", ["at", "actor_type", "actor_id", "actor_name", "source", "action", "target_type", "target_id", "target_display", "reason", "request_id", "before", "after"]),
        "400": errorResponse(400, ["invalid_request"]),
      }),
    },
  },

  "/access-review": {
    get: {
      operationId: "getAccessReview",
      tags: ["Audit"],
      summary: "Access review",
      description: `Admin and Owner only. Every member's role and where it came from, projects, last login and flags. Takes no parameters. ${personalOnly}`,
      security: PERSONAL,
      responses: withCommonErrors({
        "200": jsonResponse("The review.", ref("AccessReview")),
        "400": errorResponse(400, ["invalid_request"], "A query parameter was given."),
      }),
    },
  },

  "/access-review.csv": {
    get: {
      operationId: "exportAccessReview",
      tags: ["Audit"],
      summary: "Access review as CSV",
      description: `Admin and Owner only. One row per member, after one row per finding about the organization (empty \`user_id\`, the finding in \`display_name\`, flags \`vacant_ownership\` or \`saml_certificate_expires_soon\`). Takes no parameters. ${personalOnly}`,
      security: PERSONAL,
      responses: withCommonErrors({
        "200": csvResponse("The review.", ["user_id", "user_name", "display_name", "active", "managed_by", "role", "role_sources", "projects", "last_login", "flags"]),
        "400": errorResponse(400, ["invalid_request"], "A query parameter was given."),
      }),
    },
  },
};

export const openApiDocument: OpenApiDocument = {
  openapi: "3.1.0",
  info: {
    title: "Gatehouse API",
    version: "1",
    description: [
      "Authorization answers for the product's back end (organization service tokens, `gatehouse service-token create`) and the local admin API for people (personal API tokens, `gatehouse user-token create`).",
      "Every operation but this description needs `Authorization: Bearer <token>` or, from a browser, the session cookie single sign-on sets; SCIM tokens are not accepted. A personal token or a session acts as its person, under the permission matrix: a person without access to the organization (deactivated, suspended, no role) is answered `403 forbidden` everywhere but `/session`. Changes made with a session need its CSRF token in `X-CSRF-Token`.",
      "Errors are `{\"error\": {\"code\", \"message\"}}`; each operation lists the codes it answers with. Bodies are JSON (`Content-Type: application/json`, at most 100 kB). With a valid token, a path not described here is answered `404 not_found`.",
    ].join("\n\n"),
  },
  servers: [{ url: "/api/v1", description: "This server" }],
  security: PERSONAL,
  tags: [
    { name: "Access", description: "Effective access and authorization answers." },
    { name: "Members", description: "Members: list, invite, change, suspend, grant temporary access, remove." },
    { name: "Organization", description: "Ownership and access settings." },
    { name: "Projects", description: "The organization's projects." },
    { name: "Mappings", description: "Identity-provider groups and app roles mapped onto roles and projects." },
    { name: "SCIM tokens", description: "Bearer tokens for identity providers' SCIM provisioning." },
    { name: "SAML", description: "The organization's SAML single sign-on connection." },
    { name: "Audit", description: "The audit trail and access reviews." },
    { name: "Session", description: "The caller's browser session: its CSRF token, signing out, signing out everywhere." },
    { name: "Meta", description: "This description." },
  ],
  paths,
  components: {
    securitySchemes: {
      personalToken: {
        type: "http",
        scheme: "bearer",
        bearerFormat: "gpt_<id>_<secret>",
        description: "A personal API token (`gatehouse user-token create`): acts as its person, under the permission matrix. Revoked when the person is deactivated, deleted or suspended.",
      },
      serviceToken: {
        type: "http",
        scheme: "bearer",
        bearerFormat: "gsv_<id>_<secret>",
        description: "An organization service token (`gatehouse service-token create`) for the product's back end: reads members' access and answers authorization questions, changes nothing.",
      },
      sessionCookie: {
        type: "apiKey",
        in: "cookie",
        name: "__Host-gatehouse_session",
        description:
          "The browser session single sign-on starts (HttpOnly, SameSite=Lax; named `gatehouse_session` when PUBLIC_BASE_URL is plain http). Used only when no Authorization header is sent, and acts as its person exactly as a personal token does. POST, PUT, PATCH and DELETE also need the header `X-CSRF-Token` (the `csrfToken` of `GET /session`) and, when the browser sends `Origin`, Gatehouse's own origin or one of CORS_ALLOWED_ORIGINS; otherwise `403 csrf`.",
      },
    },
    schemas,
    parameters: {
      UserId: pathParameter("id", "The user's id (the SCIM id)."),
    },
    responses: {
      Unauthenticated: {
        description: `${STATUS_TEXT[401]} Error code: \`unauthenticated\` (${ERROR_CODES.unauthenticated}).`,
        headers: {
          "WWW-Authenticate": { required: true, description: "The bearer challenge.", schema: { type: "string", const: 'Bearer realm="Gatehouse API"' } },
        },
        content: { "application/json": { schema: { allOf: [ref("Error"), { type: "object", properties: { error: { type: "object", properties: { code: { const: "unauthenticated" } } } } }] } } },
      },
      Unavailable: {
        description: `${STATUS_TEXT[503]} Error code: \`unavailable\` (${ERROR_CODES.unavailable}).`,
        content: { "application/json": { schema: { allOf: [ref("Error"), { type: "object", properties: { error: { type: "object", properties: { code: { const: "unavailable" } } } } }] } } },
      },
    },
  },
};

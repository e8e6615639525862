import { z } from "zod";
import type { AccessCatalog } from "../domain/catalog";
import { CHANGE_SOURCES } from "../domain/context";
import { SAML_SIGNATURE_REQUIREMENTS } from "../domain/saml";
import { TEMPORARY_ACCESS_DEFAULT_DAYS, TEMPORARY_ACCESS_HARD_CAP_DAYS } from "../domain/temporary-access";
import { ERROR_CODES } from "./operation";
import { PERSONAL_TOKEN_DEFAULT_MAXIMUM_DAYS, PERSONAL_TOKEN_HARD_CAP_DAYS } from "../domain/personal-tokens";

/**
 * The zod schemas /api/v1 shares between operations: what requests may hold and what answers
 * hold. Each is validated where it enters (admin/operation.ts) or types a presenter, and becomes
 * a named schema of the OpenAPI document (`#/components/schemas/<name>`, admin/openapi.ts).
 */

/** The schemas the document names, by name (the rest are written inline where they are used). */
export const components = z.registry<{ id: string }>();
export function named<S extends z.ZodType>(id: string, schema: S, description?: string): S {
  const described = description ? schema.describe(description) : schema;
  components.add(described, { id });
  return described as S;
}

const dateTime = (description?: string) => (description ? z.iso.datetime().describe(description) : z.iso.datetime());

// --- Roles and permissions ------------------------------------------------------------------------

// Role and permission names are the access catalog's (domain/catalog.ts, ACCESS_CATALOG): requests
// take any name here, the services refuse one the catalog in force does not declare (400
// invalid_request), and the document served lists the catalog's names as `enum`s (`catalogEnums`).
const catalogName = () => z.string().min(1).max(100);
export const OrganizationRole = named("OrganizationRole", catalogName(), "Organization roles of the access catalog, weakest first where it ranks them.");
export const GrantableRole = named("GrantableRole", catalogName(), "An organization role other than the Owner's: ownership moves only by transfer.");
export const ProjectRole = named("ProjectRole", catalogName(), "Project roles of the access catalog.");
export const Permission = named("Permission", catalogName(), "Permissions of the access catalog.");
export const DefaultRole = named("DefaultRole", catalogName(), "An organization role that administers nothing, or `none`.");
export const ManagedBy = named("ManagedBy", z.enum(["local", "scim", "saml"]), "The source of truth for the user: a local account, or an identity provider.");
export const ChangeSource = named("ChangeSource", z.enum(CHANGE_SOURCES), "The channel a change came through.");
export const PermissionMap = named(
  "PermissionMap",
  z.record(Permission, z.enum(["own", "all"])),
  "Permission → scope, sorted by name: `all` on anyone's resources, `own` only on resources the user created. A permission not listed is not granted.",
);

/** A project in a request: an id (meaning the Editor role), or `{id, role}` (other properties are ignored). */
export const ProjectItem = named(
  "ProjectItem",
  z.union([z.string().min(1), z.object({ id: z.string().min(1), role: ProjectRole })]),
  "A project id (meaning the Editor role), or `{id, role}`.",
);
/** The catalog's `defaultProjectRole` (Editor in the shipped catalog) when a request names only the project. */
export const toAssignment = (catalog: AccessCatalog) => (p: z.output<typeof ProjectItem>) =>
  typeof p === "string" ? { projectId: p, role: catalog.definition.defaultProjectRole } : { projectId: p.id, role: p.role };

/**
 * The named schemas whose values are the catalog's names, and those names: the document served
 * lists them as `enum`s, so a client generated from it knows this product's roles and permissions.
 */
export function catalogEnums(catalog: AccessCatalog): Record<string, readonly string[]> {
  return {
    OrganizationRole: catalog.organizationRoleNames,
    GrantableRole: catalog.grantableRoleNames,
    ProjectRole: catalog.projectRoleNames,
    Permission: catalog.permissionNames,
    DefaultRole: [...catalog.defaultRoleNames, "none"],
  };
}

const kindDescription = "What granted the role: ownership, a local assignment, a group mapping, a temporary grant, or the organization's default role.";

/** One thing that granted a role: a mapping says which (and through which group or app role), a temporary grant which grant and until when. */
function sourceOf<const K extends readonly [string, ...string[]], R extends z.ZodType>(plainKinds: K, role: R) {
  return z.discriminatedUnion("kind", [
    z.object({ kind: z.enum(plainKinds).describe(kindDescription), role }),
    z.object({
      kind: z.literal("mapping"),
      role,
      mappingId: z.string().describe("The mapping that matched."),
      groupId: z.string().optional().describe("For a mapping matched through a group: the group's id."),
      groupName: z.string().optional().describe("With `groupId`: the group's display name."),
      appRole: z.string().optional().describe("For a mapping matched through an Entra ID app role: the app role's value."),
    }),
    z.object({ kind: z.literal("temporary"), role, grantId: z.string().describe("The grant."), until: dateTime("When the grant ends.") }),
  ]);
}
export const OrganizationRoleSource = named("OrganizationRoleSource", sourceOf(["owner", "local", "default"], OrganizationRole), "One thing that granted an organization role.");
export const ProjectRoleSource = named("ProjectRoleSource", sourceOf(["local"], ProjectRole), "One thing that assigned a project role.");

// --- Members and access ---------------------------------------------------------------------------

export const MemberStatus = named(
  "MemberStatus",
  z.enum(["active", "suspended", "deactivated"]),
  "`deactivated`: the identity provider (or an operator) set `active` false; `suspended`: active but suspended here; `active`: neither.",
);

export const Member = named(
  "Member",
  z.object({
    id: z.string().describe("The user's id (the SCIM id)."),
    userName: z.string(),
    displayName: z.string().min(1).optional().describe("Present when the user has one."),
    emails: z.array(z.string()).optional().describe("The values of the user's emails; present when the user has any."),
    active: z.boolean().describe("SCIM `active`: false when the identity provider has deactivated the user."),
    managedBy: ManagedBy,
    managedVia: z.string().optional().describe("For a managed user, the connection that manages them (e.g. the SCIM token's name)."),
    editable: z.boolean().describe("Whether the caller may change this member's role and projects here (always false for a service token)."),
    isOwner: z.boolean(),
    role: OrganizationRole.nullable().describe("The effective organization role; null when the member has no access (deactivated, suspended, or nothing grants a role)."),
    status: MemberStatus,
    suspended: named(
      "Suspension",
      z.object({
        since: z.iso.datetime().nullable().describe("When the member was suspended (null for suspensions recorded before Gatehouse kept it)."),
        by: z
          .object({
            type: z.string().describe("`user` (an administrator, through this API) or `operator` (the CLI)."),
            id: z.string(),
            name: z.string(),
          })
          .nullable()
          .describe("Who suspended the member."),
        reason: z.string().nullable().describe("The reason given, if any."),
      }),
      "Who suspended a member, when and why.",
    )
      .nullable()
      .describe("Null when the member is not suspended. A suspended member has no access (`role` null) whatever the identity provider says, until an administrator lifts it."),
    projects: z.array(z.object({ id: z.string(), role: ProjectRole })).describe("Projects assigned explicitly (by mapping, locally or temporarily)."),
    allProjects: z.boolean().describe("Admin and Owner reach every project, including ones created later, as Editor."),
    lastLogin: z.iso.datetime().nullable().describe("The last SAML sign-in; null before the first."),
    offboarding: z
      .object({
        offboardingId: z.string(),
        status: z.enum(["carried_out", "completed"]),
        since: dateTime("When the hold was placed."),
        conflict: z.object({ at: dateTime(), detail: z.string() }).optional().describe("The identity provider reactivated the member after HR offboarded them; the hold stays."),
      })
      .optional()
      .describe("Present while an HR offboarding holds the member (suspended until an administrator lifts it with `POST /users/{id}/unsuspend`)."),
    created: dateTime(),
    lastModified: dateTime(),
  }),
  "A member of the organization.",
);
export const MemberPage = named(
  "MemberPage",
  z.object({
    totalResults: z.number().int().min(0).describe("Members matching the query, on all pages."),
    startIndex: z.number().int().min(1).describe("The 1-based position of the page's first member among all that match."),
    users: z.array(Member).describe("This page, ordered by userName."),
    nextCursor: z.string().optional().describe("Pass as `cursor` for the next page; absent on the last page."),
  }),
);

export const Access = named(
  "Access",
  z.object({
    userId: z.string(),
    organizationRole: OrganizationRole.nullable().describe("The effective organization role; null when the member has no access (`denial` says why)."),
    denial: z.string().optional().describe("Why the member has no access; present exactly when `organizationRole` is null."),
    permissions: PermissionMap.describe("What the organization role allows (empty without access)."),
    sources: z.array(OrganizationRoleSource).describe("Every source that gave an organization role, strongest first: the first gives the effective role."),
    allProjects: z.boolean().describe("Admin and Owner reach every project, including ones created later."),
    allProjectsPermissions: PermissionMap.optional().describe("What `allProjects` gives in any project; present exactly when `allProjects` is true."),
    projects: z
      .array(
        named(
          "ProjectAccess",
          z.object({
            projectId: z.string(),
            role: ProjectRole.describe("The strongest project role assigned, before the organization role's ceiling."),
            permissions: PermissionMap.describe("What the member may do in the project, the organization role's ceiling applied."),
            sources: z.array(ProjectRoleSource).describe("Every source that assigned a role in the project, strongest first."),
          }),
        ),
      )
      .describe("Projects assigned explicitly (by mapping, locally or temporarily), by project id."),
  }),
  "A member's effective access, and where each grant came from.",
);

export const TemporaryGrant = named(
  "TemporaryGrant",
  z.object({
    id: z.string(),
    organizationRole: GrantableRole.optional(),
    projectId: z.string().optional(),
    projectRole: ProjectRole.optional(),
    until: dateTime("When the grant ends by itself."),
    reason: z.string().min(1),
    grantedBy: z.string().describe("The id of the person who granted it."),
  }),
  "Higher access for a while, with a reason.",
);

export const ReasonRequest = named("ReasonRequest", z.object({ reason: z.string().max(1000).optional().describe("Recorded in the audit trail.") }).strict());

/** A `reason` query parameter: recorded in the audit trail; anything but one plain string is ignored. */
export const reasonQuery = z.object({ reason: z.string().optional().catch(undefined).describe("Recorded in the audit trail.") });

export const CustomRole = named(
  "CustomRole",
  z.object({
    name: z.string().regex(/^custom:[a-z][a-z0-9_.-]{0,63}$/).describe("`custom:` and a lower-case name: answers, the audit trail and reviews show it is the organization's own."),
    description: z.string().min(1).max(1000).optional(),
    permissions: PermissionMap.describe("What the role grants organization-wide: permissions of the access catalog, never more than its creator holds."),
    created: dateTime(),
    createdBy: z.string().describe("The id of the person who created it."),
  }),
  "A role the organization added on top of the access catalog's; usable wherever an organization role is (mappings, assignments, temporary grants, the default role when it administers nothing).",
);

// --- Projects, mappings, settings, tokens ---------------------------------------------------------

export const Project = named("Project", z.object({ id: z.string(), name: z.string().min(1), created: dateTime() }));
export const ProjectRequest = named("ProjectRequest", z.object({ name: z.string().min(1).max(200).describe("Trimmed; must not be blank.") }).strict());

export const MappingMatch = named(
  "MappingMatch",
  z
    .object({
      kind: z
        .enum(["group_id", "external_id", "display_name", "app_role"])
        .describe("group_id and external_id follow a group through renames; display_name matches case-insensitively; app_role matches a value of the user's SCIM roles."),
      // A group id, external id, display name or app role value: never kilobytes long.
      value: z.string().min(1).max(1024),
    })
    .strict(),
);
export const MappingProject = named("MappingProject", z.object({ projectId: z.string().min(1), role: ProjectRole }).strict());
export const Mapping = named(
  "Mapping",
  z.object({ id: z.string(), match: MappingMatch, organizationRole: GrantableRole.optional(), projects: z.array(MappingProject).optional(), created: dateTime() }),
  "Maps an identity-provider group, or an Entra ID app role, onto an organization role and/or projects (never ownership). `projects` may be empty when its projects were deleted and the mapping still grants a role.",
);

/** The organization's bound on temporary grants (domain/temporary-access.ts). */
export const temporaryAccessMaximumDays = z
  .number()
  .positive()
  .max(TEMPORARY_ACCESS_HARD_CAP_DAYS)
  .describe(`The longest a temporary grant may last, in days (fractions allowed: 0.5 is 12 hours); ${TEMPORARY_ACCESS_DEFAULT_DAYS} unless changed, never above ${TEMPORARY_ACCESS_HARD_CAP_DAYS}.`);
/** The longest a member's own personal API token may live (issue 13 §2). */
export const PersonalTokenMaximumDays = z
  .number()
  .int()
  .min(1)
  .max(PERSONAL_TOKEN_HARD_CAP_DAYS)
  .describe(`The longest a personal API token a member creates for themselves may live, in days: ${PERSONAL_TOKEN_DEFAULT_MAXIMUM_DAYS} unless changed, at most ${PERSONAL_TOKEN_HARD_CAP_DAYS}.`);

export const Settings = named(
  "Settings",
  z.object({
    name: z.string().describe("The organization's name, as people see it."),
    defaultRole: DefaultRole.describe("The role of a member nothing else gives a role to; `none` admits only mapped or assigned users."),
    readOnlyMayComment: z.boolean(),
    requireMappingForAccess: z.boolean().describe("Admit only users some group mapping matches (or the Owner, or users given access here)."),
    seatLimit: z.number().int().min(1).nullable().describe("The most active users the organization may have; null for no limit. Set by the operator (CLI), read-only here."),
    ownerVacant: z.boolean().describe("True when the organization has no Owner (e.g. the identity provider deactivated the Owner): only the operator restores one (`gatehouse org set-owner`)."),
    ownerVacancy: z.string().optional().describe("Present exactly when `ownerVacant`: what it means and the operator's break-glass command."),
    temporaryAccessMaximumDays,
    seatsUsed: z.number().int().min(0).describe("Seats taken: active members, suspended ones included (a deactivated member takes none)."),
    personalTokenMaximumDays: PersonalTokenMaximumDays,
  }),
);

const tokenSummary = {
  id: z.string().regex(/^[0-9a-f]{24}$/),
  organizationId: z.string(),
  purpose: z.literal("scim").describe("Always `scim` here: service and personal tokens are managed with the CLI."),
  name: z.string(),
  created: dateTime(),
  lastUsed: dateTime("When the token last authenticated a request (updated at most once a minute); absent if never used.").optional(),
  expires: dateTime("When the token stops working; absent if it does not expire.").optional(),
  revoked: dateTime("When the token was revoked; absent while it is live.").optional(),
};
export const ScimTokenSummary = named("ScimTokenSummary", z.object(tokenSummary), "A SCIM token as shown to an administrator: never its secret.");
export const IssuedToken = named(
  "IssuedToken",
  z.object({
    ...tokenSummary,
    token: z
      .string()
      .regex(/^gsc_[0-9a-f]{24}_[A-Za-z0-9_-]{43}$/)
      .describe("The bearer token itself: shown in this answer only (Gatehouse keeps a hash)."),
  }),
  "A SCIM token just created, with its secret.",
);

// --- SAML ---------------------------------------------------------------------------------------------

export const SamlSignatureRequirement = named(
  "SamlSignatureRequirement",
  z.enum(SAML_SIGNATURE_REQUIREMENTS),
  "What the identity provider must sign: the assertion (the default, what Okta and Entra ID do), the whole response, or both.",
);

export const SamlAttributes = named(
  "SamlAttributes",
  z
    .object({
      email: z.string().min(1).max(256).optional().describe("The assertion attribute with the email (default `email`)."),
      name: z.string().min(1).max(256).optional().describe("The attribute with the display name (default `displayName`)."),
      groups: z.string().min(1).max(256).optional().describe("The attribute with the groups (default `groups`)."),
    })
    .strict(),
);

export const SamlSubjectKey = named(
  "SamlSubjectKey",
  z.discriminatedUnion("source", [
    z.object({ source: z.literal("nameId") }).strict(),
    z.object({ source: z.literal("attribute"), attribute: z.string().min(1).max(256) }).strict(),
  ]),
  "Which value of the assertion says who signs in — nothing else ever does. `nameId` (the default): the NameID, matched against the member's userName, ignoring ASCII case only when both are email-shaped ASCII, exactly otherwise. `attribute`: the single value of the named attribute (e.g. Entra ID's `http://schemas.microsoft.com/identity/claims/objectidentifier`), matched exactly against the member's externalId. JIT creation and linking use the same key. No match: the sign-in is refused (`saml.sign_in_refused`, reason `unknown_subject`).",
);

export const SamlConnection = named(
  "SamlConnection",
  z.object({
    idpEntityId: z.string().min(1).describe("The identity provider's entity id (its metadata's `entityID`)."),
    ssoUrl: z.string().describe("Where sign-in requests are sent (the SingleSignOnService location)."),
    sloUrl: z
      .string()
      .nullable()
      .describe(
        "The identity provider's single logout service (HTTP-Redirect binding), where sign-out continues; null when there is none (signing out then ends the Gatehouse session only).",
      ),
    certificates: z
      .array(
        z.object({
          pem: z.string().regex(/^-----BEGIN CERTIFICATE-----/).describe("The certificate itself, as PEM: put it back in `certificates` to keep it."),
          subject: z.string().describe("e.g. `CN=Microsoft Azure Federated SSO Certificate`."),
          validTo: dateTime("When the certificate expires."),
          expiresSoon: z.boolean().describe("It expires within 30 days, or has expired."),
        }),
      )
      .describe("The identity provider's signing certificates; several during a rotation, any of them verifies a signature."),
    certificateExpiresSoon: z.boolean().describe("Some certificate expires within 30 days or has expired: add its successor."),
    signatures: SamlSignatureRequirement,
    jit: z.boolean().describe("Create users on first sign-in instead of refusing people the organization does not know."),
    groupSync: z.boolean().describe("Map the assertion's groups through the organization's mappings (for organizations without SCIM)."),
    idpInitiated: z
      .boolean()
      .describe(
        "Accept sign-ins started at the identity provider (the Okta tile, Entra ID's My Apps). Off by default: such an answer answers no request, so it cannot be bound to the browser that receives it (login CSRF).",
      ),
    attributes: z.object({ email: z.string(), name: z.string(), groups: z.string() }),
    subject: SamlSubjectKey,
    signAuthnRequests: z.boolean().describe("AuthnRequests are signed with Gatehouse's key (the identity provider wants them signed)."),
    serviceProvider: z
      .object({
        entityId: z.url(),
        metadataUrl: z.url(),
        loginUrl: z.url(),
        acsUrl: z.url().describe("The assertion consumer service (Okta's Single sign-on URL, Entra ID's Reply URL)."),
        logoutUrl: z.url(),
        signingCertificate: z
          .object({ subject: z.string(), validTo: dateTime(), expiresSoon: z.boolean() })
          .nullable()
          .describe(
            "Gatehouse's own signing certificate (SAML_SP_CERT_FILE), which signs single logout messages; null when none is configured (logout requests then go unsigned, which Okta refuses).",
          ),
      })
      .describe("Gatehouse's own SAML URLs for this organization: what to give the identity provider."),
  }),
  "The organization's SAML connection. It holds no secrets.",
);

// --- Errors ---------------------------------------------------------------------------------------

export const ErrorBody = named(
  "Error",
  z.object({
    error: z.object({
      code: z.enum(Object.keys(ERROR_CODES) as [keyof typeof ERROR_CODES, ...(keyof typeof ERROR_CODES)[]]).describe("What went wrong, for programs: see each operation's responses for the codes it answers with."),
      message: z.string().describe("What went wrong, for people."),
    }),
  }),
  "Every error of /api/v1.",
);

// --- Mapping edits and the preview of a mapping's effect (admin/mapping-routes.ts) -----------------

export const MappingEditRequest = named(
  "MappingEditRequest",
  z
    .object({
      match: MappingMatch.optional(),
      organizationRole: GrantableRole.nullable().optional().describe("`null` takes the role away (the mapping must still assign projects); `owner` is refused."),
      projects: z.array(MappingProject).optional().describe("Replaces the mapping's projects; `[]` takes them all away (the mapping must still grant a role)."),
    })
    .strict(),
  "What changes; what is left out stays as it is. The result must grant an organization role, projects, or both.",
);

export const AccessSummary = named(
  "AccessSummary",
  z.object({
    organizationRole: OrganizationRole.nullable().describe("The effective (strongest) organization role; null when the member has no access."),
    organizationRoles: z.array(OrganizationRole).describe("Every organization role held, strongest first."),
    allProjects: z.boolean().describe("The organization roles reach every project."),
    projects: z.array(z.object({ projectId: z.string(), role: ProjectRole, roles: z.array(ProjectRole) })).describe("Projects assigned explicitly: the strongest role and every role held there."),
    denial: z.string().optional().describe("Why the member has no access, when they have none."),
  }),
  "A member's effective access, as the authorization answers work it out (the `before` and `after` of `user.access_changed`).",
);

const Grants = z.object({ organizationRoles: z.array(OrganizationRole), projects: z.array(z.object({ projectId: z.string(), role: ProjectRole })) });

export const MappingPreviewRequest = named(
  "MappingPreviewRequest",
  z.discriminatedUnion("change", [
    z.object({ change: z.literal("create"), mapping: z.object({ match: MappingMatch, organizationRole: GrantableRole.optional(), projects: z.array(MappingProject).optional() }).strict() }).strict(),
    z.object({ change: z.literal("edit"), mappingId: z.string().min(1), mapping: MappingEditRequest }).strict(),
    z.object({ change: z.literal("delete"), mappingId: z.string().min(1) }).strict(),
  ]),
  "The mapping change as it would be saved: `create` with the body of `POST /mappings`, `edit` with the body of `PATCH /mappings/{id}`, or `delete`.",
);

export const MappingPreview = named(
  "MappingPreview",
  z.object({
    totalResults: z.number().int().describe("How many members' access the change would change, in all."),
    startIndex: z.number().int(),
    changes: z.array(
      z.object({
        userId: z.string(),
        userName: z.string(),
        before: AccessSummary,
        after: AccessSummary,
        gained: Grants.describe("Roles the member would hold that they do not hold now."),
        lost: Grants.describe("Roles the member holds now and would no longer hold."),
      }),
    ),
  }),
  "Members whose effective access the change would change (no one else), ordered by userName.",
);

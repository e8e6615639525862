import type { z } from "zod";
import type { AccessSettings, AccessSource, EffectiveAccess, GroupMapping } from "../domain/access";
import type { Project as ProjectRecord } from "../domain/organization";
import type { PermissionSet } from "../domain/permissions";
import { memberStatusOf, type TemporaryAccess } from "../domain/user";
import { TEMPORARY_ACCESS_DEFAULT_DAYS } from "../domain/temporary-access";
import { ownerVacancyNotice } from "../domain/ownership";
import { personalTokenMaximumDays } from "../domain/personal-tokens";
import type { MemberView } from "../services/members";
import type { SamlConnectionSummary } from "../services/saml-connections";
import type { IssuedScimToken, ScimTokenSummary as TokenRecord } from "../services/scim-tokens";
import type { CustomRole as CustomRoleModel } from "../domain/organization";
import type { Access, CustomRole, IssuedToken, Mapping, Member, OrganizationRoleSource, Project, ProjectRoleSource, SamlConnection, ScimTokenSummary, Settings, TemporaryGrant } from "./schemas";

/**
 * What leaves the process, field by field. Each presenter's result has the type of its answer's
 * schema (admin/schemas.ts), so a presenter that strays from the documented answer does not compile.
 */

/** Permissions as JSON: `{ "edit_reports": "own", "view_reports": "all", … }`, sorted by name. */
function permissions(set: PermissionSet): z.input<typeof Access>["permissions"] {
  return Object.fromEntries([...set].sort(([a], [b]) => a.localeCompare(b)));
}
export { permissions as presentPermissions };

type SourceJson = { organization: z.input<typeof OrganizationRoleSource>; project: z.input<typeof ProjectRoleSource> };

/**
 * Where a grant came from, as the API shows it (access answers and the access review): of an
 * organization role, or of a project role (the domain keeps both in one type).
 */
export function presentSource<K extends keyof SourceJson>(s: AccessSource, _of: K): SourceJson[K] {
  switch (s.kind) {
    case "mapping":
      return {
        kind: s.kind,
        role: s.role,
        mappingId: s.mappingId!,
        ...(s.groupId ? { groupId: s.groupId, groupName: s.groupName } : {}),
        ...(s.appRole ? { appRole: s.appRole } : {}),
      } as SourceJson[K];
    case "temporary":
      return { kind: s.kind, role: s.role, grantId: s.grantId!, until: s.until!.toISOString() } as SourceJson[K];
    default:
      return { kind: s.kind, role: s.role } as SourceJson[K];
  }
}

/** What `GET /api/v1/users/{id}/access` answers: the role, what it allows, and where it came from. */
export function presentAccess(access: EffectiveAccess): z.input<typeof Access> {
  return {
    userId: access.userId,
    organizationRole: access.organizationRole ?? null,
    ...(access.denial ? { denial: access.denial } : {}),
    permissions: permissions(access.permissions),
    sources: access.sources.map((source) => presentSource(source, "organization")),
    allProjects: access.allProjects,
    ...(access.allProjects ? { allProjectsPermissions: permissions(access.allProjectsPermissions) } : {}),
    projects: access.projects.map((p) => ({
      projectId: p.projectId,
      role: p.role,
      permissions: permissions(p.permissions),
      sources: p.sources.map((source) => presentSource(source, "project")),
    })),
  };
}

/** What `GET /api/v1/users/{id}` answers about a member. */
export function presentMember(view: MemberView): z.input<typeof Member> {
  const { user, access } = view;
  return {
    id: user.id,
    userName: user.userName,
    ...(user.displayName ? { displayName: user.displayName } : {}),
    ...(user.emails?.length ? { emails: user.emails.map((e) => e.value).filter((value): value is string => Boolean(value)) } : {}),
    active: user.active,
    managedBy: user.managedBy,
    ...(user.managedVia ? { managedVia: user.managedVia } : {}),
    editable: view.editable,
    isOwner: view.isOwner,
    role: access.organizationRole ?? null,
    status: memberStatusOf(user),
    suspended: user.suspended
      ? {
          since: user.suspension?.since.toISOString() ?? null,
          by: user.suspension ? { type: user.suspension.by.type, id: user.suspension.by.id, name: user.suspension.by.name } : null,
          reason: user.suspension?.reason ?? null,
        }
      : null,
    projects: access.projects.map((p) => ({ id: p.projectId, role: p.role })),
    allProjects: access.allProjects,
    lastLogin: user.lastLogin?.toISOString() ?? null,
    ...(user.offboarding
      ? {
          offboarding: {
            offboardingId: user.offboarding.offboardingId,
            status: user.offboarding.status,
            since: user.offboarding.since.toISOString(),
            ...(user.offboarding.conflict ? { conflict: { at: user.offboarding.conflict.at.toISOString(), detail: user.offboarding.conflict.detail } } : {}),
          },
        }
      : {}),
    created: user.created.toISOString(),
    lastModified: user.lastModified.toISOString(),
  };
}

/**
 * What `GET /api/v1/saml-connection` answers (and `gatehouse saml show --json` prints): exactly
 * these fields. Each certificate keeps its PEM, so a rotation reads the list, adds the new one and
 * puts the list back.
 */
export function presentSamlConnection({
  connection,
  serviceProvider,
  certificates,
  certificateExpiresSoon,
  serviceProviderCertificate,
}: SamlConnectionSummary): z.input<typeof SamlConnection> {
  return {
    idpEntityId: connection.idpEntityId,
    ssoUrl: connection.ssoUrl,
    sloUrl: connection.sloUrl ?? null,
    certificates: connection.certificates.map((pem, i) => ({
      pem,
      subject: certificates[i]!.subject,
      validTo: certificates[i]!.validTo.toISOString(),
      expiresSoon: certificates[i]!.expiresSoon,
    })),
    certificateExpiresSoon,
    signatures: connection.signatures,
    jit: connection.jit,
    groupSync: connection.groupSync,
    idpInitiated: connection.idpInitiated,
    attributes: { email: connection.attributes.email, name: connection.attributes.name, groups: connection.attributes.groups },
    subject: connection.subject.source === "nameId" ? { source: "nameId" as const } : { source: "attribute" as const, attribute: connection.subject.attribute },
    signAuthnRequests: connection.signAuthnRequests,
    serviceProvider: {
      entityId: serviceProvider.entityId,
      metadataUrl: serviceProvider.metadataUrl,
      loginUrl: serviceProvider.loginUrl,
      acsUrl: serviceProvider.acsUrl,
      logoutUrl: serviceProvider.logoutUrl,
      signingCertificate: serviceProviderCertificate
        ? { subject: serviceProviderCertificate.subject, validTo: serviceProviderCertificate.validTo.toISOString(), expiresSoon: serviceProviderCertificate.expiresSoon }
        : null,
    },
  };
}

export function presentProject(project: ProjectRecord): z.input<typeof Project> {
  return { id: project.id, name: project.name, created: project.created.toISOString() };
}

export function presentCustomRole(role: CustomRoleModel): z.input<typeof CustomRole> {
  return {
    name: role.name,
    ...(role.description ? { description: role.description } : {}),
    permissions: Object.fromEntries(Object.entries(role.permissions).sort(([a], [b]) => a.localeCompare(b))),
    created: role.created.toISOString(),
    createdBy: role.createdBy,
  };
}

export function presentMapping(mapping: GroupMapping & { readonly created: Date }): z.input<typeof Mapping> {
  return {
    id: mapping.id,
    match: { kind: mapping.match.kind, value: mapping.match.value },
    ...(mapping.organizationRole ? { organizationRole: mapping.organizationRole } : {}),
    ...(mapping.projects ? { projects: mapping.projects.map((p) => ({ projectId: p.projectId, role: p.role })) } : {}),
    created: mapping.created.toISOString(),
  };
}

export function presentSettings(
  name: string,
  settings: AccessSettings,
  seats: { limit: number | undefined; used: number },
  ownership: { organizationId: string; ownerUserId: string | undefined },
): z.input<typeof Settings> {
  return {
    name,
    ownerVacant: ownership.ownerUserId === undefined,
    ...(ownership.ownerUserId === undefined ? { ownerVacancy: ownerVacancyNotice(ownership.organizationId) } : {}),
    defaultRole: settings.defaultRole,
    readOnlyMayComment: settings.readOnlyMayComment,
    requireMappingForAccess: settings.requireMappingForAccess ?? false,
    temporaryAccessMaximumDays: settings.temporaryAccessMaximumDays ?? TEMPORARY_ACCESS_DEFAULT_DAYS,
    seatLimit: seats.limit ?? null,
    seatsUsed: seats.used,
    personalTokenMaximumDays: personalTokenMaximumDays(settings),
  };
}

export function presentToken(token: TokenRecord): z.input<typeof ScimTokenSummary> {
  return {
    id: token.id,
    organizationId: token.organizationId,
    purpose: token.purpose as "scim",
    name: token.name,
    created: token.created.toISOString(),
    ...(token.lastUsed ? { lastUsed: token.lastUsed.toISOString() } : {}),
    ...(token.expires ? { expires: token.expires.toISOString() } : {}),
    ...(token.revoked ? { revoked: token.revoked.toISOString() } : {}),
  };
}

/** A token just issued, with its secret: the only answer that shows it. */
export function presentIssuedToken(token: IssuedScimToken): z.input<typeof IssuedToken> {
  return { ...presentToken(token), token: token.token };
}

export function presentGrant(grant: TemporaryAccess): z.input<typeof TemporaryGrant> {
  return {
    id: grant.id,
    ...(grant.organizationRole ? { organizationRole: grant.organizationRole } : {}),
    ...(grant.projectId ? { projectId: grant.projectId } : {}),
    ...(grant.projectRole ? { projectRole: grant.projectRole } : {}),
    until: grant.until.toISOString(),
    reason: grant.reason,
    grantedBy: grant.grantedBy,
  };
}

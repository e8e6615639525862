import type { AccessSource, EffectiveAccess } from "../domain/access";
import type { PermissionSet } from "../domain/permissions";
import type { MemberView } from "../services/members";
import type { SamlConnectionSummary } from "../services/saml-connections";

/** Permissions as JSON: `{ "edit_reports": "own", "view_reports": "all", … }`, sorted by name. */
function permissions(set: PermissionSet): Record<string, string> {
  return Object.fromEntries([...set].sort(([a], [b]) => a.localeCompare(b)));
}

/** Where a grant came from, as the API shows it (access answers and the access review). */
export function presentSource(s: AccessSource) {
  return {
    kind: s.kind,
    role: s.role,
    ...(s.mappingId ? { mappingId: s.mappingId } : {}),
    ...(s.groupId ? { groupId: s.groupId, groupName: s.groupName } : {}),
    ...(s.appRole ? { appRole: s.appRole } : {}),
    ...(s.grantId ? { grantId: s.grantId } : {}),
    ...(s.until ? { until: s.until.toISOString() } : {}),
  };
}

/** What `GET /api/v1/users/{id}/access` answers: the role, what it allows, and where it came from. */
export function presentAccess(access: EffectiveAccess) {
  return {
    userId: access.userId,
    organizationRole: access.organizationRole ?? null,
    ...(access.denial ? { denial: access.denial } : {}),
    permissions: permissions(access.permissions),
    sources: access.sources.map(presentSource),
    allProjects: access.allProjects,
    ...(access.allProjects ? { allProjectsPermissions: permissions(access.allProjectsPermissions) } : {}),
    projects: access.projects.map((p) => ({ projectId: p.projectId, role: p.role, permissions: permissions(p.permissions), sources: p.sources.map(presentSource) })),
  };
}

/** What `GET /api/v1/users/{id}` answers about a member. */
export function presentMember(view: MemberView) {
  const { user, access } = view;
  return {
    id: user.id,
    userName: user.userName,
    ...(user.displayName ? { displayName: user.displayName } : {}),
    ...(user.emails?.length ? { emails: user.emails.map((e) => e.value).filter(Boolean) } : {}),
    active: user.active,
    managedBy: user.managedBy,
    ...(user.managedVia ? { managedVia: user.managedVia } : {}),
    editable: view.editable,
    isOwner: view.isOwner,
    role: access.organizationRole ?? null,
    projects: access.projects.map((p) => ({ id: p.projectId, role: p.role })),
    allProjects: access.allProjects,
    lastLogin: user.lastLogin?.toISOString() ?? null,
    created: user.created.toISOString(),
    lastModified: user.lastModified.toISOString(),
  };
}

/**
 * What `GET /api/v1/saml-connection` answers (and `gatehouse saml show --json` prints): exactly
 * these fields. Each certificate keeps its PEM, so a rotation reads the list, adds the new one and
 * puts the list back.
 */
export function presentSamlConnection({ connection, serviceProvider, certificates, certificateExpiresSoon, serviceProviderCertificate }: SamlConnectionSummary) {
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

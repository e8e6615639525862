/**
 * An organization without an Owner. Security comes first — an identity provider that deactivates
 * or deletes the Owner ends their ownership (services/deprovisioning.ts) — but the vacancy is loud:
 * an audit event (`organization.ownership_vacated`), a flag in GET /settings, and this notice,
 * which names the break-glass: only the operator restores an Owner, with the CLI.
 */
export function ownerVacancyNotice(organizationId: string): string {
  return (
    "This organization has no Owner (the identity provider deactivated or deleted the former Owner, or none was ever set): " +
    "nobody can transfer ownership, manage billing or delete the account. Ask your Gatehouse operator to restore one: " +
    `gatehouse org set-owner --org ${organizationId} --email <an active member's userName>.`
  );
}

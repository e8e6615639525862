import type { Schemas } from "./api/client";

/** Where a grant comes from, in an administrator's words. */
export function describeSource(source: Schemas["OrganizationRoleSource"] | Schemas["ProjectRoleSource"]): string {
  switch (source.kind) {
    case "owner":
      return "Owner of the organization";
    case "local":
      return "Assigned in Gatehouse (local grant)";
    case "default":
      return "The organization's default role";
    case "mapping":
      if (source.groupName || source.groupId) return `Identity-provider group “${source.groupName ?? source.groupId}” through mapping ${source.mappingId}`;
      if (source.appRole) return `Entra ID app role “${source.appRole}” through mapping ${source.mappingId}`;
      return `Mapping ${source.mappingId}`;
    case "temporary":
      return `Temporary grant until ${new Date(source.until).toLocaleString()}`;
    default:
      return (source as { kind: string }).kind;
  }
}

export const ROLE_LABELS: Record<string, string> = { owner: "Owner", admin: "Admin", user: "User", read_only: "Read-only", none: "No access" };
/**
 * A role's name for people. Roles are typed `unknown` in the generated schema: the access catalog
 * may add custom roles, so the document gives the shipped names as an `anyOf` with any string.
 */
export const roleLabel = (role: unknown) => (typeof role === "string" && role ? (ROLE_LABELS[role] ?? role) : "No access");
export const roleId = (role: unknown): string | null => (typeof role === "string" ? role : null);

/** The project roles an administrator assigns (a mapping's or a local member's), and "No access". */
export const PROJECT_ROLE_OPTIONS = [
  { id: "none", label: "No access" },
  { id: "viewer", label: "Viewer" },
  { id: "editor", label: "Editor" },
];

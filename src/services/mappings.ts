import type { AuditTrail } from "../audit/audit-trail";
import type { GroupMapping, ProjectAssignment } from "../domain/access";
import { accessDelta, type AccessDelta, type AccessSummary } from "../domain/access-change";
import type { RequestContext } from "../domain/context";
import { InvalidError, NotFoundError } from "../errors";
import type { OrganizationStore } from "../storage/organizations";
import type { AccessChanges } from "./access-changes";
import type { AccessDirectory } from "./access";

type Scope = Pick<RequestContext, "organizationId">;

/** An edit of a mapping: what is given replaces what was; `organizationRole: null` takes the role away. */
export interface MappingEdit {
  readonly match?: GroupMapping["match"];
  readonly organizationRole?: string | null;
  readonly projects?: readonly ProjectAssignment[];
}

/** A mapping change before it is saved: created (`mapping`), edited (`mappingId` and `edit`) or deleted. */
export type MappingProposal =
  | { readonly change: "create"; readonly mapping: Omit<GroupMapping, "id"> }
  | { readonly change: "edit"; readonly mappingId: string; readonly edit: MappingEdit }
  | { readonly change: "delete"; readonly mappingId: string };

/** One member in a preview: their access before and after, and what they gain and lose. */
export interface PreviewedChange extends AccessDelta {
  readonly userId: string;
  readonly userName: string;
  readonly before: AccessSummary;
  readonly after: AccessSummary;
}

/**
 * Group mappings beyond create and delete (services/access.ts): editing one in place, and the
 * preview of a change's effect an administrator asks for before saving it — computed by the same
 * derivation that writes the saved change's `user.access_changed` events (services/access-changes.ts),
 * which evaluates with the same function every authorization answer uses.
 */
export class GroupMappings {
  constructor(
    private readonly access: AccessDirectory,
    private readonly organizations: OrganizationStore,
    private readonly changes: AccessChanges,
    private readonly audit: AuditTrail,
  ) {}

  /** A mapping edited in place: same id, same creation time; audited `mapping.changed` with both versions. */
  async change(ctx: RequestContext, mappingId: string, edit: MappingEdit): Promise<GroupMapping & { readonly created: Date }> {
    const policy = await this.access.policyFor(ctx);
    const before = policy.mappings.find((m) => m.id === mappingId);
    if (!before) throw new NotFoundError(`No mapping ${mappingId}`);
    const after = applyEdit(before, edit);
    this.access.checkMapping(policy, after);
    await this.organizations.replaceMappings(
      ctx.organizationId,
      policy.mappings.map((m) => (m.id === mappingId ? after : m)),
      this.audit.event(ctx, { action: "mapping.changed", target: { type: "mapping", id: mappingId, display: `${after.match.kind}:${after.match.value}` }, before, after }),
    );
    return after;
  }

  /**
   * Who would gain and who would lose which access if `proposal` were saved now, ordered by
   * userName, a page at a time (`startIndex` 1-based) with the total. Validated as saving it would be.
   */
  async preview(ctx: Scope, proposal: MappingProposal, page: { startIndex: number; count: number }): Promise<{ total: number; startIndex: number; changes: PreviewedChange[] }> {
    const policy = await this.access.policyFor(ctx);
    let mappingId: string | undefined;
    let proposed: GroupMapping | undefined;
    if (proposal.change === "create") {
      this.access.checkMapping(policy, proposal.mapping);
      proposed = { ...proposal.mapping, id: "proposed" };
    } else {
      const current = policy.mappings.find((m) => m.id === proposal.mappingId);
      if (!current) throw new NotFoundError(`No mapping ${proposal.mappingId}`);
      mappingId = current.id;
      if (proposal.change === "edit") {
        proposed = applyEdit(current, proposal.edit);
        this.access.checkMapping(policy, proposed);
      }
    }
    const all = await this.changes.previewMapping(ctx.organizationId, mappingId, proposed);
    const changes = all.slice(page.startIndex - 1, page.startIndex - 1 + page.count).map((c) => ({ userId: c.user.id, userName: c.user.userName, before: c.before, after: c.after, ...accessDelta(c.before, c.after) }));
    return { total: all.length, startIndex: page.startIndex, changes };
  }
}

function applyEdit(before: GroupMapping & { readonly created: Date }, edit: MappingEdit): GroupMapping & { readonly created: Date } {
  if (edit.match === undefined && edit.organizationRole === undefined && edit.projects === undefined) throw new InvalidError("Nothing to change: give match, organizationRole, projects, or several");
  const { organizationRole: _role, projects: _projects, ...rest } = before;
  const organizationRole = edit.organizationRole === undefined ? before.organizationRole : (edit.organizationRole ?? undefined);
  const projects = edit.projects ?? before.projects;
  return {
    ...rest,
    ...(edit.match ? { match: { kind: edit.match.kind, value: edit.match.value } } : {}),
    ...(organizationRole !== undefined ? { organizationRole } : {}),
    ...(projects !== undefined ? { projects: projects.map((p) => ({ projectId: p.projectId, role: p.role })) } : {}),
  };
}

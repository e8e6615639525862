import type { RequestContext } from "../domain/context";
import { mappingMatchesGroup, type GroupMapping } from "../domain/access";
import type { Group } from "../domain/group";
import type { User } from "../domain/user";
import type { UserStore } from "../storage/users";
import type { AccessDirectory } from "./access";
import type { GroupDirectory } from "./groups";

type Scope = Pick<RequestContext, "organizationId">;

export interface GroupSummary {
  readonly group: Group;
  readonly memberCount: number;
}

export interface GroupDetail extends GroupSummary {
  readonly members: readonly Pick<User, "id" | "userName" | "displayName">[];
  /** The id of the last member shown, when more follow. */
  readonly nextAfter?: string;
  /** The organization's mappings that apply to this group's members. */
  readonly mappings: readonly (GroupMapping & { readonly created: Date })[];
}

/**
 * The groups the identity provider pushed, as an administrator looks at them before mapping one:
 * a page by name with member counts, and one group with a page of its members and the mappings
 * that reference it. Reads only: groups change through SCIM.
 *
 * No scans: on the embedded database the resident directory answers the page and the counts from
 * memory; on MongoDB the page is served by {organizationId, displayNameLower, _id} and each count
 * and member page by {organizationId, groups, _id}.
 */
export class GroupOverview {
  constructor(
    private readonly groups: GroupDirectory,
    private readonly users: UserStore,
    private readonly access: AccessDirectory,
  ) {}

  async page(ctx: Scope, page: { startIndex: number; count: number }): Promise<{ total: number; groups: GroupSummary[] }> {
    const { total, groups } = await this.groups.list(ctx, { sortBy: "displayName", startIndex: page.startIndex, count: page.count });
    const counted = await Promise.all(groups.map(async (group) => ({ group, memberCount: await this.users.memberCount(ctx.organizationId, group.id) })));
    return { total, groups: counted };
  }

  async detail(ctx: Scope, id: string, page: { after?: string; count: number }): Promise<GroupDetail> {
    const group = await this.groups.get(ctx, id);
    const [memberCount, members, mappings] = await Promise.all([
      this.users.memberCount(ctx.organizationId, id),
      this.users.memberPageOf(ctx.organizationId, id, page),
      this.access.mappings(ctx),
    ]);
    const last = members.members[members.members.length - 1];
    return {
      group,
      memberCount,
      members: members.members,
      ...(members.more && last ? { nextAfter: last.id } : {}),
      mappings: mappings.filter((mapping) => mappingMatchesGroup(mapping, group)),
    };
  }
}

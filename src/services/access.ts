import { randomUUID } from "node:crypto";
import type { AuditTrail } from "../audit/audit-trail";
import { authorize, effectiveAccess, type AccessDecision, type AccessSettings, type EffectiveAccess, type GroupMapping, type IdentityGroup } from "../domain/access";
import type { RequestContext } from "../domain/context";
import type { AccessPolicy, CustomRole, Project } from "../domain/organization";
import type { Group } from "../domain/group";
import { AccessCatalog, type PermissionSet } from "../domain/catalog";
import { SHIPPED_CATALOG, type Permission } from "../domain/permissions";
import { TEMPORARY_ACCESS_HARD_CAP_DAYS } from "../domain/temporary-access";
import { ConflictError, InvalidError, NotFoundError, PolicyRefusedError, UnknownCatalogNameError } from "../errors";
import type { OrganizationStore } from "../storage/organizations";
import type { User } from "../domain/user";
import type { UserStore } from "../storage/users";
import type { GroupStore } from "../storage/groups";

type Scope = Pick<RequestContext, "organizationId">;

/** A stored group as the access evaluation matches it against mappings. */
export function identityGroupOf(g: Pick<Group, "id" | "displayName" | "externalId">): IdentityGroup {
  return { id: g.id, displayName: g.displayName, ...(g.externalId !== undefined ? { externalId: g.externalId } : {}) };
}

/**
 * Access from identity-provider groups: the organization's projects, group mappings and settings,
 * and the authorization answers computed from them. Nothing is cached: every answer reads the
 * user, their groups and the policy afresh, so a membership PATCH, a mapping edit or a
 * deactivation shows in the very next answer, on every instance.
 */
export class AccessDirectory {
  constructor(
    private readonly organizations: OrganizationStore,
    private readonly users: UserStore,
    private readonly groups: GroupStore,
    private readonly audit: AuditTrail,
    /** The access catalog in force (config ACCESS_CATALOG): every answer reads its roles and permissions. */
    readonly catalog: AccessCatalog = SHIPPED_CATALOG,
    private readonly now: () => Date = () => new Date(),
  ) {}

  private async policy(ctx: Scope) {
    const policy = await this.organizations.accessPolicy(ctx.organizationId);
    if (!policy) throw new NotFoundError(`Organization ${ctx.organizationId} not found`);
    // An organization that never chose a default role (or chose one an earlier catalog had) has the catalog's.
    const { defaultRole } = policy.settings;
    if (defaultRole !== "none" && !this.catalog.withCustomRoles(policy.customRoles ?? []).defaultRoleNames.includes(defaultRole)) {
      return { ...policy, settings: { ...policy.settings, defaultRole: this.catalog.definition.defaultRole } };
    }
    return policy;
  }

  /** The catalog with the organization's custom roles: what its members' access is worked out against. */
  private catalogOf(policy: { readonly customRoles?: readonly CustomRole[] }): AccessCatalog {
    return this.catalog.withCustomRoles(policy.customRoles ?? []);
  }

  async catalogFor(ctx: Scope): Promise<AccessCatalog> {
    return this.catalogOf(await this.policy(ctx));
  }

  async customRoles(ctx: Scope): Promise<readonly CustomRole[]> {
    return (await this.policy(ctx)).customRoles ?? [];
  }

  /**
   * Adds a role to the catalog's, for this organization: a `custom:` name no role has, permissions
   * the catalog declares (organization-wide, `all` or `own`), and never more than `ceiling` — what
   * its creator holds — so nobody makes a role above their own access.
   */
  async createCustomRole(
    ctx: RequestContext,
    ceiling: PermissionSet,
    role: { name: string; description?: string; permissions: Readonly<Record<string, "own" | "all">> },
  ): Promise<CustomRole> {
    const policy = await this.policy(ctx);
    const catalog = this.catalogOf(policy);
    if (!/^custom:[a-z][a-z0-9_.-]{0,63}$/.test(role.name)) throw new UnknownCatalogNameError(`name: "${role.name}" must be custom: followed by a lower-case name (a-z, 0-9, _, - and .)`);
    if (catalog.isOrganizationRole(role.name) || catalog.isProjectRole(role.name)) throw new ConflictError(`A role named ${role.name} already exists`);
    const permissions = Object.entries(role.permissions);
    if (!permissions.length) throw new InvalidError("A custom role needs at least one permission");
    for (const [permission] of permissions) {
      if (!catalog.isPermission(permission)) throw new UnknownCatalogNameError(`permissions: "${permission}" is not a permission of the access catalog (${catalog.permissionNames.join(", ")})`);
    }
    if (!AccessCatalog.within(new Map(permissions), ceiling)) {
      throw new PolicyRefusedError("no_self_elevation", "nobody makes a role with more access than they have");
    }
    const stored: CustomRole = { name: role.name, ...(role.description ? { description: role.description } : {}), permissions: Object.fromEntries(permissions), created: this.now(), createdBy: ctx.actor.id };
    await this.organizations.replaceCustomRoles(
      ctx.organizationId,
      [...(policy.customRoles ?? []), stored],
      this.audit.event(ctx, { action: "custom_role.created", target: { type: "custom_role", id: stored.name, display: stored.name }, after: stored }),
    );
    return stored;
  }

  /** Removes a custom role no mapping and no default names; members given it locally keep nothing of it. */
  async deleteCustomRole(ctx: RequestContext, name: string): Promise<void> {
    const policy = await this.policy(ctx);
    const role = (policy.customRoles ?? []).find((r) => r.name === name);
    if (!role) throw new NotFoundError(`No custom role ${name}`);
    const mapping = policy.mappings.find((m) => m.organizationRole === name);
    if (mapping) throw new ConflictError(`The mapping ${mapping.match.kind}:${mapping.match.value} grants ${name}: change or delete it first`);
    if (policy.settings.defaultRole === name) throw new ConflictError(`${name} is the organization's default role: choose another first`);
    await this.organizations.replaceCustomRoles(
      ctx.organizationId,
      (policy.customRoles ?? []).filter((r) => r.name !== name),
      this.audit.event(ctx, { action: "custom_role.deleted", target: { type: "custom_role", id: name, display: name }, before: role }),
    );
  }

  async settings(ctx: Scope): Promise<AccessSettings> {
    return (await this.policy(ctx)).settings;
  }

  async seatLimit(ctx: Scope): Promise<number | undefined> {
    return (await this.policy(ctx)).seatLimit;
  }

  /**
   * The organization's seats: its limit (the operator's) and how many are taken. Every active
   * member takes a seat, a suspended one too — a suspension is an incident's overlay, lifted without
   * asking for a seat, and never a way to make room; a deactivated member takes none.
   */
  async seats(ctx: Scope): Promise<{ limit: number | undefined; used: number }> {
    const [limit, used] = await Promise.all([this.seatLimit(ctx), this.users.countActive(ctx.organizationId)]);
    return { limit, used };
  }

  /** The operator's (CLI): administrators see the limit and its use, never change it (admin API PATCH /settings refuses). */
  async setSeatLimit(ctx: RequestContext, limit: number | undefined): Promise<void> {
    const before = (await this.policy(ctx)).seatLimit;
    await this.organizations.setSeatLimit(
      ctx.organizationId,
      limit,
      this.audit.event(ctx, { action: "organization.seat_limit_changed", target: { type: "organization", id: ctx.organizationId }, before: { seatLimit: before ?? null }, after: { seatLimit: limit ?? null } }),
    );
  }

  async ownerOf(ctx: Scope): Promise<string | undefined> {
    return (await this.policy(ctx)).ownerUserId;
  }

  /**
   * A user's effective access and where each grant came from (`pending`: groups an assertion is
   * about to store). Given the user rather than its id, it uses that read instead of its own.
   */
  async accessOf(ctx: Scope, who: string | User, pending: { samlGroups?: readonly string[] } = {}): Promise<EffectiveAccess> {
    // A caller that has just read the user passes it, and it is not read again.
    const [policy, user] = await Promise.all([this.policy(ctx), typeof who === "string" ? this.users.findById(ctx.organizationId, who) : who]);
    if (!user) throw new NotFoundError(`User ${who as string} not found`);
    const groups = (await this.groups.findEachById(ctx.organizationId, user.groupIds)).map(identityGroupOf);
    return this.evaluate(policy, user, groups, pending);
  }

  /** The organization's access policy as every answer reads it (NotFoundError when there is no such organization). */
  policyFor(ctx: Scope): Promise<AccessPolicy> {
    return this.policy(ctx);
  }

  /**
   * The one evaluation of effective access: `user` under `policy`, a member of `groups` (the
   * identity provider's groups it is in, already read). The authorization answers, the member
   * views, the mapping preview and the `user.access_changed` events (services/access-changes.ts)
   * all come through here, so what the preview says is what an authorization answer will say.
   */
  evaluate(policy: AccessPolicy, user: User, groups: readonly IdentityGroup[], options: { samlGroups?: readonly string[]; now?: Date } = {}): EffectiveAccess {
    const all = [...groups];
    // SAML group sync: the groups the last assertion named, matched by externalId or displayName.
    if (policy.samlGroupSync) for (const name of options.samlGroups ?? user.samlGroups ?? []) all.push({ id: `saml:${name}`, displayName: name, externalId: name });
    return effectiveAccess({
      user: {
        id: user.id,
        isOwner: policy.ownerUserId === user.id,
        active: user.active,
        suspended: Boolean(user.suspended),
        ...(user.localAccess?.role ? { localRole: user.localAccess.role } : {}),
        ...(user.localAccess?.projects ? { localProjects: user.localAccess.projects } : {}),
      },
      groups: all,
      appRoles: (user.roles ?? []).map((r) => r.value).filter((v): v is string => typeof v === "string"),
      mappings: policy.mappings,
      settings: policy.settings,
      temporaryGrants: (user.temporaryGrants ?? []).filter((g) => !g.endRecorded),
      now: options.now ?? this.now(),
      catalog: this.catalogOf(policy),
      projectIds: new Set(policy.projects.map((p) => p.id)),
    });
  }

  async authorize(ctx: Scope, request: { userId: string; action: Permission; projectId?: string; ownResource?: boolean }): Promise<AccessDecision> {
    if (!this.catalog.isPermission(request.action)) {
      throw new UnknownCatalogNameError(`action: "${request.action}" is not a permission of the access catalog (${this.catalog.permissionNames.join(", ")})`);
    }
    const policy = await this.policy(ctx);
    if (request.projectId !== undefined && !policy.projects.some((p) => p.id === request.projectId)) {
      return { allowed: false, reason: `no ${this.catalog.projectNoun} ${request.projectId} in this organization` };
    }
    const access = await this.accessOf(ctx, request.userId);
    return authorize(access, request.action, { projectId: request.projectId, ownResource: request.ownResource }, policy.settings, this.catalogOf(policy));
  }

  async projects(ctx: Scope): Promise<readonly Project[]> {
    return (await this.policy(ctx)).projects;
  }

  async createProject(ctx: RequestContext, name: string): Promise<Project> {
    if (!name.trim()) throw new InvalidError("A project needs a name");
    const project: Project = { id: randomUUID(), name: name.trim(), created: this.now() };
    await this.policy(ctx);
    await this.organizations.addProject(ctx.organizationId, project, this.audit.event(ctx, { action: "project.created", target: { type: "project", id: project.id, display: project.name }, after: project }));
    return project;
  }

  async renameProject(ctx: RequestContext, projectId: string, name: string): Promise<Project> {
    const policy = await this.policy(ctx);
    const project = policy.projects.find((p) => p.id === projectId);
    if (!project) throw new NotFoundError(`No project ${projectId}`);
    if (!name.trim()) throw new InvalidError("A project needs a name");
    const renamed = { ...project, name: name.trim() };
    await this.organizations.replaceProjects(
      ctx.organizationId,
      policy.projects.map((p) => (p.id === projectId ? renamed : p)),
      this.audit.event(ctx, { action: "project.renamed", target: { type: "project", id: projectId, display: renamed.name }, before: project, after: renamed }),
    );
    return renamed;
  }

  /** Deletes a project; mappings lose their assignments to it (a mapping left with nothing goes too). */
  async deleteProject(ctx: RequestContext, projectId: string): Promise<void> {
    const policy = await this.policy(ctx);
    const project = policy.projects.find((p) => p.id === projectId);
    if (!project) throw new NotFoundError(`No project ${projectId}`);
    const mappings = policy.mappings
      .map((m) => ({ ...m, projects: (m.projects ?? []).filter((p) => p.projectId !== projectId) }))
      .filter((m) => m.organizationRole || m.projects.length);
    await this.organizations.replaceProjectsAndMappings(
      ctx.organizationId,
      policy.projects.filter((p) => p.id !== projectId),
      mappings,
      // `before` keeps the mappings as they were too: what the project's deletion took from whom is
      // derived from it (services/access-changes.ts).
      this.audit.event(ctx, { action: "project.deleted", target: { type: "project", id: projectId, display: project.name }, before: { ...project, mappings: policy.mappings } }),
    );
  }

  async mappings(ctx: Scope): Promise<readonly (GroupMapping & { readonly created: Date })[]> {
    return (await this.policy(ctx)).mappings;
  }

  /** Maps an identity-provider group or app role onto a role and/or projects (never ownership). */
  async addMapping(ctx: RequestContext, mapping: Omit<GroupMapping, "id">): Promise<GroupMapping & { readonly created: Date }> {
    const policy = await this.policy(ctx);
    this.checkMapping(policy, mapping);
    const stored = { ...mapping, id: randomUUID(), created: this.now() };
    await this.organizations.addMapping(
      ctx.organizationId,
      stored,
      this.audit.event(ctx, { action: "mapping.created", target: { type: "mapping", id: stored.id, display: `${mapping.match.kind}:${mapping.match.value}` }, after: stored }),
    );
    return stored;
  }

  /** What a mapping must be to be saved (created or edited): InvalidError or UnknownCatalogNameError otherwise. */
  checkMapping(policy: AccessPolicy, mapping: Omit<GroupMapping, "id">): void {
    if (!mapping.match.value.trim()) throw new InvalidError("A mapping needs a group or app role to match");
    // Ownership is never granted by a mapping: transfer it instead.
    this.checkRoles(mapping, "organizationRole", { catalog: this.catalogOf(policy) });
    if (!mapping.organizationRole && !mapping.projects?.length) throw new InvalidError("A mapping needs an organization role, projects, or both");
    for (const assignment of mapping.projects ?? []) {
      if (!policy.projects.some((p) => p.id === assignment.projectId)) throw new InvalidError(`No project ${assignment.projectId} in this organization`);
    }
  }

  async removeMapping(ctx: RequestContext, mappingId: string): Promise<void> {
    const policy = await this.policy(ctx);
    const mapping = policy.mappings.find((m) => m.id === mappingId);
    if (!mapping) throw new NotFoundError(`No mapping ${mappingId}`);
    await this.organizations.replaceMappings(
      ctx.organizationId,
      policy.mappings.filter((m) => m.id !== mappingId),
      this.audit.event(ctx, { action: "mapping.deleted", target: { type: "mapping", id: mappingId, display: `${mapping.match.kind}:${mapping.match.value}` }, before: mapping }),
    );
  }

  /**
   * Role names come from the catalog in force: one it does not declare is refused where it enters
   * as 400 invalid_request (the request schemas accept any name; the OpenAPI document served lists
   * the catalog's). Where the API takes a grantable role, the Owner's role is not one.
   */
  checkRoles(
    { organizationRole, projects }: { organizationRole?: string | undefined; projects?: readonly { readonly role: string }[] | undefined },
    field = "role",
    { grantable = true, asDefault = false, catalog = this.catalog }: { grantable?: boolean; asDefault?: boolean; catalog?: AccessCatalog } = {},
  ): void {
    if (organizationRole !== undefined) {
      const names = asDefault ? catalog.defaultRoleNames : grantable ? catalog.grantableRoleNames : catalog.organizationRoleNames;
      if (!names.includes(organizationRole)) {
        const what =
          grantable && organizationRole === catalog.ownerRole
            ? "ownership is never granted: it moves only by transfer"
            : asDefault && catalog.isOrganizationRole(organizationRole)
              ? `a role that administers: a default role must administer nothing (${names.join(", ")} or none)`
              : `not an organization role of the access catalog (${names.join(", ")})`;
        throw new UnknownCatalogNameError(`${field}: "${organizationRole}" is ${what}`);
      }
    }
    for (const { role } of projects ?? []) {
      if (!catalog.isProjectRole(role)) throw new UnknownCatalogNameError(`projects: "${role}" is not a ${catalog.projectNoun} role of the access catalog (${catalog.projectRoleNames.join(", ")})`);
    }
  }

  async setSettings(ctx: RequestContext, changes: Partial<AccessSettings>): Promise<AccessSettings> {
    const policy = await this.policy(ctx);
    if (changes.defaultRole !== undefined && changes.defaultRole !== "none") {
      this.checkRoles({ organizationRole: changes.defaultRole }, "defaultRole", { asDefault: true, catalog: this.catalogOf(policy) });
    }
    const days = changes.temporaryAccessMaximumDays;
    if (days !== undefined && !(days > 0 && days <= TEMPORARY_ACCESS_HARD_CAP_DAYS)) {
      throw new InvalidError(`temporaryAccessMaximumDays: ${days} is not a number of days above 0 and at most ${TEMPORARY_ACCESS_HARD_CAP_DAYS}`);
    }
    const before = policy.settings;
    const after: AccessSettings = { ...before, ...changes };
    await this.organizations.setAccessSettings(
      ctx.organizationId,
      after,
      this.audit.event(ctx, { action: "organization.access_settings_changed", target: { type: "organization", id: ctx.organizationId }, before, after }),
    );
    return after;
  }
}

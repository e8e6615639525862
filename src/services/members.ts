import type { EffectiveAccess } from "../domain/access";
import type { RequestContext } from "../domain/context";
import type { AccessCatalog } from "../domain/catalog";
import type { OrganizationRole, ProjectRole } from "../domain/permissions";
import type { Organizations } from "./organizations";
import { userNameKey, type LocalAccess, type MemberStatus, type User } from "../domain/user";
import { mayChangeProjectAccess, mayInviteIntoProjects, mayManageUser, mayTransferOwnership, withinCeiling, type ProjectManagingActor, type UserChange } from "../domain/user-policy";
import type { Permission } from "../domain/permissions";
import { ConflictError, ForbiddenError, InvalidError, PolicyRefusedError } from "../errors";
import { ownerVacancyNotice } from "../domain/ownership";
import { raisesAccess, temporaryAccessMaximumMs, TEMPORARY_ACCESS_DEFAULT_DAYS, TEMPORARY_ACCESS_HARD_CAP_DAYS } from "../domain/temporary-access";
import type { AccessDirectory } from "./access";
import type { UserDirectory } from "./users";

/** Who calls the admin API: the product's back end (a service token) or a person (a personal token). */
export type ApiActor = { kind: "service"; scopes?: readonly string[] } | { kind: "user"; user: User; access: EffectiveAccess; catalog: AccessCatalog };

/** What Gatehouse's own administration asks of a person, named by the catalog (`administration`). */
export type AdministrativeTask = keyof AccessCatalog["definition"]["administration"];

type Scope = Pick<RequestContext, "organizationId">;

export interface MemberView {
  user: User;
  access: EffectiveAccess;
  isOwner: boolean;
  /** Whether the viewer may change this member's role and projects here (a UI greys out the rest). */
  editable: boolean;
}

/**
 * The member list's keyset cursor: the lower-cased userName of the last member shown (unique in
 * an organization), base64url-encoded so callers treat it as opaque. InvalidError when it is not one.
 */
export function encodeMemberCursor(userName: string): string {
  return Buffer.from(JSON.stringify({ after: userNameKey(userName) }), "utf8").toString("base64url");
}

/** Whether `cursor` is a member list cursor (the admin API validates `cursor` with it). */
export function isMemberCursor(cursor: string): boolean {
  try {
    decodeMemberCursor(cursor);
    return true;
  } catch {
    return false;
  }
}

export function decodeMemberCursor(cursor: string): string {
  try {
    const decoded = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as { after?: unknown };
    if (typeof decoded.after === "string") return decoded.after;
  } catch {
    // answered below
  }
  throw new InvalidError("cursor is not a nextCursor this API gave", "query");
}

/** People only, with a permission of the matrix (domain/permissions.ts). */
export function requirePermission(actor: ApiActor, permission: Permission): Extract<ApiActor, { kind: "user" }> {
  if (actor.kind !== "user") throw new ForbiddenError("This needs a person's token, not a service token");
  if (!actor.access.permissions.has(permission)) {
    throw new PolicyRefusedError("forbidden", `${actor.access.organizationRole ?? "no"} role does not grant ${permission}`);
  }
  return actor;
}

/** People only, whose access grants the catalog's permission for this administrative task. */
export function requireAdministration(actor: ApiActor, task: AdministrativeTask): Extract<ApiActor, { kind: "user" }> {
  if (actor.kind !== "user") throw new ForbiddenError("This needs a person's token, not a service token");
  return requirePermission(actor, actor.catalog.definition.administration[task]);
}

/**
 * The actor's permissions in each project, read as the authorization answers read them
 * (domain/access.ts `authorize`): reaching every project wins, else the project's own roles.
 */
function projectManagerOf(actor: Extract<ApiActor, { kind: "user" }>): ProjectManagingActor {
  const { access } = actor;
  return { id: actor.user.id, permissionsIn: (projectId) => (access.allProjects ? access.allProjectsPermissions : access.projects.find((p) => p.projectId === projectId)?.permissions) };
}

/**
 * Whether the person holds an administrative task's permission only inside projects (a project
 * role carrying it under a `withinProjects` cell), not organization-wide: they then act through
 * the project-scoped rules of domain/user-policy.ts.
 */
function administeringOnlyWithinProjects(actor: ApiActor, task: AdministrativeTask): Extract<ApiActor, { kind: "user" }> | undefined {
  if (actor.kind !== "user") return undefined;
  const permission = actor.catalog.definition.administration[task];
  if (actor.access.permissions.has(permission)) return undefined;
  const { access } = actor;
  return (access.allProjects ? access.allProjectsPermissions.has(permission) : access.projects.some((p) => p.permissions.has(permission))) ? actor : undefined;
}

/** Admin and Owner in the shipped catalog: whoever may change other members' access. */
const isAdministrator = (actor: ApiActor) => actor.kind === "user" && actor.access.permissions.has(actor.catalog.definition.administration.changeMemberAccess);

/**
 * The local admin API's use-cases for members, under the permission matrix and its invariants
 * (domain/user-policy.ts). Users an identity provider manages are read-only here: their role and
 * projects come from the provider's groups.
 */
export class MemberAdministration {
  constructor(
    private readonly users: UserDirectory,
    private readonly access: AccessDirectory,
    private readonly organizations: Organizations,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** The person a personal token acts as; refused when they have no access (deactivated, suspended, unmapped). */
  async actingUser(ctx: Scope, who: string | User): Promise<ApiActor> {
    // A session has already read its user: that read serves here too.
    const user = typeof who === "string" ? await this.users.get(ctx, who) : who;
    const access = await this.access.accessOf(ctx, user);
    if (!access.organizationRole) throw new ForbiddenError(`No access: ${access.denial ?? "no role"}`);
    return { kind: "user", user, access, catalog: this.access.catalog };
  }

  /** Callable by service tokens, administrators, and by members about themselves. */
  mayRead(actor: ApiActor, userId: string): void {
    if (actor.kind === "service" || isAdministrator(actor) || actor.user.id === userId) return;
    throw new ForbiddenError("Only an admin or the owner may look at other members' access");
  }

  async view(ctx: Scope, actor: ApiActor, userId: string): Promise<MemberView> {
    this.mayRead(actor, userId);
    return this.memberView(ctx, actor, userId);
  }

  /** `view` without the reading check: for the answer to a change the actor was allowed to make. */
  private async memberView(ctx: Scope, actor: ApiActor, userId: string): Promise<MemberView> {
    const [user, access, ownerUserId] = await Promise.all([this.users.get(ctx, userId), this.access.accessOf(ctx, userId), this.access.ownerOf(ctx)]);
    const isOwner = ownerUserId === userId;
    const editable =
      actor.kind === "user" &&
      mayManageUser(this.managingActor(actor), { id: userId, role: access.organizationRole ?? "", isOwner, managedBy: user.managedBy }, { kind: "change_projects" }, this.access.catalog).allowed;
    return { user, access, isOwner, editable };
  }

  private managingActor(actor: Extract<ApiActor, { kind: "user" }>) {
    return { id: actor.user.id, role: actor.access.organizationRole!, permissions: actor.access.permissions };
  }

  /** Checks the policy for a change to a member; throws PolicyRefusedError with the rule's code. */
  private async authorizeChange(ctx: Scope, actor: ApiActor, userId: string, changeOf: UserChange | ((target: MemberView) => UserChange)): Promise<MemberView> {
    if (actor.kind !== "user") throw new ForbiddenError("Service tokens answer authorization questions; people change access");
    // Changes of access are judged against the organization's catalog (custom roles included).
    const [target, catalog] = await Promise.all([this.view(ctx, actor, userId), typeof changeOf === "function" || changeOf.newRole !== undefined ? this.access.catalogFor(ctx) : this.access.catalog]);
    const change = typeof changeOf === "function" ? changeOf(target) : changeOf;
    const decision = mayManageUser(
      this.managingActor(actor),
      { id: userId, role: target.access.organizationRole ?? "", isOwner: target.isOwner, managedBy: target.user.managedBy, ...(target.user.localAccess ? { localAccess: target.user.localAccess } : {}) },
      change,
      catalog,
    );
    if (!decision.allowed) {
      if (decision.code === "managed_by_identity_provider") {
        const kept = target.user.localAccess?.role || target.user.localAccess?.projects?.length;
        throw new PolicyRefusedError(
          decision.code,
          `${target.user.userName} is managed by the organization's identity provider (${target.user.managedBy.toUpperCase()} connection "${target.user.managedVia ?? "unknown"}"): change their role and projects there, through its groups` +
            (kept ? "; the grants made here (local grants) can only be lowered or removed, never raised" : ""),
        );
      }
      throw new PolicyRefusedError(decision.code, decision.message);
    }
    return target;
  }

  /** Suspension for security incidents: allowed on managed users too, and only lifted here. */
  async setSuspended(ctx: RequestContext, actor: ApiActor, userId: string, suspended: boolean, reason?: string): Promise<MemberView> {
    await this.authorizeChange(ctx, actor, userId, { kind: suspended ? "suspend" : "unsuspend" });
    await this.users.setSuspended(ctx, userId, suspended, reason);
    return this.view(ctx, actor, userId);
  }

  /**
   * Ends every browser session of a member at once (their session epoch rises). Admin and Owner
   * only, never an Admin for the Owner; allowed on managed users too: like suspension, a security
   * overlay the identity provider has no say in.
   */
  async signOutEverywhere(ctx: RequestContext, actor: ApiActor, userId: string, reason?: string): Promise<void> {
    await this.authorizeChange(ctx, actor, userId, { kind: "sign_out_everywhere" });
    await this.users.signOutEverywhere(ctx, userId, reason);
  }

  /** Higher access until a given time, with a reason; both ends are audited. */
  async grantTemporaryAccess(
    ctx: RequestContext,
    actor: ApiActor,
    userId: string,
    grant: { organizationRole?: OrganizationRole; projectId?: string; projectRole?: ProjectRole; until: Date; reason: string },
  ) {
    this.access.checkRoles({ organizationRole: grant.organizationRole, projects: grant.projectRole !== undefined ? [{ role: grant.projectRole }] : [] }, "role", { catalog: await this.access.catalogFor(ctx) });
    await this.authorizeChange(ctx, actor, userId, { kind: "grant_temporary" });
    if (!grant.organizationRole && !(grant.projectId && grant.projectRole)) throw new InvalidError("Grant an organization role, or a project with a role");
    if (grant.until.getTime() <= this.now().getTime()) throw new InvalidError("until must be in the future");
    if (!grant.reason.trim()) throw new InvalidError("A temporary grant needs a reason");
    if (grant.projectId && !(await this.access.projects(ctx)).some((p) => p.id === grant.projectId)) {
      throw new InvalidError(`No project ${grant.projectId} in this organization`);
    }
    const { temporaryAccessMaximumDays } = await this.access.settings(ctx);
    if (grant.until.getTime() - this.now().getTime() > temporaryAccessMaximumMs(temporaryAccessMaximumDays)) {
      const maximum = temporaryAccessMaximumDays ?? TEMPORARY_ACCESS_DEFAULT_DAYS;
      throw new InvalidError(
        `until is too far away: temporary access in this organization lasts at most ${maximum} day${maximum === 1 ? "" : "s"} (until ${new Date(this.now().getTime() + temporaryAccessMaximumMs(temporaryAccessMaximumDays)).toISOString()}). ` +
          `An administrator may change temporaryAccessMaximumDays (PATCH /settings, at most ${TEMPORARY_ACCESS_HARD_CAP_DAYS}); longer access is a role.`,
      );
    }
    await this.refuseGrantThatRaisesNothing(ctx, userId, grant);
    return this.users.grantTemporaryAccess(ctx, userId, { ...grant, grantedBy: actor.kind === "user" ? actor.user.id : "service" });
  }

  /**
   * A grant must give the member something they do not hold: their effective access with the grant
   * is compared with their access without it, every source and the ceiling counted (temporary
   * grants only when they last at least as long), as if they could sign in (a grant prepared for a
   * suspended member is judged by what it would give).
   */
  private async refuseGrantThatRaisesNothing(ctx: Scope, userId: string, grant: { organizationRole?: OrganizationRole; projectId?: string; projectRole?: ProjectRole; until: Date }): Promise<void> {
    const user = await this.users.get(ctx, userId);
    // Temporary grants that end sooner do not make this one needless: it gives more once they end.
    const lasting = (user.temporaryGrants ?? []).filter((g) => !g.endRecorded && g.until.getTime() >= grant.until.getTime());
    const able: User = { ...user, active: true, suspended: false, temporaryGrants: lasting };
    const trial = { id: "trial", ...grant, reason: "trial", grantedBy: "trial" };
    const [before, after] = await Promise.all([this.access.accessOf(ctx, able), this.access.accessOf(ctx, { ...able, temporaryGrants: [...lasting, trial] })]);
    if (raisesAccess(before, after)) return;
    const what = [grant.organizationRole, grant.projectId && grant.projectRole ? `${grant.projectRole} of ${this.access.catalog.projectNoun} ${grant.projectId}` : undefined].filter(Boolean).join(" and ");
    throw new ConflictError(
      `This temporary grant raises nothing: ${user.userName} already holds everything ${what} gives (their access: ${before.organizationRoles.join(" + ") || "no role"}${before.allProjects ? `, every ${this.access.catalog.projectNoun}` : ""}). Grant a role that gives more, or nothing.`,
    );
  }

  async endTemporaryAccess(ctx: RequestContext, actor: ApiActor, userId: string, grantId: string): Promise<void> {
    await this.authorizeChange(ctx, actor, userId, { kind: "grant_temporary" });
    await this.users.endTemporaryAccess(ctx, userId, grantId, "revoked");
  }

  /**
   * Members ordered by userName, a page at a time. `query` narrows to members whose userName,
   * names, displayName or emails contain each of its words (ignoring case; on MongoDB each word
   * must begin a word of those, UserStore.memberPage). A page starts at `startIndex`, or — keyset
   * paging, right however members come and go — after the member `cursor` names (the `nextCursor`
   * of the page before; opaque to callers).
   */
  async list(ctx: Scope, actor: ApiActor, options: { query?: string; status?: MemberStatus; startIndex: number; count: number; cursor?: string }) {
    if (!isAdministrator(actor)) throw new ForbiddenError("Only an admin or the owner lists members");
    const after = options.cursor !== undefined ? decodeMemberCursor(options.cursor) : undefined;
    const [page, ownerUserId] = await Promise.all([
      this.users.memberPage(ctx, { ...(options.query ? { search: options.query } : {}), ...(options.status ? { status: options.status } : {}), ...(after !== undefined ? { after } : {}), startIndex: options.startIndex, count: options.count }),
      this.access.ownerOf(ctx),
    ]);
    const members = await Promise.all(page.users.map((user) => this.viewOf(ctx, actor, user, ownerUserId)));
    const last = page.users[page.users.length - 1];
    return { total: page.total, startIndex: page.startIndex, members, ...(page.more && last ? { nextCursor: encodeMemberCursor(last.userName) } : {}) };
  }

  /** `view` of a user already read, with the organization's owner already known. */
  private async viewOf(ctx: Scope, actor: ApiActor, user: User, ownerUserId: string | undefined): Promise<MemberView> {
    const access = await this.access.accessOf(ctx, user);
    const isOwner = ownerUserId === user.id;
    const editable =
      actor.kind === "user" &&
      mayManageUser({ id: actor.user.id, role: actor.access.organizationRole! }, { id: user.id, role: access.organizationRole ?? "read_only", isOwner, managedBy: user.managedBy }, { kind: "change_projects" }).allowed;
    return { user, access, isOwner, editable };
  }

  /** Invites (creates) a local user with a role and projects; never an Owner. */
  async invite(
    ctx: RequestContext,
    actor: ApiActor,
    invitation: { email: string; displayName?: string; role?: OrganizationRole; projects?: { projectId: string; role: ProjectRole }[] },
  ): Promise<MemberView> {
    const withinProjects = administeringOnlyWithinProjects(actor, "inviteMembers");
    const person = withinProjects ?? requireAdministration(actor, "inviteMembers");
    const catalog = await this.access.catalogFor(ctx);
    this.access.checkRoles({ organizationRole: invitation.role, projects: invitation.projects }, "role", { catalog });
    if (withinProjects) {
      const decision = mayInviteIntoProjects(projectManagerOf(person), invitation, catalog);
      if (!decision.allowed) throw new PolicyRefusedError(decision.code, decision.message);
    } else if (invitation.role && !withinCeiling(invitation.role, person.access.permissions, catalog)) {
      throw new PolicyRefusedError("forbidden", "nobody invites someone with more access than they have");
    }
    await this.checkProjects(ctx, invitation.projects);
    const user = await this.users.provision(
      ctx,
      { userName: invitation.email, ...(invitation.displayName ? { displayName: invitation.displayName } : {}), emails: [{ value: invitation.email, type: "work", primary: true }] },
      "local",
      { ...(invitation.role ? { role: invitation.role } : {}), ...(invitation.projects ? { projects: invitation.projects } : {}) },
    );
    return withinProjects ? this.memberView(ctx, actor, user.id) : this.view(ctx, actor, user.id);
  }

  async remove(ctx: RequestContext, actor: ApiActor, userId: string, reason?: string): Promise<void> {
    await this.authorizeChange(ctx, actor, userId, { kind: "remove" });
    await this.users.remove(ctx, userId, {}, reason);
  }

  /** Ownership moves only this way (or by the operator's break-glass); the old Owner stays an Admin. */
  async transferOwnership(ctx: RequestContext, actor: ApiActor, newOwnerId: string): Promise<MemberView> {
    if (actor.kind !== "user") throw new ForbiddenError("Only the owner transfers ownership");
    const ownerUserId = await this.access.ownerOf(ctx);
    if (ownerUserId === undefined) throw new PolicyRefusedError("forbidden", ownerVacancyNotice(ctx.organizationId));
    const candidate = await this.users.get(ctx, newOwnerId);
    const decision = mayTransferOwnership(
      { id: actor.user.id, organizationId: ctx.organizationId, isOwner: ownerUserId === actor.user.id },
      { id: candidate.id, organizationId: candidate.organizationId, active: candidate.active, suspended: Boolean(candidate.suspended) },
    );
    if (!decision.allowed) throw new PolicyRefusedError(decision.code, decision.message);
    await this.organizations.transferOwnership(ctx, newOwnerId);
    await this.users.setLocalAccess(ctx, actor.user.id, { ...(actor.user.localAccess ?? {}), role: this.access.catalog.definition.formerOwnerRole }, "former owner after an ownership transfer");
    return this.view(ctx, actor, newOwnerId);
  }

  private async checkProjects(ctx: Scope, projects: readonly { projectId: string }[] | undefined): Promise<void> {
    if (!projects?.length) return;
    const known = await this.access.projects(ctx);
    for (const assignment of projects) {
      if (!known.some((p) => p.id === assignment.projectId)) throw new InvalidError(`No project ${assignment.projectId} in this organization`);
    }
  }

  /**
   * PUT /users/{id} with `{role, projects}`: the shape administrators already script against.
   * `role: null` removes the local role (the member keeps what groups or the default give). On a
   * member an identity provider manages, only a change that lowers or removes the local grants is
   * allowed (domain/user-policy.ts lowersLocalGrants): every grant can be removed inside the product.
   */
  async changeAccess(
    ctx: RequestContext,
    actor: ApiActor,
    userId: string,
    change: { role?: OrganizationRole | null; projects?: { projectId: string; role: ProjectRole }[]; reason?: string },
  ): Promise<MemberView> {
    const catalog = await this.access.catalogFor(ctx);
    this.access.checkRoles({ organizationRole: change.role ?? undefined, projects: change.projects }, "role", { grantable: false, catalog });
    const projectManager = administeringOnlyWithinProjects(actor, "changeMemberAccess");
    if (projectManager) return this.changeProjectAccess(ctx, projectManager, userId, change, catalog);
    const next = (current: LocalAccess): LocalAccess => {
      const role = change.role === null ? undefined : (change.role ?? current.role);
      const projects = change.projects ?? current.projects;
      return { ...(role !== undefined ? { role } : {}), ...(projects !== undefined ? { projects } : {}) };
    };
    const checks: ((target: MemberView) => UserChange)[] = [
      ...(change.role !== undefined
        ? [(t: MemberView) => ({ kind: "change_role" as const, ...(change.role ? { newRole: change.role } : {}), newLocalAccess: next(t.user.localAccess ?? {}) })]
        : []),
      ...(change.projects !== undefined ? [(t: MemberView) => ({ kind: "change_projects" as const, newLocalAccess: next(t.user.localAccess ?? {}) })] : []),
    ];
    if (!checks.length) throw new InvalidError("Nothing to change: give role, projects, or both");
    let target: MemberView | undefined;
    for (const check of checks) target = await this.authorizeChange(ctx, actor, userId, check);
    if (actor.kind !== "user" || !target) throw new ForbiddenError("Service tokens answer authorization questions; people change access");
    if (actor.user.id === userId && change.projects !== undefined) {
      throw new PolicyRefusedError("no_self_elevation", "nobody changes their own project access");
    }
    await this.checkProjects(ctx, change.projects);
    await this.users.setLocalAccess(ctx, userId, next(target.user.localAccess ?? {}), change.reason);
    return this.view(ctx, actor, userId);
  }

  /**
   * `changeAccess` by a member who changes members' access only inside the projects where a
   * project role lets them (domain/user-policy.ts mayChangeProjectAccess): the target's projects
   * are replaced, their organization role kept.
   */
  private async changeProjectAccess(
    ctx: RequestContext,
    actor: Extract<ApiActor, { kind: "user" }>,
    userId: string,
    change: { role?: OrganizationRole | null; projects?: { projectId: string; role: ProjectRole }[]; reason?: string },
    catalog: AccessCatalog,
  ): Promise<MemberView> {
    const target = await this.memberView(ctx, actor, userId);
    const decision = mayChangeProjectAccess(
      projectManagerOf(actor),
      { id: userId, role: target.access.organizationRole ?? "", isOwner: target.isOwner, managedBy: target.user.managedBy, ...(target.user.localAccess ? { localAccess: target.user.localAccess } : {}) },
      { touchesOrganizationRole: change.role !== undefined, ...(change.projects !== undefined ? { projects: change.projects } : {}) },
      catalog,
    );
    if (!decision.allowed) throw new PolicyRefusedError(decision.code, decision.message);
    await this.checkProjects(ctx, change.projects);
    const { role } = target.user.localAccess ?? {};
    await this.users.setLocalAccess(ctx, userId, { ...(role !== undefined ? { role } : {}), projects: change.projects ?? [] }, change.reason);
    return this.memberView(ctx, actor, userId);
  }
}

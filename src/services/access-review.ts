import type { AccessSource, EffectiveAccess } from "../domain/access";
import type { RequestContext } from "../domain/context";
import type { Criteria } from "../domain/criteria";
import type { PermissionSet } from "../domain/catalog";
import { SHIPPED_CATALOG, type OrganizationRole, type ProjectRole } from "../domain/permissions";
import type { User, UserManagement } from "../domain/user";
import { ForbiddenError, NotFoundError } from "../errors";
import type { AccessDirectory } from "./access";
import type { ApiActor } from "./members";
import { certificateStatus, type SamlConnections } from "./saml-connections";
import type { UserDirectory } from "./users";

type Scope = Pick<RequestContext, "organizationId">;

/**
 * The periodic access review (who has access, how much, and why) that SOC 2 and ISO 27001 audits
 * ask organizations to perform and keep evidence of. Each member's role comes with the sources that
 * granted it, so a reviewer can tell "admin because of the Okta group Analytics Admins" from
 * "admin because someone set it here" and revoke in the right place.
 */

/** Something a reviewer should look at twice. */
export type ReviewFlag =
  /** No login for more than 90 days, or never logged in and created more than 90 days ago. */
  | "inactive_90_days"
  /** May change other people's access (Admin and Owner in the shipped catalog: the catalog's `administration.changeMemberAccess`). */
  | "elevated"
  /** Some of the access is a temporary grant that will lapse on its own. */
  | "temporary_grant"
  /** Suspended locally (an incident): no access until an administrator lifts it. */
  | "suspended";

/** Something about the organization as a whole that a reviewer should look at. */
export type OrganizationFlag =
  /** Nobody holds ownership (see `vacantOwnership`). */
  | "vacant_ownership"
  /**
   * A signing certificate of the SAML connection expires within 30 days or has expired: SAML
   * sign-in fails once the identity provider signs with a certificate Gatehouse does not have.
   */
  | "saml_certificate_expires_soon";

export interface ReviewedProject {
  readonly projectId: string;
  /** Undefined when the project was deleted but an assignment still names it. */
  readonly projectName?: string;
  readonly role: ProjectRole;
  readonly sources: readonly AccessSource<ProjectRole>[];
}

export interface ReviewedUser {
  readonly id: string;
  readonly userName: string;
  readonly displayName?: string;
  readonly active: boolean;
  readonly managedBy: UserManagement;
  readonly managedVia?: string;
  readonly created: Date;
  /** The effective organization role; undefined when the member has no access (`denial` says why). */
  readonly role?: OrganizationRole;
  readonly denial?: string;
  /** Every source that gave an organization role, strongest first. */
  readonly roleSources: readonly AccessSource<OrganizationRole>[];
  /** Admin and owner reach every project, present and future, as Editor. */
  readonly allProjects: boolean;
  readonly projects: readonly ReviewedProject[];
  /** The last SAML sign-in; undefined before the first. */
  readonly lastLogin?: Date;
  readonly flags: readonly ReviewFlag[];
}

export interface AccessReviewReport {
  readonly generatedAt: Date;
  readonly organizationId: string;
  readonly ownerUserId?: string;
  /**
   * Nobody holds ownership: the organization has no owner, or the owner's user was deleted. Billing,
   * ownership transfer and account deletion then have nobody who may do them.
   */
  readonly vacantOwnership: boolean;
  /** Findings about the organization rather than a member, in the order of `OrganizationFlag`. */
  readonly organizationFlags: readonly OrganizationFlag[];
  /** The SAML signing certificates behind `saml_certificate_expires_soon` (none without the flag). */
  readonly expiringSamlCertificates: readonly { readonly subject: string; readonly validTo: Date }[];
  /** Ordered by userName, as a reviewer reads a list of people. */
  readonly users: readonly ReviewedUser[];
}

/** A member with access to a project, and through what (`AccessReview.projectAccess`). */
export interface ProjectMember {
  readonly id: string;
  readonly userName: string;
  readonly displayName?: string;
  readonly managedBy: UserManagement;
  readonly organizationRole: OrganizationRole;
  /** The project role the member acts as in the project (the strongest assigned, or the one reaching every project gives). */
  readonly projectRole: ProjectRole;
  /** What the member may do in the project, the organization role's ceiling applied (what `/authorize` decides with). */
  readonly permissions: PermissionSet;
  /** Every source that assigned a role in this project (a mapping and its group, a local grant, a temporary grant and its end), strongest first. */
  readonly sources: readonly AccessSource<ProjectRole>[];
  /** Present when the organization role reaches every project: the sources of that role. */
  readonly allProjectsThrough?: readonly AccessSource<OrganizationRole>[];
}

export interface ProjectAccessReport {
  readonly projectId: string;
  readonly projectName: string;
  readonly totalResults: number;
  readonly startIndex: number;
  /** This page, ordered by userName. */
  readonly members: readonly ProjectMember[];
}

/**
 * Who may see who has access to a project: whoever may look at other members' access (Admin and
 * the Owner: `administration.changeMemberAccess` organization-wide), and a project manager for
 * their own project (a project role carrying `changeMemberAccess` or `inviteMembers` there: they
 * manage its members, so they see them).
 */
export function requireProjectMembersViewer(actor: ApiActor, projectId: string): void {
  if (actor.kind !== "user") throw new ForbiddenError("This needs a person's token or session, not a service token");
  const { changeMemberAccess, inviteMembers } = actor.catalog.definition.administration;
  if (actor.access.permissions.has(changeMemberAccess)) return;
  const inProject = actor.access.allProjects ? actor.access.allProjectsPermissions : actor.access.projects.find((p) => p.projectId === projectId)?.permissions;
  if (inProject && (inProject.has(changeMemberAccess) || inProject.has(inviteMembers))) return;
  throw new ForbiddenError("Only an admin, the owner, or a manager of this project may see who has access to it");
}

/** How long without a login makes an account worth questioning (a common access-review threshold). */
export const INACTIVITY_DAYS = 90;
const dayMs = 24 * 60 * 60 * 1000;

/** The flags of one member at `now`: a pure decision, so the thresholds are tested without waiting 90 days. */
export function reviewFlags(
  member: {
    role?: OrganizationRole;
    /** The member's organization-wide permissions; the role's own (shipped catalog) when absent. */
    permissions?: PermissionSet;
    sources: readonly Pick<AccessSource, "kind">[];
    lastLogin?: Date;
    created: Date;
    suspended?: boolean;
  },
  now: Date,
  catalog = SHIPPED_CATALOG,
): ReviewFlag[] {
  const flags: ReviewFlag[] = [];
  const lastSeen = member.lastLogin ?? member.created;
  if (now.getTime() - lastSeen.getTime() > INACTIVITY_DAYS * dayMs) flags.push("inactive_90_days");
  const permissions = member.permissions ?? (member.role ? catalog.organizationPermissions(member.role, { readOnlyMayComment: false }) : new Map());
  if (permissions.has(catalog.definition.administration.changeMemberAccess)) flags.push("elevated");
  if (member.sources.some((s) => s.kind === "temporary")) flags.push("temporary_grant");
  if (member.suspended) flags.push("suspended");
  return flags;
}

/**
 * Who may read the audit trail and access reviews: an Admin or the Owner, in person. A service
 * token answers authorization questions for the product and has no business reading who changed
 * what; members below Admin may not see other people's access.
 */
export function requireAccessReviewer(actor: ApiActor): void {
  if (actor.kind === "user" && actor.access.permissions.has(actor.catalog.definition.administration.changeMemberAccess)) return;
  throw new ForbiddenError("Only an admin or the owner may read the audit trail and access reviews");
}

/** Members whose access is worked out at once: enough to be quick, few enough to be gentle on the database. */
const reviewConcurrency = 8;

export class AccessReview {
  constructor(
    private readonly users: UserDirectory,
    private readonly access: AccessDirectory,
    private readonly now: () => Date = () => new Date(),
    private readonly pageSize = 200,
    /** The organization's SAML connection, for the certificate-expiry flag; without it, no SAML flags. */
    private readonly saml?: Pick<SamlConnections, "get">,
  ) {}

  /**
   * The review of one organization, built in memory: organizations are small (hundreds to a few
   * thousand members), and only this organization's users are read. Each member's access comes from
   * `AccessDirectory.accessOf`, the very function authorization answers use, so the review cannot
   * disagree with what the product enforces.
   */
  async review(ctx: Scope): Promise<AccessReviewReport> {
    const generatedAt = this.now();
    const [ownerUserId, projects, evaluated, samlConnection] = await Promise.all([this.access.ownerOf(ctx), this.access.projects(ctx), this.everyMembersAccess(ctx), this.saml?.get(ctx)]);
    const projectNames = new Map(projects.map((p) => [p.id, p.name]));
    const reviewed = evaluated.map(({ user, access }) => this.reviewOne(user, access, projectNames, generatedAt));

    const vacantOwnership = ownerUserId === undefined || !reviewed.some((u) => u.id === ownerUserId);
    const expiringSamlCertificates = (samlConnection?.certificates ?? [])
      .map((pem) => certificateStatus(pem, generatedAt))
      .filter((status) => status.expiresSoon)
      .map(({ subject, validTo }) => ({ subject, validTo }));
    const organizationFlags: OrganizationFlag[] = [
      ...(vacantOwnership ? (["vacant_ownership"] as const) : []),
      ...(expiringSamlCertificates.length ? (["saml_certificate_expires_soon"] as const) : []),
    ];
    return {
      generatedAt,
      organizationId: ctx.organizationId,
      ...(ownerUserId ? { ownerUserId } : {}),
      vacantOwnership,
      organizationFlags,
      expiringSamlCertificates,
      users: reviewed,
    };
  }

  private reviewOne(user: User, access: EffectiveAccess, projectNames: Map<string, string>, now: Date): ReviewedUser {
    const lastLogin = user.lastLogin;
    const allSources = [...access.sources, ...access.projects.flatMap((p) => p.sources)];
    return {
      id: user.id,
      userName: user.userName,
      ...(user.displayName ? { displayName: user.displayName } : {}),
      active: user.active,
      managedBy: user.managedBy,
      ...(user.managedVia ? { managedVia: user.managedVia } : {}),
      created: user.created,
      ...(lastLogin ? { lastLogin } : {}),
      ...(access.organizationRole ? { role: access.organizationRole } : {}),
      ...(access.denial ? { denial: access.denial } : {}),
      roleSources: access.sources,
      allProjects: access.allProjects,
      projects: access.projects.map((p) => ({
        projectId: p.projectId,
        ...(projectNames.has(p.projectId) ? { projectName: projectNames.get(p.projectId)! } : {}),
        role: p.role,
        sources: p.sources,
      })),
      flags: reviewFlags(
        { ...(access.organizationRole ? { role: access.organizationRole } : {}), permissions: access.permissions, sources: allSources, ...(lastLogin ? { lastLogin } : {}), created: user.created, suspended: Boolean(user.suspended) },
        now,
        this.access.catalog,
      ),
    };
  }

  /**
   * Who has access to one project and through what: the members the review would show with access
   * to it (assigned by a mapping, locally or temporarily, or reaching every project through their
   * organization role), each with the project role they act as there, what it allows and every
   * source — worked out by `AccessDirectory.accessOf`, as the review and `/authorize` are. Ordered
   * by userName; a page of `count` from `startIndex` (1-based). The whole organization is evaluated
   * for each page, as the review is (organizations are hundreds to a few thousand members).
   */
  async projectAccess(ctx: Scope, projectId: string, page: { startIndex: number; count: number }): Promise<ProjectAccessReport> {
    const projects = await this.access.projects(ctx);
    const project = projects.find((p) => p.id === projectId);
    if (!project) throw new NotFoundError(`No ${this.access.catalog.projectNoun} ${projectId} in this organization`);
    const catalog = this.access.catalog;
    const actsAs = catalog.definition.everyProject?.actsAs;
    const members: ProjectMember[] = [];
    for (const { user, access } of await this.everyMembersAccess(ctx)) {
      const assigned = access.projects.find((p) => p.projectId === projectId);
      if (!assigned && !access.allProjects) continue;
      // The role the member acts as there: the strongest of the roles assigned and, reaching every project, the catalog's `everyProject.actsAs`.
      const roles = catalog.strongestFirst([...(assigned ? [{ role: assigned.role }] : []), ...(access.allProjects && actsAs ? [{ role: actsAs }] : [])], "project");
      const role = roles[0]?.role;
      if (role === undefined) continue;
      members.push({
        id: user.id,
        userName: user.userName,
        ...(user.displayName ? { displayName: user.displayName } : {}),
        managedBy: user.managedBy,
        organizationRole: access.organizationRole!,
        projectRole: role,
        permissions: assigned?.permissions ?? access.allProjectsPermissions,
        sources: assigned?.sources ?? [],
        ...(access.allProjects ? { allProjectsThrough: access.sources } : {}),
      });
    }
    const start = Math.max(1, page.startIndex);
    return { projectId: project.id, projectName: project.name, totalResults: members.length, startIndex: start, members: members.slice(start - 1, start - 1 + page.count) };
  }

  /**
   * Every member of the organization with their effective access, ordered by userName (then id).
   * Each member's access comes from `AccessDirectory.accessOf`, the very function authorization
   * answers use, so nothing built on this can disagree with what the product enforces.
   */
  private async everyMembersAccess(ctx: Scope): Promise<{ user: User; access: EffectiveAccess }[]> {
    const users = await this.allUsers(ctx);
    const evaluated: { user: User; access: EffectiveAccess }[] = [];
    const queue = [...users];
    await Promise.all(
      Array.from({ length: Math.min(reviewConcurrency, queue.length) }, async () => {
        for (let user = queue.shift(); user !== undefined; user = queue.shift()) {
          const access = await this.accessOrGone(ctx, user.id);
          if (access) evaluated.push({ user, access });
        }
      }),
    );
    return evaluated.sort((a, b) => compareText(a.user.userName, b.user.userName) || compareText(a.user.id, b.user.id));
  }

  /** A member deleted while the review runs is simply not in it. */
  private async accessOrGone(ctx: Scope, userId: string): Promise<EffectiveAccess | undefined> {
    try {
      return await this.access.accessOf(ctx, userId);
    } catch (error) {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    }
  }

  /**
   * Every user of the organization, a page at a time in `(created, id)` order, each page starting
   * after the last user of the previous one. Unlike startIndex paging, a user deleted meanwhile
   * cannot shift someone else out of the review.
   */
  private async allUsers(ctx: Scope): Promise<User[]> {
    const users: User[] = [];
    for (;;) {
      const last = users[users.length - 1];
      const page = await this.users.list(ctx, { ...(last ? { criteria: after(last) } : {}), startIndex: 1, count: this.pageSize });
      users.push(...page.users);
      if (page.users.length < this.pageSize) return users;
    }
  }
}

/** Users after `user` in the listing's default `(created, id)` order. */
function after(user: User): Criteria {
  const created = user.created.toISOString();
  return {
    kind: "or",
    any: [
      { kind: "compare", path: "created", op: "gt", value: created, type: "dateTime", caseExact: true },
      {
        kind: "and",
        all: [
          { kind: "compare", path: "created", op: "eq", value: created, type: "dateTime", caseExact: true },
          { kind: "compare", path: "id", op: "gt", value: user.id, type: "string", caseExact: true },
        ],
      },
    ],
  };
}

function compareText(a: string, b: string): number {
  const [x, y] = [a.toLowerCase(), b.toLowerCase()];
  return x < y ? -1 : x > y ? 1 : 0;
}

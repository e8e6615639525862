import type { AuditTrail } from "../audit/audit-trail";
import type { AuditEvent } from "../domain/audit";
import type { RequestContext } from "../domain/context";
import { InvalidError } from "../errors";
import type { AccessDirectory } from "./access";
import { requireAccessReviewer, type AccessReview, type AccessReviewReport } from "./access-review";
import type { ApiActor } from "./members";

type Scope = Pick<RequestContext, "organizationId">;

/** The audit action of a reviewer's sign-off (the existing `<target>.<past tense>` naming). */
export const REVIEW_COMPLETED = "access_review.completed";

/** What a review covered: the whole organization, or one project and the members with access to it. */
export type ReviewScope = { readonly kind: "organization" } | { readonly kind: "project"; readonly projectId: string; readonly projectName: string };

/** A reviewer's sign-off, as the audit trail records it: the evidence an auditor asks for. */
export interface ReviewCompletion {
  /** The audit event's id. */
  readonly id: string;
  readonly at: Date;
  readonly reviewer: { readonly id: string; readonly name: string };
  readonly scope: ReviewScope;
  readonly notes?: string;
  /** How many members the review showed when it was signed off. */
  readonly members: number;
  /** For a project's review: the members it covered (bounded by the project's members). */
  readonly memberIds?: readonly string[];
}

/** When a member's access was last reviewed, and by whom. */
export interface LastReview {
  readonly at: Date;
  readonly completionId: string;
  readonly reviewer: { readonly id: string; readonly name: string };
  readonly scope: ReviewScope["kind"];
}

interface CompletionRecord {
  scope: "organization" | "project";
  projectId?: string;
  projectName?: string;
  members: number;
  memberIds?: string[];
  notes?: string;
}

function completionOf(event: AuditEvent): ReviewCompletion | undefined {
  const after = event.after as Partial<CompletionRecord> | undefined;
  if (!after || (after.scope !== "organization" && after.scope !== "project")) return undefined;
  const scope: ReviewScope =
    after.scope === "project" ? { kind: "project", projectId: String(after.projectId ?? event.target.id), projectName: String(after.projectName ?? event.target.display ?? "") } : { kind: "organization" };
  return {
    id: event.id,
    at: event.at,
    reviewer: { id: event.actor.id, name: event.actor.name },
    scope,
    ...(typeof after.notes === "string" ? { notes: after.notes } : {}),
    members: typeof after.members === "number" ? after.members : 0,
    ...(Array.isArray(after.memberIds) ? { memberIds: after.memberIds.map(String) } : {}),
  };
}

/**
 * Completing an access review (issue 13 §3): the reviewer signs off the review as it stands — the
 * whole organization or one project — with notes, and the sign-off is an audit event
 * (`access_review.completed`), the trail auditors already read. The review then says, for each
 * member, when their access was last reviewed.
 *
 * Which members a sign-off covers: an organization-wide one covers everyone who was a member when
 * it was made (created at or before it); a project's covers the members the review showed with
 * access to that project (each named in the event: a project's members, not the organization's).
 * The completions are read from the trail by their action, newest first — on MongoDB through the
 * `{organizationId, action, at, _id}` index, on the embedded database through the resident audit
 * index — so the review stays scan-free; sign-offs are few (a handful a quarter).
 */
export class ReviewCompletions {
  constructor(
    private readonly audit: AuditTrail,
    private readonly review: AccessReview,
    private readonly access: AccessDirectory,
  ) {}

  async complete(ctx: RequestContext, actor: ApiActor, request: { projectId?: string; notes?: string }): Promise<ReviewCompletion> {
    requireAccessReviewer(actor);
    const notes = request.notes?.trim();
    let scope: ReviewScope = { kind: "organization" };
    if (request.projectId !== undefined) {
      const project = (await this.access.projects(ctx)).find((p) => p.id === request.projectId);
      if (!project) throw new InvalidError(`No project ${request.projectId} in this organization`);
      scope = { kind: "project", projectId: project.id, projectName: project.name };
    }
    const report = await this.review.review(ctx);
    const covered = scope.kind === "project" ? membersOfProject(report, scope.projectId) : report.users.map((u) => u.id);
    const record: CompletionRecord = {
      scope: scope.kind,
      ...(scope.kind === "project" ? { projectId: scope.projectId, projectName: scope.projectName, memberIds: covered } : {}),
      members: covered.length,
      ...(notes ? { notes } : {}),
    };
    const event = await this.audit.record(ctx, {
      action: REVIEW_COMPLETED,
      target: scope.kind === "project" ? { type: "project", id: scope.projectId, display: scope.projectName } : { type: "organization", id: ctx.organizationId },
      after: record,
    });
    return completionOf(event)!;
  }

  /** Every sign-off of the organization, newest first. */
  async history(ctx: Scope): Promise<ReviewCompletion[]> {
    const completions: ReviewCompletion[] = [];
    for await (const page of this.audit.searchAll(ctx.organizationId, { action: REVIEW_COMPLETED })) {
      for (const event of page) {
        const completion = completionOf(event);
        if (completion) completions.push(completion);
      }
    }
    return completions;
  }

  /** When each member of `users` was last reviewed (absent: never), from the sign-offs newest first. */
  static lastReviews(completions: readonly ReviewCompletion[], users: readonly { readonly id: string; readonly created: Date }[]): Map<string, LastReview> {
    const last = new Map<string, LastReview>();
    const covered = completions.map((c) => new Set(c.memberIds ?? []));
    for (const user of users) {
      const completion = completions.find((c, i) => (c.scope.kind === "organization" ? c.at.getTime() >= user.created.getTime() : covered[i]!.has(user.id)));
      if (completion) last.set(user.id, { at: completion.at, completionId: completion.id, reviewer: completion.reviewer, scope: completion.scope.kind });
    }
    return last;
  }
}

/** The members the review shows with access to a project: assigned to it, or reaching every project. */
function membersOfProject(report: AccessReviewReport, projectId: string): string[] {
  return report.users.filter((u) => u.allProjects || u.projects.some((p) => p.projectId === projectId)).map((u) => u.id);
}

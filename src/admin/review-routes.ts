import express, { type Router } from "express";
import { z } from "zod";
import type { Services } from "../services";
import { requireAccessReviewer } from "../services/access-review";
import type { ReviewCompletion as Completion } from "../services/review-completions";
import { contextOf, scopeOf } from "./http";
import { mount, operation } from "./operation";
import { named } from "./schemas";

/**
 * Completing an access review (issue 13 §3): the reviewer's sign-off, with the scope and notes,
 * recorded in the audit trail as `access_review.completed` — the evidence SOC 2 and ISO 27001
 * auditors ask for — and the sign-offs so far. Admin and Owner only, like the review itself.
 */

const ReviewCompletion = named(
  "ReviewCompletion",
  z.object({
    id: z.string().describe("The `access_review.completed` audit event's id."),
    at: z.iso.datetime().describe("When the review was signed off."),
    reviewer: z.object({ id: z.string(), name: z.string() }).describe("Who signed it off."),
    scope: z
      .discriminatedUnion("kind", [
        z.object({ kind: z.literal("organization") }),
        z.object({ kind: z.literal("project"), projectId: z.string(), projectName: z.string() }),
      ])
      .describe("The whole organization, or one project (the members with access to it)."),
    notes: z.string().optional(),
    members: z.number().int().min(0).describe("How many members the review covered."),
  }),
  "A reviewer's sign-off of the access review.",
);

function presentCompletion(completion: Completion): z.input<typeof ReviewCompletion> {
  return {
    id: completion.id,
    at: completion.at.toISOString(),
    reviewer: { id: completion.reviewer.id, name: completion.reviewer.name },
    scope: completion.scope.kind === "project" ? { kind: "project", projectId: completion.scope.projectId, projectName: completion.scope.projectName } : { kind: "organization" },
    ...(completion.notes !== undefined ? { notes: completion.notes } : {}),
    members: completion.members,
  };
}

export const completeAccessReview = operation({
  method: "post",
  path: "/access-review/completions",
  operationId: "completeAccessReview",
  tag: "Audit",
  summary: "Complete an access review",
  description:
    "Admin and Owner only. Signs off the access review as it stands now — the whole organization, or with `projectId` one project and the members with access to it — with notes. Recorded in the audit trail as `access_review.completed` (reviewer, time, scope, notes, how many members); the review then shows each member's `lastReviewed`.",
  security: "personal",
  authorize: requireAccessReviewer,
  body: named(
    "ReviewCompletionRequest",
    z
      .object({
        projectId: z.string().min(1).optional().describe("Review one project; the whole organization when left out."),
        notes: z.string().max(4000).optional().describe("What was checked and what was changed, for the auditor."),
      })
      .strict(),
  ),
  bodyRequired: false,
  responses: { 201: { description: "The sign-off.", schema: ReviewCompletion } },
  errors: { 400: ["invalid"] },
});

export const listAccessReviewCompletions = operation({
  method: "get",
  path: "/access-review/completions",
  operationId: "listAccessReviewCompletions",
  tag: "Audit",
  summary: "Completed access reviews",
  description: "Admin and Owner only. Every sign-off, newest first.",
  security: "personal",
  authorize: requireAccessReviewer,
  responses: { 200: { description: "The sign-offs.", schema: named("ReviewCompletionList", z.object({ completions: z.array(ReviewCompletion) })) } },
});

export const reviewOperations = [completeAccessReview, listAccessReviewCompletions];

export function reviewRoutes(services: Services): Router {
  const router = express.Router();
  mount(router, completeAccessReview, async ({ body }, req) => presentCompletion(await services.reviewCompletions.complete(contextOf(req), req.apiActor!, body)));
  mount(router, listAccessReviewCompletions, async (_input, req) => ({ completions: (await services.reviewCompletions.history(scopeOf(req))).map(presentCompletion) }));
  return router;
}

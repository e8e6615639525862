import express, { type Router } from "express";
import { z } from "zod";
import { DIRECTORY_EVENT_TYPES, DIRECTORY_EVENT_VERSION } from "../domain/directory-events";
import type { Services } from "../services";
import { requireAccessReviewer } from "../services/access-review";
import { DIRECTORY_EVENT_RETENTION_DAYS, parseEventTypes } from "../services/directory-events";
import { scopeOf } from "./http";
import { mount, operation } from "./operation";
import { named } from "./schemas";

/**
 * GET /api/v1/events: the organization's directory events (domain/directory-events.ts) in order,
 * after an opaque cursor — what a product follows its directory by, without webhooks.
 */

const eventTypeNames = Object.keys(DIRECTORY_EVENT_TYPES) as [keyof typeof DIRECTORY_EVENT_TYPES, ...(keyof typeof DIRECTORY_EVENT_TYPES)[]];

export const DirectoryEventSchema = named(
  "DirectoryEvent",
  z.object({
    id: z.string().describe("Stable: the same change always has the same id (deduplicate by it; a crash can make an event appear twice)."),
    type: z.enum(eventTypeNames),
    version: z.literal(DIRECTORY_EVENT_VERSION).describe("The schema version of `data`; fields are only added within a version."),
    occurredAt: z.string().describe("When the change was made (ISO 8601, UTC)."),
    organizationId: z.string(),
    data: z.object({
      object: z.string().describe("What changed: `user`, `group`, `organization`, `webhook_endpoint` …"),
      id: z.string().describe("Its id (a member's SCIM id, a group's id …)."),
      display: z.string().optional(),
      before: z.unknown().optional(),
      after: z.unknown().optional(),
      reason: z.string().optional(),
      actor: z.object({ type: z.string(), id: z.string(), name: z.string() }),
      source: z.string().describe("The channel: `scim`, `saml`, `admin`, `cli`, `system`."),
      auditAction: z.string().describe("The audit trail action it comes from (GET /audit-events)."),
    }),
  }),
);

export const listEvents = operation({
  method: "get",
  path: "/events",
  operationId: "listEvents",
  tag: "Events",
  summary: "The organization's directory events, in order, after a cursor",
  description: `Events oldest first, in the order they were recorded (one sequence per organization, the same on every instance). Follow the directory by calling again with \`after\` set to the \`cursor\` of the previous answer; an empty \`events\` means nothing new yet (poll again later with the same cursor). Events are kept ${DIRECTORY_EVENT_RETENTION_DAYS} days; without \`after\` (or with a cursor older than that) the listing starts at the oldest event kept. Admins, the Owner, and service tokens.`,
  security: "personalOrService",
  scope: "events:read",
  authorize: (actor) => {
    if (actor.kind === "user") requireAccessReviewer(actor);
  },
  query: z
    .object({
      after: z.string().min(1).max(100).optional().describe("The `cursor` of the previous answer."),
      types: z.string().min(1).max(2000).optional().describe(`Only these event types, comma-separated: ${eventTypeNames.map((name) => `\`${name}\``).join(", ")}.`),
      limit: z.string().regex(/^\d+$/, "must be a whole number").transform(Number).pipe(z.number().int().min(1).max(500)).optional().describe("The most events in the answer, 1 to 500; 100 when left out."),
    })
    .strict(),
  responses: {
    200: {
      description: "A page of events and the cursor to continue from (also when the page is empty).",
      schema: named("DirectoryEventPage", z.object({ events: z.array(DirectoryEventSchema), cursor: z.string().describe("Pass as `after` to continue.") })),
    },
  },
  errors: { 400: ["invalid"] },
  badRequest: "An unknown parameter or event type, a limit out of range, or a cursor this API did not give.",
});

export const eventOperations = [listEvents];

export function eventRoutes(services: Services): Router {
  const router = express.Router();
  mount(router, listEvents, async ({ query }, req) => {
    const types = parseEventTypes(query.types);
    return await services.directoryEvents.list(scopeOf(req), { ...(query.after ? { after: query.after } : {}), ...(types ? { types } : {}), limit: query.limit ?? 100 });
  });
  return router;
}

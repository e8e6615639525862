import express, { type Router } from "express";
import { z } from "zod";
import { DIRECTORY_EVENT_TYPES } from "../domain/directory-events";
import type { Services } from "../services";
import { requireAdministration, type ApiActor } from "../services/members";
import { viewOf, type WebhookEndpointView } from "../services/webhooks";
import type { DeliveryLogEntry } from "../storage/webhooks";
import { contextOf, scopeOf } from "./http";
import { mount, operation } from "./operation";
import { named } from "./schemas";

/**
 * Webhook endpoints (services/webhooks.ts): registered, changed, rotated, inspected and
 * redelivered by administrators with `manage_integrations` or service tokens with `webhooks:manage`.
 */

const eventTypeNames = Object.keys(DIRECTORY_EVENT_TYPES) as [keyof typeof DIRECTORY_EVENT_TYPES, ...(keyof typeof DIRECTORY_EVENT_TYPES)[]];
const EventType = z.enum(eventTypeNames);

const WebhookEndpoint = named(
  "WebhookEndpoint",
  z.object({
    id: z.string(),
    url: z.string(),
    types: z.union([z.array(EventType), z.literal("all")]),
    description: z.string().optional(),
    status: z.enum(["enabled", "disabled"]).describe("`disabled`: failed for the whole retry period (three days), or disabled by an administrator; enable it to continue where it stopped."),
    disabledAt: z.string().optional(),
    disabledReason: z.string().optional(),
    createdAt: z.string(),
    failedAttempts: z.number().int().describe("Failed attempts at the next event so far."),
    nextAttemptAt: z.string().optional(),
    failingSince: z.string().optional(),
    secrets: z.array(z.object({ createdAt: z.string(), expiresAt: z.string().optional() })).describe("The live signing secrets, newest first (never the secrets themselves)."),
  }),
);

const DeliveryAttempt = named(
  "WebhookDeliveryAttempt",
  z.object({
    eventId: z.string().describe("Sent as `webhook-id`."),
    type: z.string(),
    attempt: z.number().int(),
    redelivery: z.boolean().optional(),
    at: z.string(),
    durationMs: z.number(),
    outcome: z.enum(["delivered", "failed", "refused"]).describe("`refused`: Gatehouse would not send to the destination (outbound safety)."),
    httpStatus: z.number().int().optional(),
    error: z.string().optional(),
    response: z.string().optional().describe("The start of the receiver's answer (at most 4 KiB)."),
  }),
);

const iso = (date: Date | undefined) => (date ? { value: date.toISOString() } : undefined);

function present(view: WebhookEndpointView): z.input<typeof WebhookEndpoint> {
  return {
    id: view.id,
    url: view.url,
    types: view.types,
    ...(view.description ? { description: view.description } : {}),
    status: view.status,
    ...(iso(view.disabledAt) ? { disabledAt: iso(view.disabledAt)!.value } : {}),
    ...(view.disabledReason ? { disabledReason: view.disabledReason } : {}),
    createdAt: view.createdAt.toISOString(),
    failedAttempts: view.failedAttempts,
    ...(view.nextAttemptAt ? { nextAttemptAt: view.nextAttemptAt.toISOString() } : {}),
    ...(view.failingSince ? { failingSince: view.failingSince.toISOString() } : {}),
    secrets: view.secrets.map((s) => ({ createdAt: s.createdAt.toISOString(), ...(s.expiresAt ? { expiresAt: s.expiresAt.toISOString() } : {}) })),
  };
}

function presentAttempt(entry: DeliveryLogEntry): z.input<typeof DeliveryAttempt> {
  return {
    eventId: entry.eventId,
    type: entry.type,
    attempt: entry.attempt,
    ...(entry.redelivery ? { redelivery: true } : {}),
    at: entry.at.toISOString(),
    durationMs: entry.durationMs,
    outcome: entry.outcome,
    ...(entry.httpStatus !== undefined ? { httpStatus: entry.httpStatus } : {}),
    ...(entry.error ? { error: entry.error } : {}),
    ...(entry.response ? { response: entry.response } : {}),
  };
}

const manage = (actor: ApiActor) => {
  if (actor.kind === "user") requireAdministration(actor, "manageIntegrations");
};
const common = { tag: "Events", security: "personalOrService", scope: "webhooks:manage", authorize: manage } as const;
const idParams = z.object({ id: z.string().min(1).describe("The endpoint's id (`wh_…`).") });
const notFound = { 404: "No such webhook endpoint in the organization" } as const;

export const listWebhooks = operation({
  ...common,
  method: "get",
  path: "/webhooks",
  operationId: "listWebhooks",
  summary: "Webhook endpoints",
  description: "Needs `manage_integrations`.",
  responses: { 200: { description: "The organization's endpoints.", schema: named("WebhookEndpointList", z.object({ endpoints: z.array(WebhookEndpoint) })) } },
});

export const createWebhook = operation({
  ...common,
  method: "post",
  path: "/webhooks",
  operationId: "createWebhook",
  summary: "Register a webhook endpoint",
  description:
    "Needs `manage_integrations`. Events published from now on are delivered, signed by the Standard Webhooks specification (`webhook-id`, `webhook-timestamp`, `webhook-signature`). The secret (`whsec_…`) is in this answer only. The URL must be https (unless WEBHOOK_ALLOW_HTTP) and must not name a private, loopback or link-local address (unless WEBHOOK_ALLOW_PRIVATE_DESTINATIONS).",
  body: named(
    "WebhookEndpointRequest",
    z
      .object({
        url: z.string().min(1).max(2000),
        types: z.array(EventType).min(1).max(50).optional().describe("The event types to deliver; all when left out."),
        description: z.string().max(500).optional(),
      })
      .strict(),
  ),
  responses: { 201: { description: "The endpoint, with its signing secret.", schema: named("CreatedWebhookEndpoint", z.object({ endpoint: WebhookEndpoint, secret: z.string().regex(/^whsec_/) })) } },
  errors: { 400: ["invalid"] },
});

export const getWebhook = operation({
  ...common,
  method: "get",
  path: "/webhooks/:id",
  operationId: "getWebhook",
  summary: "One webhook endpoint and its state",
  description: "Needs `manage_integrations`.",
  params: idParams,
  responses: { 200: { description: "The endpoint.", schema: WebhookEndpoint } },
  errors: notFound,
});

export const changeWebhook = operation({
  ...common,
  method: "patch",
  path: "/webhooks/:id",
  operationId: "changeWebhook",
  summary: "Change, enable or disable a webhook endpoint",
  description: "Needs `manage_integrations`. `enabled: true` on a disabled endpoint resumes delivery where it stopped.",
  params: idParams,
  body: named(
    "WebhookEndpointChange",
    z
      .object({
        url: z.string().min(1).max(2000).optional(),
        types: z.union([z.array(EventType).min(1).max(50), z.null()]).optional().describe("`null`: all types."),
        description: z.string().max(500).optional(),
        enabled: z.boolean().optional(),
      })
      .strict(),
  ),
  responses: { 200: { description: "The endpoint after the change.", schema: WebhookEndpoint } },
  errors: { 400: ["invalid"], ...notFound },
});

export const deleteWebhook = operation({
  ...common,
  method: "delete",
  path: "/webhooks/:id",
  operationId: "deleteWebhook",
  summary: "Remove a webhook endpoint",
  description: "Needs `manage_integrations`. Nothing more is sent to it.",
  params: idParams,
  responses: { 204: { description: "Removed." } },
  errors: notFound,
});

export const rotateWebhookSecret = operation({
  ...common,
  method: "post",
  path: "/webhooks/:id/rotate-secret",
  operationId: "rotateWebhookSecret",
  summary: "A new signing secret, the old one signing on for an overlap",
  description: "Needs `manage_integrations`. Until `previousExpireAt`, each message carries a signature by every live secret, so the receiver can switch at its own pace.",
  params: idParams,
  body: named("WebhookSecretRotation", z.object({ overlapMinutes: z.number().int().min(0).max(7 * 24 * 60).optional().describe("How long the old secret keeps signing; 24 hours when left out.") }).strict()),
  bodyRequired: false,
  responses: { 200: { description: "The new secret (in this answer only).", schema: named("RotatedWebhookSecret", z.object({ secret: z.string().regex(/^whsec_/), previousExpireAt: z.string() })) } },
  errors: notFound,
});

export const listWebhookDeliveries = operation({
  ...common,
  method: "get",
  path: "/webhooks/:id/deliveries",
  operationId: "listWebhookDeliveries",
  summary: "The endpoint's delivery log",
  description: "Needs `manage_integrations`. The last 100 attempts, newest first.",
  params: idParams,
  responses: { 200: { description: "The attempts.", schema: named("WebhookDeliveryLog", z.object({ attempts: z.array(DeliveryAttempt) })) } },
  errors: notFound,
});

export const redeliverWebhook = operation({
  ...common,
  method: "post",
  path: "/webhooks/:id/redeliver",
  operationId: "redeliverWebhook",
  summary: "Send an event from the delivery log again",
  description: "Needs `manage_integrations`. One attempt, under the event's same `webhook-id`, outside the endpoint's order; it shows in the delivery log as a redelivery.",
  params: idParams,
  body: named("WebhookRedelivery", z.object({ eventId: z.string().min(1).max(100) }).strict()),
  responses: { 202: { description: "Queued.", schema: named("WebhookRedeliveryQueued", z.object({ requested: z.string() })) } },
  errors: { 404: "No such endpoint in the organization, or no such event in its delivery log" },
});

export const webhookOperations = [listWebhooks, createWebhook, getWebhook, changeWebhook, deleteWebhook, rotateWebhookSecret, listWebhookDeliveries, redeliverWebhook];

export function webhookRoutes(services: Services): Router {
  const router = express.Router();
  const { webhooks } = services;
  mount(router, listWebhooks, async (_input, req) => ({ endpoints: (await webhooks.list(scopeOf(req))).map(present) }));
  mount(router, createWebhook, async ({ body }, req) => {
    const { secret, ...endpoint } = await webhooks.register(contextOf(req), { url: body.url, ...(body.types ? { types: body.types } : {}), ...(body.description ? { description: body.description } : {}) });
    return { endpoint: present(endpoint), secret };
  });
  mount(router, getWebhook, async ({ params }, req) => present(viewOf(await webhooks.get(scopeOf(req), params.id))));
  mount(router, changeWebhook, async ({ params, body }, req) => present(await webhooks.change(contextOf(req), params.id, body)));
  mount(router, deleteWebhook, async ({ params }, req) => {
    await webhooks.remove(contextOf(req), params.id);
  });
  mount(router, rotateWebhookSecret, async ({ params, body }, req) => {
    const rotated = await webhooks.rotateSecret(contextOf(req), params.id, (body.overlapMinutes ?? 24 * 60) * 60_000);
    return { secret: rotated.secret, previousExpireAt: rotated.previousExpireAt.toISOString() };
  });
  mount(router, listWebhookDeliveries, async ({ params }, req) => ({ attempts: (await webhooks.deliveries(scopeOf(req), params.id)).map(presentAttempt) }));
  mount(router, redeliverWebhook, async ({ params, body }, req) => await webhooks.redeliver(contextOf(req), params.id, body.eventId));
  return router;
}

import express, { type Router } from "express";
import { z } from "zod";
import { SERVICE_TOKEN_SCOPES, TOKEN_SCOPES, type TokenScope } from "../domain/token-scopes";
import { NotFoundError } from "../errors";
import type { Services } from "../services";
import { requireAdministration, type ApiActor } from "../services/members";
import type { ScimTokenSummary } from "../services/scim-tokens";
import { contextOf, scopeOf } from "./http";
import { mount, operation } from "./operation";
import { named } from "./schemas";

/**
 * Service tokens (`gsv_…`) for the product's back end, with their scopes (domain/token-scopes.ts):
 * an administrator with `manage_integrations` mints, lists and revokes them, as the operator does
 * with `gatehouse service-token create --scope …`.
 */

const scopeNames = SERVICE_TOKEN_SCOPES as [TokenScope, ...TokenScope[]];
const ServiceTokenScope = z.enum(scopeNames).describe(scopeNames.map((scope) => `\`${scope}\`: ${TOKEN_SCOPES[scope]}`).join("; "));

const serviceTokenSummary = {
  id: z.string().regex(/^[0-9a-f]{24}$/),
  name: z.string(),
  scopes: z.array(ServiceTokenScope).describe("What the token may do; a token issued before scopes existed shows `authorize`, what it could always do."),
  created: z.string(),
  lastUsed: z.string().optional(),
  expires: z.string().optional(),
  revoked: z.string().optional(),
};
const ServiceTokenSummary = named("ServiceTokenSummary", z.object(serviceTokenSummary), "A service token as shown to an administrator: never its secret.");

const needsIntegrations = (actor: ApiActor) => void requireAdministration(actor, "manageIntegrations");

export const listServiceTokens = operation({
  method: "get",
  path: "/service-tokens",
  operationId: "listServiceTokens",
  tag: "Events",
  summary: "Service tokens and their scopes",
  description: "Needs `manage_integrations`. Never shows a token's secret.",
  security: "personal",
  authorize: needsIntegrations,
  responses: { 200: { description: "The organization's service tokens, revoked ones included.", schema: named("ServiceTokenList", z.object({ tokens: z.array(ServiceTokenSummary) })) } },
});

export const createServiceToken = operation({
  method: "post",
  path: "/service-tokens",
  operationId: "createServiceToken",
  tag: "Events",
  summary: "Create a service token with scopes",
  description: "Needs `manage_integrations`. The token is in this answer only.",
  security: "personal",
  authorize: needsIntegrations,
  body: named(
    "ServiceTokenRequest",
    z
      .object({
        name: z.string().min(1).max(200).optional().describe("Defaults to `Service token`."),
        scopes: z.array(ServiceTokenScope).min(1).max(10).optional().describe("Defaults to `[\"authorize\"]`, what service tokens could always do."),
        expires: z.iso.datetime({ offset: true }).refine((text) => new Date(text).getTime() > Date.now(), "must be in the future").optional(),
      })
      .strict(),
  ),
  bodyRequired: false,
  responses: {
    201: {
      description: "The new token, with its secret.",
      schema: named("IssuedServiceToken", z.object({ ...serviceTokenSummary, token: z.string().regex(/^gsv_[0-9a-f]{24}_[A-Za-z0-9_-]{43}$/).describe("Shown in this answer only.") })),
    },
  },
});

export const revokeServiceToken = operation({
  method: "delete",
  path: "/service-tokens/:id",
  operationId: "revokeServiceToken",
  tag: "Events",
  summary: "Revoke a service token",
  description: "Needs `manage_integrations`. Takes effect on the token's next request.",
  security: "personal",
  authorize: needsIntegrations,
  params: z.object({ id: z.string().min(1).describe("The service token's id.") }),
  responses: { 200: { description: "The token, revoked.", schema: ServiceTokenSummary } },
  errors: { 404: "No service token with that id in the organization" },
});

export const serviceTokenOperations = [listServiceTokens, createServiceToken, revokeServiceToken];

function present(token: ScimTokenSummary): z.input<typeof ServiceTokenSummary> {
  return {
    id: token.id,
    name: token.name,
    scopes: [...(token.scopes ?? [])],
    created: token.created.toISOString(),
    ...(token.lastUsed ? { lastUsed: token.lastUsed.toISOString() } : {}),
    ...(token.expires ? { expires: token.expires.toISOString() } : {}),
    ...(token.revoked ? { revoked: token.revoked.toISOString() } : {}),
  };
}

export function serviceTokenRoutes(services: Services): Router {
  const router = express.Router();
  const { scimTokens } = services;
  mount(router, listServiceTokens, async (_input, req) => ({ tokens: (await scimTokens.list(scopeOf(req).organizationId, "service")).map(present) }));
  mount(router, createServiceToken, async ({ body }, req) => {
    const issued = await scimTokens.issue(contextOf(req), {
      purpose: "service",
      ...(body.name ? { name: body.name } : {}),
      ...(body.scopes ? { scopes: body.scopes } : {}),
      ...(body.expires ? { expires: new Date(body.expires) } : {}),
    });
    return { ...present(issued), token: issued.token };
  });
  mount(router, revokeServiceToken, async ({ params }, req) => {
    const token = await scimTokens.find(params.id);
    if (!token || token.organizationId !== scopeOf(req).organizationId || token.purpose !== "service") throw new NotFoundError(`No service token ${params.id}`);
    return present(await scimTokens.revoke(contextOf(req), params.id));
  });
  return router;
}

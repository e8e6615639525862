import express, { type Router } from "express";
import { z } from "zod";
import type { Services } from "../services";
import { requireAdministration, type ApiActor } from "../services/members";
import { PROVISIONING_ACTIONS } from "../services/provisioning-activity";
import { scopeOf } from "./http";
import { mount, operation } from "./operation";
import { named } from "./schemas";

/** Recent provisioning, for the administrator checking that Okta or Entra ID is syncing. */

const mayManageIntegrations = (actor: ApiActor) => void requireAdministration(actor, "manageIntegrations");

const counted = (kind: string) =>
  Object.entries(PROVISIONING_ACTIONS)
    .filter(([, k]) => k === kind)
    .map(([action]) => `\`${action}\``)
    .join(", ");

export const getProvisioningActivity = operation({
  method: "get",
  path: "/provisioning/activity",
  operationId: "getProvisioningActivity",
  tag: "SCIM tokens",
  summary: "Recent provisioning activity",
  description:
    "Needs `manage_integrations`. From the audit trail (source `scim`): per UTC day of the last 14, the changes SCIM made; the newest of them; when a SCIM token was last used; and the status of the last SCIM request this server answered. Takes no parameters.",
  security: "personal",
  authorize: mayManageIntegrations,
  query: z.object({}).strict(),
  responses: {
    200: {
      description: "The activity.",
      schema: named(
        "ProvisioningActivity",
        z.object({
          days: z
            .array(
              z.object({
                date: z.iso.date().describe("The UTC day."),
                creates: z.number().int().min(0).describe(`Audit actions ${counted("creates")}.`),
                updates: z.number().int().min(0).describe(`Audit actions ${counted("updates")}.`),
                deactivations: z.number().int().min(0).describe(`Audit actions ${counted("deactivations")}.`),
                deletes: z.number().int().min(0).describe(`Audit actions ${counted("deletes")}.`),
              }),
            )
            .describe("The last 14 UTC days, oldest first, today last."),
          lastChange: z.object({ at: z.iso.datetime(), action: z.string() }).nullable().describe("The newest change SCIM made in those days; null without any."),
          lastTokenUse: z.iso.datetime().nullable().describe("When a SCIM token of the organization was last used (to the minute; reads count); null if never."),
          lastRequest: z
            .object({ at: z.iso.datetime(), method: z.string(), status: z.number().int().describe("The HTTP status SCIM answered with.") })
            .nullable()
            .describe(
              "The last SCIM request with a valid token this server process answered, and its status; null when it answered none since it started. Kept in memory: on MongoDB with several instances, the one answering shows its own.",
            ),
        }),
      ),
    },
  },
  errors: { 400: ["invalid_request"] },
  badRequest: "A query parameter was given.",
});

export const provisioningOperations = [getProvisioningActivity];

export function provisioningRoutes(services: Services): Router {
  const router = express.Router();
  mount(router, getProvisioningActivity, async (_input, req) => {
    const report = await services.provisioningActivity.report(scopeOf(req));
    return {
      days: [...report.days],
      lastChange: report.lastChange ? { at: report.lastChange.at.toISOString(), action: report.lastChange.action } : null,
      lastTokenUse: report.lastTokenUse?.toISOString() ?? null,
      lastRequest: report.lastRequest ? { at: report.lastRequest.at.toISOString(), method: report.lastRequest.method, status: report.lastRequest.status } : null,
    };
  });
  return router;
}

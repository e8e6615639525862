import express, { type Router } from "express";
import { z } from "zod";
import type { Services } from "../services";
import { requireAdministration, type ApiActor } from "../services/members";
import type { SamlTest } from "../services/saml-tests";
import { contextOf, scopeOf } from "./http";
import { mount, operation } from "./operation";
import { named } from "./schemas";

/**
 * The SAML test sign-in (services/saml-tests.ts): the administrator setting up single sign-on runs
 * the real flow in a new window and reads what the assertion carried and whether that person would
 * get in — without anyone being signed in.
 */

const mayManageIntegrations = (actor: ApiActor) => void requireAdministration(actor, "manageIntegrations");

const Refusal = z.object({
  reason: z.string().describe("e.g. `unknown_subject`, `no_access`, `invalid_signature`, `wrong_issuer`."),
  message: z.string().describe("What the person would have been told."),
  detail: z.string().optional().describe("What exactly failed, for the administrator."),
});

const Assertion = z.object({
  nameId: z.string(),
  nameIdFormat: z.string().optional(),
  sessionIndex: z.string().optional(),
  attributes: z.array(z.object({ name: z.string(), values: z.array(z.string()) })).describe("Every attribute as sent, by name."),
  identity: z
    .object({
      nameId: z.string(),
      subjectAttributeValues: z.array(z.string()).optional(),
      email: z.string().optional(),
      displayName: z.string().optional(),
      groups: z.union([z.array(z.string()), z.literal("overage")]).optional().describe("`overage`: Entra ID sent a link instead of the groups (more than 150)."),
    })
    .describe("What Gatehouse read from the assertion with the connection's attribute names."),
});

const SamlTestSchema = named(
  "SamlTest",
  z.object({
    id: z.string(),
    created: z.iso.datetime(),
    expiresAt: z.iso.datetime().describe("The identity provider's answer must come back before this."),
    startedBy: z.object({ id: z.string(), name: z.string() }),
    status: z.enum(["waiting", "expired", "completed"]),
    outcome: z
      .union([
        z.object({
          result: z.literal("would_sign_in"),
          at: z.iso.datetime(),
          assertion: Assertion,
          member: z.object({
            id: z.string().nullable().describe("null when just-in-time provisioning would create the member."),
            userName: z.string(),
            createdJustInTime: z.boolean(),
          }),
          access: z.object({
            organizationRole: z.string().nullable(),
            allProjects: z.boolean(),
            projects: z.array(z.object({ projectId: z.string(), role: z.string() })),
            sources: z.array(z.object({ kind: z.string(), role: z.string(), groupName: z.string().optional(), mappingId: z.string().optional() })),
          }),
        }),
        z.object({
          result: z.literal("refused"),
          at: z.iso.datetime(),
          assertion: Assertion.optional().describe("Present when the assertion was verified and refused by the login rules; absent when it could not be trusted."),
          refusal: Refusal,
        }),
      ])
      .nullable()
      .describe("null until the identity provider's answer came back."),
  }),
  "A SAML test sign-in and, once the answer came back, what it carried and what Gatehouse would have decided.",
);

function presentTest(test: SamlTest, now = new Date()): z.input<typeof SamlTestSchema> {
  const outcome = test.outcome;
  return {
    id: test.id,
    created: test.created.toISOString(),
    expiresAt: test.expires.toISOString(),
    startedBy: { ...test.startedBy },
    status: outcome ? "completed" : now.getTime() >= test.expires.getTime() ? "expired" : "waiting",
    outcome: outcome ? ({ ...outcome, at: outcome.at.toISOString() } as z.input<typeof SamlTestSchema>["outcome"]) : null,
  };
}

export const startSamlTest = operation({
  method: "post",
  path: "/saml-connection/test",
  operationId: "startSamlTest",
  tag: "SAML",
  summary: "Start a SAML test sign-in",
  description:
    "Needs `manage_integrations`. Open `signInUrl` in a new window of the same browser: it runs the real flow at the identity provider, whose answer is checked exactly as a sign-in is, then recorded instead of starting a session (nothing else is written: no just-in-time member, no recorded sign-in). Read the result with `GET /saml-connection/test/{id}`. The answer must come back within 10 minutes. Audited (`saml_connection.test_started`, `saml_connection.test_completed`).",
  security: "personal",
  authorize: mayManageIntegrations,
  responses: {
    201: {
      description: "The test, waiting for the answer.",
      schema: named("StartedSamlTest", z.object({ test: SamlTestSchema, signInUrl: z.string().describe("A path on this site that starts the flow.") })),
    },
  },
  errors: { 404: "No SAML connection is configured" },
});

export const getSamlTest = operation({
  method: "get",
  path: "/saml-connection/test/:id",
  operationId: "getSamlTest",
  tag: "SAML",
  summary: "A SAML test sign-in's result",
  description: "Needs `manage_integrations`. Poll until `status` is `completed` (or `expired`).",
  security: "personal",
  authorize: mayManageIntegrations,
  params: z.object({ id: z.string().min(1).max(100).describe("The test's id.") }),
  responses: { 200: { description: "The test.", schema: SamlTestSchema } },
  errors: { 404: "No such test in the organization" },
});

export const samlTestOperations = [startSamlTest, getSamlTest];

export function samlTestRoutes(services: Services): Router {
  const router = express.Router();
  mount(router, startSamlTest, async (_input, req) => {
    const { test, signInUrl } = await services.samlTests.start(contextOf(req));
    return { test: presentTest(test), signInUrl };
  });
  mount(router, getSamlTest, async ({ params }, req) => presentTest(await services.samlTests.get(scopeOf(req), params.id)));
  return router;
}

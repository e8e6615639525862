import express, { type Request, type Router } from "express";
import { z } from "zod";
import type { Services } from "../services";
import { requireAdministration, type AdministrativeTask, type ApiActor } from "../services/members";
import type { StoredEmailDomain } from "../storage/sign-in";
import { contextOf, scopeOf } from "./http";
import { mount, operation } from "./operation";
import { named } from "./schemas";

/**
 * Signing in to the console besides SAML itself: the email domains that lead a person to their
 * organization's single sign-on (declared by administrators; discovery needs no token), and the
 * organization's sign-in policy (`requireSso`). Break-glass sign-in links are printed by the CLI
 * (`gatehouse sign-in-link`) and used at /auth/sign-in-link (sign-in/link-router.ts).
 */

const needs = (task: AdministrativeTask) => (actor: ApiActor) => void requireAdministration(actor, task);

const EmailDomain = named(
  "EmailDomain",
  z.object({
    domain: z.string().describe("Lower-case; an internationalized name in its ASCII (punycode) form."),
    created: z.iso.datetime(),
  }),
  "An email domain the organization declared: people with addresses there are sent to its single sign-on.",
);

const presentDomain = (domain: StoredEmailDomain): z.input<typeof EmailDomain> => ({ domain: domain.domain, created: domain.created.toISOString() });

export const discoverSignIn = operation({
  method: "post",
  path: "/sign-in/discover",
  operationId: "discoverSignIn",
  tag: "Sign-in",
  summary: "Where a person signs in, from their work email",
  description:
    "Needs no token. Finds the organization that declared the address's domain and answers where its SAML sign-in starts. Only the domain is looked at, never whether such a person exists: any address at a declared domain gets the same answer, and an address at any other domain gets `organization: null` — the one thing the answer reveals is whether an organization declared the domain. `signInUrl` is null when the organization has no SAML connection yet (its Owner signs in with a sign-in link then).",
  security: "none",
  body: named(
    "SignInDiscoveryRequest",
    z
      .object({
        email: z.string().min(3).max(320).describe("The person's work email address."),
        returnTo: z.string().max(2000).optional().describe("A path on this site to land on after sign-in (`/` when absent or not a path here)."),
      })
      .strict(),
  ),
  responses: {
    200: {
      description: "Where to sign in; the same shape whether or not the domain is known.",
      schema: named(
        "SignInDiscovery",
        z.object({
          organization: z.object({ id: z.string(), name: z.string() }).nullable().describe("The organization that declared the domain; null when none did."),
          signInUrl: z
            .string()
            .nullable()
            .describe("Where SAML sign-in starts, a path on this site (`/auth/saml/{org}/login?RelayState=…`); null when no organization declared the domain or it has no SAML connection."),
          message: z
            .string()
            .nullable()
            .describe("When `signInUrl` is null, why, in words to show the person (no organization declared the domain, the text is not an address, or the organization has no single sign-on yet); null otherwise."),
        }),
      ),
    },
  },
  errors: { 400: ["invalid_request"] },
});

export const listEmailDomains = operation({
  method: "get",
  path: "/email-domains",
  operationId: "listEmailDomains",
  tag: "Sign-in",
  summary: "The organization's email domains",
  description: "Needs `modify_account_settings`.",
  security: "personal",
  authorize: needs("changeSettings"),
  responses: { 200: { description: "The domains, in order.", schema: named("EmailDomainList", z.object({ domains: z.array(EmailDomain) })) } },
});

export const addEmailDomain = operation({
  method: "post",
  path: "/email-domains",
  operationId: "addEmailDomain",
  tag: "Sign-in",
  summary: "Declare an email domain",
  description:
    "Needs `modify_account_settings`. The domain is lower-cased (an internationalized one converted to ASCII) and must be a host name with at least two labels; public mailbox providers (gmail.com, outlook.com …) are refused. A domain belongs to one organization: one another organization (or this one) declared already is `409 conflict`. Audited (`email_domain.added`).",
  security: "personal",
  authorize: needs("changeSettings"),
  body: named("EmailDomainRequest", z.object({ domain: z.string().min(1).max(300).describe("e.g. `example.com`.") }).strict()),
  responses: { 201: { description: "The domain as stored.", schema: EmailDomain } },
  errors: { 400: ["invalid"], 409: ["conflict"] },
});

export const removeEmailDomain = operation({
  method: "delete",
  path: "/email-domains/:domain",
  operationId: "removeEmailDomain",
  tag: "Sign-in",
  summary: "Remove an email domain",
  description: "Needs `modify_account_settings`. Audited (`email_domain.removed`).",
  security: "personal",
  authorize: needs("changeSettings"),
  params: z.object({ domain: z.string().min(1).max(300).describe("The domain, as listed.") }),
  responses: { 204: { description: "Removed." } },
  errors: { 404: "The organization has no such email domain" },
});

const SignInPolicySchema = named(
  "SignInPolicy",
  z.object({
    requireSso: z
      .boolean()
      .describe(
        "Every way in but SAML sign-in is refused for everyone but the Owner: break-glass sign-in links (when printed and when used, and the sessions they started, from their next request) and personal API tokens (on every request; not revoked — they work again when this is turned off). SCIM and service tokens are not affected.",
      ),
  }),
);

export const getSignInPolicy = operation({
  method: "get",
  path: "/sign-in-policy",
  operationId: "getSignInPolicy",
  tag: "Sign-in",
  summary: "The organization's sign-in policy",
  description: "Needs `modify_account_settings`.",
  security: "personal",
  authorize: needs("changeSettings"),
  responses: { 200: { description: "The policy.", schema: SignInPolicySchema } },
});

export const setSignInPolicy = operation({
  method: "put",
  path: "/sign-in-policy",
  operationId: "setSignInPolicy",
  tag: "Sign-in",
  summary: "Require single sign-on, or stop requiring it",
  description: "Needs `modify_account_settings`. Audited (`organization.sign_in_policy_changed`) when the value changes.",
  security: "personal",
  authorize: needs("changeSettings"),
  body: named("SignInPolicyRequest", z.object({ requireSso: z.boolean() }).strict()),
  responses: { 200: { description: "The policy after the change.", schema: SignInPolicySchema } },
});

export const signInOperations = [discoverSignIn, listEmailDomains, addEmailDomain, removeEmailDomain, getSignInPolicy, setSignInPolicy];

/** Where a path of this site is acceptable as the place to land after sign-in (never another origin). */
function returnPath(value: string | undefined): string {
  if (value === undefined || !value.startsWith("/") || value.startsWith("//") || value.startsWith("/\\") || /[\r\n]/.test(value)) return "/";
  return value;
}

/** Why an address leads to no organization, in words for the person (the same for every address of a domain). */
function unknownDomainMessage(email: string): string {
  const trimmed = email.trim();
  const at = trimmed.lastIndexOf("@");
  const domain = at > 0 ? trimmed.slice(at + 1) : "";
  if (!domain || /\s/.test(trimmed)) return `"${trimmed}" is not an email address.`;
  return `No organization signs in with addresses at ${domain.toLowerCase()}. Check the address, or ask your administrator for your organization's id.`;
}

/** Sign-in discovery: mounted before authentication (it needs no token). */
export function signInDiscoveryRoutes(services: Services): Router {
  const router = express.Router();
  mount(router, discoverSignIn, async ({ body }) => {
    const organizationId = await services.emailDomains.organizationFor(body.email);
    const organization = organizationId ? await services.organizations.get(organizationId) : undefined;
    if (!organization) return { organization: null, signInUrl: null, message: unknownDomainMessage(body.email) };
    const connection = await services.saml.get({ organizationId: organization.id });
    const to = returnPath(body.returnTo);
    return {
      organization: { id: organization.id, name: organization.name },
      signInUrl: connection ? `/auth/saml/${encodeURIComponent(organization.id)}/login${to === "/" ? "" : `?RelayState=${encodeURIComponent(to)}`}` : null,
      message: connection ? null : `${organization.name} has not set up single sign-on yet. Until it does, its Owner signs in with a sign-in link from the Gatehouse operator.`,
    };
  });
  return router;
}

export function signInRoutes(services: Services): Router {
  const router = express.Router();
  const { emailDomains, signInPolicy } = services;

  mount(router, listEmailDomains, async (_input, req: Request) => ({ domains: (await emailDomains.list(scopeOf(req))).map(presentDomain) }));
  mount(router, addEmailDomain, async ({ body }, req) => presentDomain(await emailDomains.add(contextOf(req), body.domain)));
  mount(router, removeEmailDomain, async ({ params }, req) => {
    await emailDomains.remove(contextOf(req), params.domain);
  });
  mount(router, getSignInPolicy, async (_input, req) => signInPolicy.get(scopeOf(req)));
  mount(router, setSignInPolicy, async ({ body }, req) => signInPolicy.setRequireSso(contextOf(req), body.requireSso));
  return router;
}

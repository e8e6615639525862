import express, { type Router } from "express";
import { z } from "zod";
import { parseIdentityProviderMetadata } from "../saml/idp-metadata";
import type { Services } from "../services";
import { requireAdministration } from "../services/members";
import type { SamlConnectionInput } from "../services/saml-connections";
import { contextOf, scopeOf } from "./http";
import { mount, operation } from "./operation";
import { presentSamlConnection } from "./presenters";
import { named, reasonQuery, SamlAttributes, SamlConnection, SamlSignatureRequirement, SamlSubjectKey } from "./schemas";

/**
 * The organization's SAML connection in the local admin API: read it (with the URLs to give the
 * identity provider and each certificate's expiry), configure it from values or from the identity
 * provider's metadata XML, remove it. Admin and Owner only (`manage_integrations`): the connection
 * decides who can sign in to the organization.
 */

/** Media types of a raw metadata document: the one the SAML 2.0 metadata specification registers, and generic XML. */
export const METADATA_MEDIA_TYPES = ["application/samlmetadata+xml", "application/xml", "text/xml"] as const;

/** What a connection request may set besides the identity provider's values. */
const settings = {
  jit: z.boolean().optional(),
  groupSync: z.boolean().optional(),
  idpInitiated: z.boolean().optional(),
  signatures: SamlSignatureRequirement.optional(),
  attributes: SamlAttributes.optional().describe("Attribute names; those left out take their defaults."),
  subject: SamlSubjectKey.optional(),
  signAuthnRequests: z
    .boolean()
    .optional()
    .describe(
      "Sign AuthnRequests with Gatehouse's key (SAML_SP_KEY_FILE). Read from the metadata's `WantAuthnRequestsSigned` when configured from metadata; `true` without a key is refused with `invalid`.",
    ),
  reason: z.string().max(1000).optional().describe("Recorded in the audit trail."),
};

const fromValues = z
  .object({
    idpEntityId: z.string().min(1).max(1024),
    ssoUrl: z.string().min(1).max(2048).describe("An https:// URL."),
    sloUrl: z.string().min(1).max(2048).optional().describe("The identity provider's single logout URL (HTTP-Redirect binding), an https:// URL. Left out: none."),
    certificates: z
      .array(z.string().min(1).max(20_000))
      .min(1)
      .max(10)
      .describe("PEM certificates, every one the identity provider may sign with (the old and the new during a rotation)."),
    ...settings,
  })
  .strict();

/** `sloUrl` beside the metadata names the SLO URL when the metadata has none (or another one). */
const fromMetadata = z
  .object({
    idpMetadataXml: z
      .string()
      .min(1)
      .max(100_000)
      .describe("The identity provider's SAML 2.0 metadata (an EntityDescriptor, or an EntitiesDescriptor holding one); no DOCTYPE."),
    sloUrl: z.string().min(1).max(2048).optional().describe("Overrides the metadata's SingleLogoutService (HTTP-Redirect), e.g. when it has none; an https:// URL."),
    ...settings,
  })
  .strict();

export const getSamlConnection = operation({
  method: "get",
  path: "/saml-connection",
  operationId: "getSamlConnection",
  tag: "SAML",
  summary: "The organization's SAML connection",
  description: "Needs `manage_integrations` (Admin and Owner). With Gatehouse's own URLs to give the identity provider and each certificate's expiry.",
  security: "personal",
  authorize: (actor) => void requireAdministration(actor, "manageIntegrations"),
  responses: { 200: { description: "The connection.", schema: SamlConnection } },
  errors: { 404: "No SAML connection is configured" },
});

export const configureSamlConnection = operation({
  method: "put",
  path: "/saml-connection",
  operationId: "configureSamlConnection",
  tag: "SAML",
  summary: "Configure the SAML connection",
  description:
    "Needs `manage_integrations` (Admin and Owner). Creates or replaces the connection, from the identity provider's values or from its metadata XML: as JSON, or the raw document with `Content-Type: application/samlmetadata+xml` (or `application/xml`, `text/xml`), at most 100 kB, settings then unchanged. Metadata that is not SAML 2.0 identity-provider metadata, has a DOCTYPE, no SSO URL or no signing certificate is refused with `invalid`, and nothing changes. So is metadata that wants signed AuthnRequests (`WantAuthnRequestsSigned=\"true\"`, or `signAuthnRequests: true`) while Gatehouse has no signing key (SAML_SP_KEY_FILE). Recorded as `saml_connection.configured`.",
  security: "personal",
  authorize: getSamlConnection.authorize,
  body: named(
    "SamlConnectionRequest",
    z.union([fromValues, fromMetadata]),
    "The identity provider's values, or its metadata document (`idpMetadataXml`: entity id, SSO URL, SLO URL and signing certificates are read from it), with settings. Settings left out keep their current value (their default on a new connection).",
  ),
  // The variant is chosen by its one distinguishing property, so errors name what is wrong in it.
  bodyVariant: (body) => (typeof body === "object" && body !== null && "idpMetadataXml" in body ? fromMetadata : fromValues),
  textBodyTypes: METADATA_MEDIA_TYPES,
  responses: { 200: { description: "The connection as configured.", schema: SamlConnection } },
  errors: { 400: ["invalid"] },
});

export const removeSamlConnection = operation({
  method: "delete",
  path: "/saml-connection",
  operationId: "removeSamlConnection",
  tag: "SAML",
  summary: "Remove the SAML connection",
  description: "Needs `manage_integrations` (Admin and Owner). SAML sign-in to the organization stops. Recorded as `saml_connection.removed`.",
  security: "personal",
  authorize: getSamlConnection.authorize,
  query: reasonQuery,
  responses: { 204: { description: "Removed." } },
  errors: { 404: "No SAML connection is configured" },
});

export const samlConnectionOperations = [getSamlConnection, configureSamlConnection, removeSamlConnection];

/** What PUT configures the connection from: a raw metadata document, or JSON with values or with the metadata inside. */
function connectionInput(body: string | z.output<typeof fromValues> | z.output<typeof fromMetadata>): SamlConnectionInput {
  if (typeof body === "string") return parseIdentityProviderMetadata(body);
  if ("idpMetadataXml" in body) {
    const { idpMetadataXml, sloUrl, ...rest } = body;
    const metadata = parseIdentityProviderMetadata(idpMetadataXml);
    return { ...metadata, ...(sloUrl !== undefined ? { sloUrl } : {}), ...rest };
  }
  return body;
}

export function samlConnectionRoutes(services: Services): Router {
  const router = express.Router();
  const { saml } = services;
  // JSON is parsed by the API router; a raw metadata document is read as text, within the same 100 kB.
  const metadataDocument = express.text({ type: [...METADATA_MEDIA_TYPES], limit: "100kb" });

  mount(router, getSamlConnection, async (_input, req) => presentSamlConnection(await saml.summary(scopeOf(req))));

  mount(
    router,
    configureSamlConnection,
    async ({ body }, req) => {
      const connection = await saml.configure(contextOf(req), connectionInput(body));
      return presentSamlConnection(saml.summarize(scopeOf(req).organizationId, connection));
    },
    metadataDocument,
  );

  mount(router, removeSamlConnection, async ({ query }, req) => {
    await saml.remove(contextOf(req), query.reason);
  });

  return router;
}

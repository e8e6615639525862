import express, { type NextFunction, type Request, type Response, type Router } from "express";
import { z } from "zod";
import { SAML_SIGNATURE_REQUIREMENTS } from "../domain/saml";
import { parseIdentityProviderMetadata } from "../saml/idp-metadata";
import type { Services } from "../services";
import { requirePermission } from "../services/members";
import type { SamlConnectionInput } from "../services/saml-connections";
import { contextOf, invalidRequest, scopeOf } from "./http";
import { presentSamlConnection } from "./presenters";

/**
 * The organization's SAML connection in the local admin API: read it (with the URLs to give the
 * identity provider and each certificate's expiry), configure it from values or from the identity
 * provider's metadata XML, remove it. Admin and Owner only (`manage_integrations`): the connection
 * decides who can sign in to the organization.
 */

/** Media types of a raw metadata document: the one the SAML 2.0 metadata specification registers, and generic XML. */
export const METADATA_MEDIA_TYPES = ["application/samlmetadata+xml", "application/xml", "text/xml"] as const;

const settings = {
  jit: z.boolean().optional(),
  groupSync: z.boolean().optional(),
  idpInitiated: z.boolean().optional(),
  signatures: z.enum(SAML_SIGNATURE_REQUIREMENTS).optional(),
  attributes: z
    .object({ email: z.string().min(1).max(256).optional(), name: z.string().min(1).max(256).optional(), groups: z.string().min(1).max(256).optional() })
    .strict()
    .optional(),
  subject: z
    .discriminatedUnion("source", [z.object({ source: z.literal("nameId") }).strict(), z.object({ source: z.literal("attribute"), attribute: z.string().min(1).max(256) }).strict()])
    .optional(),
  signAuthnRequests: z.boolean().optional(),
  reason: z.string().max(1000).optional(),
};

const fromValues = z
  .object({
    idpEntityId: z.string().min(1).max(1024),
    ssoUrl: z.string().min(1).max(2048),
    sloUrl: z.string().min(1).max(2048).optional(),
    certificates: z.array(z.string().min(1).max(20_000)).min(1).max(10),
    ...settings,
  })
  .strict();

/** `sloUrl` beside the metadata names the SLO URL when the metadata has none (or another one). */
const fromMetadata = z.object({ idpMetadataXml: z.string().min(1).max(100_000), sloUrl: z.string().min(1).max(2048).optional(), ...settings }).strict();

/** What PUT configures the connection from: a raw metadata document, or JSON with values or with the metadata inside. */
function connectionInput(req: Request, res: Response): SamlConnectionInput | undefined {
  if (req.is([...METADATA_MEDIA_TYPES])) return parseIdentityProviderMetadata(typeof req.body === "string" ? req.body : "");
  const body: unknown = req.body;
  // The variant is chosen by its one distinguishing property, so errors name what is wrong in it.
  const schema = typeof body === "object" && body !== null && "idpMetadataXml" in body ? fromMetadata : fromValues;
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    invalidRequest(res, parsed.error.issues);
    return undefined;
  }
  if ("idpMetadataXml" in parsed.data) {
    const { idpMetadataXml, sloUrl, ...rest } = parsed.data;
    const metadata = parseIdentityProviderMetadata(idpMetadataXml);
    return { ...metadata, ...(sloUrl !== undefined ? { sloUrl } : {}), ...rest };
  }
  return parsed.data;
}

type Handler = (req: Request, res: Response) => Promise<void>;
const route = (handler: Handler) => (req: Request, res: Response, next: NextFunction) => handler(req, res).catch(next);

export function samlConnectionRoutes(services: Services): Router {
  const router = express.Router();
  const { saml } = services;
  // JSON is parsed by the API router; a raw metadata document is read as text, within the same 100 kB.
  const metadataDocument = express.text({ type: [...METADATA_MEDIA_TYPES], limit: "100kb" });

  router.get("/saml-connection", route(async (req, res) => {
    requirePermission(req.apiActor!, "manage_integrations");
    res.json(presentSamlConnection(await saml.summary(scopeOf(req))));
  }));

  router.put("/saml-connection", metadataDocument, route(async (req, res) => {
    requirePermission(req.apiActor!, "manage_integrations");
    const input = connectionInput(req, res);
    if (!input) return;
    const connection = await saml.configure(contextOf(req), input);
    res.json(presentSamlConnection(saml.summarize(scopeOf(req).organizationId, connection)));
  }));

  router.delete("/saml-connection", route(async (req, res) => {
    requirePermission(req.apiActor!, "manage_integrations");
    await saml.remove(contextOf(req), typeof req.query.reason === "string" ? req.query.reason : undefined);
    res.status(204).end();
  }));

  return router;
}

import express, { type NextFunction, type Request, type Response, type Router } from "express";
import { SAML } from "@node-saml/passport-saml";
import type { Config } from "../config";
import { serviceProviderUrls } from "../domain/saml";
import type { Services } from "../services";

/**
 * SAML endpoints per organization under /auth/saml/{org}. This first part serves the service
 * provider's metadata — what an administrator gives Okta or Entra ID; login, the assertion consumer
 * and logout come with SAML sign-in (passport-saml's MultiSamlStrategy).
 */
export function samlRouter(services: Services, config: Config, _logger?: unknown): Router {
  const router = express.Router();

  router.get("/:org/metadata", async (req: Request, res: Response, next: NextFunction) => {
    try {
      const organizationId = req.params.org;
      const [organization, connection] = await Promise.all([services.organizations.get(organizationId), services.saml.get({ organizationId })]);
      if (!organization || !connection) {
        res.status(404).type("text/plain").send("No SAML connection is configured for this organization.");
        return;
      }
      const sp = serviceProviderUrls(config.publicBaseUrl, organizationId);
      const saml = new SAML({
        issuer: sp.entityId,
        callbackUrl: sp.acsUrl,
        logoutCallbackUrl: sp.logoutUrl,
        entryPoint: connection.ssoUrl,
        idpCert: [...connection.certificates],
        wantAssertionsSigned: true,
        wantAuthnResponseSigned: true,
        identifierFormat: "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
      });
      res.type("application/samlmetadata+xml").send(saml.generateServiceProviderMetadata(null));
    } catch (error) {
      next(error);
    }
  });

  return router;
}

import type { NextFunction, Request, Response } from "express";
import { SamlRefusal } from "../domain/saml";
import type { Logger } from "../http/logger";
import { clientErrorOf } from "../http/request-errors";
import type { Services } from "../services";
import { refusalPage } from "./pages";
import { organizationIdOf } from "./params";

/**
 * Requests to /auth/saml/{org}/… whose form body could not be read: too large, too many fields,
 * another charset than UTF-8, an unknown or false Content-Encoding. They are refused like any
 * other unacceptable SAML message — the refusal page, with the status the body parser gave
 * (413, 415, 400), and an audit event with the reason `malformed` for the organization's
 * administrators (`saml.sign_in_refused` at the assertion consumer, `saml.logout_refused` at the
 * logout URL) when the organization has a SAML connection. Mounted on "/:org" after the routes.
 */
export function samlRequestErrors(services: Services, logger: Logger) {
  return (error: unknown, req: Request, res: Response, next: NextFunction): void => {
    const refused = clientErrorOf(error);
    if (!refused || res.headersSent) return next(error);
    const organizationId = organizationIdOf(req);
    const endpoint = req.path.replace(/\/+$/, "");
    const signIn = endpoint === "/acs";
    const signOut = endpoint === "/logout";
    const refusal = new SamlRefusal(
      "malformed",
      signIn ? "The sign-in request could not be read." : "The sign-out request could not be read.",
      `request body: ${refused.message} (${refused.status})`,
    );
    logger.warn({ organizationId, reason: refusal.reason, detail: refusal.detail, requestId: req.id }, signIn ? "SAML sign-in refused" : "SAML request refused");
    const record = async () => {
      if (!signIn && !signOut) return;
      const [organization, connection] = await Promise.all([services.organizations.get(organizationId), services.saml.get({ organizationId })]);
      if (!organization || !connection) return;
      const at = { organizationId, requestId: req.id };
      if (signIn) await services.samlSignIn.refused(at, connection, refusal);
      else await services.samlLogout.refused(at, connection, undefined, refusal);
    };
    record()
      .catch((failure: unknown) => logger.error({ err: failure, requestId: req.id }, "could not record a refused SAML request"))
      .finally(() => {
        res.status(refused.status).type("html").send(refusalPage(signIn ? "Sign-in refused" : signOut ? "Sign-out refused" : "Request refused", refusal.message, req.id));
      });
  };
}

import express, { type NextFunction, type Request, type Response, type Router } from "express";
import { Passport } from "passport";
import { MultiSamlStrategy, SAML, ValidateInResponseTo, type Profile, type SamlConfig } from "@node-saml/passport-saml";
import type { Config } from "../config";
import { SamlRefusal, serviceProviderUrls, signatureSwitches, type SamlConnection } from "../domain/saml";
import type { User } from "../domain/user";
import type { Logger } from "../http/logger";
import type { Services } from "../services";
import type { AssertedIdentity } from "../services/saml-sign-in";
import { decodeSamlResponse, inspectSamlResponse, refusalFromValidationError, type InspectedResponse } from "./response-checks";
import { refusalPage, signedOutPage } from "./pages";
import { clearSessionCookie, readSessionCookie, setSessionCookie } from "../http/session-cookie";

/**
 * SAML 2.0 single sign-on per organization, under /auth/saml/{org}: service-provider metadata,
 * SP-initiated login (HTTP-Redirect AuthnRequest), the assertion consumer (HTTP-POST) and sign-out.
 * passport-saml's MultiSamlStrategy verifies signatures, audience, validity window and
 * InResponseTo (against a cache in MongoDB, so any instance can take the answer); the checks it
 * does not make — issuer, Destination, Recipient, algorithms, document shape, replays — are made
 * here (response-checks.ts and the assertion ledger). The login rules are services/saml-sign-in.ts.
 */

/** How far the identity provider's clock may be from ours (NotBefore / NotOnOrAfter). */
export const acceptedClockSkewMs = 60_000;
/** How long a sign-in started here may take at the identity provider. */
export const requestLifetimeMs = 10 * 60_000;

declare module "express-serve-static-core" {
  interface Request {
    samlConnection?: SamlConnection;
    samlInspection?: InspectedResponse;
  }
}

/** Where to go after sign-in: a path on this site only (never another origin: open redirects). */
export function safeReturnPath(value: unknown): string {
  if (typeof value !== "string" || !value.startsWith("/") || value.startsWith("//") || value.startsWith("/\\") || /[\r\n]/.test(value) || value.length > 2000) return "/";
  return value;
}

function attributeValues(profile: Profile, name: string): string[] {
  const attributes = (profile.attributes ?? {}) as Record<string, unknown>;
  const value = attributes[name];
  const values = Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
  return values.filter((v): v is string => typeof v === "string" && v.trim() !== "").map((v) => v.trim());
}

/** Entra ID replaces the groups by a link when a user is in more than 150 of them. */
const overageClaims = ["http://schemas.microsoft.com/claims/groups.link", "http://schemas.microsoft.com/identity/claims/groups.link"];

/**
 * Where each attribute is looked for: the connection's configured name first, then the names Okta
 * and Entra ID use out of the box, so neither needs Gatehouse-specific claim names.
 */
const wellKnownAttributes = {
  email: ["email", "mail", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress", "urn:oid:0.9.2342.19200300.100.1.3"],
  name: ["displayName", "http://schemas.microsoft.com/identity/claims/displayname", "urn:oid:2.16.840.1.113730.3.1.241"],
  groups: ["groups", "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups"],
};

export function assertedIdentity(profile: Profile, connection: SamlConnection): AssertedIdentity {
  const attributes = (profile.attributes ?? {}) as Record<string, unknown>;
  const firstPresent = (kind: keyof typeof wellKnownAttributes) => [connection.attributes[kind], ...wellKnownAttributes[kind]].find((name) => name in attributes);
  const value = (kind: "email" | "name") => {
    const name = firstPresent(kind);
    return name ? attributeValues(profile, name)[0] : undefined;
  };
  const email = value("email");
  const displayName = value("name");
  const overage = overageClaims.some((claim) => claim in attributes);
  const groupsAttribute = firstPresent("groups");
  return {
    nameId: profile.nameID ?? "",
    ...(email ? { email } : {}),
    ...(displayName ? { displayName } : {}),
    // No groups attribute at all means "no groups" for group sync (Entra omits an empty claim).
    groups: overage ? "overage" : groupsAttribute ? attributeValues(profile, groupsAttribute) : [],
  };
}

export function samlRouter(services: Services, config: Config, logger: Logger): Router {
  const router = express.Router();
  const passport = new Passport();

  const samlOptions = (organizationId: string, connection: SamlConnection): SamlConfig => {
    const sp = serviceProviderUrls(config.publicBaseUrl, organizationId);
    return {
      issuer: sp.entityId,
      audience: sp.entityId,
      callbackUrl: sp.acsUrl,
      logoutCallbackUrl: sp.logoutUrl,
      entryPoint: connection.ssoUrl,
      idpCert: [...connection.certificates],
      ...signatureSwitches(connection.signatures),
      signatureAlgorithm: "sha256",
      acceptedClockSkewMs,
      // Sign-ins started at the identity provider carry no InResponseTo; they are accepted only
      // where the organization allows them (replays are refused by the assertion ledger).
      validateInResponseTo: connection.idpInitiated ? ValidateInResponseTo.ifPresent : ValidateInResponseTo.always,
      requestIdExpirationPeriodMs: requestLifetimeMs,
      cacheProvider: services.samlState.requestCache(organizationId, requestLifetimeMs),
      identifierFormat: "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
      // Requesting "password" authentication breaks MFA and passwordless sign-in at Entra ID and Okta.
      disableRequestedAuthnContext: true,
    };
  };

  passport.use(
    "saml",
    new MultiSamlStrategy(
      {
        passReqToCallback: true,
        getSamlOptions: (req, done) => {
          const connection = (req as unknown as Request).samlConnection;
          if (!connection) return done(new Error("no SAML connection"));
          done(null, samlOptions((req as unknown as Request).params.org!, connection));
        },
      },
      (req, profile, done) => {
        const request = req as unknown as Request;
        verifiedAssertion(request, profile).then(
          (user) => done(null, user as unknown as Record<string, unknown>),
          (error: unknown) => done(error as Error),
        );
      },
      (_req, _profile, done) => done(null, undefined),
    ),
  );

  /** The checks node-saml leaves to us on a verified assertion, then the login rules. */
  const verifiedAssertion = async (req: Request, profile: Profile | null | undefined): Promise<User> => {
    const connection = req.samlConnection!;
    const inspected = req.samlInspection!;
    if (!profile) throw new SamlRefusal("invalid_response", "The identity provider's answer could not be accepted.", "no profile");
    // The assertion node-saml verified must be the one inspected before (no wrapped twin).
    const verifiedId = ((profile.getAssertion?.() as { Assertion?: { $?: { ID?: string } } } | undefined)?.Assertion?.$?.ID) ?? undefined;
    if (verifiedId !== inspected.assertionId) throw new SamlRefusal("signature_wrapping", "The identity provider's answer is not a valid SAML response.", "verified assertion differs from the inspected one");
    if (profile.issuer !== connection.idpEntityId) throw new SamlRefusal("wrong_issuer", "The answer comes from an identity provider this organization does not use.", `issuer ${profile.issuer}`);
    const expiresAt = new Date(Math.max(Date.now() + acceptedClockSkewMs, (inspected.expiresAt?.getTime() ?? 0) + acceptedClockSkewMs));
    if (!(await services.samlState.assertions.claim(req.params.org!, inspected.assertionId, expiresAt))) {
      throw new SamlRefusal("replayed", "This sign-in has already been used. Please sign in again.", `assertion ${inspected.assertionId} was already used`);
    }
    return services.samlSignIn.signIn({ organizationId: req.params.org!, requestId: req.id }, connection, assertedIdentity(profile, connection));
  };

  /** Loads the organization's connection, or answers with a page saying there is none. */
  const withConnection = async (req: Request, res: Response, next: NextFunction) => {
    try {
      const organizationId = req.params.org!;
      const [organization, connection] = await Promise.all([services.organizations.get(organizationId), services.saml.get({ organizationId })]);
      if (!organization || !connection) {
        res.status(404).type("html").send(refusalPage("No single sign-on here", "No SAML connection is configured for this organization.", req.id));
        return;
      }
      req.samlConnection = connection;
      next();
    } catch (error) {
      next(error);
    }
  };

  const refuse = async (req: Request, res: Response, refusal: SamlRefusal) => {
    logger.warn({ organizationId: req.params.org, reason: refusal.reason, detail: refusal.detail, requestId: req.id }, "SAML sign-in refused");
    try {
      await services.samlSignIn.refused({ organizationId: req.params.org!, requestId: req.id }, req.samlConnection, refusal);
    } catch (error) {
      logger.error({ err: error, requestId: req.id }, "could not record a refused SAML sign-in");
    }
    res.status(refusal.reason === "malformed" ? 400 : 403).type("html").send(refusalPage("Sign-in refused", refusal.message, req.id));
  };

  router.get("/:org/metadata", withConnection, (req: Request, res: Response) => {
    const saml = new SAML(samlOptions(req.params.org!, req.samlConnection!));
    res.type("application/samlmetadata+xml").send(saml.generateServiceProviderMetadata(null));
  });

  // SP-initiated sign-in: an AuthnRequest to the identity provider, its id kept in MongoDB.
  router.get("/:org/login", withConnection, (req: Request, res: Response, next: NextFunction) => {
    req.query.RelayState = safeReturnPath(req.query.RelayState ?? req.query.returnTo);
    passport.authenticate("saml", { session: false }, (error: unknown) => {
      if (error) next(error);
    })(req, res, next);
  });

  router.post(
    "/:org/acs",
    express.urlencoded({ extended: false, limit: "1mb", parameterLimit: 10 }),
    withConnection,
    async (req: Request, res: Response, next: NextFunction) => {
      const connection = req.samlConnection!;
      const sp = serviceProviderUrls(config.publicBaseUrl, req.params.org!);
      try {
        req.samlInspection = inspectSamlResponse(decodeSamlResponse(req.body?.SAMLResponse), { idpEntityId: connection.idpEntityId, acsUrl: sp.acsUrl });
      } catch (error) {
        if (error instanceof SamlRefusal) return void (await refuse(req, res, error));
        return next(error);
      }
      passport.authenticate("saml", { session: false }, (error: unknown, user: User | false | undefined) => {
        void (async () => {
          if (error || !user) {
            const refusal = error instanceof SamlRefusal ? error : refusalFromValidationError(error ?? new Error("no user"), req.samlInspection, acceptedClockSkewMs);
            if (!(error instanceof SamlRefusal) && error && !(error instanceof Error)) return next(error);
            return refuse(req, res, refusal);
          }
          const ctx = { organizationId: req.params.org!, actor: { type: "user" as const, id: user.id, name: user.userName }, source: "saml" as const, requestId: req.id };
          // A new session (and id) at every sign-in: nothing a browser brought along is reused.
          const session = await services.sessions.start(ctx, user, { via: "saml", ...(req.ip ? { ip: req.ip } : {}), ...(req.get("user-agent") ? { userAgent: req.get("user-agent")! } : {}) });
          setSessionCookie(res, session.cookieValue, session.expiresAt, config);
          res.redirect(303, safeReturnPath(req.body?.RelayState));
        })().catch(next);
      })(req, res, next);
    },
  );

  // SP-initiated sign-out: ends this Gatehouse session (every session: POST /api/v1/session/sign-out-everywhere).
  const signOut = async (req: Request, res: Response, next: NextFunction) => {
    try {
      const cookie = readSessionCookie(req);
      const current = cookie ? await services.sessions.authenticate(cookie).catch(() => undefined) : undefined;
      if (current) {
        await services.sessions.end({ organizationId: current.session.organizationId, actor: { type: "user", id: current.user.id, name: current.user.userName }, source: "saml", requestId: req.id }, current.session.id);
      }
      clearSessionCookie(res, config);
      res.status(200).type("html").send(signedOutPage(req.id));
    } catch (error) {
      next(error);
    }
  };
  router.get("/:org/logout", signOut);
  router.post("/:org/logout", express.urlencoded({ extended: false, limit: "100kb" }), signOut);

  return router;
}

import { randomBytes } from "node:crypto";
import express, { type NextFunction, type Request, type Response, type Router } from "express";
import { Passport } from "passport";
import { MultiSamlStrategy, SAML, ValidateInResponseTo, type Profile, type SamlConfig } from "@node-saml/passport-saml";
import type { Config } from "../config";
import { DomainError, SeatLimitReachedError } from "../errors";
import { defaultSamlSignatures, SamlRefusal, serviceProviderUrls, signatureSwitches, type SamlConnection } from "../domain/saml";
import type { SamlSessionDetails } from "../domain/session";
import type { User } from "../domain/user";
import type { Logger } from "../http/logger";
import type { Services } from "../services";
import type { AssertedIdentity } from "../services/saml-sign-in";
import type { LogoutMessage } from "../services/saml-logout";
import { decodeSamlResponse, inspectSamlResponse, refusalFromValidationError, type InspectedResponse } from "./response-checks";
import { inspectLogoutRequest, inspectLogoutResponse, isSuccess } from "./logout-messages";
import { parseRedirectQuery, samlParameterIn, signedRedirectUrl, verifyRedirectSignature } from "./redirect-binding";
import { withSingleLogout } from "./sp-metadata";
import { refusalPage, samlTestCompletedPage, signedOutPage } from "./pages";
import { SamlTests, type AssertionContents } from "../services/saml-tests";
import { samlRequestErrors } from "./request-errors";
import { organizationIdOf } from "./params";
import { clearSessionCookie, readSessionCookie, setSessionCookie } from "../http/session-cookie";
import { rememberSignIn, takeSignIn } from "./browser-binding";

/**
 * SAML 2.0 single sign-on per organization, under /auth/saml/{org}: service-provider metadata,
 * SP-initiated login (HTTP-Redirect AuthnRequest), the assertion consumer (HTTP-POST) and single
 * logout both ways (HTTP-Redirect LogoutRequest and LogoutResponse, SAML Profiles §4.4).
 * passport-saml's MultiSamlStrategy verifies signatures, audience, validity window and
 * InResponseTo (against a cache in MongoDB, so any instance can take the answer); the checks it
 * does not make — issuer, Destination, Recipient, algorithms, document shape, replays — are made
 * here (response-checks.ts and the assertion ledger). The login rules are services/saml-sign-in.ts.
 */

const emailAddressFormat = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";

/** How far the identity provider's clock may be from ours (NotBefore / NotOnOrAfter). */
export const acceptedClockSkewMs = 60_000;
/** How long a sign-in started here may take at the identity provider. */
export const requestLifetimeMs = 10 * 60_000;

declare module "express-serve-static-core" {
  interface Request {
    samlConnection?: SamlConnection;
    samlInspection?: InspectedResponse;
    /** The verified assertion's subject, kept with the session for single logout. */
    samlSubject?: SamlSessionDetails;
    /** Whether this browser's cookie named the AuthnRequest the answer is InResponseTo (browser-binding.ts). */
    samlStartedHere?: boolean;
    /** The SAML test sign-in this answer belongs to (services/saml-tests.ts): no session then. */
    samlTestId?: string;
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

function rawAttributeValues(value: unknown): string[] {
  const values = Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
  return values.filter((v): v is string => typeof v === "string");
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
  const subject = connection.subject;
  return {
    nameId: profile.nameID ?? "",
    // The subject attribute's values as sent (not trimmed): matched exactly, never looked for elsewhere.
    ...(subject.source === "attribute" ? { subjectAttributeValues: rawAttributeValues(attributes[subject.attribute]) } : {}),
    ...(email ? { email } : {}),
    ...(displayName ? { displayName } : {}),
    // No groups attribute at all means "no groups" for group sync (Entra omits an empty claim).
    groups: overage ? "overage" : groupsAttribute ? attributeValues(profile, groupsAttribute) : [],
  };
}

/** Thrown once a test sign-in's outcome is stored: the answer ends there, without a session. */
class SamlTestCompleted extends Error {}

/** Everything the assertion carried, for a test sign-in's report (attribute names are often URIs: a list). */
function assertionContents(profile: Profile, connection: SamlConnection): AssertionContents {
  const attributes = (profile.attributes ?? {}) as Record<string, unknown>;
  return {
    nameId: profile.nameID ?? "",
    ...(profile.nameIDFormat ? { nameIdFormat: profile.nameIDFormat } : {}),
    ...(profile.sessionIndex ? { sessionIndex: profile.sessionIndex } : {}),
    attributes: Object.keys(attributes)
      .sort()
      .map((name) => ({ name, values: rawAttributeValues(attributes[name]) })),
    identity: assertedIdentity(profile, connection),
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
      // The AuthnRequest names no NameID format: each identity provider sends the one its app is
      // configured with (a requested format the app does not use is an error at Entra ID and Okta).
      // The metadata still advertises the email-address format as the preferred one.
      identifierFormat: null,
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
          done(null, samlOptions(organizationIdOf(req as unknown as Request), connection));
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
    // Login CSRF: a valid answer to a sign-in another browser started is not for this browser.
    if (inspected.inResponseTo && !req.samlStartedHere) {
      throw new SamlRefusal(
        "other_browser",
        "This sign-in was started in another browser, or this browser did not keep its cookie. Please start signing in again here.",
        `no sign-in cookie for the AuthnRequest ${inspected.inResponseTo}`,
      );
    }
    const expiresAt = new Date(Math.max(Date.now() + acceptedClockSkewMs, (inspected.expiresAt?.getTime() ?? 0) + acceptedClockSkewMs));
    if (!(await services.samlState.useAssertion(organizationIdOf(req), inspected.assertionId, expiresAt))) {
      throw new SamlRefusal("replayed", "This sign-in has already been used. Please sign in again.", `assertion ${inspected.assertionId} was already used`);
    }
    const nameId = (profile.nameID ?? "").trim();
    if (nameId) {
      req.samlSubject = {
        nameId,
        ...(profile.nameIDFormat ? { nameIdFormat: profile.nameIDFormat } : {}),
        ...(profile.sessionIndex ? { sessionIndex: profile.sessionIndex } : {}),
      };
    }
    if (req.samlTestId) {
      await services.samlTests.complete({ organizationId: organizationIdOf(req), requestId: req.id }, connection, req.samlTestId, assertionContents(profile, connection));
      throw new SamlTestCompleted();
    }
    return services.samlSignIn.signIn({ organizationId: organizationIdOf(req), requestId: req.id }, connection, assertedIdentity(profile, connection));
  };

  /** Loads the organization's connection, or answers with a page saying there is none. */
  const withConnection = async (req: Request, res: Response, next: NextFunction) => {
    const organizationId = organizationIdOf(req);
    const [organization, connection] = await Promise.all([services.organizations.get(organizationId), services.saml.get({ organizationId })]);
    if (!organization || !connection) {
      res.status(404).type("html").send(refusalPage("No single sign-on here", "No SAML connection is configured for this organization.", req.id));
      return;
    }
    req.samlConnection = connection;
    next();
  };

  const refuse = async (req: Request, res: Response, refusal: SamlRefusal) => {
    logger.warn({ organizationId: organizationIdOf(req), reason: refusal.reason, detail: refusal.detail, requestId: req.id }, "SAML sign-in refused");
    try {
      await services.samlSignIn.refused({ organizationId: organizationIdOf(req), requestId: req.id }, req.samlConnection, refusal);
    } catch (error) {
      logger.error({ err: error, requestId: req.id }, "could not record a refused SAML sign-in");
    }
    if (req.samlTestId) {
      try {
        await services.samlTests.refused({ organizationId: organizationIdOf(req), requestId: req.id }, req.samlConnection, req.samlTestId, refusal);
      } catch (error) {
        logger.error({ err: error, requestId: req.id }, "could not record a SAML test sign-in's refusal");
      }
    }
    res.status(refusal.reason === "malformed" ? 400 : 403).type("html").send(refusalPage("Sign-in refused", refusal.message, req.id));
  };

  /**
   * The service provider's metadata, as soon as the organization exists: Okta asks for the ACS URL
   * and entity id before it hands out its own metadata, so this cannot wait for a connection.
   * With the service provider's key it also carries its certificate and the single logout service,
   * and says AuthnRequests are signed when the connection signs them.
   */
  router.get("/:org/metadata", async (req: Request, res: Response) => {
    const organizationId = organizationIdOf(req);
    const [organization, connection] = await Promise.all([services.organizations.get(organizationId), services.saml.get({ organizationId })]);
    if (!organization) {
      res.status(404).type("html").send(refusalPage("No single sign-on here", "There is no such organization.", req.id));
      return;
    }
    const sp = serviceProviderUrls(config.publicBaseUrl, organizationId);
    const saml = new SAML({
      issuer: sp.entityId,
      callbackUrl: sp.acsUrl,
      // node-saml insists on an identity provider certificate even to describe the service provider; none is used here.
      idpCert: connection ? [...connection.certificates] : "not used for service provider metadata",
      ...signatureSwitches(connection?.signatures ?? defaultSamlSignatures),
      identifierFormat: emailAddressFormat,
    });
    const metadata = saml.generateServiceProviderMetadata(null);
    const key = config.samlServiceProvider;
    res
      .type("application/samlmetadata+xml")
      .send(key ? withSingleLogout(metadata, { certificate: key.certificate, logoutUrl: sp.logoutUrl, authnRequestsSigned: connection?.signAuthnRequests ?? false }) : metadata);
  });

  /**
   * SP-initiated sign-in: an AuthnRequest to the identity provider (HTTP-Redirect, SAML Bindings
   * §3.4), its id kept in MongoDB (any instance can take the answer) and, hashed, in a cookie of
   * this browser (browser-binding.ts). Signed with the service provider's key when the identity
   * provider wants signed requests.
   */
  router.get("/:org/login", withConnection, async (req: Request, res: Response) => {
    const organizationId = organizationIdOf(req);
    const connection = req.samlConnection!;
    const key = config.samlServiceProvider;
    let requestId: string | undefined;
    const saml = new SAML({
      ...samlOptions(organizationId, connection),
      // node-saml's own id format (an underscore and 160 random bits: an xs:ID, SAML Core §1.3.4), captured for the cookie.
      generateUniqueId: () => (requestId = `_${randomBytes(20).toString("hex")}`),
      ...(connection.signAuthnRequests && key ? { privateKey: key.privateKey.export({ format: "pem", type: "pkcs8" }).toString() } : {}),
    });
    const url = await saml.getAuthorizeUrlAsync(safeReturnPath(req.query.RelayState ?? req.query.returnTo), req.get("host"), {});
    rememberSignIn(req, res, config, organizationId, requestId!, requestLifetimeMs);
    res.redirect(302, url);
  });

  router.post(
    "/:org/acs",
    express.urlencoded({ extended: false, limit: "1mb", parameterLimit: 10 }),
    withConnection,
    async (req: Request, res: Response, next: NextFunction) => {
      const connection = req.samlConnection!;
      const sp = serviceProviderUrls(config.publicBaseUrl, organizationIdOf(req));
      try {
        req.samlInspection = inspectSamlResponse(decodeSamlResponse(req.body?.SAMLResponse), { idpEntityId: connection.idpEntityId, acsUrl: sp.acsUrl });
        const answered = req.samlInspection.inResponseTo;
        // The cookie gives up this sign-in whatever becomes of the answer: it is taken once.
        if (answered) req.samlStartedHere = takeSignIn(req, res, config, organizationIdOf(req), answered, requestLifetimeMs);
        // A test sign-in an administrator started (its marker as RelayState): checked as a sign-in, then reported, no session.
        const testId = SamlTests.testIdOf(req.body?.RelayState);
        if (testId && (await services.samlTests.isWaiting(organizationIdOf(req), testId))) req.samlTestId = testId;
      } catch (error) {
        if (error instanceof SamlRefusal) return void (await refuse(req, res, error));
        return next(error);
      }
      passport.authenticate("saml", { session: false }, (error: unknown, user: User | false | undefined) => {
        void (async () => {
          if (error instanceof SamlTestCompleted) return void res.status(200).type("html").send(samlTestCompletedPage(req.id));
          if (error || !user) {
            if (error instanceof SeatLimitReachedError) {
              return refuse(req, res, new SamlRefusal("seat_limit", "This organization has no free seat for a new member. Ask an administrator.", error.message));
            }
            // Gatehouse's own failures (an unreachable database: 503 with Retry-After) are answered
            // by the final error handler's SAML page; everything else said no to the answer.
            if (error instanceof DomainError) return next(error);
            const refusal = error instanceof SamlRefusal ? error : refusalFromValidationError(error ?? new Error("no user"), req.samlInspection, acceptedClockSkewMs);
            return refuse(req, res, refusal);
          }
          const ctx = { organizationId: organizationIdOf(req), actor: { type: "user" as const, id: user.id, name: user.userName }, source: "saml" as const, requestId: req.id };
          // A new session (and id) at every sign-in: nothing a browser brought along is reused.
          const session = await services.sessions.start(ctx, user, {
            via: "saml",
            ...(req.ip ? { ip: req.ip } : {}),
            ...(req.get("user-agent") ? { userAgent: req.get("user-agent")! } : {}),
            ...(req.samlSubject ? { saml: req.samlSubject } : {}),
          });
          setSessionCookie(res, session.cookieValue, session.expiresAt, config);
          res.redirect(303, safeReturnPath(req.body?.RelayState));
        })().catch(next);
      })(req, res, next);
    },
  );

  /**
   * node-saml for single logout: messages go to the connection's SLO URL and are signed (rsa-sha256)
   * when the service provider has a key — exported to PEM here only, never logged; the ids of the
   * LogoutRequests sent are kept in MongoDB (any instance can take the answer), apart from sign-ins'.
   */
  const logoutSaml = (organizationId: string, connection: SamlConnection): SAML => {
    const key = config.samlServiceProvider;
    return new SAML({
      ...samlOptions(organizationId, connection),
      ...(connection.sloUrl ? { logoutUrl: connection.sloUrl } : {}),
      idpIssuer: connection.idpEntityId,
      validateInResponseTo: ValidateInResponseTo.always,
      cacheProvider: services.samlState.logoutRequestCache(organizationId, requestLifetimeMs),
      ...(key ? { privateKey: key.privateKey.export({ format: "pem", type: "pkcs8" }).toString(), signatureAlgorithm: "sha256" as const } : {}),
    });
  };

  const refuseLogout = async (req: Request, res: Response, connection: SamlConnection, message: LogoutMessage, refusal: SamlRefusal) => {
    logger.warn({ organizationId: organizationIdOf(req), message, reason: refusal.reason, detail: refusal.detail, requestId: req.id }, "SAML logout message refused");
    try {
      await services.samlLogout.refused({ organizationId: organizationIdOf(req), requestId: req.id }, connection, message, refusal);
    } catch (error) {
      logger.error({ err: error, requestId: req.id }, "could not record a refused SAML logout message");
    }
    const status = refusal.reason === "malformed" || refusal.reason === "unsupported_binding" ? 400 : 403;
    if (message === "LogoutResponse") {
      // Gatehouse's own session ended before the person was sent to the identity provider.
      clearSessionCookie(res, config);
      res.status(status).type("html").send(refusalPage("Sign-out incomplete", `${refusal.message} You are signed out of this application; to end your session at your identity provider, sign out there.`, req.id));
      return;
    }
    res.status(status).type("html").send(refusalPage("Sign-out refused", refusal.message, req.id));
  };

  /**
   * Sign-out started here: ends this Gatehouse session and, when the connection has an SLO URL and
   * the session knows its SAML subject, continues at the identity provider with a LogoutRequest
   * naming that NameID and SessionIndex (RelayState: a path on this site). Every session of a
   * person: POST /api/v1/session/sign-out-everywhere.
   */
  const serviceProviderLogout = async (req: Request, res: Response) => {
    const organizationId = organizationIdOf(req);
    const cookie = readSessionCookie(req, config);
    const current = cookie ? await services.sessions.authenticate(cookie).catch(() => undefined) : undefined;
    if (current) {
      await services.sessions.end({ organizationId: current.session.organizationId, actor: { type: "user", id: current.user.id, name: current.user.userName }, source: "saml", requestId: req.id }, current.session.id);
    }
    clearSessionCookie(res, config);
    // A session that already timed out still names a session at the identity provider worth ending.
    const session = current?.session ?? (cookie ? await services.sessions.sessionOfCookie(cookie) : undefined);
    const connection = session?.saml && session.organizationId === organizationId ? await services.saml.get({ organizationId }) : undefined;
    if (connection?.sloUrl && session?.saml) {
      const returnTo = safeReturnPath(req.query.RelayState ?? req.query.returnTo ?? (req.body as Record<string, unknown> | undefined)?.RelayState);
      const subject = { issuer: connection.idpEntityId, nameID: session.saml.nameId, nameIDFormat: session.saml.nameIdFormat, sessionIndex: session.saml.sessionIndex } as Profile;
      const url = await logoutSaml(organizationId, connection).getLogoutUrlAsync(subject, returnTo, {});
      res.redirect(302, signedRedirectUrl(url, connection.sloUrl));
      return;
    }
    res.status(200).type("html").send(signedOutPage(req.id));
  };

  /** node-saml's complaints about a logout message, as reasons an administrator can act on. */
  const logoutRefusalFrom = (error: unknown): SamlRefusal => {
    if (error instanceof SamlRefusal) return error;
    const message = error instanceof Error ? error.message : String(error);
    if (/issuer/i.test(message)) return new SamlRefusal("wrong_issuer", "The sign-out message comes from an identity provider this organization does not use.", message);
    if (/InResponseTo/i.test(message)) return new SamlRefusal("unknown_request", "This sign-out was not started here, or it took too long.", message);
    if (/status/i.test(message)) return new SamlRefusal("idp_error", "The identity provider did not sign you out.", message);
    if (/not yet valid/i.test(message)) return new SamlRefusal("not_yet_valid", "The identity provider's sign-out message is not valid yet.", message);
    if (/expired/i.test(message)) return new SamlRefusal("expired", "The identity provider's sign-out message has expired.", message);
    if (/signature/i.test(message)) return new SamlRefusal("invalid_signature", "The identity provider's signature could not be verified.", message);
    return new SamlRefusal("invalid_response", "The identity provider's sign-out message could not be accepted.", message);
  };

  /**
   * The identity provider's answer to Gatehouse's LogoutRequest: from the connection's issuer, to
   * this logout URL, signed with one of its certificates when signed at all, a success, and in
   * answer to a LogoutRequest sent here and not answered before (its id is taken once).
   */
  const logoutResponse = async (req: Request, res: Response, connection: SamlConnection, rawQuery: string) => {
    const organizationId = organizationIdOf(req);
    let relayState: string | undefined;
    try {
      const message = parseRedirectQuery(rawQuery);
      relayState = message.relayState;
      const inspected = inspectLogoutResponse(message.xml, { idpEntityId: connection.idpEntityId, logoutUrl: serviceProviderUrls(config.publicBaseUrl, organizationId).logoutUrl });
      if (message.signature && !verifyRedirectSignature(message.signature, connection.certificates)) {
        throw new SamlRefusal("invalid_signature", "The identity provider's signature could not be verified.", "query-string signature");
      }
      const saml = logoutSaml(organizationId, connection);
      if (!isSuccess(inspected.statusCode)) {
        await saml.cacheProvider.removeAsync(inspected.inResponseTo);
        throw new SamlRefusal("idp_error", "The identity provider did not sign you out.", inspected.statusCode);
      }
      await saml.validateRedirectAsync(message.container, "").catch((error: unknown) => {
        throw logoutRefusalFrom(error);
      });
      if (!(await saml.cacheProvider.removeAsync(inspected.inResponseTo))) {
        throw new SamlRefusal("unknown_request", "This sign-out was not started here, or it took too long.", `LogoutRequest ${inspected.inResponseTo} already answered`);
      }
    } catch (error) {
      if (error instanceof SamlRefusal) return refuseLogout(req, res, connection, "LogoutResponse", error);
      throw error;
    }
    clearSessionCookie(res, config);
    res.status(200).type("html").send(signedOutPage(req.id, { atIdentityProvider: true, continueTo: safeReturnPath(relayState) }));
  };

  /**
   * Single logout started at the identity provider: a LogoutRequest signed with one of the
   * connection's certificates (unsigned ones are refused: anyone could sign people out), from its
   * issuer, to this logout URL, issued within the last ten minutes and never seen before. The
   * sessions of its NameID (and SessionIndex) end at once, on every instance; the answer is a
   * LogoutResponse (Success, InResponseTo the request) sent back to the identity provider.
   */
  const identityProviderLogout = async (req: Request, res: Response, connection: SamlConnection, rawQuery: string) => {
    const organizationId = organizationIdOf(req);
    let subject: { id: string; nameId: string; sessionIndexes: string[] };
    let relayState: string | undefined;
    try {
      const message = parseRedirectQuery(rawQuery);
      relayState = message.relayState;
      if (!message.signature) throw new SamlRefusal("unsigned", "The identity provider's sign-out request is not signed, so it cannot be trusted.", "LogoutRequest without Signature");
      const inspected = inspectLogoutRequest(message.xml, { idpEntityId: connection.idpEntityId, logoutUrl: serviceProviderUrls(config.publicBaseUrl, organizationId).logoutUrl });
      if (!verifyRedirectSignature(message.signature, connection.certificates)) {
        throw new SamlRefusal("invalid_signature", "The identity provider's signature could not be verified.", "query-string signature");
      }
      const issued = inspected.issueInstant.getTime();
      const now = Date.now();
      if (issued > now + acceptedClockSkewMs) throw new SamlRefusal("not_yet_valid", "The identity provider's sign-out message is not valid yet. Check the clocks.", `IssueInstant ${inspected.issueInstant.toISOString()}`);
      if (issued + requestLifetimeMs + acceptedClockSkewMs <= now) throw new SamlRefusal("expired", "The identity provider's sign-out message has expired.", `IssueInstant ${inspected.issueInstant.toISOString()}`);
      const { profile } = await logoutSaml(organizationId, connection)
        .validateRedirectAsync(message.container, "")
        .catch((error: unknown) => {
          throw logoutRefusalFrom(error);
        });
      if (!profile || profile.ID !== inspected.id || (profile.nameID ?? "").trim() !== inspected.nameId) {
        throw new SamlRefusal("invalid_response", "The identity provider's sign-out message could not be accepted.", "the validated request differs from the inspected one");
      }
      // Each request ends sessions once: a replayed URL must not sign out sessions begun since.
      if (!(await services.samlState.useLogoutRequest(organizationId, inspected.id, new Date(issued + requestLifetimeMs + 2 * acceptedClockSkewMs)))) {
        throw new SamlRefusal("replayed", "This sign-out request has already been used.", `LogoutRequest ${inspected.id} was already used`);
      }
      subject = { id: inspected.id, nameId: inspected.nameId, sessionIndexes: inspected.sessionIndexes };
    } catch (error) {
      if (error instanceof SamlRefusal) return refuseLogout(req, res, connection, "LogoutRequest", error);
      throw error;
    }
    const ended = await services.samlLogout.identityProviderLogout({ organizationId, requestId: req.id }, connection, subject);
    const cookieSession = readSessionCookie(req, config)?.split(".")[0];
    if (cookieSession && ended.includes(cookieSession)) clearSessionCookie(res, config);
    if (!connection.sloUrl) {
      res.status(200).type("html").send(signedOutPage(req.id));
      return;
    }
    const url = await logoutSaml(organizationId, connection).getLogoutResponseUrlAsync({ ID: subject.id } as Profile, relayState ?? "", {}, true);
    res.redirect(302, signedRedirectUrl(url, connection.sloUrl));
  };

  /**
   * /auth/saml/{org}/logout: a LogoutRequest or LogoutResponse from the identity provider in the
   * query (HTTP-Redirect binding), otherwise a sign-out started here. The HTTP-POST binding is not
   * supported for logout messages: Gatehouse announces HTTP-Redirect only.
   */
  const logout = async (req: Request, res: Response) => {
    const organizationId = organizationIdOf(req);
    const queryAt = req.originalUrl.indexOf("?");
    const rawQuery = queryAt < 0 ? "" : req.originalUrl.slice(queryAt + 1);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const posted = req.method === "POST" && (body.SAMLRequest !== undefined || body.SAMLResponse !== undefined);
    const kind = samlParameterIn(rawQuery);
    if (!kind && !posted) return await serviceProviderLogout(req, res);
    const [organization, connection] = await Promise.all([services.organizations.get(organizationId), services.saml.get({ organizationId })]);
    if (!organization || !connection) {
      res.status(404).type("html").send(refusalPage("No single sign-on here", "No SAML connection is configured for this organization.", req.id));
      return;
    }
    if (posted) {
      const refusal = new SamlRefusal("unsupported_binding", "Sign-out messages are accepted with the HTTP-Redirect binding only.", "HTTP-POST binding");
      return await refuseLogout(req, res, connection, body.SAMLRequest !== undefined ? "LogoutRequest" : "LogoutResponse", refusal);
    }
    if (kind === "SAMLRequest") return await identityProviderLogout(req, res, connection, rawQuery);
    return await logoutResponse(req, res, connection, rawQuery);
  };
  router.get("/:org/logout", logout);
  router.post("/:org/logout", express.urlencoded({ extended: false, limit: "100kb" }), logout);
  // Form bodies that could not be read: the refusal page with the parser's 4xx, audited.
  router.use("/:org", samlRequestErrors(services, logger));

  return router;
}

/**
 * An organization's SAML connection: its identity provider, and what Gatehouse does with the
 * assertions it sends (RFC-free, but SAML 2.0 Core/Bindings vocabulary).
 */
export interface SamlConnection {
  readonly idpEntityId: string;
  readonly ssoUrl: string;
  /**
   * The identity provider's SingleLogoutService (HTTP-Redirect binding, SAML Bindings §3.4): where
   * Gatehouse sends LogoutRequests and answers the identity provider's own. Absent on connections
   * made before single logout existed, or for identity providers without it: signing out then ends
   * the Gatehouse session only.
   */
  readonly sloUrl?: string;
  /** PEM certificates the identity provider signs with; several during a rotation. */
  readonly certificates: readonly string[];
  /** Create users on first login (managed by SAML) instead of refusing unknown users. */
  readonly jit: boolean;
  /** Map the assertion's groups through the organization's mappings (for organizations without SCIM). */
  readonly groupSync: boolean;
  /** Accept logins started at the identity provider (the Okta tile, Entra's My Apps); off by default. */
  readonly idpInitiated: boolean;
  /** Assertion attribute names for email, display name and groups. */
  readonly attributes: { readonly email: string; readonly name: string; readonly groups: string };
  /** Which value of the assertion says who signs in, and which member property it is matched against: see `SamlSubjectKey`. */
  readonly subject: SamlSubjectKey;
  /**
   * Sign AuthnRequests with the service provider's key (HTTP-Redirect query signature, SAML
   * Bindings §3.4.4.1): the identity provider's metadata says `WantAuthnRequestsSigned="true"`.
   */
  readonly signAuthnRequests: boolean;
  /** What the identity provider must sign: see `SamlSignatureRequirement`. */
  readonly signatures: SamlSignatureRequirement;
}

/**
 * What must carry the identity provider's signature (SAML 2.0 Core §5; Profiles §4.1.3.5 allow the
 * signature on the assertion, on the response, or on both). "assertion" is what every common
 * identity provider does by default (Okta, Entra ID's "Sign SAML assertion"), so it is the default;
 * "response" suits providers configured to sign only the response, "both" is the strictest.
 */
export const SAML_SIGNATURE_REQUIREMENTS = ["assertion", "response", "both"] as const;
export type SamlSignatureRequirement = (typeof SAML_SIGNATURE_REQUIREMENTS)[number];
export const defaultSamlSignatures: SamlSignatureRequirement = "assertion";

/** The requirement as passport-saml's two switches (`wantAssertionsSigned`, `wantAuthnResponseSigned`). */
export function signatureSwitches(signatures: SamlSignatureRequirement): { wantAssertionsSigned: boolean; wantAuthnResponseSigned: boolean } {
  return { wantAssertionsSigned: signatures !== "response", wantAuthnResponseSigned: signatures !== "assertion" };
}

/**
 * The one value of a verified assertion that decides who signs in, and nothing else ever does (no
 * fallback to an email attribute: people can edit their own email at many identity providers).
 * - `nameId`: the Subject's NameID (SAML Core §2.2.3), matched against the member's userName —
 *   ignoring ASCII case when both are email-shaped ASCII, exactly otherwise (`subjectMatchesUserName`).
 * - `attribute`: the single value of the named attribute (Entra ID's immutable object id,
 *   `http://schemas.microsoft.com/identity/claims/objectidentifier`), matched exactly against the
 *   member's externalId (what Entra's SCIM provisioning stores there).
 * JIT creation and the linking of local members use the same key.
 */
export type SamlSubjectKey = { readonly source: "nameId" } | { readonly source: "attribute"; readonly attribute: string };
export const defaultSamlSubject: SamlSubjectKey = { source: "nameId" };

/** The member property a subject key is matched against. */
export function subjectMatchedAgainst(subject: SamlSubjectKey): "userName" | "externalId" {
  return subject.source === "nameId" ? "userName" : "externalId";
}

/** ASCII email address shape (RFC 5322 dot-atom@domain, no trailing dot, no space): the only values compared without case. */
const emailShaped = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$/;

export function isEmailShaped(value: string): boolean {
  return value.length <= 320 && emailShaped.test(value);
}

/**
 * Whether an asserted NameID names the member with this userName. Email-shaped ASCII values are
 * compared ignoring ASCII case (identity providers change the case of addresses at will); any
 * other value must be identical, code point for code point: no Unicode case folding or
 * normalization that would let a look-alike (a Cyrillic "а", the Kelvin sign "K") or a trailing
 * dot or space name someone else.
 */
export function subjectMatchesUserName(nameId: string, userName: string): boolean {
  if (nameId === userName) return true;
  return isEmailShaped(nameId) && isEmailShaped(userName) && nameId.toLowerCase() === userName.toLowerCase();
}

/** The service provider's own entity id and URLs, all derived from the public base URL. */
export function serviceProviderUrls(publicBaseUrl: string, organizationId: string) {
  const base = `${publicBaseUrl}/auth/saml/${organizationId}`;
  return { entityId: `${base}/metadata`, metadataUrl: `${base}/metadata`, loginUrl: `${base}/login`, acsUrl: `${base}/acs`, logoutUrl: `${base}/logout` };
}

export const defaultSamlAttributes = {
  email: "email",
  name: "displayName",
  groups: "groups",
} as const;

/** Why a SAML sign-in was refused: the audit trail's reason, one per check. */
export type SamlRefusalReason =
  | "malformed"
  | "encrypted_assertion"
  | "signature_wrapping"
  | "weak_signature_algorithm"
  | "wrong_issuer"
  | "wrong_destination"
  | "wrong_recipient"
  | "invalid_signature"
  | "expired"
  | "not_yet_valid"
  | "wrong_audience"
  | "unknown_request"
  | "unsolicited"
  | "replayed"
  | "unsigned"
  | "unsupported_binding"
  | "idp_error"
  | "invalid_response"
  | "unknown_subject"
  | "other_browser"
  | "inactive_user"
  | "suspended_user"
  | "no_access"
  | "seat_limit";

/** A sign-in refused: `reason` for the audit trail and tests, `message` for the person. */
export class SamlRefusal extends Error {
  constructor(
    readonly reason: SamlRefusalReason,
    message: string,
    /** What the audit trail keeps beyond the message (never the assertion itself). */
    readonly detail?: string,
  ) {
    super(message);
    this.name = "SamlRefusal";
  }
}


import type { CacheProvider } from "@node-saml/passport-saml";
import type { SamlAssertionLedger, SamlRequestCache } from "../storage/saml-state";

/**
 * What SAML exchanges share across instances (the instance that answers the identity provider is
 * rarely the one that sent the user there): the AuthnRequest and LogoutRequest ids a connection
 * waits for, and the assertions and identity providers' LogoutRequests already acted on, against
 * replays (SAML 2.0 Profiles §4.1.4.5: an assertion is used once). The edges see these domain-level
 * questions; the documents behind them stay in storage/saml-state.ts.
 */
export class SamlState {
  constructor(
    private readonly caches: (organizationId: string, lifetimeMs: number, kind: "authn" | "logout") => SamlRequestCache,
    private readonly ledger: SamlAssertionLedger,
    private readonly sweeper: (now: Date) => Promise<number>,
  ) {}

  /** The AuthnRequest ids an organization's connection waits for, as node-saml's cache provider. */
  requestCache(organizationId: string, lifetimeMs: number): CacheProvider {
    return this.caches(organizationId, lifetimeMs, "authn");
  }

  /** The LogoutRequest ids sent to the identity provider, kept apart from the AuthnRequest ids. */
  logoutRequestCache(organizationId: string, lifetimeMs: number): CacheProvider {
    return this.caches(organizationId, lifetimeMs, "logout");
  }

  /** Records an assertion as used to sign in; false when it was used before (a replay, refused). */
  useAssertion(organizationId: string, assertionId: string, expiresAt: Date): Promise<boolean> {
    return this.ledger.claim(organizationId, assertionId, expiresAt);
  }

  /** Records an identity provider's LogoutRequest as acted on; false when it was before (a replay). */
  useLogoutRequest(organizationId: string, requestId: string, expiresAt: Date): Promise<boolean> {
    return this.ledger.claim(organizationId, `logout/${requestId}`, expiresAt);
  }

  /** Deletes expired request and assertion ids (the maintenance timer); answers how many. */
  sweep(now: Date = new Date()): Promise<number> {
    return this.sweeper(now);
  }
}

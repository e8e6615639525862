/**
 * What a service token (the product's back end, `gsv_…`) may do. Tokens issued before scopes
 * existed carry none and keep exactly what they could do then: `DEFAULT_SERVICE_SCOPES`.
 * A SCIM token's one ability is `scim` (it is implied by its kind, never stored); a personal API
 * token acts as its person and is not scoped.
 */
export const TOKEN_SCOPES = {
  authorize: "authorization answers and member reads: POST /authorize, GET /users/{id}, GET /users/{id}/access, the member list (what service tokens could always do)",
  scim: "provisioning at /scim/v2 (SCIM tokens only; implied by the token's kind)",
  "events:read": "read the organization's directory events: GET /events",
  offboarding: "offboard members: POST /offboardings and its reads",
  "webhooks:manage": "register, change, rotate, redeliver and remove webhook endpoints",
} as const;

export type TokenScope = keyof typeof TOKEN_SCOPES;

/** What a service token without stored scopes may do: what every service token could do before scopes. */
export const DEFAULT_SERVICE_SCOPES: readonly TokenScope[] = ["authorize"];

/** Scopes a service token can be issued with (`scim` belongs to SCIM tokens). */
export const SERVICE_TOKEN_SCOPES = (Object.keys(TOKEN_SCOPES) as TokenScope[]).filter((scope) => scope !== "scim");

export function isServiceTokenScope(value: string): value is TokenScope {
  return (SERVICE_TOKEN_SCOPES as readonly string[]).includes(value);
}

/** The scopes a service token holds: the stored ones, or the defaults for a token issued before scopes. */
export function scopesOf(token: { readonly scopes?: readonly string[] }): readonly TokenScope[] {
  return token.scopes ? token.scopes.filter(isServiceTokenScope) : DEFAULT_SERVICE_SCOPES;
}

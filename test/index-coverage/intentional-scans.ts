import type { IntentionalFamily, IntentionalScan } from "./coverage-check";

/**
 * Query shapes that scan their collection on MongoDB by design. Keep this short: every entry is a
 * decision, with its reason, and the check fails on an entry an index serves or no test sends.
 */
export const intentionalScans: readonly IntentionalScan[] = [
  {
    // src/main.ts → UserStore.repairUserNameKeys() with no organization (src/storage/users.ts).
    shape: "users.find {deletedAt: not-exists}",
    reason:
      "the userName-key repair at server start reads every user's id, organization and userName once, to put right " +
      "a key a crash left between a user's write and its key's; once per start, not per request (per organization, " +
      "as operators run it, it is served by the organization's index)",
  },
  {
    // The same repair's other half (src/storage/lookup-keys.ts, ofKind without a prefix).
    shape: "lookup_keys.find {_id: regex}",
    reason:
      "the same start-up repair reads every userName key; the kind sits in the middle of the key's _id " +
      "(<organization>/userName/<name>), so no prefix bounds it",
  },
  // The resident stores' start-up loads: only where Gatehouse serves the embedded database (one
  // server process, src/main.ts); never on MongoDB, where nothing is resident.
  {
    shape: "users.find {}",
    reason: "the resident directory's load at start, on the embedded database only (storage/resident-directory.ts)",
  },
  {
    // test/integration/resident-directory.test.ts loads a ResidentDirectory over a scratch copy of
    // the users collection, to control exactly what the load streams.
    shape: "resident_load_users.find {}",
    reason: "the same resident-directory load as users.find {}, over the load test's own scratch collection",
  },
  {
    shape: "groups.find {}",
    reason: "the resident directory's load at start, on the embedded database only (storage/resident-directory.ts)",
  },
  {
    shape: "audit_events.find {}",
    reason: "the resident audit index's load at start, on the embedded database only (storage/audit-index.ts)",
  },
];

/**
 * SCIM lets an identity provider filter and sort a listing on any attribute (RFC 7644 §3.4.2).
 * Okta, Entra ID and Gatehouse's own callers use the indexed shapes (lookups answered through keys
 * by _id, the created order, userName/displayName order); any other combination is bounded by the
 * organization's index prefix on MongoDB and sorted there in memory. An open decision of issue 12
 * (indexes per sortable attribute, or refusing sortBy on the others), recorded here, not hidden.
 */
export const intentionalFamilies: readonly IntentionalFamily[] = [
  {
    family: /^(users|groups)\.find \{.*organizationId: eq.*\}/,
    site: "src/storage/directory-store.ts:100",
    reason: "a SCIM listing with a filter or sortBy on an attribute without its own index: the organization's documents sorted in memory on MongoDB",
  },
];

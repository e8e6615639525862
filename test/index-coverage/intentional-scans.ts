import type { IntentionalScan } from "./coverage-check";

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
];

import type { IntentionalScan } from "./coverage-check";

/**
 * Query shapes that scan their collection on MongoDB by design. Keep this short: every entry is a
 * decision, with its reason, and the check fails on an entry an index serves or no test sends.
 */
export const intentionalScans: readonly IntentionalScan[] = [];

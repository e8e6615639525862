import type { AuthFailureCounters } from "../storage/auth-failures";

/** One failed authentication as counted: its number in the current window and when the window ends. */
export interface CountedFailure {
  count: number;
  resetsAt: Date;
}

/**
 * Failed authentication attempts per client (a brute-force brake on SCIM bearer tokens), counted
 * across every instance. The edges see this use-case, not the counters' storage: an attempt's
 * number comes from one atomic increment (storage/auth-failures.ts), so no two attempts of a
 * parallel burst get the same number, and the edge refuses those above its limit.
 */
export class AuthFailures {
  constructor(private readonly counters: AuthFailureCounters) {}

  /** Counts one failed attempt of `client` and answers its number in the current window (1 for the first). */
  recordFailure(client: string): Promise<CountedFailure> {
    return this.counters.recordFailure(client);
  }
}

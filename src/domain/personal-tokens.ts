/**
 * Personal API tokens a member creates for themselves (issue 13 §2): every one expires, no later
 * than the organization allows. Pure rules, so the bounds are tested without a clock.
 */

/** What a new organization allows: a token lives at most 90 days (GitHub's default for fine-grained tokens). */
export const PERSONAL_TOKEN_DEFAULT_MAXIMUM_DAYS = 90;

/**
 * What no organization may exceed: a year. A bearer token that outlives a yearly access review is a
 * credential nobody remembers; administrators may choose anything from 1 day to this.
 */
export const PERSONAL_TOKEN_HARD_CAP_DAYS = 365;

const dayMs = 24 * 60 * 60 * 1000;

/** The organization's maximum lifetime in days, the default when it never chose one. */
export function personalTokenMaximumDays(settings: { readonly personalTokenMaximumDays?: number }): number {
  return Math.min(settings.personalTokenMaximumDays ?? PERSONAL_TOKEN_DEFAULT_MAXIMUM_DAYS, PERSONAL_TOKEN_HARD_CAP_DAYS);
}

/** Why an expiry is refused, or undefined when it is acceptable: in the future and within the maximum. */
export function personalTokenExpiryProblem(expires: Date, now: Date, maximumDays: number): string | undefined {
  if (expires.getTime() <= now.getTime()) return "expires must be in the future";
  const latest = new Date(now.getTime() + maximumDays * dayMs);
  if (expires.getTime() > latest.getTime()) {
    return `expires must be within the organization's maximum of ${maximumDays} days for personal API tokens (no later than ${latest.toISOString()})`;
  }
  return undefined;
}

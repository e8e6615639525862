import { nextWakeOf, offboardingIdOf, reminderDue, type Offboarding } from "../../src/domain/offboarding";
import { SHIPPED_CATALOG } from "../../src/domain/permissions";
import type { EffectiveAccess } from "../../src/domain/access";
import type { User } from "../../src/domain/user";
import type { ApiActor } from "../../src/services/members";
import { mayOffboard } from "../../src/services/offboardings";

const HOUR = 3_600_000;
const t0 = new Date("2026-12-01T09:00:00Z");
const at = (hours: number) => new Date(t0.getTime() + hours * HOUR);

/** An offboarding created at t0, due `dueInHours` later. */
const scheduled = (dueInHours: number, extra: Partial<Offboarding> = {}): Pick<Offboarding, "status" | "effectiveAt" | "reminderSentAt" | "created"> => ({
  status: "scheduled",
  effectiveAt: at(dueInHours),
  created: t0,
  ...extra,
});

describe("the scheduler's decisions", () => {
  it.each<[string, ReturnType<typeof scheduled>, Date | undefined]>([
    ["due in three days: the reminder a day before", scheduled(72), at(48)],
    ["due in three days, reminded: its time", scheduled(72, { reminderSentAt: at(48) }), at(72)],
    ["due in 25 hours: the reminder an hour from now", scheduled(25), at(1)],
    ["due in 23 hours: no reminder (HR knows it is imminent), its time", scheduled(23), at(23)],
    ["due exactly a day ahead: no reminder", scheduled(24), at(24)],
    ["carried out: nothing", scheduled(72, { status: "carried_out" }), undefined],
    ["cancelled: nothing", scheduled(72, { status: "cancelled" }), undefined],
  ])("wakes for %s", (_case, offboarding, expected) => {
    expect(nextWakeOf(offboarding)).toEqual(expected);
  });

  it.each<[string, ReturnType<typeof scheduled>, Date, boolean]>([
    ["a day before a three-day offboarding", scheduled(72), at(48), true],
    ["just before the day-before mark", scheduled(72), at(47.99), false],
    ["an hour before its time, never reminded (the server was down)", scheduled(72), at(71), true],
    ["at its time: carried out instead", scheduled(72), at(72), false],
    ["already reminded", scheduled(72, { reminderSentAt: at(48) }), at(50), false],
    ["scheduled for sooner than a day", scheduled(20), at(1), false],
    ["cancelled", scheduled(72, { status: "cancelled" }), at(50), false],
  ])("whether to remind: %s", (_case, offboarding, now, expected) => {
    expect(reminderDue(offboarding, now)).toBe(expected);
  });
});

describe("offboardingIdOf", () => {
  it("is the same for one organization and key, and differs across keys and organizations", () => {
    expect(offboardingIdOf("org-a", "T-1")).toBe(offboardingIdOf("org-a", "T-1"));
    expect(offboardingIdOf("org-a", "T-1")).not.toBe(offboardingIdOf("org-a", "T-2"));
    expect(offboardingIdOf("org-a", "T-1")).not.toBe(offboardingIdOf("org-b", "T-1"));
    // No ambiguity where the organization ends and the key begins.
    expect(offboardingIdOf("org-a", "bT-1")).not.toBe(offboardingIdOf("org-ab", "T-1"));
    expect(offboardingIdOf("org-a", "T-1")).toMatch(/^off_[A-Za-z0-9_-]{32}$/);
  });
});

describe("mayOffboard", () => {
  const person = (permissions: string[]): ApiActor => ({
    kind: "user",
    user: { id: "u" } as User,
    access: { organizationRole: "x", permissions: new Map(permissions.map((p) => [p, "all"])) } as unknown as EffectiveAccess,
    catalog: SHIPPED_CATALOG,
  });
  const suspends = SHIPPED_CATALOG.definition.administration.changeMemberAccess;
  it.each<[string, ApiActor, RegExp | undefined]>([
    ["a service token with the offboarding scope", { kind: "service", scopes: ["offboarding"] }, undefined],
    ["a service token with other scopes", { kind: "service", scopes: ["events:read"] }, /lacks the "offboarding" scope/],
    ["a service token without scopes", { kind: "service" }, /lacks the "offboarding" scope/],
    ["a person who may suspend members", person([suspends]), undefined],
    ["a person who may not", person(["view_reports"]), /does not grant/],
  ])("%s", (_case, actor, refusal) => {
    if (refusal) expect(() => mayOffboard(actor)).toThrow(refusal);
    else expect(() => mayOffboard(actor)).not.toThrow();
  });
});

import { resolveExpected } from "./replay";

/** The placeholders of expected bodies (replay.ts): what they accept, and what they refuse. */
describe("expected bodies with placeholders", () => {
  const user = "8f14e45f-ceea-4e7a-9c8e-2b2f3a7c1d10";
  const other = "c9f0f895-fb98-4b91-8a3e-6c5f1d2e3a4b";
  const expected = { id: "{userId}", meta: { created: "{time}", version: "{version}", location: "https://gatehouse.test/scim/v2/Users/{userId}" } };
  const answer = (id: string, location: string, created = "2026-01-31T12:00:00.000Z", version = 'W/"3"') => ({ id, meta: { created, version, location } });

  it("takes an id the answer introduces at its first place, and needs it repeated at every other", () => {
    const good = answer(user, `https://gatehouse.test/scim/v2/Users/${user}`);
    expect(resolveExpected(expected, good, {})).toEqual(good);
    const inconsistent = answer(user, `https://gatehouse.test/scim/v2/Users/${other}`);
    expect(resolveExpected(expected, inconsistent, {})).not.toEqual(inconsistent);
  });

  it("needs the given value of a named id", () => {
    const good = answer(user, `https://gatehouse.test/scim/v2/Users/${user}`);
    expect(resolveExpected(expected, good, { userId: user })).toEqual(good);
    expect(resolveExpected(expected, good, { userId: other })).not.toEqual(good);
  });

  it("accepts only a SCIM dateTime for {time} and a weak entity tag for {version}", () => {
    const location = `https://gatehouse.test/scim/v2/Users/${user}`;
    expect(resolveExpected(expected, answer(user, location, "yesterday"), {})).not.toEqual(answer(user, location, "yesterday"));
    expect(resolveExpected(expected, answer(user, location, undefined, '"3"'), {})).not.toEqual(answer(user, location, undefined, '"3"'));
  });

  it("keeps what has no placeholder, so a missing or extra property still differs", () => {
    const location = `https://gatehouse.test/scim/v2/Users/${user}`;
    expect(resolveExpected({ ...expected, active: true }, answer(user, location), {})).not.toEqual(answer(user, location));
    expect(resolveExpected(expected, { ...answer(user, location), active: false }, {})).not.toEqual({ ...answer(user, location), active: false });
  });
});

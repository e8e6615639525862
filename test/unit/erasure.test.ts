import { identifiersOf, PersonalDataEraser, pseudonymOf } from "../../src/domain/erasure";
import type { AuditEvent } from "../../src/domain/audit";

/** The rewriting of one event by a personal data erasure, written out by hand. */
const id = "4f1c2d9e-0000-4000-8000-000000000001";
const event = (overrides: Partial<AuditEvent>): AuditEvent => ({
  id: "e",
  organizationId: "o",
  at: new Date("2026-01-01T00:00:00Z"),
  actor: { type: "scim_token", id: "t1", name: "Okta" },
  source: "scim",
  action: "user.updated",
  target: { type: "user", id, display: "ada@example.com" },
  requestId: "r",
  ...overrides,
});
const about = [
  event({
    action: "user.provisioned",
    after: { userName: "ada@example.com", externalId: "00u1", displayName: "Ada Lovelace", name: { givenName: "Ada", familyName: "Lovelace" }, emails: [{ value: "ada@home.example" }] },
  }),
  event({ actor: { type: "user", id, name: "ada@example.com" }, action: "personal_token.created", target: { type: "personal_token", id: "p1", display: "Personal API token" } }),
];
const identifiers = identifiersOf(id, about);
const eraser = new PersonalDataEraser(identifiers, "erased-0123456789abcdef");

describe("personal data erasure of one event", () => {
  it("reads the member's identifiers from the events about them", () => {
    expect(new Set(identifiers.unique)).toEqual(new Set(["ada@example.com", "00u1", "ada@home.example"]));
    expect(new Set(identifiers.names)).toEqual(new Set(["Ada Lovelace", "Ada", "Lovelace"]));
    expect(identifiers.userNames).toEqual(["ada@example.com"]);
  });

  it.each([
    ["the target and its snapshot", event({ before: { userName: "ada@example.com", name: { givenName: "Ada" } } }), { target: { type: "user", id: "erased-0123456789abcdef", display: "erased-0123456789abcdef" }, before: { userName: "erased-0123456789abcdef", name: { givenName: "erased-0123456789abcdef" } } }],
    ["the actor", event({ actor: { type: "user", id, name: "ada@example.com" }, target: { type: "group", id: "g1", display: "Engines" } }), { actor: { type: "user", id: "erased-0123456789abcdef", name: "erased-0123456789abcdef" }, target: { type: "group", id: "g1", display: "Engines" } }],
    ["a member list and a reason in someone else's event", event({ target: { type: "group", id: "g1" }, after: { added: [id, "other"] }, reason: "Ada Lovelace joins" }), { after: { added: ["erased-0123456789abcdef", "other"] }, reason: "erased-0123456789abcdef joins" }],
    ["an email inside a sentence", event({ target: { type: "token", id: "p2" }, reason: "token of ada@example.com." }), { reason: "token of erased-0123456789abcdef." }],
    ["personal values of an event about them", event({ action: "session.started", after: { sessionId: "s", ip: "203.0.113.7", userAgent: "Firefox" } }), { after: { sessionId: "s", ip: "erased-0123456789abcdef", userAgent: "erased-0123456789abcdef" } }],
  ])("replaces %s", (_what, input, expected) => {
    expect(eraser.rewrite(input)).toMatchObject(expected);
  });

  it.each([
    ["another person's event that only shares a first name", event({ target: { type: "user", id: "u2", display: "adam@example.com" }, reason: "Ada from sales asked" })],
    ["a longer word or address that contains a value", event({ target: { type: "user", id: "u2", display: "xada@example.com" }, reason: "Adams, Canada, 00u12" })],
    ["an event with nothing of theirs", event({ target: { type: "group", id: "g2", display: "Lovelace fans" } })],
  ])("leaves %s alone", (_what, input) => {
    expect(eraser.rewrite(input)).toBeUndefined();
  });

  it("gives a stable pseudonym per member and secret", () => {
    expect(pseudonymOf(id, "s1")).toBe(pseudonymOf(id, "s1"));
    expect(pseudonymOf(id, "s1")).toMatch(/^erased-[0-9a-f]{16}$/);
    expect(pseudonymOf(id, "s2")).not.toBe(pseudonymOf(id, "s1"));
    expect(pseudonymOf("other", "s1")).not.toBe(pseudonymOf(id, "s1"));
  });
});

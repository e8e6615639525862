import { isEmailShaped, subjectMatchesUserName } from "../../src/domain/saml";

/**
 * The NameID ↔ userName rule of issue 9 §1, written out by hand (not derived from the code under
 * test): ASCII case is ignored only when both sides are ASCII email addresses; everything else
 * must be identical, code point for code point.
 */

describe("subjectMatchesUserName", () => {
  test.each([
    // [NameID, userName, matches]
    ["ada@acme.example", "ada@acme.example", true],
    ["ADA@Acme.Example", "ada@acme.example", true],
    ["ada@acme.example", "Ada@ACME.example", true],
    ["first.last+tag@sub.acme.example", "First.Last+Tag@Sub.Acme.Example", true],
    ["Ops-Bot", "Ops-Bot", true],
    ["ops-bot", "Ops-Bot", false],
    ["OPS-BOT", "Ops-Bot", false],
    ["00u1k3x9qzABCDEF0h8", "00u1k3x9qzabcdef0h8", false],
    ["\u0430da@acme.example", "ada@acme.example", false], // Cyrillic а
    ["ada@acm\u0435.example", "ada@acme.example", false], // Cyrillic е
    ["\uff41da@acme.example", "ada@acme.example", false], // fullwidth a
    ["\u212aate@acme.example", "kate@acme.example", false], // Kelvin sign
    ["\u212aate@acme.example", "Kate@acme.example", false],
    ["ada@acme.example.", "ada@acme.example", false],
    ["ada@acme.example ", "ada@acme.example", false],
    [" ada@acme.example", "ada@acme.example", false],
    ["ada@acme.example\u00a0", "ada@acme.example", false],
    ["ada@acme\u200b.example", "ada@acme.example", false],
    ["ada@acme.example", "ada@acme.example.evil.test", false],
    ["ÉLODIE@acme.example", "élodie@acme.example", false], // not ASCII: exact only
    ["élodie@acme.example", "élodie@acme.example", true],
    ["", "", true],
  ])("%j against userName %j: %s", (nameId, userName, matches) => {
    expect(subjectMatchesUserName(nameId, userName)).toBe(matches);
  });
});

describe("isEmailShaped", () => {
  test.each([
    ["ada@acme.example", true],
    ["a.b-c_d+e@x-y.example", true],
    ["ada@acme", false],
    ["ada@acme.example.", false],
    [".ada@acme.example", false],
    ["ada..b@acme.example", false],
    ["ada @acme.example", false],
    ["ada@-acme.example", false],
    ["\u0430da@acme.example", false],
    ["Ops-Bot", false],
    [`${"a".repeat(320)}@acme.example`, false],
  ])("%j: %s", (value, shaped) => {
    expect(isEmailShaped(value)).toBe(shaped);
  });
});

import SCIMMY from "scimmy";
import type { AttributeType, Comparison, Criteria } from "../../src/domain/criteria";
import { checkFilterBounds, filterLimits, filterSchemaFromScimmy, InvalidFilterError, parseFilter, resolveAttributePath } from "../../src/scim/filter";

const ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/** The User definition with the enterprise extension; the app may have extended it already. */
function userDefinition(): SCIMMY.Types.SchemaDefinition {
  const definition = SCIMMY.Schemas.User.definition;
  const extended = (definition.attributes as unknown[]).some(
    (a) => a instanceof SCIMMY.Types.SchemaDefinition && a.id === ENTERPRISE,
  );
  if (!extended) definition.extend(SCIMMY.Schemas.EnterpriseUser.definition);
  return definition;
}

const schema = filterSchemaFromScimmy(userDefinition(), { extensionPrefixes: { [ENTERPRISE]: "enterprise" } });

const compare = (
  path: string,
  op: Comparison,
  value: string | number | boolean | null,
  type: AttributeType = "string",
  caseExact = false,
): Criteria => ({ kind: "compare", path, op, value, type, caseExact });
const present = (path: string): Criteria => ({ kind: "present", path });
const and = (...all: Criteria[]): Criteria => ({ kind: "and", all });
const or = (...any: Criteria[]): Criteria => ({ kind: "or", any });
const not = (criteria: Criteria): Criteria => ({ kind: "not", criteria });
const element = (path: string, criteria: Criteria): Criteria => ({ kind: "element", path, criteria });

describe("parseFilter", () => {
  describe("operators (RFC 7644 §3.4.2.2)", () => {
    it.each<[string, Criteria]>([
      ['userName eq "bjensen"', compare("userName", "eq", "bjensen")],
      ['userName ne "bjensen"', compare("userName", "ne", "bjensen")],
      ['name.familyName co "O\'Malley"', compare("name.familyName", "co", "O'Malley")],
      ['userName sw "J"', compare("userName", "sw", "J")],
      ['title ew "manager"', compare("title", "ew", "manager")],
      ["title pr", present("title")],
      ['meta.lastModified gt "2011-05-13T04:42:34Z"', compare("lastModified", "gt", "2011-05-13T04:42:34.000Z", "dateTime")],
      ['meta.lastModified ge "2011-05-13T04:42:34.5Z"', compare("lastModified", "ge", "2011-05-13T04:42:34.500Z", "dateTime")],
      ['meta.created lt "2024-01-01T02:00:00+02:00"', compare("created", "lt", "2024-01-01T00:00:00.000Z", "dateTime")],
      ['meta.created le "2024-01-01T00:00:00"', compare("created", "le", "2024-01-01T00:00:00.000Z", "dateTime")],
      ["active eq true", compare("active", "eq", true, "boolean")],
      ["active ne false", compare("active", "ne", false, "boolean")],
      ["displayName eq null", compare("displayName", "eq", null)],
      ['id eq "2819c223"', compare("id", "eq", "2819c223", "string", true)],
      ['externalId eq "E-1"', compare("externalId", "eq", "E-1", "string", true)],
    ])("%s", (expression, expected) => {
      expect(parseFilter(expression, schema)).toEqual(expected);
    });
  });

  describe("attribute names are case-insensitive and may carry their schema URN (RFC 7643 §2.1, RFC 7644 §3.10)", () => {
    it.each<[string, Criteria]>([
      ['USERNAME EQ "bjensen"', compare("userName", "eq", "bjensen")],
      ['urn:ietf:params:scim:schemas:core:2.0:User:userName eq "bjensen"', compare("userName", "eq", "bjensen")],
      ['Name.GivenName Sw "Ba"', compare("name.givenName", "sw", "Ba")],
      ['Emails[Type eq "work"]', element("emails", compare("type", "eq", "work"))],
      [`${ENTERPRISE}:department eq "Sales"`, compare("enterprise.department", "eq", "Sales")],
      [`${ENTERPRISE.toUpperCase()}:Department eq "Sales"`, compare("enterprise.department", "eq", "Sales")],
      [`${ENTERPRISE}:manager.value eq "m-1"`, compare("enterprise.manager.value", "eq", "m-1")],
      [`${ENTERPRISE}:manager[value eq "m-1"]`, compare("enterprise.manager.value", "eq", "m-1")],
    ])("%s", (expression, expected) => {
      expect(parseFilter(expression, schema)).toEqual(expected);
    });
  });

  describe("multi-valued attributes", () => {
    it.each<[string, Criteria]>([
      // A comparison on the attribute itself applies to its "value" sub-attribute.
      ['emails co "@example.com"', compare("emails.value", "co", "@example.com")],
      ['emails.value eq "bjensen@example.com"', compare("emails.value", "eq", "bjensen@example.com")],
      ['emails.type eq "work" and emails.value co "@x"', and(compare("emails.type", "eq", "work"), compare("emails.value", "co", "@x"))],
      // "Any value matches": ne, eq null and pr become conditions on one element.
      ['emails.value ne "a@x"', element("emails", compare("value", "ne", "a@x"))],
      ["emails.value eq null", element("emails", compare("value", "eq", null))],
      ["emails.value pr", element("emails", present("value"))],
      ["emails pr", present("emails")],
      [
        'emails[type eq "work" and value co "@example.com"]',
        element("emails", and(compare("type", "eq", "work"), compare("value", "co", "@example.com"))),
      ],
      ['emails[not (type eq "work")]', element("emails", not(compare("type", "eq", "work")))],
      [
        'emails[type eq "work"] and emails[value co "@x"]',
        and(element("emails", compare("type", "eq", "work")), element("emails", compare("value", "co", "@x"))),
      ],
      ['name[givenName eq "Barbara"]', compare("name.givenName", "eq", "Barbara")],
      ['meta[created gt "2020-01-01T00:00:00Z"]', compare("created", "gt", "2020-01-01T00:00:00.000Z", "dateTime")],
    ])("%s", (expression, expected) => {
      expect(parseFilter(expression, schema)).toEqual(expected);
    });
  });

  describe("logic and grouping are kept as written", () => {
    const a = compare("userName", "eq", "a");
    const b = compare("userName", "eq", "b");
    const active = compare("active", "eq", true, "boolean");
    it.each<[string, Criteria]>([
      ['userName eq "a" and active eq true', and(a, active)],
      ['userName eq "a" or userName eq "b"', or(a, b)],
      ['userName eq "a" or userName eq "b" and active eq true', or(a, and(b, active))],
      ['(userName eq "a" or userName eq "b") and active eq true', and(or(a, b), active)],
      ['not (userName eq "a" and active eq true)', not(and(a, active))],
      ['not (userName eq "a") and active eq true', and(not(a), active)],
      ['not (emails[type eq "work"])', not(element("emails", compare("type", "eq", "work")))],
      ['userName eq "a" AND active eq true', and(a, active)],
      ['(userName eq "a" and userName eq "b") and active eq true', and(and(a, b), active)],
    ])("%s", (expression, expected) => {
      expect(parseFilter(expression, schema)).toEqual(expected);
    });
  });

  describe("values are data, decoded as JSON strings", () => {
    it.each<[string, string]>([
      ['userName eq "a\\"b"', 'a"b'],
      ['userName eq "a\\\\b"', "a\\b"],
      ['userName eq "caf\\u00e9"', "café"],
      ['userName eq "a.*(b) and c"', "a.*(b) and c"],
      ['userName eq "x\\" or userName pr"', 'x" or userName pr'],
      ['userName eq "^[a-z]+$|{1,2}"', "^[a-z]+$|{1,2}"],
      ['userName eq "$where"', "$where"],
    ])("%s", (expression, value) => {
      expect(parseFilter(expression, schema)).toEqual(compare("userName", "eq", value));
    });
  });

  describe("rejects with InvalidFilterError", () => {
    it.each<[string, string, RegExp]>([
      ["an unknown attribute", 'favouriteColour eq "blue"', /Unknown.*favouriteColour/],
      ["an unknown sub-attribute", 'name.nickname eq "x"', /Unknown/],
      ["a path too deep", 'name.givenName.x eq "x"', /Unknown/],
      ["an unknown schema URN", 'urn:ietf:params:scim:schemas:extension:acme:2.0:User:badge eq "x"', /Unknown schema/],
      ["an extension attribute without its URN", 'department eq "Sales"', /Unknown/],
      ["meta attributes that are not stored", 'meta.resourceType eq "User"', /Unknown/],
      ["meta itself", "meta pr", /only its sub-attributes/],
      ["a write-only attribute", 'password eq "secret"', /Unknown/],
      ["an empty filter", "", /Malformed/],
      ["a missing value", "userName eq", /Malformed/],
      ["an unquoted string", "userName eq bjensen", /Malformed/],
      ["a missing operator", 'userName "bjensen"', /Malformed/],
      ["an unknown operator", 'userName like "b"', /Malformed/],
      ["an unbalanced parenthesis", '(userName eq "a"', /Malformed/],
      ["a dangling and", 'userName eq "a" and', /Malformed/],
      ["an unclosed string", 'userName eq "a', /Malformed/],
      ["ordering on a boolean", "active gt true", /"gt" cannot be used on boolean/],
      ["a substring operator on a boolean", 'active co "t"', /"co" cannot be used on boolean/],
      ["a substring operator on a dateTime", 'meta.created co "2020"', /"co" cannot be used on dateTime/],
      ["a string for a boolean", 'active eq "yes"', /must be true or false/],
      ["a number for a string", "userName eq 5", /must be a string/],
      ["an invalid date", 'meta.created gt "yesterday"', /must be a date-time/],
      ["a date that does not exist", 'meta.created gt "2024-02-30T00:00:00Z"', /must be a date-time/],
      ["a date without a time", 'meta.created gt "2024-02-01"', /must be a date-time/],
      ["null with an ordering operator", "displayName gt null", /null can only be compared/],
      ["a comparison on a single-valued complex attribute", 'name eq "x"', /complex attribute/],
      ["a value filter on a simple attribute", 'userName[value eq "x"]', /not a complex attribute/],
      ["a sub-attribute after a value filter", 'emails[type eq "work"].value eq "x"', /inside the brackets/],
      ["an invalid escape", 'userName eq "a\\qb"', /Invalid escape/],
    ])("%s: %s", (_, expression, message) => {
      const attempt = () => parseFilter(expression, schema);
      expect(attempt).toThrow(InvalidFilterError);
      expect(attempt).toThrow(message);
    });
  });

  it("reads a Group filter with the Group definition", () => {
    const groups = filterSchemaFromScimmy(SCIMMY.Schemas.Group.definition, { extensionPrefixes: {} });
    expect(parseFilter('displayName eq "Admins" and members[value eq "u-1"]', groups)).toEqual(
      and(compare("displayName", "eq", "Admins"), element("members", compare("value", "eq", "u-1"))),
    );
  });
});

describe("resolveAttributePath (sortBy, RFC 7644 §3.4.2.3)", () => {
  it.each<[string, ReturnType<typeof resolveAttributePath>]>([
    ["userName", { domainPath: "userName", type: "string", caseExact: false, multiValued: false }],
    ["USERNAME", { domainPath: "userName", type: "string", caseExact: false, multiValued: false }],
    ["urn:ietf:params:scim:schemas:core:2.0:User:name.familyName", { domainPath: "name.familyName", type: "string", caseExact: false, multiValued: false }],
    ["id", { domainPath: "id", type: "string", caseExact: true, multiValued: false }],
    ["meta.lastModified", { domainPath: "lastModified", type: "dateTime", caseExact: false, multiValued: false }],
    ["emails", { domainPath: "emails.value", type: "string", caseExact: false, multiValued: true }],
    ["emails.type", { domainPath: "emails.type", type: "string", caseExact: false, multiValued: true }],
    [`${ENTERPRISE}:manager.value`, { domainPath: "enterprise.manager.value", type: "string", caseExact: false, multiValued: false }],
  ])("%s", (path, expected) => {
    expect(resolveAttributePath(path, schema)).toEqual(expected);
  });

  it.each(["favouriteColour", "name", "meta", "meta.location", "department", "password"])("rejects %s", (path) => {
    expect(() => resolveAttributePath(path, schema)).toThrow(InvalidFilterError);
  });
});

describe("filterSchemaFromScimmy", () => {
  it("refuses an extension without a domain prefix, rather than making its attributes silently unknown", () => {
    expect(() => filterSchemaFromScimmy(userDefinition(), { extensionPrefixes: {} })).toThrow(ENTERPRISE);
  });
});

describe("checkFilterBounds (README: filter limits)", () => {
  const terms = (n: number) => Array.from({ length: n }, (_, i) => `userName eq "u${i}"`).join(" or ");

  it("accepts a filter at every limit", () => {
    expect(() => checkFilterBounds(terms(filterLimits.maxTerms))).not.toThrow();
    expect(() => checkFilterBounds(`${"(".repeat(filterLimits.maxDepth)}active pr${")".repeat(filterLimits.maxDepth)}`)).not.toThrow();
    expect(() => checkFilterBounds(`userName eq "${"x".repeat(filterLimits.maxLength - 15)}"`)).not.toThrow();
  });

  it.each([
    ["one term too many", terms(filterLimits.maxTerms + 1), /more than 100 attribute expressions/],
    ["one level too deep", `${"(".repeat(filterLimits.maxDepth + 1)}active pr${")".repeat(filterLimits.maxDepth + 1)}`, /more than 10 deep/],
    ["brackets count as depth", `${"(".repeat(filterLimits.maxDepth)}emails[type eq "w"]${")".repeat(filterLimits.maxDepth)}`, /more than 10 deep/],
    ["one character too long", `userName eq "${"x".repeat(filterLimits.maxLength - 13)}"`, /4097 characters long/],
  ])("refuses %s", (_, expression, message) => {
    expect(() => checkFilterBounds(expression)).toThrow(InvalidFilterError);
    expect(() => checkFilterBounds(expression)).toThrow(message);
  });

  it("does not count operator words, parentheses or escaped quotes inside string values", () => {
    const value = `"${'eq pr ( [ \\" '.repeat(60)}"`;
    expect(() => checkFilterBounds(`displayName eq ${value}`)).not.toThrow();
  });

  it("does not count attribute names that contain operator words", () => {
    expect(() => checkFilterBounds(Array.from({ length: 60 }, () => "preferredLanguage pr and emails.primary eq true").join(" or "))).toThrow(/more than 100/);
    expect(() => checkFilterBounds(Array.from({ length: 50 }, () => "preferredLanguage pr and emails.primary eq true").join(" or "))).not.toThrow();
  });

  it("runs parseFilter's check first", () => {
    expect(() => parseFilter(terms(filterLimits.maxTerms + 1), schema)).toThrow(/more than 100/);
  });
});

import SCIMMY from "scimmy";
import type mongoose from "mongoose";
import type { Criteria } from "../../src/domain/criteria";
import { filterSchemaFromScimmy, parseFilter } from "../../src/scim/filter";
import { InvalidError } from "../../src/errors";
import { criteriaToMongoQuery, MAX_QUERY_CONDITIONS, type FieldMapping, type MongoQuery } from "../../src/storage/criteria-query";
import { openTestDatabase } from "../support/database";

const ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

function userDefinition(): SCIMMY.Types.SchemaDefinition {
  const definition = SCIMMY.Schemas.User.definition;
  const extended = (definition.attributes as unknown[]).some(
    (a) => a instanceof SCIMMY.Types.SchemaDefinition && a.id === ENTERPRISE,
  );
  if (!extended) definition.extend(SCIMMY.Schemas.EnterpriseUser.definition);
  return definition;
}

const schema = filterSchemaFromScimmy(userDefinition(), { extensionPrefixes: { [ENTERPRISE]: "enterprise" } });
const mapping: Record<string, FieldMapping> = { id: { field: "_id" }, userName: { lowerCaseField: "userNameLower" } };
const day = (iso: string) => new Date(`${iso}T00:00:00Z`);

interface Person {
  _id: string;
  [field: string]: unknown;
}

const people: Person[] = [
  {
    _id: "u1", userName: "Barbara.Jensen", userNameLower: "barbara.jensen", name: { givenName: "Barbara" },
    emails: [{ value: "bjensen@example.com", type: "work", primary: true }, { value: "babs@home.org", type: "home", primary: false }],
    active: true, created: day("2024-01-10"), enterprise: { department: "Sales", manager: { value: "u3" } },
  },
  {
    _id: "u2", userName: "a.*+?()[]b", userNameLower: "a.*+?()[]b", name: { givenName: "M.eta" },
    emails: [{ value: "meta@example.com", type: "home" }, { value: "work@other.org", type: "work" }],
    active: false, created: day("2024-06-01"), enterprise: { department: "Engineering" },
  },
  {
    _id: "u3", userName: "Carol", userNameLower: "carol", name: { givenName: "" }, emails: [],
    active: true, created: day("2023-03-01"), enterprise: { department: "sales", manager: { value: "u9" } },
  },
  { _id: "u4", userName: "ab", userNameLower: "ab", name: { givenName: "Mxeta" }, active: true, created: day("2025-01-01") },
  {
    _id: "u5", userName: "DAVE", userNameLower: "dave", emails: [{ value: "Dave@Example.COM", type: "work" }, { type: "work" }],
    active: false, created: day("2024-03-01"),
  },
  {
    _id: "u6", userName: "Erin", userNameLower: "erin", name: { givenName: "Erin" },
    // The matching e-mail is the sixth element: element criteria must look past the first few.
    emails: [...[1, 2, 3, 4, 5].map((i) => ({ value: `e${i}@home.org`, type: "home" })), { value: "late@example.com", type: "work" }],
    active: true, created: day("2025-06-01"), enterprise: { department: "Support" },
  },
];

let drop: () => Promise<void>;
let collection: mongoose.mongo.Collection<Person>;

beforeAll(async () => {
  const db = await openTestDatabase();
  drop = db.drop;
  collection = db.connection.db!.collection<Person>("people");
  await collection.insertMany(people);
});

afterAll(async () => {
  await drop?.();
});

async function idsMatching(query: MongoQuery): Promise<string[]> {
  const found = await collection.find(query).toArray();
  return found.map((doc) => String(doc._id)).sort();
}

const queryFor = (expression: string, fields = mapping) => criteriaToMongoQuery(parseFilter(expression, schema), fields);

const table: [string, string[]][] = [
  // case-insensitive userName through its lower-cased copy (RFC 7643 §4.1.1)
  ['userName eq "barbara.jensen"', ["u1"]],
  ['USERNAME sw "BARB"', ["u1"]],
  ['userName ne "CAROL"', ["u1", "u2", "u4", "u5", "u6"]],
  ['userName gt "c"', ["u3", "u5", "u6"]],
  // regular-expression metacharacters in values are data
  ['userName eq "A.*+?()[]B"', ["u2"]],
  ['userName sw "a.*"', ["u2"]],
  ['userName co "()[]"', ["u2"]],
  ['userName ew "+?()[]b"', ["u2"]],
  // case-insensitive attributes without a lower-cased copy
  ['name.givenName eq "m.eta"', ["u2"]],
  ['name.givenName ne "m.eta"', ["u1", "u3", "u4", "u5", "u6"]],
  ["name.givenName pr", ["u1", "u2", "u4", "u6"]],
  // multi-valued attributes and element matches
  ['emails[type eq "work" and value co "@example.com"]', ["u1", "u5", "u6"]],
  ['emails[type eq "work"] and emails[value co "@example.com"]', ["u1", "u2", "u5", "u6"]],
  ['emails[type eq "work" and primary eq true]', ["u1"]],
  ['emails[not (type eq "work")]', ["u1", "u2", "u6"]],
  ['emails[value ew ".ORG" and not (type eq "home")]', ["u2"]],
  ['not (emails[type eq "work"])', ["u3", "u4"]],
  ['emails co "@EXAMPLE.com"', ["u1", "u2", "u5", "u6"]],
  ['emails.value eq "dave@example.com"', ["u5"]],
  ['emails.value ne "bjensen@example.com"', ["u1", "u2", "u5", "u6"]],
  ["emails.value pr", ["u1", "u2", "u5", "u6"]],
  ["emails pr", ["u1", "u2", "u5", "u6"]],
  ["not (emails pr)", ["u3", "u4"]],
  // booleans, null
  ["active eq true", ["u1", "u3", "u4", "u6"]],
  ["active ne true", ["u2", "u5"]],
  ["displayName eq null", ["u1", "u2", "u3", "u4", "u5", "u6"]],
  // dates compare as dates, whatever the zone the client wrote
  ['meta.created gt "2024-01-10T00:00:00Z"', ["u2", "u4", "u5", "u6"]],
  ['meta.created lt "2024-01-10T00:00:00Z"', ["u3"]],
  ['meta.created le "2024-01-10T00:00:00Z"', ["u1", "u3"]],
  ['meta.created eq "2024-01-10T00:00:00Z"', ["u1"]],
  ['meta.created ge "2024-03-01T01:00:00+01:00"', ["u2", "u4", "u5", "u6"]],
  // the enterprise extension
  [`${ENTERPRISE}:department eq "sales"`, ["u1", "u3"]],
  [`${ENTERPRISE}:manager.value eq "U3"`, ["u1"]],
  [`${ENTERPRISE}:department pr and not (${ENTERPRISE}:manager pr)`, ["u2", "u6"]],
  // id is stored as _id
  ['id eq "u2"', ["u2"]],
  ['id ne "u2"', ["u1", "u3", "u4", "u5", "u6"]],
  // logic is kept as written
  ['not (userName sw "b" and active eq true)', ["u2", "u3", "u4", "u5", "u6"]],
  ['userName eq "carol" or userName eq "dave" and active eq true', ["u3"]],
  ['(userName sw "b" or userName sw "c") and active eq true', ["u1", "u3"]],
];

describe("criteriaToMongoQuery on the test database", () => {
  it.each(table)("%s", async (expression, expected) => {
    await expect(idsMatching(queryFor(expression))).resolves.toEqual(expected);
  });

  it("searches element criteria only up to the attribute's maxItems", async () => {
    const expression = 'emails[type eq "work" and value sw "late@"]';
    await expect(idsMatching(queryFor(expression))).resolves.toEqual(["u6"]);
    await expect(idsMatching(queryFor(expression, { ...mapping, emails: { maxItems: 5 } }))).resolves.toEqual([]);
  });

  it("turns an or of exact equalities on one field into one $in, with the same answer", async () => {
    const query = queryFor('userName eq "CAROL" or userName eq "dave" or userName eq "nobody"');
    expect(query).toEqual({ userNameLower: { $in: ["carol", "dave", "nobody"] } });
    await expect(idsMatching(query)).resolves.toEqual(["u3", "u5"]);
    await expect(idsMatching(queryFor('id eq "u1" or id eq "u4"'))).resolves.toEqual(["u1", "u4"]);
  });

  it(`refuses a query of more than ${MAX_QUERY_CONDITIONS} conditions, counting value filters once per element position`, () => {
    // Built directly: the SCIM layer's own bound (100 terms as written) would refuse the text first.
    const titles = (n: number): Criteria => ({
      kind: "or",
      any: Array.from({ length: n }, (_, i) => ({ kind: "compare", path: "title", op: "eq", value: `t${i}`, type: "string", caseExact: false })),
    });
    expect(() => criteriaToMongoQuery(titles(MAX_QUERY_CONDITIONS), mapping)).not.toThrow();
    expect(() => criteriaToMongoQuery(titles(MAX_QUERY_CONDITIONS + 1), mapping)).toThrow(InvalidError);
    const valueFilter = (i: number) => `emails[type eq "work" and value eq "v${i}"]`;
    // 2 conditions × 20 positions each: two fit, three do not.
    expect(() => queryFor(`${valueFilter(1)} or ${valueFilter(2)}`)).not.toThrow();
    expect(() => queryFor(`${valueFilter(1)} or ${valueFilter(2)} or ${valueFilter(3)}`)).toThrow(/more than 100 conditions/);
  });

  it("uses only operators that MongoDB and FerretDB v1.24.2 both support", () => {
    const supported = new Set(["$and", "$or", "$nor", "$not", "$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists", "$regex", "$options", "$elemMatch"]);
    const operators = (value: unknown): string[] =>
      value === null || typeof value !== "object" || value instanceof Date
        ? []
        : Object.entries(value).flatMap(([key, inner]) => [...(key.startsWith("$") ? [key] : []), ...operators(inner)]);
    const used = new Set(table.flatMap(([expression]) => operators(queryFor(expression))));
    expect([...used].filter((operator) => !supported.has(operator))).toEqual([]);
  });
});

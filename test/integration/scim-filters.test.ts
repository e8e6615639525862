import { enterpriseSchema, errorSchema, scimClient, startTestApp, userSchema, type TestApp } from "../support/app";

/**
 * Every filter operator on every attribute type (RFC 7644 §3.4.2.2), through the real app and the
 * real database: GET /Users?filter=… and POST /Users/.search answer the same users. Expected
 * results are written out by hand from the fixtures below, not derived from the code under test.
 */
let t: TestApp;
let scim: ReturnType<typeof scimClient>;
const ENT = enterpriseSchema;
const groupSchema = "urn:ietf:params:scim:schemas:core:2.0:Group";

/** Short name → id, and the ids' creation timestamps (each user and group is created after the previous one). */
const ids: Record<string, string> = {};
const created: Record<string, string> = {};

const fixtures: Record<string, Record<string, unknown>> = {
  a: {
    schemas: [userSchema, ENT], userName: "alice@example.com", externalId: "ext-alice", displayName: "Alice Archer", title: "Engineer",
    name: { givenName: "Alice", familyName: "Archer" }, active: true,
    emails: [{ value: "alice@work.example", type: "work", primary: true }, { value: "alice@home.example", type: "home" }],
    phoneNumbers: [{ value: "+1 555 0100", type: "work" }],
    [ENT]: { department: "Engineering", employeeNumber: "100", manager: { value: "mgr-1" } },
  },
  b: {
    schemas: [userSchema, ENT], userName: "bob@example.com", displayName: "Bob Baker", active: false,
    emails: [{ value: "bob@work.example", type: "work" }], addresses: [{ locality: "Paris", type: "work" }],
    [ENT]: { department: "Sales" },
  },
  c: {
    schemas: [userSchema], userName: "carol@example.com", externalId: "ext-carol", title: "engineer", nickName: "CC", active: true, roles: [{ value: "admin" }],
    profileUrl: "https://example.com/carol", photos: [{ value: "https://example.com/carol.png", type: "photo" }], x509Certificates: [{ value: "MIIBCgKCAQEA" }],
  },
  d: {
    schemas: [userSchema, ENT], userName: "Dave@Example.com", externalId: "EXT-dave", displayName: "dave", userType: "Contractor", active: false,
    emails: [{ value: "dave@home.example", type: "home", primary: true }],
    [ENT]: { department: "engineering", employeeNumber: "200" },
  },
};

const pause = () => new Promise((resolve) => setTimeout(resolve, 5));

beforeAll(async () => {
  t = await startTestApp();
  scim = scimClient(t.app, (await t.organization("Filters Inc")).token);
  for (const [key, body] of Object.entries(fixtures)) {
    const res = await scim.post("/Users", body).expect(201);
    ids[key] = res.body.id;
    created[key] = res.body.meta.created;
    await pause();
  }
  const g1 = await scim.post("/Groups", { schemas: [groupSchema], displayName: "Engineers", externalId: "grp-eng", members: [{ value: ids.a }, { value: ids.c }] }).expect(201);
  await pause();
  const g2 = await scim.post("/Groups", { schemas: [groupSchema], displayName: "ops", members: [{ value: ids.d }] }).expect(201);
  ids.G1 = g1.body.id;
  ids.G2 = g2.body.id;
  // Created after the others (meta.created comparisons above): an empty group, and one with members.
  ids.G0 = (await scim.post("/Groups", { schemas: [groupSchema], displayName: "Nobody" }).expect(201)).body.id;
  ids.G3 = (await scim.post("/Groups", { schemas: [groupSchema], displayName: "Crowd", members: [{ value: ids.a }, { value: ids.c }] }).expect(201)).body.id;
  created.G1 = g1.body.meta.created;
  created.G2 = g2.body.meta.created;
});
afterAll(() => t.close());

/** `${b}` in an expression is the id of fixture b; `@{b}` its meta.created; `@{b+1}` the same instant written at +01:00. */
function expand(expression: string): string {
  return expression
    .replace(/@\{(\w+)\+1\}/g, (_, key: string) => new Date(Date.parse(created[key]) + 3_600_000).toISOString().replace("Z", "+01:00"))
    .replace(/@\{(\w+)\}/g, (_, key: string) => created[key])
    .replace(/\$\{(\w+)\}/g, (_, key: string) => ids[key]);
}

const userTable: [string, string[]][] = [
  // strings, caseExact false (userName through its lower-cased copy, others case-insensitively)
  ['userName eq "ALICE@example.com"', ["a"]],
  ['userName ne "alice@example.com"', ["b", "c", "d"]],
  ['userName co "OB@"', ["b"]],
  ['userName sw "c"', ["c"]],
  ['userName ew "@EXAMPLE.COM"', ["a", "b", "c", "d"]],
  ['userName gt "bob@example.com"', ["c", "d"]],
  ['userName ge "bob@example.com"', ["b", "c", "d"]],
  ['userName lt "bob@example.com"', ["a"]],
  ['userName le "bob@example.com"', ["a", "b"]],
  ['displayName eq "alice archer"', ["a"]],
  ['displayName ne "DAVE"', ["a", "b", "c"]],
  ['displayName co "BAKER"', ["b"]],
  ['displayName sw "al"', ["a"]],
  ['displayName ew "ER"', ["a", "b"]],
  ['title eq "ENGINEER"', ["a", "c"]],
  ['name.givenName eq "alice"', ["a"]],
  ['name.familyName co "RCH"', ["a"]],
  ['nickName eq "cc"', ["c"]],
  ['userType sw "contract"', ["d"]],
  // externalId is caseExact (RFC 7643 §3.1)
  ['externalId eq "ext-alice"', ["a"]],
  ['externalId eq "EXT-ALICE"', []],
  ['externalId ne "ext-alice"', ["b", "c", "d"]],
  ['externalId sw "ext-"', ["a", "c"]],
  ['externalId co "dave"', ["d"]],
  ['externalId ew "carol"', ["c"]],
  ['externalId gt "ext-b"', ["c"]],
  ['externalId le "ext-alice"', ["a", "d"]],
  ['id eq "${c}"', ["c"]],
  ['id ne "${c}"', ["a", "b", "d"]],
  // booleans
  ["active eq true", ["a", "c"]],
  ["active eq false", ["b", "d"]],
  ["active ne true", ["b", "d"]],
  ["emails.primary eq true", ["a", "d"]],
  // dateTimes compare as instants, whatever zone the client writes
  ['meta.created eq "@{b}"', ["b"]],
  ['meta.created ne "@{b}"', ["a", "c", "d"]],
  ['meta.created gt "@{b}"', ["c", "d"]],
  ['meta.created ge "@{b}"', ["b", "c", "d"]],
  ['meta.created lt "@{b}"', ["a"]],
  ['meta.created le "@{b}"', ["a", "b"]],
  ['meta.created ge "@{b+1}"', ["b", "c", "d"]],
  ['meta.lastModified ge "@{a}"', ["a", "b", "c", "d"]],
  // pr on every kind of attribute
  ["externalId pr", ["a", "c", "d"]],
  ["displayName pr", ["a", "b", "d"]],
  ["title pr", ["a", "c"]],
  ["nickName pr", ["c"]],
  ["userType pr", ["d"]],
  ["name pr", ["a"]],
  ["name.givenName pr", ["a"]],
  ["userName pr", ["a", "b", "c", "d"]],
  ["id pr", ["a", "b", "c", "d"]],
  ["active pr", ["a", "b", "c", "d"]],
  ["meta.created pr", ["a", "b", "c", "d"]],
  ["meta.lastModified pr", ["a", "b", "c", "d"]],
  ["emails pr", ["a", "b", "d"]],
  ["emails.value pr", ["a", "b", "d"]],
  ["emails.primary pr", ["a", "d"]],
  ["phoneNumbers pr", ["a"]],
  ["addresses.locality pr", ["b"]],
  ["roles pr", ["c"]],
  ["x509Certificates pr", ["c"]],
  ["profileUrl pr", ["c"]],
  ["photos.value pr", ["c"]],
  // references and binary values
  ['profileUrl sw "https://example.com/"', ["c"]],
  // profileUrl is caseExact false in the RFC 7643 §8.7.1 schema
  ['profileUrl eq "HTTPS://EXAMPLE.COM/CAROL"', ["c"]],
  ['photos[type eq "photo" and value ew ".png"]', ["c"]],
  ['x509Certificates.value eq "MIIBCgKCAQEA"', ["c"]],
  ['x509Certificates.value ne "MIIBCgKCAQEA"', []],
  ["groups pr", ["a", "c", "d"]],
  [`${ENT}:department pr`, ["a", "b", "d"]],
  [`${ENT}:employeeNumber pr`, ["a", "d"]],
  [`${ENT}:manager pr`, ["a"]],
  [`${ENT}:manager.value pr`, ["a"]],
  // pr combined with anything else
  ["externalId pr and active eq true", ["a", "c"]],
  ["externalId pr or displayName pr", ["a", "b", "c", "d"]],
  ["externalId pr and not (displayName pr)", ["c"]],
  ['title pr and userName sw "c"', ["c"]],
  ['(emails pr or roles pr) and externalId sw "ext"', ["a", "c"]],
  // multi-valued complex attributes
  ['emails[type eq "work"]', ["a", "b"]],
  ['emails[type eq "work" and value co "alice"]', ["a"]],
  ['emails[type eq "home" and primary eq true]', ["d"]],
  ['emails[type eq "work"] and emails[type eq "home"]', ["a"]],
  ['emails.value eq "BOB@work.example"', ["b"]],
  ['emails co "home.example"', ["a", "d"]],
  ['emails.value ne "alice@home.example"', ["a", "b", "d"]],
  ['addresses[locality eq "paris"]', ["b"]],
  ['phoneNumbers.value sw "+1"', ["a"]],
  ['roles[value eq "admin"]', ["c"]],
  ['groups[value eq "${G1}"]', ["a", "c"]],
  ['groups.value eq "${G2}"', ["d"]],
  // the enterprise extension
  [`${ENT}:department eq "engineering"`, ["a", "d"]],
  [`${ENT}:department sw "ENG"`, ["a", "d"]],
  [`${ENT}:department ne "sales"`, ["a", "c", "d"]],
  [`${ENT}:employeeNumber gt "150"`, ["d"]],
  [`${ENT}:manager.value eq "mgr-1"`, ["a"]],
  // not (…) anywhere
  ["not (active eq true)", ["b", "d"]],
  ["not (not (active eq true))", ["a", "c"]],
  ['active eq true and not (userName sw "a")', ["c"]],
  ['not (userName sw "a" or userName sw "b")', ["c", "d"]],
  ["not (externalId pr)", ["b"]],
  ["not (groups pr)", ["b"]],
  ["not (externalId pr and active eq true)", ["b", "d"]],
  ['not (emails[type eq "work"])', ["c", "d"]],
  ["emails[not (primary eq true)]", ["a", "b"]],
  ['emails[type eq "home" and not (primary eq true)]', ["a"]],
  [`not (${ENT}:department co "sales")`, ["a", "c", "d"]],
  ['(not (active eq false)) and externalId pr', ["a", "c"]],
  ['userName eq "carol@example.com" or not (title pr) and active eq true', ["c"]],
];

const groupTable: [string, string[]][] = [
  ['displayName eq "ENGINEERS"', ["G1"]],
  ['displayName co "E"', ["G1"]],
  ['displayName sw "o"', ["G2"]],
  ['displayName ne "ops"', ["G0", "G1", "G3"]],
  ["externalId pr", ["G1"]],
  ["not (externalId pr)", ["G0", "G2", "G3"]],
  ['externalId eq "grp-eng"', ["G1"]],
  ['externalId pr and displayName sw "eng"', ["G1"]],
  ['meta.created ge "@{G2}"', ["G0", "G2", "G3"]],
  ['meta.created lt "@{G2}"', ["G1"]],
  ["meta.lastModified pr", ["G0", "G1", "G2", "G3"]],
  ['members[value eq "${a}"]', ["G1", "G3"]],
  ['members[value eq "${d}"] or displayName eq "engineers"', ["G1", "G2"]],
  ['not (members[value eq "${d}"])', ["G0", "G1", "G3"]],
  ["members pr", ["G1", "G2", "G3"]],
  ["members.value pr", ["G1", "G2", "G3"]],
  ["not (members pr)", ["G0"]],
  ['members pr and displayName sw "e"', ["G1"]],
];

function names(resources: { id: string }[]): string[] {
  const byId = Object.fromEntries(Object.entries(ids).map(([key, id]) => [id, key]));
  return resources.map((r) => byId[r.id] ?? r.id).sort();
}

describe("filters on Users (RFC 7644 §3.4.2.2)", () => {
  it.each(userTable)("GET %s", async (expression, expected) => {
    const res = await scim.get(`/Users?filter=${encodeURIComponent(expand(expression))}`);
    expect({ status: res.status, users: names(res.body.Resources ?? []) }).toEqual({ status: 200, users: expected });
    expect(res.body.totalResults).toBe(expected.length);
  });

  it.each(userTable)("POST /.search %s", async (expression, expected) => {
    const res = await scim.post("/Users/.search", { schemas: ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], filter: expand(expression) });
    expect({ status: res.status, users: names(res.body.Resources ?? []) }).toEqual({ status: 200, users: expected });
  });
});

describe("filters on Groups", () => {
  it.each(groupTable)("GET %s", async (expression, expected) => {
    const res = await scim.get(`/Groups?filter=${encodeURIComponent(expand(expression))}&excludedAttributes=members`);
    expect({ status: res.status, groups: names(res.body.Resources ?? []) }).toEqual({ status: 200, groups: expected });
  });
});

describe("filters that cannot be answered", () => {
  it.each([
    ["userName eq"],
    ['active eq "true"'],
    ['meta.created gt "yesterday"'],
    ['userName xx "a"'],
    ['(userName eq "a"'],
    ['groups.display eq "Engineers"'],
    ['emails[type eq "work"].value eq "x"'],
    ["password pr"],
    ['x509Certificates.value co "MII"'],
    ['meta.created co "2024"'],
    ["active gt true"],
    ['meta.version eq "W/\"1\""'],
  ])("answers 400 invalidFilter to %s", async (expression) => {
    const res = await scim.get(`/Users?filter=${encodeURIComponent(expression)}`);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ schemas: [errorSchema], status: "400", scimType: "invalidFilter" });
  });
});

describe("filter cost is bounded (README: filter limits)", () => {
  const terms = (n: number) => Array.from({ length: n }, (_, i) => `userName eq "u${i}@example.com"`).join(" or ");
  const search = (filter: string) => scim.post("/Users/.search", { schemas: ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], filter });

  it("answers a filter of 100 terms", async () => {
    const res = await scim.get(`/Users?filter=${encodeURIComponent(`${terms(99)} or userName eq "carol@example.com"`)}`).expect(200);
    expect(names(res.body.Resources)).toEqual(["c"]);
  });

  it.each([
    ["101 terms", terms(101), /more than 100 attribute expressions/],
    ["11 levels of parentheses", `${"(".repeat(11)}active pr${")".repeat(11)}`, /more than 10 deep/],
    ["4,097 characters", `userName eq "${"x".repeat(4097 - 14)}"`, /4097 characters/],
  ])("answers 400 invalidFilter to %s, on GET and on POST /.search", async (_, filter, message) => {
    for (const res of [await scim.get(`/Users?filter=${encodeURIComponent(filter)}`), await search(filter), await scim.get(`/Groups?filter=${encodeURIComponent(filter)}`)]) {
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ schemas: [errorSchema], status: "400", scimType: "invalidFilter", detail: expect.stringMatching(message) });
    }
  });

  it("answers 400 invalidFilter when the filter would need more than 100 database conditions", async () => {
    const valueFilters = [1, 2, 3].map((i) => `emails[type eq "work" and value eq "v${i}@example.com"]`).join(" or ");
    for (const res of [await scim.get(`/Users?filter=${encodeURIComponent(valueFilters)}`), await search(valueFilters)]) {
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ schemas: [errorSchema], scimType: "invalidFilter", detail: expect.stringMatching(/more than 100 conditions/) });
    }
  });

  it("refuses a 20,000-term filter at once, without parsing it", async () => {
    const filter = Array.from({ length: 20_000 }, () => "active pr").join(" or ");
    const started = Date.now();
    const res = await search(filter);
    expect(res.status).toBe(400);
    expect(res.body.scimType).toBe("invalidFilter");
    // Parsing alone took seconds; the bound check is one pass over the characters.
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

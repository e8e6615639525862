import request from "supertest";
import { serviceProviderUrls, type SamlSubjectKey } from "../../src/domain/saml";
import { TestIdentityProvider, type ResponseOptions } from "../support/saml-idp";
import { buildUser, operator, scimClient, startTestApp, type TestApp } from "../support/app";
import { Browser } from "../support/saml-browser";

/**
 * Issue 9 §1: only the person the identity provider named signs in. Every answer here is correctly
 * signed by the trusted key and answers a request this browser started: what is tested is who the
 * connection's subject key lets in — never a member named only by an email attribute, a case
 * variant of a non-email userName, a Unicode look-alike, or a value with a trailing dot or space.
 */

let t: TestApp;
let org: { id: string; token: string };
let idp: TestIdentityProvider;
let browser: Browser;
let owner: string;
let alice: string;
let opsBot: string;
let kate: string;

const ENTRA_EMAIL = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress";
const OBJECT_ID = "http://schemas.microsoft.com/identity/claims/objectidentifier";
const ctx = () => ({ ...operator, organizationId: org.id });

async function configure(options: { jit?: boolean; subject?: SamlSubjectKey } = {}) {
  await t.services.saml.configure(ctx(), {
    idpEntityId: idp.entityId,
    ssoUrl: idp.ssoUrl,
    certificates: [idp.key.certificate],
    jit: options.jit ?? false,
    subject: options.subject ?? { source: "nameId" },
  });
}

/** A complete SP-initiated sign-in in the person's browser. */
async function signIn(nameId: string, options: Partial<ResponseOptions> = {}) {
  const login = await browser.get(`/auth/saml/${org.id}/login`);
  expect(login.status).toBe(302);
  const inResponseTo = TestIdentityProvider.requestIdOf(login.headers.location!);
  return browser.postForm(`/auth/saml/${org.id}/acs`, { SAMLResponse: idp.response({ nameId, inResponseTo, ...options }) });
}

const sessionCookie = (res: request.Response) =>
  ([] as string[])
    .concat(res.headers["set-cookie"] ?? [])
    .find((c) => c.includes("gatehouse_session="))
    ?.split(";")[0];

/** Who the session a sign-in started belongs to. */
async function signedInAs(res: request.Response): Promise<string> {
  expect(res.status).toBe(303);
  const session = await request(t.app).get("/api/v1/session").set("Cookie", sessionCookie(res)!).expect(200);
  return session.body.user.id as string;
}

async function refusals(): Promise<{ after: { reason: string; detail?: string } }[]> {
  return (await t.db.models.AuditEvent.find({ organizationId: org.id, action: "saml.sign_in_refused" }).sort({ at: 1 }).lean()) as never;
}

/** A refusal page, no session, and one more `saml.sign_in_refused` with reason unknown_subject. */
async function expectUnknownSubject(res: request.Response | Promise<request.Response>) {
  const before = (await refusals()).length;
  const answer = await res;
  expect(answer.status).toBe(403);
  expect(answer.headers["content-type"]).toMatch(/text\/html/);
  expect(answer.text).toMatch(/You do not have an account in this organization/);
  expect(sessionCookie(answer)).toBeUndefined();
  const after = await refusals();
  expect(after.length).toBeGreaterThanOrEqual(before + 1);
  expect(after.at(-1)?.after.reason).toBe("unknown_subject");
}

const userCount = () => t.db.models.User.countDocuments({ organizationId: org.id });

beforeAll(async () => {
  t = await startTestApp();
  const created = await t.services.organizations.create("Takeover Co", operator, { ownerEmail: "owner@acme.example" });
  org = { id: created.organization.id, token: created.scimToken.token };
  owner = created.owner!.id;
  idp = new TestIdentityProvider(serviceProviderUrls(t.config.publicBaseUrl, org.id));
  browser = new Browser(t.app);
  const scim = scimClient(t.app, org.token);
  alice = (await scim.post("/Users", buildUser({ userName: "alice@acme.example", externalId: "7d1c9a52-0000-4000-8000-00000000a11c" })).expect(201)).body.id;
  opsBot = (await scim.post("/Users", buildUser({ userName: "Ops-Bot" })).expect(201)).body.id;
  kate = (await scim.post("/Users", buildUser({ userName: "kate@acme.example" })).expect(201)).body.id;
  await configure();
});
afterAll(() => t.close());

describe("the NameID is the subject key (the default): matched against userName", () => {
  test("a stranger's NameID with a member's userName as email attribute is refused, the Owner included", async () => {
    await expectUnknownSubject(signIn("stranger@other.example", { attributes: { email: ["owner@acme.example"] } }));
    await expectUnknownSubject(signIn("stranger@other.example", { attributes: { [ENTRA_EMAIL]: ["alice@acme.example"], mail: ["alice@acme.example"] } }));
    expect((await refusals()).at(-1)?.after.detail).toMatch(/stranger@other\.example/);
  });

  test("an opaque persistent NameID carrying a member's email as attribute is refused", async () => {
    await expectUnknownSubject(signIn("00u1k3x9qzABCDEF0h8", { attributes: { email: ["owner@acme.example"] } }));
    await expectUnknownSubject(signIn("AAAAAAAAAAAAAAAAAAAAAIbK7yQ3VrwFm-Zr5kJg3mQ", { attributes: { [ENTRA_EMAIL]: ["alice@acme.example"] } }));
  });

  test("with JIT on, the stranger becomes a new member of their own; the member named by the email is untouched", async () => {
    await configure({ jit: true });
    try {
      const ownerBefore = await t.services.users.get(ctx(), owner);
      const who = await signedInAs(await signIn("stranger@other.example", { attributes: { email: ["owner@acme.example"] } }));
      expect(who).not.toBe(owner);
      expect(await t.services.users.get(ctx(), who)).toMatchObject({ userName: "stranger@other.example", managedBy: "saml" });
      expect(await t.services.users.get(ctx(), owner)).toEqual(ownerBefore);
    } finally {
      await configure();
    }
  });

  test("NameID and email attribute disagreeing: the NameID decides, in both directions", async () => {
    expect(await signedInAs(await signIn("alice@acme.example", { attributes: { email: ["owner@acme.example"] } }))).toBe(alice);
    await expectUnknownSubject(signIn("nobody@acme.example", { attributes: { email: ["alice@acme.example"] } }));
  });

  test("an email-shaped NameID matches its member in any ASCII case", async () => {
    expect(await signedInAs(await signIn("ALICE@Acme.Example"))).toBe(alice);
  });

  test("a non-email userName matches exactly only: another case is refused, with or without JIT", async () => {
    expect(await signedInAs(await signIn("Ops-Bot"))).toBe(opsBot);
    await expectUnknownSubject(signIn("ops-bot"));
    await configure({ jit: true });
    try {
      const count = await userCount();
      await expectUnknownSubject(signIn("OPS-BOT"));
      expect(await userCount()).toBe(count);
      expect(await t.services.users.get(ctx(), opsBot)).toMatchObject({ userName: "Ops-Bot", managedBy: "scim" });
    } finally {
      await configure();
    }
  });

  test.each([
    ["a Cyrillic а", "\u0430lice@acme.example"],
    ["a Cyrillic е in the domain", "alice@acm\u0435.example"],
    ["a fullwidth letter", "\uff41lice@acme.example"],
    ["a trailing dot", "alice@acme.example."],
    ["a trailing space", "alice@acme.example "],
    ["a leading space", " alice@acme.example"],
    ["a trailing non-breaking space", "alice@acme.example\u00a0"],
    ["a zero-width space", "alice@acme\u200b.example"],
  ])("a look-alike of a member's userName (%s) is refused", async (_what, nameId) => {
    await expectUnknownSubject(signIn(nameId));
  });

  test("the Kelvin sign, which the case-insensitive userName key folds into a K, is refused even with JIT on", async () => {
    await expectUnknownSubject(signIn("\u212aate@acme.example"));
    // Found by the store's folded key, refused by the exact rule (not merely "not found").
    expect((await refusals()).at(-1)?.after.detail).toMatch(new RegExp(`differs from the userName of member ${kate}`));
    await configure({ jit: true });
    try {
      const count = await userCount();
      await expectUnknownSubject(signIn("\u212aATE@acme.example"));
      expect(await userCount()).toBe(count);
      expect(await t.services.users.get(ctx(), kate)).toMatchObject({ userName: "kate@acme.example", managedBy: "scim" });
    } finally {
      await configure();
    }
  });

  test("with JIT on, a look-alike never signs in as the member: it is refused or becomes a member of its own", async () => {
    await configure({ jit: true });
    try {
      for (const nameId of ["\u0430lice@acme.example", "alice@acme.example.", "alice@acme.example "]) {
        const res = await signIn(nameId);
        if (res.status === 303) expect(await signedInAs(res)).not.toBe(alice);
        else expect((await refusals()).at(-1)?.after.reason).toBe("unknown_subject");
      }
      expect(await t.services.users.findByUserName(ctx(), "alice@acme.example ")).toBeUndefined();
    } finally {
      await configure();
    }
  });
});

describe("an attribute is the subject key (Entra ID's object id): matched against externalId", () => {
  const aliceObjectId = "7d1c9a52-0000-4000-8000-00000000a11c";

  beforeAll(() => configure({ subject: { source: "attribute", attribute: OBJECT_ID } }));
  afterAll(() => configure());

  test("the member with that externalId signs in, whatever the NameID says", async () => {
    expect(await signedInAs(await signIn("owner@acme.example", { attributes: { [OBJECT_ID]: [aliceObjectId] } }))).toBe(alice);
  });

  test("without the attribute there is no fallback to the NameID nor to an email attribute", async () => {
    await expectUnknownSubject(signIn("alice@acme.example"));
    await expectUnknownSubject(signIn("alice@acme.example", { attributes: { email: ["alice@acme.example"] } }));
    expect((await refusals()).at(-1)?.after.detail).toMatch(/objectidentifier has 0 values/);
  });

  test("several values, another case of the id or an unknown id are refused", async () => {
    await expectUnknownSubject(signIn("alice@acme.example", { attributes: { [OBJECT_ID]: [aliceObjectId, "00000000-0000-4000-8000-000000000000"] } }));
    await expectUnknownSubject(signIn("alice@acme.example", { attributes: { [OBJECT_ID]: [aliceObjectId.toUpperCase()] } }));
    await expectUnknownSubject(signIn("alice@acme.example", { attributes: { [OBJECT_ID]: ["00000000-0000-4000-8000-000000000000"] } }));
  });

  test("with JIT on, an unknown id becomes a member with that externalId; a NameID that is another member's userName is refused, never linked", async () => {
    await configure({ jit: true, subject: { source: "attribute", attribute: OBJECT_ID } });
    try {
      const who = await signedInAs(await signIn("newcomer@acme.example", { attributes: { [OBJECT_ID]: ["11111111-0000-4000-8000-000000000001"] } }));
      expect(await t.services.users.get(ctx(), who)).toMatchObject({ userName: "newcomer@acme.example", externalId: "11111111-0000-4000-8000-000000000001", managedBy: "saml" });
      const ownerBefore = await t.services.users.get(ctx(), owner);
      await expectUnknownSubject(signIn("owner@acme.example", { attributes: { [OBJECT_ID]: ["22222222-0000-4000-8000-000000000002"] } }));
      expect((await refusals()).at(-1)?.after.detail).toMatch(/belongs to another member/);
      expect(await t.services.users.get(ctx(), owner)).toEqual(ownerBefore);
      expect(await t.services.users.findByExternalId(ctx(), "22222222-0000-4000-8000-000000000002")).toEqual([]);
    } finally {
      await configure({ subject: { source: "attribute", attribute: OBJECT_ID } });
    }
  });
});

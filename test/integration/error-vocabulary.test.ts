import request from "supertest";
import { runCommand } from "../../src/cli/commands";
import {
  ConcurrentChangeError,
  ConflictError,
  ForbiddenError,
  InvalidError,
  NotFoundError,
  PolicyRefusedError,
  SeatLimitReachedError,
  TooManyRequestsError,
  UnauthenticatedError,
  UnavailableError,
  VersionMismatchError,
  httpStatusOf,
} from "../../src/errors";
import { errorAnswerOf } from "../../src/http/error-handler";
import { scimAnswerOf } from "../../src/scim/errors";
import { scimClient, startTestApp, type TestApp } from "../support/app";

/**
 * Issue 11 item 5: one error vocabulary (src/errors/), one mapping from its kinds to HTTP statuses,
 * and each edge deciding only the shape of its answer. The table below is written out by hand,
 * not derived from the code under test.
 */
describe("the error vocabulary's statuses", () => {
  it.each([
    ["NotFoundError", 404, new NotFoundError("gone")],
    ["ConflictError", 409, new ConflictError("taken", "userName")],
    ["ConcurrentChangeError", 409, new ConcurrentChangeError("others kept winning")],
    ["InvalidError", 400, new InvalidError("bad")],
    ["ForbiddenError", 403, new ForbiddenError("no")],
    ["SeatLimitReachedError", 403, new SeatLimitReachedError(3)],
    ["PolicyRefusedError managed_by_identity_provider", 409, new PolicyRefusedError("managed_by_identity_provider", "managed")],
    ["PolicyRefusedError owner_protected", 403, new PolicyRefusedError("owner_protected", "owner")],
    ["UnauthenticatedError", 401, new UnauthenticatedError("who?")],
    ["VersionMismatchError", 412, new VersionMismatchError("stale")],
    ["TooManyRequestsError", 429, new TooManyRequestsError("slow down", 17)],
    ["UnavailableError", 503, new UnavailableError("The database is unavailable")],
  ])("answers %s with %i at every edge", (_name, status, error) => {
    expect(httpStatusOf[error.kind]).toBe(status);
    expect(errorAnswerOf(error).status).toBe(status);
    expect(scimAnswerOf(error).status).toBe(status);
  });

  it("tells a client how long to wait on 429 (the limit's own) and 503 (5 s), and on nothing else", () => {
    expect(errorAnswerOf(new TooManyRequestsError("slow down", 17)).retryAfterSeconds).toBe(17);
    expect(scimAnswerOf(new TooManyRequestsError("slow down", 17)).retryAfterSeconds).toBe(17);
    expect(errorAnswerOf(new UnavailableError("down")).retryAfterSeconds).toBe(5);
    expect(scimAnswerOf(new UnavailableError("down")).retryAfterSeconds).toBe(5);
    expect(errorAnswerOf(new NotFoundError("gone")).retryAfterSeconds).toBeUndefined();
  });

  it("gives the SCIM scimType of RFC 7644 §3.12 by kind, and none where no type fits", () => {
    expect(scimAnswerOf(new ConflictError("taken")).scimType).toBe("uniqueness");
    expect(scimAnswerOf(new ConcurrentChangeError("retry")).scimType).toBeUndefined();
    expect(scimAnswerOf(new InvalidError("bad")).scimType).toBe("invalidValue");
    expect(scimAnswerOf(new InvalidError("bad filter", "query")).scimType).toBe("invalidFilter");
    expect(scimAnswerOf(new UnavailableError("The database is unavailable"))).toEqual({
      status: 503,
      detail: "The service is temporarily unavailable; retry later",
      retryAfterSeconds: 5,
    });
  });

  it("answers anything outside the vocabulary with a 500 that tells nothing of its cause", () => {
    const answer = errorAnswerOf(new TypeError("Cannot read properties of undefined (reading 'secret')"));
    expect(answer).toMatchObject({ status: 500, code: "internal", message: "Internal server error" });
    expect(scimAnswerOf(new TypeError("x"))).toMatchObject({ status: 500, detail: "Internal server error" });
  });

  it("keeps the 4xx a body parser gave its refusal", () => {
    const tooLarge = Object.assign(new Error("request entity too large"), { status: 413, expose: true, type: "entity.too.large", limit: 1024 });
    expect(errorAnswerOf(tooLarge)).toMatchObject({ status: 413, code: "payload_too_large" });
  });
});

/**
 * The database becomes unreachable while a request is already past authentication: the failure is
 * raised inside each edge's handlers (inside scimmy for SCIM), and every edge answers a real 503
 * with Retry-After in its own shape. The fault is injected at the service seam; the database
 * itself stays up, so authentication and the audit trail are real.
 */
describe("an unreachable database at each edge", () => {
  let t: TestApp;
  let org: { id: string; token: string };
  let serviceToken: string;
  const unavailable = async (): Promise<never> => {
    throw new UnavailableError("The database is unavailable");
  };

  beforeAll(async () => {
    t = await startTestApp();
    org = await t.organization("Outage Co");
    serviceToken = JSON.parse((await runCommand(t.services, ["service-token", "create", "--org", org.id, "--json"])).stdout[0]!).token;
  });
  afterAll(() => t.close());

  async function during<T>(target: object, method: string, run: () => Promise<T>): Promise<T> {
    const holder = target as Record<string, unknown>;
    const original = holder[method];
    holder[method] = unavailable;
    try {
      return await run();
    } finally {
      holder[method] = original;
    }
  }

  it("SCIM: a list raised inside scimmy is 503 with Retry-After and a SCIM error body, not scimmy's 404", async () => {
    const res = await during(t.services.users, "list", () => scimClient(t.app, org.token).get("/Users?count=5"));
    expect(res.status).toBe(503);
    expect(res.headers["content-type"]).toMatch(/^application\/scim\+json/);
    expect(res.headers["retry-after"]).toBe("5");
    expect(res.body).toEqual({
      schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"],
      status: "503",
      detail: "The service is temporarily unavailable; retry later",
    });
  });

  it("SCIM Bulk: an operation that meets the outage answers 503 in its own result", async () => {
    const res = await during(t.services.users, "get", () =>
      scimClient(t.app, org.token).post("/Bulk", {
        schemas: ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        Operations: [{ method: "DELETE", path: "/Users/some-id" }],
      }),
    );
    expect(res.status).toBe(200);
    expect(res.body.Operations).toHaveLength(1);
    expect(res.body.Operations[0].status).toBe("503");
    expect(res.body.Operations[0].response).toMatchObject({ status: "503", detail: "The service is temporarily unavailable; retry later" });
  });

  it("admin API: 503 unavailable in its JSON shape, with Retry-After", async () => {
    const res = await during(t.services.members, "view", () => request(t.app).get("/api/v1/users/anyone").set("Authorization", `Bearer ${serviceToken}`));
    expect(res.status).toBe(503);
    expect(res.headers["retry-after"]).toBe("5");
    expect(res.body).toEqual({ error: { code: "unavailable", message: "The database is unavailable" } });
  });

  it("SAML: the refusal page says to try again in a moment, with Retry-After", async () => {
    const res = await during(t.services.organizations, "get", () => request(t.app).get(`/auth/saml/${org.id}/metadata`));
    expect(res.status).toBe(503);
    expect(res.headers["retry-after"]).toBe("5");
    expect(res.headers["content-type"]).toMatch(/^text\/html/);
    expect(res.text).toContain("Try again in a moment");
    expect(res.text).not.toContain("database");
  });
});

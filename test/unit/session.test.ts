import { Writable } from "node:stream";
import { defaultSessionTimeouts, sessionRefusal, type Session } from "../../src/domain/session";
import { createLogger } from "../../src/http/logger";
import { csrfTokenOf, isValidCsrfToken } from "../../src/services/sessions";

describe("sessionRefusal", () => {
  const start = new Date("2026-01-01T08:00:00Z");
  const at = (minutes: number) => new Date(start.getTime() + minutes * 60_000);
  const session: Session = {
    id: "s",
    organizationId: "o",
    userId: "u",
    userEpoch: 2,
    via: "saml",
    secretHash: "h",
    createdAt: start,
    lastSeenAt: start,
    absoluteExpiresAt: at(12 * 60),
  };
  const user = { active: true, sessionEpoch: 2 };
  type Row = [string, Partial<Session>, { active: boolean; suspended?: boolean; sessionEpoch?: number } | undefined, number, RegExp | undefined];

  it.each<Row>([
    ["a fresh session of an active user", {}, user, 1, undefined],
    ["29 minutes after the last request", {}, user, 29, undefined],
    ["30 minutes after the last request", {}, user, 30, /30 minutes without activity/],
    ["a busy session just before 12 hours", { lastSeenAt: at(12 * 60 - 5) }, user, 12 * 60 - 1, undefined],
    ["a busy session at 12 hours", { lastSeenAt: at(12 * 60 - 5) }, user, 12 * 60, /at most 12 hours/],
    ["a signed-out session", { endedAt: at(1) }, user, 2, /signed out/],
    ["a session whose user is gone", {}, undefined, 1, /no longer exists/],
    ["a session of a deactivated user", {}, { ...user, active: false, sessionEpoch: 3 }, 1, /deactivated/],
    ["a session of a suspended user", {}, { ...user, suspended: true, sessionEpoch: 3 }, 1, /suspended/],
    ["a session from before sign-out everywhere", {}, { ...user, sessionEpoch: 3 }, 1, /signing out everywhere/],
    ["a session from before a reactivation", {}, { active: true, sessionEpoch: 4 }, 1, /signing out everywhere/],
    ["a first session of a user who never had an epoch", { userEpoch: 0 }, { active: true }, 1, undefined],
  ])("%s", (_title, changes, who, minutes, expected) => {
    const refusal = sessionRefusal({ ...session, ...changes }, who, defaultSessionTimeouts, at(minutes));
    if (expected) expect(refusal).toMatch(expected);
    else expect(refusal).toBeUndefined();
  });
});

describe("the CSRF token", () => {
  const cookie = (secret: string) => `${"a".repeat(32)}.${secret}`;

  it("is derived from the cookie's secret: the same for the session, different for another", () => {
    const a = cookie("A".repeat(43));
    expect(csrfTokenOf(a)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(csrfTokenOf(a)).toBe(csrfTokenOf(a));
    expect(csrfTokenOf(cookie("B".repeat(43)))).not.toBe(csrfTokenOf(a));
    expect(csrfTokenOf("not a cookie")).toBeUndefined();
  });

  it("accepts exactly the session's token", () => {
    const a = cookie("A".repeat(43));
    expect(isValidCsrfToken(a, csrfTokenOf(a))).toBe(true);
    expect(isValidCsrfToken(a, csrfTokenOf(cookie("B".repeat(43))))).toBe(false);
    expect(isValidCsrfToken(a, undefined)).toBe(false);
    expect(isValidCsrfToken(a, "short")).toBe(false);
    expect(isValidCsrfToken("not a cookie", "anything")).toBe(false);
  });
});

describe("the logger", () => {
  it("redacts cookies, set-cookie headers and session values", () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = createLogger("info", sink);
    const secret = "0123456789abcdef0123456789abcdef.SECRETSECRETSECRETSECRETSECRETSECRETSECRET";
    logger.info({ req: { headers: { cookie: `__Host-gatehouse_session=${secret}`, authorization: `Bearer ${secret}` } } }, "request");
    logger.info({ res: { headers: { "set-cookie": [`__Host-gatehouse_session=${secret}`] } } }, "response");
    logger.info({ headers: { cookie: secret } }, "bare headers");
    logger.info({ started: { cookieValue: secret, csrfToken: secret } }, "started");
    expect(lines).toHaveLength(4);
    for (const line of lines) expect(line).not.toContain("SECRET");
  });
});

import { createHash } from "node:crypto";
import request from "supertest";
import { PAGE_STYLE } from "../../src/saml/pages";
import { startTestApp, type TestApp } from "../support/app";

/**
 * The security headers of what Gatehouse serves (issue 14): its own pages carry a
 * Content-Security-Policy without inline scripts whose one inline stylesheet is allowed by its
 * hash, no framing, no referrer, and HSTS when the public address is https.
 */

let https: TestApp;
let http: TestApp;

beforeAll(async () => {
  [https, http] = await Promise.all([startTestApp(), startTestApp({ PUBLIC_BASE_URL: "http://localhost:8080" })]);
});
afterAll(async () => {
  await Promise.all([https.close(), http.close()]);
});

const directives = (policy: string) => new Map(policy.split(";").map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name!, values]));

describe("security headers", () => {
  it("give Gatehouse's pages a policy without inline scripts, allowing exactly their stylesheet by its hash", async () => {
    const org = await https.organization("Headers Co");
    // A page: no SAML connection configured.
    const page = await request(https.app).get(`/auth/saml/${org.id}/login`).expect(404);
    expect(page.type).toBe("text/html");
    const policy = directives(page.headers["content-security-policy"]!);
    expect(policy.get("default-src")).toEqual(["'none'"]);
    expect(policy.get("frame-ancestors")).toEqual(["'none'"]);
    expect(policy.get("base-uri")).toEqual(["'none'"]);
    expect(policy.has("script-src")).toBe(false);
    expect(page.headers["content-security-policy"]).not.toContain("unsafe-inline");
    // The hash in the policy is the hash of the <style> the page actually carries.
    const style = /<style>([\s\S]*?)<\/style>/.exec(page.text)![1]!;
    expect(style).toBe(PAGE_STYLE);
    expect(policy.get("style-src")).toEqual([`'sha256-${createHash("sha256").update(style).digest("base64")}'`]);
    expect(page.text).not.toMatch(/<script/i);
    expect(page.headers["referrer-policy"]).toBe("no-referrer");
    expect(page.headers["x-frame-options"]).toBe("DENY");
    expect(page.headers["x-content-type-options"]).toBe("nosniff");
  });

  it("send HSTS when the public address is https, and not over plain http", async () => {
    const secure = await request(https.app).get("/healthz").expect(200);
    expect(secure.headers["strict-transport-security"]).toBe("max-age=31536000");
    const plain = await request(http.app).get("/healthz").expect(200);
    expect(plain.headers["strict-transport-security"]).toBeUndefined();
    expect(plain.headers["content-security-policy"]).toContain("frame-ancestors 'none'");
  });

  it("cover the API's answers and the sign-in link's pages too", async () => {
    const api = await request(https.app).post("/api/v1/sign-in/discover").send({ email: "a@b.example" }).expect(200);
    expect(api.headers["content-security-policy"]).toContain("default-src 'none'");
    const link = await request(https.app).get("/auth/sign-in-link/0123").expect(404);
    expect(link.headers["content-security-policy"]).toContain("form-action 'self'");
    expect(link.headers["referrer-policy"]).toBe("no-referrer");
  });
});

import type { Express } from "express";
import request from "supertest";

/**
 * One browser's cookie jar for SAML tests: it keeps what Gatehouse sets (including the `__Host-`
 * and `Secure` cookies supertest's agent would drop over plain http) and sends it back, so a test
 * can hold two browsers — the person's and an attacker's — side by side.
 */
export class Browser {
  readonly cookies = new Map<string, string>();
  /** Every Set-Cookie header received, in order, for tests that check attributes. */
  readonly setCookies: string[] = [];

  constructor(private readonly app: Express) {}

  private cookieHeader(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; ");
  }

  private keep(res: request.Response): request.Response {
    for (const header of ([] as string[]).concat(res.headers["set-cookie"] ?? [])) {
      this.setCookies.push(header);
      const [pair, ...attributes] = header.split(";");
      const separator = pair!.indexOf("=");
      const name = pair!.slice(0, separator).trim();
      const value = pair!.slice(separator + 1).trim();
      const expired = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a) || (/^\s*expires=/i.test(a) && Date.parse(a.split("=")[1]!) <= Date.now()));
      if (!value || expired) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return res;
  }

  async get(path: string): Promise<request.Response> {
    const req = request(this.app).get(path);
    return this.keep(await (this.cookies.size ? req.set("Cookie", this.cookieHeader()) : req));
  }

  async postForm(path: string, form: Record<string, string>): Promise<request.Response> {
    const req = request(this.app).post(path).type("form");
    return this.keep(await (this.cookies.size ? req.set("Cookie", this.cookieHeader()) : req).send(form));
  }
}

/** The sign-in cookie `/login` set (`name=value`), for a test that carries it to the assertion consumer by hand (another instance). */
export function signInCookie(login: request.Response): string {
  const header = ([] as string[]).concat(login.headers["set-cookie"] ?? []).find((c) => c.startsWith("__Host-gatehouse_saml_request="));
  if (!header) throw new Error("/login set no sign-in cookie");
  return header.split(";")[0]!;
}

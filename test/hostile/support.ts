import http from "node:http";
import type { AddressInfo } from "node:net";
import type express from "express";
import type { TestApp } from "../support/app";

/**
 * Hostile requests need bytes no HTTP client library would send for us (invalid UTF-8, a false
 * Content-Encoding, a charset the body is not in): a bare http.request to the real application
 * listening on an ephemeral port, over one keep-alive agent so hundreds of requests stay fast.
 */

export interface RawRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
}

export interface RawClient {
  send(request: RawRequest): Promise<RawResponse>;
  close(): Promise<void>;
}

export async function rawClient(app: express.Express): Promise<RawClient> {
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  return {
    send: ({ method, path, headers = {}, body }) =>
      new Promise((resolve, reject) => {
        const payload = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body, "utf8");
        const req = http.request(
          { host: "127.0.0.1", port, method, path, agent, headers: { ...(payload ? { "content-length": String(payload.length) } : {}), ...headers } },
          (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (chunk: Buffer) => chunks.push(chunk));
            res.on("end", () => {
              const text = Buffer.concat(chunks).toString("utf8");
              let json: unknown;
              try {
                json = JSON.parse(text);
              } catch {
                json = undefined;
              }
              resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
            });
            res.on("error", reject);
          },
        );
        // The server may answer (413) and close before reading the whole body: that is an answer too.
        req.on("error", reject);
        req.end(payload);
      }),
    close: async () => {
      agent.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Everything Gatehouse keeps about identities, for comparing before and after: users, groups,
 * the uniqueness keys, sessions, SAML connections (organizations) and the audit trail's events
 * other than those `ignoreActions` lists (refusals are meant to be audited). Read once the
 * audit outbox's work under way has finished: an earlier change's events leaving its document in
 * the background are not something the request under test stored.
 */
export async function storedState(t: TestApp, ignoreActions: readonly string[] = []) {
  await t.services.settle();
  const m = t.db.models;
  const all = async (model: { collection: { find(filter: object): { sort(s: object): { toArray(): Promise<Record<string, unknown>[]> } } } }, filter: object = {}) =>
    model.collection.find(filter).sort({ _id: 1 }).toArray();
  return {
    users: await all(m.User as never),
    groups: await all(m.Group as never),
    lookupKeys: await all(m.LookupKey as never),
    organizations: await all(m.Organization as never),
    // When a credential was last used is bookkeeping of authentication, not data a request changed.
    sessions: (await all(m.Session as never)).map(({ lastSeenAt: _seen, ...session }) => session),
    scimTokens: (await all(m.ScimToken as never)).map(({ lastUsedAt: _used, ...token }) => token),
    auditEvents: await all(m.AuditEvent as never, ignoreActions.length ? { action: { $nin: [...ignoreActions] } } : {}),
  };
}

/** The seed every property run uses: runs are reproducible; override with HOSTILE_SEED to explore. */
export const propertySeed = Number(process.env.HOSTILE_SEED ?? 20261202);
/**
 * Runs per property (each edge has two or three, several hundred requests in all), so that each
 * edge's file takes about 20 s on a loaded 2-core machine; HOSTILE_RUNS=2000 for a longer search.
 */
export const propertyRuns = Number(process.env.HOSTILE_RUNS ?? 200);

/**
 * encodeURIComponent, except that a lone surrogate is sent as the three bytes it would have in
 * UTF-8 were it allowed there (WTF-8: %ED%A0%80) — what a hostile client sends — instead of throwing.
 */
export function percentEncoded(text: string): string {
  let out = "";
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (cp >= 0xd800 && cp <= 0xdfff) {
      out += [0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)].map((b) => `%${b.toString(16).toUpperCase()}`).join("");
    } else out += encodeURIComponent(ch);
  }
  return out;
}

import { promises as dns, type LookupAddress } from "node:dns";
import http from "node:http";
import https from "node:https";
import { BlockList, isIP } from "node:net";
import { Webhook } from "standardwebhooks";
import { InvalidError } from "../errors";

/**
 * Sending one signed webhook (the Standard Webhooks specification, signed with the
 * `standardwebhooks` package) to a URL an administrator gave — which makes Gatehouse a client an
 * outsider aims. So, unless the operator allows otherwise (WEBHOOK_ALLOW_HTTP,
 * WEBHOOK_ALLOW_PRIVATE_DESTINATIONS, both off by default):
 * - https only;
 * - no loopback, private, link-local, unique-local, shared-address (CGNAT), multicast or
 *   unspecified destinations — checked on the address actually connected to, resolved afresh for
 *   every attempt inside the connection's own lookup, so a name that resolves differently the
 *   second time (DNS rebinding) cannot slip through;
 * - a 10 s limit on the whole attempt, the receiver's answer read up to 4 KiB and the rest dropped;
 * - redirects are answers, never followed (a 3xx is a failed attempt).
 */
export interface OutboundPolicy {
  readonly allowHttp: boolean;
  readonly allowPrivateDestinations: boolean;
  readonly timeoutMs: number;
  readonly maxResponseBytes: number;
}

export const defaultOutboundPolicy: OutboundPolicy = { allowHttp: false, allowPrivateDestinations: false, timeoutMs: 10_000, maxResponseBytes: 4096 };

/** Addresses no webhook may reach unless the operator allows private destinations. */
const forbidden = new BlockList();
for (const [network, prefix] of [
  ["0.0.0.0", 8], // "this network", unspecified
  ["10.0.0.0", 8],
  ["100.64.0.0", 10], // shared address space (carrier-grade NAT)
  ["127.0.0.0", 8], // loopback
  ["169.254.0.0", 16], // link-local (cloud metadata services live here)
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4], // reserved, broadcast
] as const) forbidden.addSubnet(network, prefix, "ipv4");
for (const [network, prefix] of [
  ["::", 128],
  ["::1", 128],
  ["fc00::", 7], // unique local
  ["fe80::", 10], // link-local
  ["ff00::", 8], // multicast
  ["64:ff9b::", 96], // NAT64 (would reach IPv4 addresses)
] as const) forbidden.addSubnet(network, prefix, "ipv6");

/** Whether an IP address is a private, loopback, link-local or otherwise internal destination. */
export function isInternalAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return forbidden.check(address, "ipv4");
  if (family === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    if (mapped) return forbidden.check(mapped[1]!, "ipv4");
    return forbidden.check(address, "ipv6");
  }
  return true;
}

/** Why a destination was refused before anything was sent. */
export class RefusedDestinationError extends Error {}

/** The URL check at registration (and again at each attempt: the operator's switches may change). */
export function checkWebhookUrl(text: string, policy: Pick<OutboundPolicy, "allowHttp" | "allowPrivateDestinations">): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InvalidError("url: not an absolute URL");
  }
  if (url.protocol !== "https:" && !(url.protocol === "http:" && policy.allowHttp)) throw new InvalidError(`url: ${policy.allowHttp ? "http or https" : "https"} only (the operator allows http with WEBHOOK_ALLOW_HTTP=true)`);
  if (url.username || url.password) throw new InvalidError("url: no credentials in the URL (verify the signature instead)");
  if (url.hash) throw new InvalidError("url: no fragment");
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (!policy.allowPrivateDestinations && (isIP(host) ? isInternalAddress(host) : /^localhost$|\.localhost$/i.test(host))) {
    throw new InvalidError("url: a private, loopback or link-local destination (the operator allows them with WEBHOOK_ALLOW_PRIVATE_DESTINATIONS=true)");
  }
  return url;
}

export interface SendResult {
  outcome: "delivered" | "failed" | "refused";
  httpStatus?: number;
  error?: string;
  response?: string;
  durationMs: number;
}

export interface SignedMessage {
  /** `webhook-id`: the event's id, the same on every attempt. */
  id: string;
  payload: string;
  /** Each live secret signs (several during a rotation's overlap). */
  secrets: readonly string[];
}

export class WebhookSender {
  constructor(
    private readonly policy: OutboundPolicy = defaultOutboundPolicy,
    private readonly now: () => Date = () => new Date(),
    /** Name resolution, asked afresh for every attempt (tests give names their own answers). */
    private readonly resolve: (hostname: string) => Promise<LookupAddress[]> = (hostname) => dns.lookup(hostname, { all: true }),
  ) {}

  /** The Standard Webhooks headers of a message. */
  headers(message: SignedMessage, at: Date): Record<string, string> {
    const signatures = message.secrets.map((secret) => new Webhook(secret).sign(message.id, at, message.payload));
    return {
      "webhook-id": message.id,
      "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
      "webhook-signature": signatures.join(" "),
    };
  }

  async send(urlText: string, message: SignedMessage): Promise<SendResult> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    let url: URL;
    try {
      url = checkWebhookUrl(urlText, this.policy);
    } catch (error) {
      return { outcome: "refused", error: (error as Error).message, durationMs: elapsed() };
    }
    const host = url.hostname.replace(/^\[|\]$/g, "");
    if (isIP(host) && !this.policy.allowPrivateDestinations && isInternalAddress(host)) {
      return { outcome: "refused", error: `refused destination ${host}: private, loopback or link-local`, durationMs: elapsed() };
    }
    const allowPrivate = this.policy.allowPrivateDestinations;
    // The connection's own lookup: the address checked is the address connected to (DNS rebinding).
    const lookup = (hostname: string, options: { all?: boolean; family?: number }, callback: (error: Error | null, address: string | LookupAddress[], family?: number) => void) => {
      this.resolve(hostname).then(
        (found) => {
          const addresses = options.family ? found.filter((a) => a.family === options.family) : found;
          if (!addresses.length) return callback(new Error(`${hostname} has no address`), "");
          // Any internal address refuses the name: which one a connection would pick is not ours to guess.
          const refused = allowPrivate ? undefined : addresses.find((a) => isInternalAddress(a.address));
          if (refused) return callback(new RefusedDestinationError(`refused destination ${hostname} (${refused.address}): private, loopback or link-local`), "");
          if (options.all) return callback(null, addresses);
          callback(null, addresses[0]!.address, addresses[0]!.family);
        },
        (error: Error) => callback(error, ""),
      );
    };
    const body = Buffer.from(message.payload);
    const headers = { ...this.headers(message, this.now()), "content-type": "application/json", "content-length": String(body.length), "user-agent": "Gatehouse-Webhooks/1" };
    return await new Promise<SendResult>((resolve) => {
      let settled = false;
      const finish = (result: Omit<SendResult, "durationMs">) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ ...result, durationMs: elapsed() });
      };
      const client = url.protocol === "https:" ? https : http;
      const request = client.request(url, { method: "POST", headers, lookup: lookup as never, agent: false }, (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on("data", (chunk: Buffer) => {
          if (size < this.policy.maxResponseBytes) chunks.push(chunk.subarray(0, this.policy.maxResponseBytes - size));
          size += chunk.length;
          // Enough read: the rest is not wanted.
          if (size >= this.policy.maxResponseBytes) response.destroy();
        });
        const done = () => {
          const status = response.statusCode ?? 0;
          const text = Buffer.concat(chunks).toString("utf8");
          if (status >= 200 && status < 300) finish({ outcome: "delivered", httpStatus: status, ...(text ? { response: text } : {}) });
          else finish({ outcome: "failed", httpStatus: status, error: status >= 300 && status < 400 ? `answered ${status} (redirects are not followed)` : `answered ${status}`, ...(text ? { response: text } : {}) });
        };
        response.on("end", done);
        response.on("close", done);
        response.on("error", done);
      });
      const timer = setTimeout(() => {
        finish({ outcome: "failed", error: `no answer within ${this.policy.timeoutMs} ms` });
        request.destroy();
      }, this.policy.timeoutMs);
      request.on("error", (error) => finish({ outcome: error instanceof RefusedDestinationError ? "refused" : "failed", error: error.message }));
      request.end(body);
    });
  }
}

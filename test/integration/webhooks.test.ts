import http from "node:http";
import type { AddressInfo } from "node:net";
import request from "supertest";
import { Webhook } from "standardwebhooks";
import { runCommand } from "../../src/cli/commands";
import { createServices } from "../../src/services";
import { defaultOutboundPolicy, WebhookSender } from "../../src/services/webhook-sender";
import { Outbox } from "../../src/storage/outbox";
import { defaultDeliverySchedule, retryDelayMs } from "../../src/services/webhooks";
import { buildUser, patchSchema, scimClient, secondInstance, startTestApp, type TestApp, type TestAppOverrides } from "../support/app";

/**
 * Signed webhooks (issue 15 §2) against a local receiver: an http server in this process that
 * records what arrives and answers as each test tells it.
 */

interface Received {
  headers: Record<string, string>;
  body: string;
  path: string;
}

class Receiver {
  readonly received: Received[] = [];
  /** The answer to give: a status, or "hang" (never answer). */
  answer: number | "hang" | ((r: Received) => number) = 204;
  extra: ((res: http.ServerResponse) => void) | undefined;
  private server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
      const r = { headers, body: Buffer.concat(chunks).toString("utf8"), path: req.url ?? "" };
      this.received.push(r);
      if (this.extra) return this.extra(res);
      const answer = typeof this.answer === "function" ? this.answer(r) : this.answer;
      if (answer === "hang") return;
      res.statusCode = answer;
      if (answer >= 300 && answer < 400) res.setHeader("location", `${this.url}/elsewhere`);
      res.end(answer >= 400 ? "receiver says no" : "");
    });
  });
  url = "";

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  events(path = "/hook"): { id: string; type: string; data: { id: string; auditAction: string } }[] {
    return this.received.filter((r) => r.path === path).map((r) => JSON.parse(r.body));
  }
}

const allowLocal = { WEBHOOK_ALLOW_HTTP: "true", WEBHOOK_ALLOW_PRIVATE_DESTINATIONS: "true" };
const fast: TestAppOverrides = { webhookSchedule: { firstRetryMs: 40, maxRetryMs: 160, retryWindowMs: 1_200, pollMs: 30, leaseMs: 5_000 } };

async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 8_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 25));
  }
}

const cli = async (services: TestApp["services"], ...argv: string[]) => JSON.parse((await runCommand(services, argv)).stdout[0]!);
const api = (app: TestApp["app"], token: string) => ({
  get: (path: string) => request(app).get(`/api/v1${path}`).set("Authorization", `Bearer ${token}`),
  post: (path: string, body: unknown = {}) => request(app).post(`/api/v1${path}`).set("Authorization", `Bearer ${token}`).send(body as object),
  patch: (path: string, body: unknown) => request(app).patch(`/api/v1${path}`).set("Authorization", `Bearer ${token}`).send(body as object),
});

let t: TestApp;
let receiver: Receiver;
beforeAll(async () => {
  receiver = new Receiver();
  await receiver.start();
  t = await startTestApp(allowLocal, fast);
});
afterAll(async () => {
  await t.close();
  await receiver.stop();
});
beforeEach(() => {
  receiver.received.length = 0;
  receiver.answer = 204;
  receiver.extra = undefined;
});

async function organizationWithEndpoint(app: TestApp = t, path = "/hook", types?: string[]) {
  const org = await app.organization(`Hooks ${Math.random().toString(36).slice(2, 8)}`);
  const manager = (await cli(app.services, "service-token", "create", "--org", org.id, "--scope", "webhooks:manage", "--scope", "events:read", "--json")).token as string;
  const created = await api(app.app, manager).post("/webhooks", { url: `${receiver.url}${path}`, ...(types ? { types } : {}) }).expect(201);
  return { ...org, manager, endpointId: created.body.endpoint.id as string, secret: created.body.secret as string };
}

const provision = (app: TestApp, token: string, userName: string) => scimClient(app.app, token).post("/Users", buildUser({ userName })).expect(201);

describe("delivery", () => {
  test("events arrive in order, signed by the Standard Webhooks specification (verified with the library's own Webhook.verify), under the event's id", async () => {
    const org = await organizationWithEndpoint();
    expect(org.secret).toMatch(/^whsec_/);
    t.services.webhooks.startDelivery();
    try {
      const user = (await provision(t, org.token, "signed@example.com")).body.id as string;
      await scimClient(t.app, org.token).patch(`/Users/${user}`, { schemas: [patchSchema], Operations: [{ op: "replace", path: "active", value: false }] }).expect(200);
      await until(() => receiver.events().length >= 4);
      expect(receiver.events().map((e) => e.type)).toEqual(["member.provisioned", "member.deactivated", "member.access_changed", "session.revoked"]);
      for (const r of receiver.received) {
        const verified = new Webhook(org.secret).verify(r.body, r.headers) as { id: string };
        expect(r.headers["webhook-id"]).toBe(verified.id);
        expect(r.headers["webhook-signature"]).toMatch(/^v1,/);
      }
      // The same events as the events API lists, same ids.
      const listed = (await api(t.app, org.manager).get("/events").expect(200)).body.events.map((e: { id: string }) => e.id);
      expect(receiver.events().map((e) => e.id)).toEqual(listed);
      const log = (await api(t.app, org.manager).get(`/webhooks/${org.endpointId}/deliveries`).expect(200)).body.attempts;
      expect(log.map((a: { outcome: string; httpStatus: number }) => [a.outcome, a.httpStatus])).toEqual([["delivered", 204], ["delivered", 204], ["delivered", 204], ["delivered", 204]]);
      // A tampered body fails the library's verification.
      expect(() => new Webhook(org.secret).verify(receiver.received[0]!.body.replace("signed", "forged"), receiver.received[0]!.headers)).toThrow();
    } finally {
      await t.services.webhooks.stopDelivery();
    }
  });

  test("an endpoint receives only the types it asked for", async () => {
    const org = await organizationWithEndpoint(t, "/only-deactivations", ["member.deactivated"]);
    t.services.webhooks.startDelivery();
    try {
      const user = (await provision(t, org.token, "typed@example.com")).body.id as string;
      await scimClient(t.app, org.token).patch(`/Users/${user}`, { schemas: [patchSchema], Operations: [{ op: "replace", path: "active", value: false }] }).expect(200);
      await until(() => receiver.events("/only-deactivations").length >= 1);
      await new Promise((r) => setTimeout(r, 200));
      expect(receiver.events("/only-deactivations").map((e) => e.type)).toEqual(["member.deactivated"]);
    } finally {
      await t.services.webhooks.stopDelivery();
    }
  });

  test("a failing receiver is retried with growing gaps, and an endpoint failing for the whole retry window is disabled, with an event and a visible state; enabled again, it continues in order", async () => {
    const org = await organizationWithEndpoint(t, "/failing");
    receiver.answer = 503;
    t.services.webhooks.startDelivery();
    try {
      await provision(t, org.token, "retry.one@example.com");
      await provision(t, org.token, "retry.two@example.com");
      await until(async () => (await api(t.app, org.manager).get(`/webhooks/${org.endpointId}`)).body.status === "disabled");
      const endpoint = (await api(t.app, org.manager).get(`/webhooks/${org.endpointId}`).expect(200)).body;
      expect(endpoint.disabledReason).toMatch(/failed without a success/);
      const attempts = receiver.received.filter((r) => r.path === "/failing");
      expect(attempts.length).toBeGreaterThanOrEqual(3);
      // Always the first event (order): the second waits behind it.
      expect(new Set(attempts.map((r) => r.headers["webhook-id"])).size).toBe(1);
      const log = (await api(t.app, org.manager).get(`/webhooks/${org.endpointId}/deliveries`).expect(200)).body.attempts.reverse();
      // Each retry waited at least its backoff: 40 ms, 80 ms, then 160 ms (the cap), whatever the machine's load added.
      const gaps = log.slice(1).map((a: { at: string }, i: number) => Date.parse(a.at) - Date.parse(log[i].at));
      gaps.forEach((gap: number, i: number) => expect(gap).toBeGreaterThanOrEqual(retryDelayMs({ ...defaultDeliverySchedule, ...fast.webhookSchedule }, i + 1) - 5));
      expect(log.map((a: { attempt: number }) => a.attempt)).toEqual(log.map((_: unknown, i: number) => i + 1));
      expect(log.every((a: { outcome: string; httpStatus: number }) => a.outcome === "failed" && a.httpStatus === 503)).toBe(true);
      const disabledEvents = (await api(t.app, org.manager).get("/events?types=webhook.endpoint_disabled").expect(200)).body.events;
      expect(disabledEvents).toHaveLength(1);
      expect(disabledEvents[0].data.id).toBe(org.endpointId);

      receiver.answer = 204;
      receiver.received.length = 0;
      await api(t.app, org.manager).patch(`/webhooks/${org.endpointId}`, { enabled: true }).expect(200);
      await until(() => receiver.events("/failing").length >= 3);
      // Where it stopped, in order — the news of its own disabling included.
      expect(receiver.events("/failing").map((e) => e.type)).toEqual(["member.provisioned", "member.provisioned", "webhook.endpoint_disabled"]);
    } finally {
      await t.services.webhooks.stopDelivery();
    }
  });

  test("redelivery sends an event from the log again under the same webhook-id", async () => {
    const org = await organizationWithEndpoint(t, "/again");
    t.services.webhooks.startDelivery();
    try {
      await provision(t, org.token, "again@example.com");
      await until(() => receiver.events("/again").length >= 1);
      const first = receiver.received.find((r) => r.path === "/again")!;
      await api(t.app, org.manager).post(`/webhooks/${org.endpointId}/redeliver`, { eventId: first.headers["webhook-id"] }).expect(202);
      await until(() => receiver.events("/again").length >= 2);
      const second = receiver.received.filter((r) => r.path === "/again")[1]!;
      expect(second.headers["webhook-id"]).toBe(first.headers["webhook-id"]);
      expect(second.body).toBe(first.body);
      const log = (await api(t.app, org.manager).get(`/webhooks/${org.endpointId}/deliveries`).expect(200)).body.attempts;
      expect(log[0]).toMatchObject({ redelivery: true, outcome: "delivered" });
      await api(t.app, org.manager).post(`/webhooks/${org.endpointId}/redeliver`, { eventId: "not-in-the-log" }).expect(404);
    } finally {
      await t.services.webhooks.stopDelivery();
    }
  });

  test("a rotated secret: during the overlap both secrets verify; after it only the new one", async () => {
    const org = await organizationWithEndpoint(t, "/rotating");
    t.services.webhooks.startDelivery();
    try {
      const rotated = (await api(t.app, org.manager).post(`/webhooks/${org.endpointId}/rotate-secret`, { overlapMinutes: 60 }).expect(200)).body;
      await provision(t, org.token, "rotate.one@example.com");
      await until(() => receiver.events("/rotating").length >= 1);
      const during = receiver.received.filter((r) => r.path === "/rotating")[0]!;
      expect(during.headers["webhook-signature"]!.split(" ")).toHaveLength(2);
      expect(() => new Webhook(org.secret).verify(during.body, during.headers)).not.toThrow();
      expect(() => new Webhook(rotated.secret).verify(during.body, during.headers)).not.toThrow();

      const again = (await api(t.app, org.manager).post(`/webhooks/${org.endpointId}/rotate-secret`, { overlapMinutes: 0 }).expect(200)).body;
      await provision(t, org.token, "rotate.two@example.com");
      await until(() => receiver.events("/rotating").length >= 2);
      const after = receiver.received.filter((r) => r.path === "/rotating")[1]!;
      expect(() => new Webhook(again.secret).verify(after.body, after.headers)).not.toThrow();
      expect(() => new Webhook(org.secret).verify(after.body, after.headers)).toThrow();
      expect(() => new Webhook(rotated.secret).verify(after.body, after.headers)).toThrow();
    } finally {
      await t.services.webhooks.stopDelivery();
    }
  });
});

describe("restarts, crashes and two instances", () => {
  test("events made while no instance delivered arrive in order once one starts again (the queue is in the database)", async () => {
    const org = await organizationWithEndpoint(t, "/restart");
    for (let i = 0; i < 5; i++) await provision(t, org.token, `restart.${i}@example.com`);
    const restarted = await secondInstance(t, allowLocal, fast);
    restarted.services.webhooks.startDelivery();
    try {
      await until(() => receiver.events("/restart").length >= 5);
      expect(receiver.events("/restart").map((e) => e.type)).toEqual(Array(5).fill("member.provisioned"));
      const userNames = receiver.received.filter((r) => r.path === "/restart").map((r) => JSON.parse(r.body).data.display);
      expect(userNames).toEqual([0, 1, 2, 3, 4].map((i) => `restart.${i}@example.com`));
    } finally {
      await restarted.close();
    }
  });

  test("a change whose process died before its event reached the trail is delivered after recovery", async () => {
    class DiesBeforeTheMove extends Outbox {
      override async append(): Promise<void> {
        throw new Error("the process died before the event reached the trail");
      }
    }
    const org = await organizationWithEndpoint(t, "/crash");
    const crashing = await secondInstance(t, allowLocal, { outbox: (db) => new DiesBeforeTheMove(db.models) });
    t.services.webhooks.startDelivery();
    try {
      await provision(crashing, org.token, "crashed@example.com");
      await new Promise((r) => setTimeout(r, 200));
      expect(receiver.events("/crash")).toEqual([]);
      const restarted = createServices(t.db, { authFailureWindowSeconds: 60, publicBaseUrl: "https://gatehouse.test" });
      await restarted.recoverAuditOutbox();
      await restarted.settle();
      await until(() => receiver.events("/crash").length >= 1);
      expect(receiver.events("/crash").map((e) => [e.type, e.data.auditAction])).toEqual([["member.provisioned", "user.provisioned"]]);
    } finally {
      await t.services.webhooks.stopDelivery();
      await crashing.close();
    }
  });

  test("an endpoint another instance registers receives what this one publishes after it, though this one had found no endpoint", async () => {
    // A fresh database: no endpoint anywhere, so this instance's publications start no pass.
    const fresh = await startTestApp(allowLocal, fast);
    const other = await secondInstance(fresh, allowLocal, fast);
    fresh.services.webhooks.startDelivery();
    try {
      await new Promise((r) => setTimeout(r, 100));
      const org = await organizationWithEndpoint(other, "/registered-elsewhere");
      await provision(fresh, org.token, "elsewhere@example.com");
      await until(() => receiver.events("/registered-elsewhere").length >= 1);
      expect(receiver.events("/registered-elsewhere").map((e) => e.type)).toEqual(["member.provisioned"]);
    } finally {
      await fresh.services.webhooks.stopDelivery();
      await other.close();
      await fresh.close();
    }
  });

  test("two server instances delivering from one database never send an event twice, and keep the order", async () => {
    const org = await organizationWithEndpoint(t, "/two");
    const other = await secondInstance(t, allowLocal, fast);
    // A slow receiver widens the window in which both instances look at the same endpoint.
    receiver.extra = (res) => setTimeout(() => res.writeHead(200).end(), 30);
    t.services.webhooks.startDelivery();
    other.services.webhooks.startDelivery();
    try {
      await Promise.all(Array.from({ length: 16 }, (_, i) => provision(i % 2 ? other : t, org.token, `two.${i}@example.com`)));
      await until(() => receiver.events("/two").length >= 16, 15_000);
      await new Promise((r) => setTimeout(r, 300));
      const ids = receiver.received.filter((r) => r.path === "/two").map((r) => r.headers["webhook-id"]);
      expect(ids).toHaveLength(16);
      expect(new Set(ids).size).toBe(16);
      const listed = (await api(t.app, org.manager).get("/events?limit=100").expect(200)).body.events.map((e: { id: string }) => e.id);
      expect(ids).toEqual(listed);
    } finally {
      await t.services.webhooks.stopDelivery();
      await other.close();
    }
  });
});

describe("outbound safety", () => {
  let strict: TestApp;
  let org: { id: string; token: string };
  let manager: string;
  beforeAll(async () => {
    strict = await secondInstance(t, {}, {});
    org = await strict.organization("Strict Co");
    manager = (await cli(strict.services, "service-token", "create", "--org", org.id, "--scope", "webhooks:manage", "--json")).token as string;
  });
  afterAll(async () => {
    await strict.close();
  });

  test.each([
    ["plain http", "http://hooks.example.com/in", /https only/],
    ["loopback", "https://127.0.0.1/in", /private, loopback or link-local/],
    ["localhost by name", "https://localhost:8443/in", /private, loopback or link-local/],
    ["IPv6 loopback", "https://[::1]/in", /private, loopback or link-local/],
    ["private network", "https://10.1.2.3/in", /private, loopback or link-local/],
    ["link-local (cloud metadata)", "https://169.254.169.254/latest", /private, loopback or link-local/],
    ["IPv4-mapped IPv6 private", "https://[::ffff:192.168.1.1]/in", /private, loopback or link-local/],
    ["credentials in the URL", "https://user:pw@hooks.example.com/in", /credentials/],
  ])("refuses to register %s (400, the admin error shape)", async (_what, url, message) => {
    const res = await api(strict.app, manager).post("/webhooks", { url }).expect(400);
    expect(res.body.error.code).toBe("invalid");
    expect(res.body.error.message).toMatch(message);
  });

  test("a name that resolves to a loopback address is refused at the attempt (checked per attempt: a name may resolve differently later)", async () => {
    let answer = "93.184.215.14";
    const sender = new WebhookSender({ ...defaultOutboundPolicy, allowHttp: true }, () => new Date(), async () => [{ address: answer, family: 4 }]);
    answer = "127.0.0.1";
    const port = new URL(receiver.url).port;
    const result = await sender.send(`http://hooks.example.test:${port}/rebind`, { id: "msg_1", payload: "{}", secrets: ["whsec_" + Buffer.alloc(24).toString("base64")] });
    expect(result.outcome).toBe("refused");
    expect(result.error).toMatch(/127\.0\.0\.1/);
    expect(receiver.received).toEqual([]);

    // Allowed by the operator, the same name reaches the address it resolved to.
    const allowing = new WebhookSender({ ...defaultOutboundPolicy, allowHttp: true, allowPrivateDestinations: true }, () => new Date(), async () => [{ address: "127.0.0.1", family: 4 }]);
    expect((await allowing.send(`http://hooks.example.test:${port}/rebind`, { id: "msg_2", payload: "{}", secrets: ["whsec_" + Buffer.alloc(24).toString("base64")] })).outcome).toBe("delivered");
    expect(receiver.received.map((r) => r.headers.host)).toEqual([`hooks.example.test:${port}`]);
  });

  const local = () => new WebhookSender({ ...defaultOutboundPolicy, allowHttp: true, allowPrivateDestinations: true, timeoutMs: 300 });
  const message = { id: "msg_x", payload: "{}", secrets: ["whsec_" + Buffer.alloc(24).toString("base64")] };

  test("a redirect is not followed: it is a failed attempt", async () => {
    receiver.answer = (r) => (r.path === "/moved" ? 302 : 204);
    const result = await local().send(`${receiver.url}/moved`, message);
    expect(result).toMatchObject({ outcome: "failed", httpStatus: 302, error: expect.stringContaining("redirects are not followed") });
    expect(receiver.received.map((r) => r.path)).toEqual(["/moved"]);
  });

  test("a receiver that does not answer in time is a failed attempt", async () => {
    receiver.answer = "hang";
    const result = await local().send(`${receiver.url}/slow`, message);
    expect(result.outcome).toBe("failed");
    expect(result.error).toMatch(/no answer within 300 ms/);
    expect(result.durationMs).toBeLessThan(2_000);
  });

  test("a receiver's long answer is read only up to the cap", async () => {
    receiver.extra = (res) => res.writeHead(200).end("x".repeat(1_000_000));
    const result = await local().send(`${receiver.url}/long`, message);
    expect(result.outcome).toBe("delivered");
    expect(result.response!.length).toBeLessThanOrEqual(4096);
  });

  test("an endpoint registered while private destinations were allowed is refused at the attempt once they are not", async () => {
    const sender = new WebhookSender({ ...defaultOutboundPolicy, allowHttp: true });
    const result = await sender.send(`${receiver.url}/late`, message);
    expect(result.outcome).toBe("refused");
    expect(receiver.received).toEqual([]);
  });

  test("the operator registers endpoints with the CLI under the same rules, and lists them", async () => {
    await expect(runCommand(strict.services, ["webhook", "create", "--org", org.id, "--url", "https://127.0.0.1/in"])).rejects.toThrow(/private, loopback or link-local/);
    const created = await cli(strict.services, "webhook", "create", "--org", org.id, "--url", "https://hooks.example.com/in", "--type", "member.deactivated,member.deleted", "--json");
    expect(created.secret).toMatch(/^whsec_/);
    const listed = await cli(strict.services, "webhook", "list", "--org", org.id, "--json");
    expect(listed).toEqual([expect.objectContaining({ id: created.id, url: "https://hooks.example.com/in", types: ["member.deactivated", "member.deleted"], status: "enabled" })]);
    await runCommand(strict.services, ["webhook", "remove", "--org", org.id, created.id]);
    expect(await cli(strict.services, "webhook", "list", "--org", org.id, "--json")).toEqual([]);
  });

  test("a token without webhooks:manage cannot manage endpoints", async () => {
    const eventsOnly = (await cli(strict.services, "service-token", "create", "--org", org.id, "--scope", "events:read", "--json")).token as string;
    const res = await api(strict.app, eventsOnly).get("/webhooks").expect(403);
    expect(res.body.error.code).toBe("forbidden");
  });
});

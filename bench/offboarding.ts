import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { request, summary, timed } from "./driver";

/**
 * A local webhook receiver: the arrival time of the first delivery naming each member id (the
 * directory event's `data.id`). Signatures are the delivery's business (tested in
 * test/integration/webhooks.test.ts); here only the time counts.
 */
async function webhookReceiver(): Promise<{ url: string; arrival(memberId: string): Promise<number>; close(): Promise<void> }> {
  const arrived = new Map<string, number>();
  const waiting = new Map<string, (at: number) => void>();
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
    req.on("end", () => {
      const at = performance.now();
      res.writeHead(204).end();
      const id = (JSON.parse(body) as { data?: { id?: string } }).data?.id;
      if (!id || arrived.has(id)) return;
      arrived.set(id, at);
      waiting.get(id)?.(at);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/gatehouse`,
    arrival: (memberId) =>
      new Promise((resolve, reject) => {
        const at = arrived.get(memberId);
        if (at !== undefined) return resolve(at);
        const timer = setTimeout(() => reject(new Error(`no webhook for ${memberId} within a minute`)), 60_000);
        waiting.set(memberId, (when) => (clearTimeout(timer), resolve(when)));
      }),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/**
 * (g) How fast HR's offboarding and the identity provider's deactivation shut a member out: for
 * each sample a fresh member with a personal API token (the CLI, as an operator issues it), a
 * client that keeps sending requests with that token, and the cut — `POST /api/v1/offboardings`
 * (the Owner's token: an administrator) or a SCIM PATCH `active: false`. Measured from the start of
 * the call to the first refused (401) request, and the call's own latency. A personal token is
 * refused on the same path a session is (the member is read by `_id` on every request and found
 * held, the token revoked); browser sessions need a SAML sign-in the benchmark does not drive.
 * Also from the start of the call to the arrival of the member's webhook (an endpoint the Owner
 * registers for `offboarding.carried_out` and `member.deactivated`, at a local receiver; the bench
 * server allows http and loopback destinations for it).
 */
export async function measureCutOff(options: {
  scimBase: string;
  adminBase: string;
  scimToken: string;
  ownerToken: string;
  samples: number;
  personalToken: (email: string) => Promise<string>;
  log: (label: string, value: string) => void;
}): Promise<void> {
  const scimHeaders = { Authorization: `Bearer ${options.scimToken}`, "Content-Type": "application/scim+json" };
  const receiver = await webhookReceiver();
  await request(`${options.adminBase}/webhooks`, {
    method: "POST",
    headers: { Authorization: `Bearer ${options.ownerToken}`, "Content-Type": "application/json" },
    body: JSON.stringify({ url: receiver.url, types: ["offboarding.carried_out", "member.deactivated"] }),
    expect: [201],
  });
  for (const cut of ["offboarding", "SCIM deactivation"] as const) {
    const untilRefused: number[] = [];
    const untilWebhook: number[] = [];
    const calls: number[] = [];
    for (let s = 0; s < options.samples; s++) {
      const email = `bench.leaver.${cut === "offboarding" ? "hr" : "idp"}.${s}.${Date.now()}@example.com`;
      const created = await request(`${options.scimBase}/Users`, {
        method: "POST",
        headers: scimHeaders,
        body: JSON.stringify({ schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], userName: email, emails: [{ value: email, primary: true }], active: true }),
        expect: [201],
      });
      const id = created.json<{ id: string }>().id;
      const token = await options.personalToken(email);
      const probe = () => request(`${options.adminBase}/users/${id}/access`, { headers: { Authorization: `Bearer ${token}` } });
      if ((await probe()).status !== 200) throw new Error(`the member's token is not accepted before the cut`);

      const started = performance.now();
      let refusedAt: number | undefined;
      let answered = false;
      const prober = (async () => {
        while (refusedAt === undefined) {
          const answer = await probe();
          if (answer.status === 401) refusedAt = performance.now();
          else if (answered && performance.now() - started > 60_000) throw new Error("still admitted a minute after the cut");
        }
      })();
      const [, callMs] = await timed(() =>
        cut === "offboarding"
          ? request(`${options.adminBase}/offboardings`, { method: "POST", headers: { Authorization: `Bearer ${options.ownerToken}`, "Content-Type": "application/json", "Idempotency-Key": `bench-${id}` }, body: JSON.stringify({ userId: id, reason: "benchmark" }), expect: [201] })
          : request(`${options.scimBase}/Users/${id}`, { method: "PATCH", headers: scimHeaders, body: JSON.stringify({ schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], Operations: [{ op: "replace", value: { active: false } }] }), expect: [200] }),
      );
      answered = true;
      await prober;
      calls.push(callMs);
      untilRefused.push(refusedAt! - started);
      untilWebhook.push((await receiver.arrival(id)) - started);
    }
    const call = summary(calls);
    const refused = summary(untilRefused);
    const webhook = summary(untilWebhook);
    options.log(`(g) ${cut}: call → first refused request with the member's token`, `p50 ${refused.p50.toFixed(1)} ms, p99 ${refused.p99.toFixed(1)} ms (call itself p50 ${call.p50.toFixed(1)} ms, n=${refused.n})`);
    options.log(`(g) ${cut}: call → its webhook at a local receiver`, `p50 ${webhook.p50.toFixed(1)} ms, p99 ${webhook.p99.toFixed(1)} ms (n=${webhook.n})`);
  }
  await receiver.close();
}

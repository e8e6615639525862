import { Writable } from "node:stream";
import pino from "pino";
import request from "supertest";
import { buildApp } from "../../src/app";
import { buildUser, patchSchema, scimClient, startTestApp, type TestApp } from "../support/app";

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

describe("operations", () => {
  it("answers /healthz while the process is up and /readyz while the database answers", async () => {
    await request(t.app).get("/healthz").expect(200, { status: "ok" });
    await request(t.app).get("/readyz").expect(200, { status: "ready" });
  });

  it("logs one JSON line per request with request id, organization, method, path, status and latency — never a token or a password", async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(...chunk.toString().split("\n").filter(Boolean));
        done();
      },
    });
    const app = buildApp({ config: t.config, db: t.db, services: t.services, logger: pino({ level: "info" }, sink) });
    const org = await t.organization("Logged");
    const scim = scimClient(app, org.token);
    const created = await scim.post("/Users", buildUser({ userName: "logged@example.com", password: "Hunter2-secret" })).set("X-Request-Id", "log-test-1").expect(201);
    await scim.patch(`/Users/${created.body.id}`, { schemas: [patchSchema], Operations: [{ op: "replace", path: "password", value: "Hunter3-secret" }] }).expect(200);
    await request(app).get("/scim/v2/Users").set("Authorization", "Bearer gsc_wrong_token").expect(401);
    await new Promise((r) => setImmediate(r));

    const entries = lines.map((line) => JSON.parse(line));
    const first = entries.find((e) => e.requestId === "log-test-1");
    expect(first).toMatchObject({ msg: "request", organizationId: org.id, method: "POST", path: "/scim/v2/Users", status: 201 });
    expect(typeof first.latencyMs).toBe("number");
    expect(entries.filter((e) => e.msg === "request")).toHaveLength(3);
    const everything = lines.join("\n");
    for (const secret of [org.token, org.token.replace(/^gs[cv]_[0-9a-f]{24}_/, ""), "Hunter2-secret", "Hunter3-secret", "gsc_wrong_token"]) {
      expect(everything).not.toContain(secret);
    }
  });
});

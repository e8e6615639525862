import { Writable } from "node:stream";
import express from "express";
import request from "supertest";
import { createLogger } from "../../src/http/logger";
import { requestLog } from "../../src/http/request-log";

// The request log (src/http/request-log.ts): one line per finished request, written without the
// logger's redaction (its fields are flat and never secret) — what it holds must not change.
function appLogging() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString("utf8").split("\n").filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const logger = createLogger("info", sink);
  const app = express();
  app.use(requestLog(logger));
  app.get("/scim/v2/Users", (req, res) => {
    req.organizationId = "org-1";
    res.json({ ok: true });
  });
  app.get("/leak", (_req, res) => {
    logger.info({ req: { headers: { authorization: "Bearer secret-token" } } }, "handler");
    res.json({ ok: true });
  });
  return { app, lines };
}

describe("request log", () => {
  it("writes one line per request: id, organization, method, path without the query, status, latency", async () => {
    const { app, lines } = appLogging();
    const answer = await request(app).get("/scim/v2/Users?filter=userName%20eq%20%22a%40b.c%22").set("X-Request-Id", "idp-42").set("Authorization", "Bearer secret-token");
    expect(answer.headers["x-request-id"]).toBe("idp-42");
    const line = lines.find((l) => l.msg === "request")!;
    expect(line).toMatchObject({ requestId: "idp-42", organizationId: "org-1", method: "GET", path: "/scim/v2/Users", status: 200, service: "gatehouse", level: 30 });
    expect(typeof line.latencyMs).toBe("number");
    expect(JSON.stringify(lines)).not.toContain("secret-token");
    expect(JSON.stringify(lines)).not.toContain("filter");
  });

  it("leaves the redaction of every other log line in place", async () => {
    const { app, lines } = appLogging();
    await request(app).get("/leak");
    expect(lines.find((l) => l.msg === "handler")).toMatchObject({ req: { headers: { authorization: "[redacted]" } } });
    expect(lines.find((l) => l.msg === "request")).toMatchObject({ path: "/leak", status: 200 });
  });
});

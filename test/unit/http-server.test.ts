import http from "node:http";
import express from "express";
import request from "supertest";
import { serverFor } from "../../src/http/server";

// The server main.ts listens with (src/http/server.ts): requests and responses are born with the
// prototypes express would give them, and everything express offers on them still works.
function app() {
  const served = express();
  served.set("trust proxy", 1);
  served.get("/echo", (req, res) => {
    res.status(201).set("X-Seen", req.get("x-probe") ?? "none").json({ query: req.query, ip: req.ip, sameApp: req.app === served, isRequest: req instanceof http.IncomingMessage, isResponse: res instanceof http.ServerResponse });
  });
  served.use((_req, res) => void res.status(404).json({ error: "not_found" }));
  return served;
}

describe("the HTTP server", () => {
  it("serves express's requests and responses, born with express's prototypes", async () => {
    const served = app();
    const server = serverFor(served);
    const born: boolean[] = [];
    server.prependListener("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
      born.push(Object.getPrototypeOf(req) === served.request && Object.getPrototypeOf(res) === served.response);
    });
    try {
      const answer = await request(server).get("/echo?a=1&b=two").set("X-Probe", "p-1").set("X-Forwarded-For", "203.0.113.9");
      expect(answer.status).toBe(201);
      expect(answer.headers["x-seen"]).toBe("p-1");
      expect(answer.body).toEqual({ query: { a: "1", b: "two" }, ip: "203.0.113.9", sameApp: true, isRequest: true, isResponse: true });
      expect((await request(server).get("/nowhere")).status).toBe(404);
      expect(born).toEqual([true, true]);
    } finally {
      server.close();
    }
  });

  it("leaves the app servable by a plain node:http server (supertest's, in the tests)", async () => {
    const served = app();
    serverFor(served).close();
    const answer = await request(served).get("/echo?a=1").set("X-Probe", "plain");
    expect(answer.status).toBe(201);
    expect(answer.headers["x-seen"]).toBe("plain");
    expect(answer.body).toMatchObject({ query: { a: "1" }, sameApp: true, isRequest: true, isResponse: true });
  });
});

import http from "node:http";
import { userBody } from "./driver";

/**
 * The instrument's floor for the peer comparison: a bare node:http server that answers every
 * request with one stored SCIM ListResponse of one user (the shape and about the size of a
 * `userName eq` answer), doing no work per request. The benchmark drives it exactly as it drives
 * Gatehouse and the peer — one request at a time, each share begun once the servers are idle —
 * so its p50 and p99 are what the driver, the kernel and this machine add to any server's time.
 */
const user = { ...userBody(0), id: "2819c223-7f76-453a-919d-413861904646", meta: { resourceType: "User", created: "2026-01-01T00:00:00.000Z", lastModified: "2026-01-01T00:00:00.000Z", location: "http://127.0.0.1/scim/v2/Users/2819c223-7f76-453a-919d-413861904646", version: 'W/"1"' } };
const body = Buffer.from(JSON.stringify({ schemas: ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], totalResults: 1, startIndex: 1, itemsPerPage: 1, Resources: [user] }));

const server = http.createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    res.writeHead(200, { "Content-Type": "application/scim+json", "Content-Length": body.length });
    res.end(body);
  });
});
server.listen(0, "127.0.0.1", () => process.stdout.write(`listening ${(server.address() as { port: number }).port}\n`));
process.on("SIGTERM", () => server.close(() => process.exit(0)));

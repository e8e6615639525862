/**
 * The peer in Gatehouse's benchmark: Better Auth with its official SCIM plugin on SQLite
 * (better-sqlite3, one file), served on a loopback port by node:http.
 *
 * `node server.mjs --database FILE --token TOKEN` prints `listening PORT` once the schema is
 * migrated. The plugin (1.7.x) takes its bearer credentials from code: one static connection
 * "bench" whose token the driver chooses, with every SCIM scope. No organization or signed-in
 * user is needed — each connection owns an isolated set of SCIM resources.
 */
import http from "node:http";
import { parseArgs } from "node:util";
import Database from "better-sqlite3";
import { betterAuth } from "better-auth";
import { toNodeHandler } from "better-auth/node";
import { getMigrations } from "better-auth/db/migration";
import { scim } from "@better-auth/scim";

const { values } = parseArgs({ options: { database: { type: "string" }, token: { type: "string" } } });
if (!values.database || !values.token) {
  process.stderr.write("usage: node server.mjs --database FILE --token TOKEN\n");
  process.exit(2);
}

const database = new Database(values.database);
// The settings a production SQLite deployment uses: write-ahead log, normal sync.
database.pragma("journal_mode = WAL");
database.pragma("synchronous = NORMAL");

const auth = betterAuth({
  baseURL: "http://127.0.0.1",
  secret: "gatehouse-bench-peer-secret-not-used-for-anything-real",
  database,
  telemetry: { enabled: false },
  logger: { level: "error" },
  plugins: [
    scim({
      connections: [{ id: "bench", credentials: [{ type: "bearer", id: "bench", token: values.token }] }],
    }),
  ],
});

const { runMigrations } = await getMigrations(auth.options);
await runMigrations();

const handler = toNodeHandler(auth);
const server = http.createServer((req, res) => {
  // Better Auth serves under /api/auth; the driver speaks to /scim/v2 as to Gatehouse.
  if (req.url?.startsWith("/scim/v2")) req.url = `/api/auth${req.url}`;
  void handler(req, res);
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
process.on("SIGTERM", () => server.close(() => { database.close(); process.exit(0); }));

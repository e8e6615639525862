import { spawn, execFile, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { freePort } from "../support/ports";

/**
 * The README's promise, end to end on the built server (dist/, built by `npm test` and on
 * install): `npm start` serves SCIM on the embedded database, the CLI next to it finds that same
 * database, and SIGTERM stops both cleanly.
 */
const root = path.resolve(__dirname, "..", "..");
const serverEntry = path.join(root, "dist", "main.js");
const cliEntry = path.join(root, "dist", "cli", "main.js");

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

let dataDir: string;
let server: ChildProcess | undefined;
let port: number;
const logLines: string[] = [];

beforeAll(async () => {
  if (!existsSync(serverEntry)) throw new Error("dist/ is missing: run `npm run build` (npm test does)");
  dataDir = mkdtempSync(path.join(os.tmpdir(), "gatehouse-e2e-"));
  port = await freePort();
  server = spawn(process.execPath, [serverEntry], {
    env: { ...process.env, MONGODB_URI: "", PORT: String(port), GATEHOUSE_DATA_DIR: dataDir, LOG_LEVEL: "info" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  server.stdout!.setEncoding("utf8").on("data", (chunk: string) => logLines.push(...chunk.split("\n").filter(Boolean)));
  server.stderr!.setEncoding("utf8").on("data", (chunk: string) => logLines.push(chunk));
  const deadline = Date.now() + 60_000;
  while (!logLines.some((l) => l.includes("SCIM base URL"))) {
    if (Date.now() > deadline || server.exitCode !== null) throw new Error(`server did not start:\n${logLines.join("\n")}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}, 90_000);

afterAll(async () => {
  if (server && server.exitCode === null) server.kill("SIGKILL");
  rmSync(dataDir, { recursive: true, force: true });
});

describe("npm start and the CLI on the embedded database", () => {
  let token: string;
  const base = () => `http://localhost:${port}/scim/v2`;

  it("logs the SCIM base URL it serves", () => {
    const line = JSON.parse(logLines.find((l) => l.includes("SCIM base URL"))!);
    expect(line.scimBaseUrl).toBe(`http://localhost:${port}/scim/v2`);
  });

  it("creates an organization from the CLI on the server's own database", async () => {
    const state = JSON.parse(readFileSync(path.join(dataDir, "embedded-database.json"), "utf8"));
    const { stdout } = await promisify(execFile)(process.execPath, [cliEntry, "org", "create", "E2E Inc", "--json"], {
      env: { ...process.env, MONGODB_URI: "", GATEHOUSE_DATA_DIR: dataDir },
    });
    const created = JSON.parse(stdout);
    expect(created).toMatchObject({ id: expect.any(String), scimToken: expect.stringMatching(/^gsc_/) });
    token = created.scimToken;
    // Still the server's database process: the CLI did not start a second one on the directory.
    expect(JSON.parse(readFileSync(path.join(dataDir, "embedded-database.json"), "utf8")).pid).toBe(state.pid);
  }, 60_000);

  it("provisions a user over SCIM with that token", async () => {
    const headers = { Authorization: `Bearer ${token}`, "Content-Type": "application/scim+json" };
    const created = await fetch(`${base()}/Users`, {
      method: "POST",
      headers,
      body: JSON.stringify({ schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"], userName: "e2e@example.com", active: true }),
    });
    expect(created.status).toBe(201);
    const found = await fetch(`${base()}/Users?filter=${encodeURIComponent('userName eq "E2E@example.com"')}`, { headers });
    expect(((await found.json()) as { totalResults: number }).totalResults).toBe(1);
  });

  it("refuses a token the CLI revoked on the very next request (the server keeps tokens resident)", async () => {
    const env = { ...process.env, MONGODB_URI: "", GATEHOUSE_DATA_DIR: dataDir };
    const run = (...args: string[]) => promisify(execFile)(process.execPath, [cliEntry, ...args], { env });
    const org = JSON.parse((await run("org", "list", "--json")).stdout)[0];
    const issued = JSON.parse((await run("token", "create", "--org", org.id, "--name", "Second", "--json")).stdout);
    const headers = { Authorization: `Bearer ${issued.token}` };
    expect((await fetch(`${base()}/Users`, { headers })).status).toBe(200);
    expect((await fetch(`${base()}/Users`, { headers })).status).toBe(200);
    await run("token", "revoke", issued.id);
    expect((await fetch(`${base()}/Users`, { headers })).status).toBe(401);
    expect((await fetch(`${base()}/Users`, { headers: { Authorization: `Bearer ${token}` } })).status).toBe(200);
  }, 60_000);

  it("refuses to start a second server on the same embedded database", async () => {
    const result = await promisify(execFile)(process.execPath, [serverEntry], {
      env: { ...process.env, MONGODB_URI: "", PORT: String(await freePort()), GATEHOUSE_DATA_DIR: dataDir },
    }).then(
      () => ({ code: 0, stderr: "" }),
      (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr }),
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("serves one server process");
  }, 60_000);

  it("stops on SIGTERM, and the embedded database with it", async () => {
    const { pid } = JSON.parse(readFileSync(path.join(dataDir, "embedded-database.json"), "utf8"));
    const exited = new Promise<number | null>((resolve) => server!.once("exit", (code) => resolve(code)));
    server!.kill("SIGTERM");
    expect(await exited).toBe(0);
    const deadline = Date.now() + 10_000;
    while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(alive(pid)).toBe(false);
    expect(existsSync(path.join(dataDir, "embedded-database.json"))).toBe(false);
  }, 30_000);

  it("refuses to start with bad configuration, listing every bad variable", async () => {
    const result = await promisify(execFile)(process.execPath, [serverEntry], {
      env: { ...process.env, PORT: "eighty", LOG_LEVEL: "loud" },
    }).then(
      () => ({ code: 0, stderr: "" }),
      (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr }),
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("PORT");
    expect(result.stderr).toContain("LOG_LEVEL");
  });
});

import { appendFileSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { spawn } from "node:child_process";
import os from "node:os";
import path from "node:path";
import type { mongo } from "mongoose";
import { runCommand } from "../../src/cli/commands";
import { composeServices } from "../../src/composition";
import { loadConfig } from "../../src/config";
import { appendChange, changeJournalPath, FileChangeJournal, type ChangedIds } from "../../src/storage/change-journal";
import { embeddedDatabaseName, openConfiguredDatabase, type OpenedDatabase } from "../../src/storage/open";
import { testServerUri } from "../support/database";
import { buildUser, patchSchema, scimClient, startTestApp, type TestApp } from "../support/app";

/**
 * The embedded database's one server keeps tokens and organizations resident in memory; the CLI,
 * another process on the same database, records what it writes in the data directory's change
 * journal, and the server applies that before answering from memory (storage/change-journal.ts,
 * storage/resident-documents.ts). Here the server is the real application with the journal, on
 * the test database; the CLI is opened exactly as `gatehouse` opens it (storage/open.ts) in a
 * data directory whose embedded-database.json names that same database server.
 */
let dataDir: string;
let journal: FileChangeJournal;
let server: TestApp;
let commands: mongo.CommandStartedEvent[] = [];

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), "gatehouse-resident-"));
  // A running server's state file, as storage/embedded-lock.ts writes it: the CLI joins it as a client.
  writeFileSync(path.join(dataDir, "embedded-database.json"), JSON.stringify({ uri: testServerUri(), pid: process.pid, ownerPid: process.pid, role: "server" }));
  journal = FileChangeJournal.startFresh(changeJournalPath(dataDir));
  server = await startTestApp({}, { dbName: embeddedDatabaseName, resident: { journal }, monitorCommands: true });
  server.db.connection.getClient().on("commandStarted", (event) => commands.push(event));
});
afterAll(async () => {
  await server.services.settle();
  await server.db.connection.dropDatabase();
  await server.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** `gatehouse …` as the CLI runs it next to the server: its own connection, recording its writes. */
async function cli(...argv: string[]): Promise<string[]> {
  const config = loadConfig({ GATEHOUSE_DATA_DIR: dataDir, LOG_LEVEL: "silent", PUBLIC_BASE_URL: "https://gatehouse.test" });
  const database: OpenedDatabase = await openConfiguredDatabase(config, "client");
  const services = composeServices(config, database.db);
  try {
    const { stdout, exitCode } = await runCommand(services, argv);
    expect(exitCode).toBe(0);
    return stdout;
  } finally {
    await services.settle();
    await database.close();
    expect(database.unrecorded()).toEqual([]);
  }
}

function reads(collection: string) {
  return commands.filter((c) => c.commandName === "find" && c.command.find === collection);
}

describe("tokens resident in the embedded database's server", () => {
  it("answers GET by id without reading the token from the database once it is resident", async () => {
    const org = await server.organization("Resident Reads");
    const scim = scimClient(server.app, org.token);
    const id = (await scim.post("/Users", buildUser()).expect(201)).body.id;
    await scim.get(`/Users/${id}`).expect(200);
    commands = [];
    await scim.get(`/Users/${id}`).expect(200);
    await scim.get(`/Users/${id}`).expect(200);
    expect(reads("scim_tokens")).toEqual([]);
    // Guard: the counter does see this connection's reads (the users are read each time).
    expect(reads("users").length).toBeGreaterThan(0);
  });

  it("does not read the organization for the seat limit on each create", async () => {
    const org = await server.organization("Resident Seats");
    const scim = scimClient(server.app, org.token);
    await scim.post("/Users", buildUser()).expect(201);
    commands = [];
    await scim.post("/Users", buildUser()).expect(201);
    expect(reads("organizations")).toEqual([]);
  });

  it("refuses a token the CLI revoked on the very next request", async () => {
    const org = await server.organization("Revoked By CLI");
    const issued = JSON.parse((await cli("token", "create", "--org", org.id, "--name", "Okta", "--json"))[0]);
    const scim = scimClient(server.app, issued.token);
    await scim.get("/Users").expect(200);
    await scim.get("/Users").expect(200); // resident now
    await cli("token", "revoke", issued.id);
    await scim.get("/Users").expect(401);
    await scimClient(server.app, org.token).get("/Users").expect(200);
  });

  it("applies a seat limit the CLI set to the next create", async () => {
    const org = await server.organization("Seats By CLI");
    const scim = scimClient(server.app, org.token);
    await scim.post("/Users", buildUser()).expect(201);
    await cli("access-settings", "--org", org.id, "--seat-limit", "1");
    await scim.post("/Users", buildUser()).expect(403);
  });

  it("a member's personal tokens are looked up once, absent ones too; a token the CLI issues afterwards is still revoked by the deactivation", async () => {
    const org = await server.organization("Personal Keys");
    const scim = scimClient(server.app, org.token);
    const ctx = { organizationId: org.id, actor: { type: "system" as const, id: "t", name: "t" }, source: "system" as const, requestId: "t" };
    const id = (await scim.post("/Users", buildUser({ userName: "keys@example.com" })).expect(201)).body.id as string;
    expect(await server.services.scimTokens.personalTokensOf(ctx, id)).toEqual([]);
    commands = [];
    expect(await server.services.scimTokens.personalTokensOf(ctx, id)).toEqual([]);
    expect(reads("lookup_keys")).toEqual([]);

    // Another process issues one: the journal tells the server, which reads the key again.
    await cli("user-token", "create", "--org", org.id, "--email", "keys@example.com", "--json");
    await scim.patch(`/Users/${id}`, { schemas: [patchSchema], Operations: [{ op: "replace", path: "active", value: false }] }).expect(200);
    const [token] = await server.services.scimTokens.personalTokensOf(ctx, id);
    expect(token?.revoked).toBeInstanceOf(Date);
    await server.services.settle();
    const summaries = await server.db.models.AuditEvent.find({ action: "user.access_revoked", "target.id": id }).lean();
    expect(summaries.map((e) => (e.after as { personalTokens: string[] }).personalTokens)).toEqual([[token!.id]]);
  });

  it("a token this server revokes is refused at once, and one it issues works at once", async () => {
    const org = await server.organization("Revoked Here");
    const scim = scimClient(server.app, org.token);
    await scim.get("/Users").expect(200);
    await server.services.scimTokens.revoke({ organizationId: org.id, actor: { type: "system", id: "t", name: "t" }, source: "system", requestId: "t" }, org.tokenId);
    await scim.get("/Users").expect(401);
  });
});

describe("the change journal", () => {
  let file: string;
  let seen: ChangedIds[];
  let reader: FileChangeJournal;

  beforeEach(() => {
    file = path.join(dataDir, `journal-${Math.random().toString(36).slice(2)}.ndjson`);
    seen = [];
    reader = FileChangeJournal.startFresh(file);
    reader.subscribe("scim_tokens", async (ids) => {
      seen.push(ids);
    });
  });

  it("hands each appended change to the collection's subscriber once", async () => {
    appendChange(file, { collection: "scim_tokens", ids: ["a", "b"] });
    appendChange(file, { collection: "users", ids: ["u"] });
    await reader.catchUp();
    await reader.catchUp();
    expect(seen).toEqual([["a", "b"]]);
  });

  it("keeps every line whole when two processes append at once", async () => {
    // Two CLI commands at once: each record is one write() on an O_APPEND file.
    const writer = (tag: string) =>
      new Promise<void>((resolve, reject) => {
        // The built module (dist/, built by `npm test`), as the CLI runs it.
        const script = `const { appendChange } = require(${JSON.stringify(path.resolve(__dirname, "../../dist/storage/change-journal.js"))});
          for (let i = 0; i < 400; i++) appendChange(${JSON.stringify(file)}, { collection: "scim_tokens", ids: ["${tag}-" + i, "x".repeat(i % 50)] });`;
        const child = spawn(process.execPath, ["-e", script], { stdio: "inherit" });
        child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`writer exited ${code}`))));
      });
    await Promise.all([writer("a"), writer("b")]);
    await reader.catchUp();
    expect(seen).toHaveLength(1);
    const ids = new Set(seen[0] as string[]);
    for (let i = 0; i < 400; i++) expect([ids.has(`a-${i}`), ids.has(`b-${i}`)]).toEqual([true, true]);
  });

  it("leaves an incomplete last line until it is complete", async () => {
    appendFileSync(file, '{"c":"scim_tokens","ids":["x"]}\n{"c":"scim_tok');
    await reader.catchUp();
    expect(seen).toEqual([["x"]]);
    appendFileSync(file, 'ens","ids":["y"]}\n');
    await reader.catchUp();
    expect(seen).toEqual([["x"], ["y"]]);
  });

  it("refreshes everything on a line it cannot read", async () => {
    appendFileSync(file, "garbage\n");
    await reader.catchUp();
    expect(seen).toEqual(["all"]);
  });

  it("refreshes everything when the journal was emptied under it, then reads on from its start", async () => {
    appendChange(file, { collection: "scim_tokens", ids: ["a"] });
    await reader.catchUp();
    truncateSync(file, 0);
    await reader.catchUp();
    appendChange(file, { collection: "scim_tokens", ids: ["b"] });
    await reader.catchUp();
    expect(seen).toEqual([["a"], "all", ["b"]]);
  });

  it("starts empty: what was recorded before the server started is not replayed", async () => {
    appendChange(file, { collection: "scim_tokens", ids: ["old"] });
    const restarted = FileChangeJournal.startFresh(file);
    const after: ChangedIds[] = [];
    restarted.subscribe("scim_tokens", async (ids) => void after.push(ids));
    await restarted.catchUp();
    appendChange(file, { collection: "scim_tokens", ids: ["new"] });
    await restarted.catchUp();
    expect(after).toEqual([["new"]]);
  });

  it("retries a refresh that failed", async () => {
    let fail = true;
    const flaky = FileChangeJournal.startFresh(file);
    const refreshed: ChangedIds[] = [];
    flaky.subscribe("users", async (ids) => {
      if (fail) throw new Error("database unreachable");
      refreshed.push(ids);
    });
    appendChange(file, { collection: "users", ids: ["u1"] });
    await expect(flaky.catchUp()).rejects.toThrow("database unreachable");
    fail = false;
    await flaky.catchUp();
    expect(refreshed).toEqual([["u1"]]);
  });

  it("records the documents a second connection writes, by _id, and 'all' for a write not pinned to _id", async () => {
    const otherDir = mkdtempSync(path.join(os.tmpdir(), "gatehouse-journal-"));
    writeFileSync(path.join(otherDir, "embedded-database.json"), JSON.stringify({ uri: testServerUri(), pid: process.pid, ownerPid: process.pid, role: "server" }));
    const config = loadConfig({ GATEHOUSE_DATA_DIR: otherDir, LOG_LEVEL: "silent" });
    const reader2 = FileChangeJournal.startFresh(changeJournalPath(otherDir));
    const changes: [string, ChangedIds][] = [];
    for (const collection of ["scim_tokens", "organizations"]) reader2.subscribe(collection, async (ids) => void changes.push([collection, ids]));
    const client = await openConfiguredDatabase(config, "client");
    try {
      const tokens = client.db.models.ScimToken.collection;
      await tokens.insertOne({ _id: "journal-1", organizationId: "o", name: "n", secretHash: "h", createdAt: new Date() } as never);
      await tokens.updateOne({ _id: "journal-1" } as never, { $set: { name: "m" } });
      await client.db.models.Organization.collection.updateMany({ name: "nobody" }, { $set: { name: "x" } });
      // A write the database refused is recorded too (a failed write may have been applied).
      await expect(tokens.insertOne({ _id: "journal-1" } as never)).rejects.toThrow();
      await tokens.deleteOne({ _id: "journal-1" } as never);
    } finally {
      await client.close();
    }
    // One line per write command, the refused insert included.
    const lines = readFileSync(changeJournalPath(otherDir), "utf8").trim().split("\n").map((line) => JSON.parse(line) as { c: string; ids: unknown });
    expect(lines.filter((l) => l.c === "scim_tokens").map((l) => l.ids)).toEqual([["journal-1"], ["journal-1"], ["journal-1"], ["journal-1"]]);
    await reader2.catchUp();
    rmSync(otherDir, { recursive: true, force: true });
    // One refresh per collection: the four token writes name the same document.
    expect(changes).toEqual([["scim_tokens", ["journal-1"]], ["organizations", "all"]]);
  });
});

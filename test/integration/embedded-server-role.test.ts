import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { acquireEmbeddedDatabase } from "../../src/storage/embedded-lock";
import { testServerUri } from "../support/database";

/**
 * The embedded database's server always owns it (storage/embedded-lock.ts): the database lives as
 * long as the process that started it, and only the server keeps documents resident.
 */
let dataDir: string;
beforeEach(() => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), "gatehouse-role-"));
});
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

function heldBy(role: "server" | "client") {
  // A running database (this process stands in for its pid) started by a `role`.
  writeFileSync(path.join(dataDir, "embedded-database.json"), JSON.stringify({ uri: testServerUri(), pid: process.pid, ownerPid: process.pid, role }));
}

describe("who owns the embedded database", () => {
  it("a server waits for the CLI command that started the database, then starts its own", async () => {
    heldBy("client");
    let settled = false;
    const acquiring = acquireEmbeddedDatabase(dataDir, "server").finally(() => {
      settled = true;
    });
    await new Promise((r) => setTimeout(r, 700));
    expect(settled).toBe(false);
    rmSync(path.join(dataDir, "embedded-database.json")); // the command ended and took its database down
    const lease = await acquiring;
    try {
      expect(lease.owner).toBe(true);
      expect(lease.uri).not.toBe(testServerUri());
      expect(JSON.parse(readFileSync(path.join(dataDir, "embedded-database.json"), "utf8"))).toMatchObject({ role: "server", ownerPid: process.pid });
    } finally {
      await lease.release();
    }
  }, 60_000);

  it("a server refuses a database another server serves", async () => {
    heldBy("server");
    await expect(acquireEmbeddedDatabase(dataDir, "server")).rejects.toThrow("serves one server process");
  });

  it("a CLI command joins the database a server serves", async () => {
    heldBy("server");
    const lease = await acquireEmbeddedDatabase(dataDir, "client");
    expect(lease).toMatchObject({ owner: false, uri: testServerUri() });
  });
});

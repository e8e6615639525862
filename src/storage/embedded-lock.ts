import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { startEmbeddedDatabase } from "./embedded-database";

/**
 * One embedded FerretDB per data directory. FerretDB caches collection metadata per process, so two
 * processes on one SQLite directory would disagree; whoever starts it records its address in
 * `<dataDir>/embedded-database.json`, and later processes (the CLI next to a running server) use
 * that one instead of starting a second.
 *
 * The server always owns it. The database lives as long as the process that started it, and the
 * server keeps documents resident in memory that only the CLI's change journal keeps fresh
 * (storage/change-journal.ts), so:
 * - a server finding the database started by a CLI command waits for that command to end, then
 *   starts its own (joining would lose the database when the command exits);
 * - a server finding another server refuses to start: the embedded database serves one server
 *   process (several instances need MongoDB, MONGODB_URI).
 */
export interface EmbeddedDatabaseLease {
  uri: string;
  /** True when this process started the database and stops it on release. */
  owner: boolean;
  release(): Promise<void>;
}

export type EmbeddedDatabaseRole = "server" | "client";

interface StateFile {
  uri: string;
  pid: number;
  ownerPid: number;
  /** What the owner is; files written before roles existed have none (read as a client). */
  role?: EmbeddedDatabaseRole;
}

/** How long a starting server waits for a CLI command that holds the database to finish. */
const serverWaitsForClientMs = 60_000;

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function reachable(uri: string): Promise<boolean> {
  const { hostname, port } = new URL(uri);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port) });
    socket.setTimeout(1000);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
    socket.once("timeout", () => {
      socket.destroy();
      resolve(false);
    });
  });
}

async function runningDatabase(stateFile: string): Promise<StateFile | undefined> {
  try {
    const state = JSON.parse(readFileSync(stateFile, "utf8")) as StateFile;
    if (processAlive(state.pid) && (await reachable(state.uri))) return state;
  } catch {
    // no state file, or a stale one
  }
  return undefined;
}

/** A database this role may use as it is (a client joins anything; a server never joins). */
function joinable(running: StateFile, role: EmbeddedDatabaseRole, dataDir: string, waitingSince: number): boolean {
  if (role === "client") return true;
  if (running.role === "server" && processAlive(running.ownerPid)) {
    throw new Error(
      `Another Gatehouse server (process ${running.ownerPid}) serves the embedded database of ${dataDir}. ` +
        "The embedded database serves one server process; stop that one, or set MONGODB_URI to run several instances.",
    );
  }
  if (Date.now() - waitingSince > serverWaitsForClientMs) {
    throw new Error(`The embedded database of ${dataDir} is held by process ${running.ownerPid} (a gatehouse command?); start the server when it has finished.`);
  }
  return false;
}

export async function acquireEmbeddedDatabase(dataDir: string, role: EmbeddedDatabaseRole = "client"): Promise<EmbeddedDatabaseLease> {
  mkdirSync(dataDir, { recursive: true });
  const stateFile = path.join(dataDir, "embedded-database.json");
  const lockFile = path.join(dataDir, "embedded-database.lock");
  const waitingSince = Date.now();

  for (let attempt = 0; attempt < 600; attempt++) {
    const running = await runningDatabase(stateFile);
    if (running && joinable(running, role, dataDir, waitingSince)) return { uri: running.uri, owner: false, release: async () => undefined };
    if (running) {
      // A server waits for the CLI command that owns the database to end (and take it down).
      await new Promise((r) => setTimeout(r, 100));
      attempt--;
      continue;
    }

    let lock: number;
    try {
      lock = openSync(lockFile, "wx");
    } catch {
      // Someone else is starting it; a lock older than a minute belongs to a dead starter.
      await new Promise((r) => setTimeout(r, 100));
      if (attempt === 599) rmSync(lockFile, { force: true });
      continue;
    }
    try {
      const again = await runningDatabase(stateFile);
      if (again && joinable(again, role, dataDir, waitingSince)) return { uri: again.uri, owner: false, release: async () => undefined };
      if (again) continue; // the finally below frees the start lock; wait for that owner as above
      const database = await startEmbeddedDatabase(dataDir);
      writeFileSync(stateFile, JSON.stringify({ uri: database.uri, pid: database.pid, ownerPid: process.pid, role } satisfies StateFile));
      return {
        uri: database.uri,
        owner: true,
        release: async () => {
          await database.stop();
          rmSync(stateFile, { force: true });
        },
      };
    } finally {
      closeSync(lock);
      rmSync(lockFile, { force: true });
    }
  }
  throw new Error(`Could not start or find the embedded database for ${dataDir}`);
}

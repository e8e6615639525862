import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { startEmbeddedDatabase } from "./embedded-database";

/**
 * One embedded FerretDB per data directory. FerretDB caches collection metadata per process, so two
 * processes on one SQLite directory would disagree; whoever starts it records its address in
 * `<dataDir>/embedded-database.json`, and later processes (the CLI next to a running server) use
 * that one instead of starting a second.
 */
export interface EmbeddedDatabaseLease {
  uri: string;
  /** True when this process started the database and stops it on release. */
  owner: boolean;
  release(): Promise<void>;
}

interface StateFile {
  uri: string;
  pid: number;
  ownerPid: number;
}

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

export async function acquireEmbeddedDatabase(dataDir: string): Promise<EmbeddedDatabaseLease> {
  mkdirSync(dataDir, { recursive: true });
  const stateFile = path.join(dataDir, "embedded-database.json");
  const lockFile = path.join(dataDir, "embedded-database.lock");

  for (let attempt = 0; attempt < 600; attempt++) {
    const running = await runningDatabase(stateFile);
    if (running) return { uri: running.uri, owner: false, release: async () => undefined };

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
      if (again) return { uri: again.uri, owner: false, release: async () => undefined };
      const database = await startEmbeddedDatabase(dataDir);
      writeFileSync(stateFile, JSON.stringify({ uri: database.uri, pid: database.pid, ownerPid: process.pid } satisfies StateFile));
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

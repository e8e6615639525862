import { spawn, execFile, type ChildProcess } from "node:child_process";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";

/**
 * The embedded MongoDB-compatible server used when no MONGODB_URI is configured: FerretDB v1.24.2
 * on its SQLite backend, built once per machine by scripts/build-ferretdb.sh and cached.
 *
 * The child listens on a loopback port the kernel picks and exits when its standard input closes,
 * so it never outlives the process that started it — even when that process is killed.
 */
export interface EmbeddedDatabase {
  /** mongodb:// URI without a database name, ending in "/". */
  readonly uri: string;
  readonly pid: number;
  stop(): Promise<void>;
}

const projectRoot = path.resolve(__dirname, "..", "..");
const buildScript = path.join(projectRoot, "scripts", "build-ferretdb.sh");

/** Builds FerretDB when it is missing from the cache and returns the binary's path. */
export async function ensureEmbeddedDatabaseBinary(): Promise<string> {
  const { stdout } = await promisify(execFile)("bash", [buildScript], {
    maxBuffer: 16 * 1024 * 1024,
    timeout: 20 * 60 * 1000,
  });
  const binary = stdout.trim().split("\n").pop();
  if (!binary) throw new Error("build-ferretdb.sh printed no binary path");
  return binary;
}

export async function startEmbeddedDatabase(dataDir: string): Promise<EmbeddedDatabase> {
  const binary = await ensureEmbeddedDatabaseBinary();
  const sqliteDir = path.resolve(dataDir, "sqlite");
  mkdirSync(sqliteDir, { recursive: true });

  // WAL with synchronous=NORMAL: durable across a crash of either process, may lose the last
  // transactions on power loss; the embedded database serves development, tests and benchmarks.
  const child = spawn(binary, [`--sqlite-url=file:${sqliteDir}/?_pragma=synchronous(normal)`, "--listen-addr=127.0.0.1:0"], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  const stderr: string[] = [];
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
    stderr.push(chunk);
    if (stderr.length > 50) stderr.shift();
  });

  const uri = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => fail(new Error("the embedded database did not start within 30 s")), 30_000);
    function fail(error: Error) {
      clearTimeout(timer);
      child.kill("SIGKILL");
      reject(new Error(`${error.message}\n${stderr.join("")}`));
    }
    lines.on("line", (line) => {
      const match = /^listening (mongodb:\/\/\S+)$/.exec(line.trim());
      if (match) {
        clearTimeout(timer);
        resolve(match[1].endsWith("/") ? match[1] : `${match[1]}/`);
      }
    });
    child.once("exit", (code) => fail(new Error(`the embedded database exited with code ${code}`)));
    child.once("error", fail);
  });

  return { uri, pid: child.pid!, stop: () => stopChild(child) };
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const killer = setTimeout(() => child.kill("SIGKILL"), 5_000);
    child.once("exit", () => {
      clearTimeout(killer);
      resolve();
    });
    child.stdin?.end();
    child.kill("SIGTERM");
  });
}

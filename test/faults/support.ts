import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import net from "node:net";
import path from "node:path";

/**
 * Tools of the fault-injection suite: a TCP proxy that can stop answering (replies swallowed, the
 * write itself applied) and follows a restarted database to its new port, and the built server as a
 * child process that can be killed and started again.
 */

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The port of a mongodb://host:port/ URI. */
export function portOf(uri: string): number {
  return Number(new URL(uri).port);
}

/** The command name and its first value (the collection) of a MongoDB OP_MSG, if it is one. */
function commandOf(message: Buffer): { command: string; collection?: string } | undefined {
  const opCode = message.readInt32LE(12);
  if (opCode !== 2013 || message[20] !== 0) return undefined; // OP_MSG whose first section is its body
  const type = message[25];
  const keyEnd = message.indexOf(0, 26);
  const command = message.toString("utf8", 26, keyEnd);
  if (type !== 0x02) return { command };
  const length = message.readInt32LE(keyEnd + 1);
  return { command, collection: message.toString("utf8", keyEnd + 5, keyEnd + 4 + length) };
}

/** Splits a byte stream into whole wire-protocol messages (each starts with its int32 length). */
function framer(onMessage: (message: Buffer) => void): (chunk: Buffer) => void {
  let pending = Buffer.alloc(0);
  return (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 4 && pending.length >= pending.readInt32LE(0)) {
      const length = pending.readInt32LE(0);
      onMessage(pending.subarray(0, length));
      pending = pending.subarray(length);
    }
  };
}

/**
 * Between Gatehouse and the database. `stallAfter(command, collection)` lets the database apply
 * the next such command and then swallows its answer and every answer after it (the monitor's
 * heartbeats included) until `resume()`: to the driver the database has stalled, while the write
 * it sent is in fact done — the case where an error hides an applied write.
 */
export class DatabaseProxy {
  private trigger: { command: string; collection: string; then: "stall" | "cut" } | undefined;
  private stalled = false;
  private readonly triggerRequests = new Set<number>();
  private readonly sockets = new Set<net.Socket>();
  /** How many connections `cutAfter` has cut. */
  cuts = 0;
  private constructor(private readonly server: net.Server, readonly port: number, private targetPort: number) {}

  static async start(targetPort: number): Promise<DatabaseProxy> {
    let proxy: DatabaseProxy | undefined;
    const server = net.createServer((client) => proxy!.accept(client));
    const port = await new Promise<number>((resolve, reject) => {
      server.listen(0, "127.0.0.1", () => resolve((server.address() as net.AddressInfo).port));
      server.once("error", reject);
    });
    proxy = new DatabaseProxy(server, port, targetPort);
    return proxy;
  }

  /** New connections go to the database's new port (after it was killed and started again). */
  retarget(targetPort: number): void {
    this.targetPort = targetPort;
  }

  stallAfter(command: string, collection: string): void {
    this.trigger = { command, collection, then: "stall" };
  }

  /**
   * Lets the database receive the next such command, then cuts that connection before the answer
   * (50 ms later): the driver sees a network error at once, the database has applied the write.
   * Fires once.
   */
  cutAfter(command: string, collection: string): void {
    this.trigger = { command, collection, then: "cut" };
  }

  /** True once the trigger fired and answers are being swallowed. */
  get isStalled(): boolean {
    return this.stalled;
  }

  resume(): void {
    this.trigger = undefined;
    this.stalled = false;
    this.triggerRequests.clear();
  }

  private accept(client: net.Socket): void {
    const upstream = net.connect(this.targetPort, "127.0.0.1");
    if (process.env.GATEHOUSE_FAULTS_LOG) upstream.on("error", (e) => process.stderr.write(`proxy upstream ${this.targetPort}: ${e.message} at ${new Date().toISOString()}\n`));
    this.sockets.add(client).add(upstream);
    let cutting = false;
    client.on(
      "data",
      framer((message) => {
        const trigger = this.trigger;
        const command = trigger && commandOf(message);
        upstream.write(message);
        if (!command || command.command !== trigger!.command || command.collection !== trigger!.collection) return;
        if (trigger!.then === "stall") this.triggerRequests.add(message.readInt32LE(4));
        else {
          this.trigger = undefined;
          this.cuts++;
          cutting = true;
          setTimeout(() => client.destroy(), 50);
        }
      }),
    );
    upstream.on(
      "data",
      framer((message) => {
        if (this.triggerRequests.has(message.readInt32LE(8))) this.stalled = true;
        if (!this.stalled && !cutting) client.write(message);
      }),
    );
    const close = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on("close", close).on("error", close);
    upstream.on("close", close).on("error", close);
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

const serverEntry = path.resolve(__dirname, "..", "..", "dist", "main.js");

/** The built server (`node dist/main.js`) as a child process, its log kept for failure messages. */
export class ServerProcess {
  readonly log: string[] = [];
  /** Every "request failed" line (a 5xx other than 503 and its error), kept whole: the log above rolls. */
  readonly failedRequests: string[] = [];
  private child: ChildProcess | undefined;

  /** `baseUrl` is where it listens (its PORT and HOST in `env`). */
  constructor(private readonly baseUrl: string, private readonly env: Record<string, string>) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    if (!existsSync(serverEntry)) throw new Error("dist/ is missing: run `npm run build` (npm test does)");
    const child = spawn(process.execPath, [serverEntry], { env: { ...process.env, ...this.env }, stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    const collect = (chunk: string) => {
      const lines = chunk.split("\n").filter(Boolean);
      this.log.push(...lines);
      this.failedRequests.push(...lines.filter((line) => line.includes('"request failed"')));
      if (this.log.length > 500) this.log.splice(0, this.log.length - 500);
    };
    child.stdout!.setEncoding("utf8").on("data", collect);
    child.stderr!.setEncoding("utf8").on("data", collect);
    // Serving once /healthz answers (it needs no database).
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the server did not start:\n${this.log.join("\n")}`);
      const up = await fetch(`${this.baseUrl}/healthz`, { signal: AbortSignal.timeout(1000) }).then((res) => res.ok, () => false);
      if (up) return;
      await sleep(50);
    }
  }

  /** SIGKILL: no shutdown, open requests cut. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise((resolve) => {
      child.once("exit", resolve);
      child.kill("SIGKILL");
    });
  }

  /** SIGTERM, as an operator stops it. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise((resolve) => {
      const forced = setTimeout(() => child.kill("SIGKILL"), 10_000);
      child.once("exit", () => {
        clearTimeout(forced);
        resolve(undefined);
      });
      child.kill("SIGTERM");
    });
  }
}

import type { ChildProcess } from "node:child_process";
import { createWriteStream, readFileSync, type WriteStream } from "node:fs";
import http from "node:http";
import { createInterface } from "node:readline";

/**
 * The client side of the benchmark: keep-alive HTTP requests, a fixed-size worker pool, timing
 * and percentiles. Shared by the Gatehouse run (main.ts) and the peer comparison (compare.ts) so
 * both measure with the same instrument.
 */

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export function summary(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), n: sorted.length };
}

/** CPU time a process has used so far (user + system), in clock ticks from /proc; 0 without /proc. */
function cpuTicks(pid: number): number {
  try {
    // The fields after the command name (which may hold spaces): utime is the 12th, stime the 13th.
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ").pop()!.split(" ");
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

/**
 * Waits until the given processes are idle together — under a tenth of one core over half a
 * second — or `capMs` has passed, and returns how long it waited. The work a server deferred
 * (Gatehouse's pulls of delivered events wait for a quiet moment) then runs before the next
 * measured share, not during it, whichever side it belongs to.
 */
export async function waitUntilIdle(pids: number[], capMs = 300_000): Promise<number> {
  const window = 500;
  const ticksPerWindow = 100 * (window / 1000); // USER_HZ is 100 on Linux
  const started = Date.now();
  let before = pids.reduce((sum, pid) => sum + cpuTicks(pid), 0);
  while (Date.now() - started < capMs) {
    await new Promise((resolve) => setTimeout(resolve, window));
    const now = pids.reduce((sum, pid) => sum + cpuTicks(pid), 0);
    if (now - before < ticksPerWindow / 10) break;
    before = now;
  }
  return Date.now() - started;
}

/** Peak resident set size of a process, from /proc (VmHWM), in MB. */
export function peakRssMb(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const match = /VmHWM:\s+(\d+) kB/.exec(status);
    return match ? Number(match[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** Waits for `child` to print a line matching `pattern`: a minute, or `timeoutMs` (a server loading 100,000 seeded users). */
export async function waitForLine(child: ChildProcess, pattern: RegExp, what: string, timeoutMs = 60_000): Promise<RegExpExecArray> {
  const lines = createInterface({ input: child.stdout! });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not start`)), timeoutMs);
    lines.on("line", (line) => {
      const match = pattern.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve(match);
      }
    });
    child.once("exit", (code) => reject(new Error(`${what} exited with ${code}`)));
  });
}

export async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const started = process.hrtime.bigint();
  const result = await work();
  return [result, Number(process.hrtime.bigint() - started) / 1e6];
}

export async function pool(count: number, concurrency: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < count; i = next++) await work(i);
    }),
  );
}

/** Where every request's start, duration and status go when the run is traced (--trace DIR). */
let requestTrace: WriteStream | undefined;

/**
 * Records every request from now on as one JSON line in `file`: wall-clock start (ms since the
 * epoch), duration, method, port, path without its query, status. Lined up with the server's own
 * log (same clock), it tells which requests were slow and what the server was doing meanwhile.
 */
export function traceRequestsTo(file: string): void {
  requestTrace = createWriteStream(file, { flags: "a" });
}

export interface Answer {
  status: number;
  json<T>(): T;
}

/** One HTTP request on a keep-alive agent; the body is read whole. */
export function request(url: string, init: { method?: string; headers?: Record<string, string>; body?: string; expect?: number[] } = {}): Promise<Answer> {
  const at = Date.now();
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: init.method ?? "GET", headers: init.headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => {
        if (requestTrace) {
          const { port, pathname } = new URL(url);
          const ms = Number(process.hrtime.bigint() - started) / 1e6;
          requestTrace.write(`${JSON.stringify({ at, ms, method: init.method ?? "GET", port: Number(port), path: pathname, status: res.statusCode })}\n`);
        }
        const text = Buffer.concat(chunks).toString("utf8");
        if (init.expect && !init.expect.includes(res.statusCode!)) {
          reject(new Error(`${init.method ?? "GET"} ${url} → ${res.statusCode}: ${text.slice(0, 500)}`));
          return;
        }
        resolve({ status: res.statusCode!, json: <T>() => JSON.parse(text) as T });
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    if (init.body) req.end(init.body);
    else req.end();
  });
}

export function userBody(i: number) {
  return {
    schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"],
    userName: `bench.user.${i}@example.com`,
    externalId: `ext-${i}`,
    name: { givenName: "Bench", familyName: `User ${i}` },
    emails: [{ value: `bench.user.${i}@example.com`, type: "work", primary: true }],
    active: true,
  };
}

export function withDatabase(uri: string, dbName: string): string {
  const [withoutQuery, query] = uri.split("?");
  const hostPart = withoutQuery.replace(/^(mongodb(?:\+srv)?:\/\/[^/]+)(\/.*)?$/, "$1");
  return `${hostPart}/${dbName}${query ? `?${query}` : ""}`;
}

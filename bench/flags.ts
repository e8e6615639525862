import { parseArgs } from "node:util";

/**
 * The benchmark's command line. The benchmark is not part of Gatehouse: it takes its settings as
 * flags, never from the environment (only src/config reads process.env).
 */

export const usage = `Usage: npm run bench -- [flags]

Starts Gatehouse (dist/, as \`npm start\` runs it) on the embedded database and drives it over
loopback HTTP; prints a table of rates and latencies. Asserts nothing. Issue 12's full run:
  npm run bench -- --peer --users 2000,20000 --members 999 --audit-events 100000
  npm run bench -- --peer --users 100000 --members 100000 --rounds 1   (Gatehouse alone)

  --users N[,N2,…]        users created, the size of the stored directory (default 2000); with
                          --peer a list of sizes measured in one run, the directory grown from
                          one to the next (e.g. 2000,20000); without --peer the largest counts
  --members M             members of the large group (default 1000, at most --users; with --peer
                          at most the size minus one)
  --concurrency C         parallel requests during the initial sync (default 16, 1-32)
  --samples S             samples per latency measurement (default 200)
  --mongodb-uri URI       run against this MongoDB server instead of the embedded FerretDB
  --gatehouse-node-args=A extra node flags for the Gatehouse process, e.g.
                          --gatehouse-node-args="--cpu-prof --cpu-prof-dir=/tmp/prof" (with "=")
  --peer                  peer comparison instead: the same SCIM workload against Gatehouse (on
                          its embedded default, or --mongodb-uri) and against Better Auth + its
                          SCIM plugin on SQLite (bench/peer/better-auth, installed there with
                          npm ci on first use), interleaved; p50 and p99, the ratio, and issue
                          12's targets met or not per row; plus Gatehouse-only rows (admin API
                          member list first/deep page and search, audit log first/deep page,
                          keyset cursor when /api/v1/openapi.json offers it) and peak RSS
  --rounds R              with --peer: alternations Gatehouse/peer per workload (default 4)
  --peer-max-users P      with --peer: sizes above P measure Gatehouse alone (default 20000)
  --audit-events E        with --peer: write E audit events of the organization into the trail
                          before the server starts (driver, the server's own stored shape), so
                          the audit rows run against at least E events (default 0)
  --seed-users U          with --peer: write U users of the organization into Gatehouse's
                          directory before the server starts (driver, the stored shape with its
                          lookup keys; the peer gets none), so the memory row is judged with
                          U + N users stored: 100,000 without creating them over SCIM (default 0)
  --mapping-group N       instead of the above: the cost of a group mapping change on a group of
                          N members (issue 13): N users and one group of them, then a mapping of
                          the group created (every member's access changes), edited, previewed;
                          reports each request's time and the time until all its N
                          user.access_changed events are in the audit trail (default 0: not run)
  --trace DIR             with --peer: write DIR/requests.ndjson (every request the bench sends: wall-clock
                          start, duration, status) and DIR/gatehouse.log (the server's standard
                          output: its request log, and what --gatehouse-node-args="--trace-gc"
                          prints), to line slow requests up with what the server did meanwhile
  --help                  this text
`;

export interface BenchFlags {
  /** The largest size. */
  users: number;
  /** Every size, ascending. */
  sizes: number[];
  peerMaxUsers: number;
  auditEvents: number;
  /** Users written into Gatehouse's directory before it starts (--seed-users). */
  seedUsers: number;
  members: number;
  concurrency: number;
  samples: number;
  rounds: number;
  mongodbUri?: string;
  gatehouseNodeArgs: string[];
  peer: boolean;
  /** Directory for the request trace and the server's output (--trace); undefined: not traced. */
  trace?: string;
  /** Members of the group whose mapping changes (--mapping-group); 0: that measurement is not run. */
  mappingGroup: number;
  help: boolean;
}

function integer(name: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) throw new Error(`--${name} must be an integer from ${min} to ${max} (got "${text}")`);
  return value;
}

export function parseBenchFlags(args: string[]): BenchFlags {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      users: { type: "string", default: "2000" },
      members: { type: "string", default: "1000" },
      concurrency: { type: "string", default: "16" },
      samples: { type: "string", default: "200" },
      rounds: { type: "string", default: "4" },
      "peer-max-users": { type: "string", default: "20000" },
      "audit-events": { type: "string", default: "0" },
      "seed-users": { type: "string", default: "0" },
      "mongodb-uri": { type: "string" },
      "gatehouse-node-args": { type: "string", default: "" },
      peer: { type: "boolean", default: false },
      "mapping-group": { type: "string", default: "0" },
      trace: { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  const sizes = [...new Set(values.users.split(",").map((size) => integer("users", size.trim(), 1, 10_000_000)))].sort((a, b) => a - b);
  return {
    users: sizes[sizes.length - 1],
    sizes,
    peerMaxUsers: integer("peer-max-users", values["peer-max-users"], 1, 10_000_000),
    auditEvents: integer("audit-events", values["audit-events"], 0, 10_000_000),
    seedUsers: integer("seed-users", values["seed-users"], 0, 10_000_000),
    members: integer("members", values.members, 1, 10_000_000),
    concurrency: integer("concurrency", values.concurrency, 1, 32),
    samples: integer("samples", values.samples, 1, 1_000_000),
    rounds: integer("rounds", values.rounds, 1, 100),
    mongodbUri: values["mongodb-uri"],
    gatehouseNodeArgs: values["gatehouse-node-args"].split(" ").filter(Boolean),
    peer: values.peer,
    mappingGroup: integer("mapping-group", values["mapping-group"], 0, 10_000_000),
    trace: values.trace,
    help: values.help,
  };
}

/** The flags of this process; a bad flag prints the problem and the usage, and exits 2. */
export function flagsFromCommandLine(): BenchFlags {
  try {
    return parseBenchFlags(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n\n${usage}`);
    process.exit(2);
  }
}

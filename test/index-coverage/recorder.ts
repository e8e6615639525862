import path from "node:path";
import mongoose from "mongoose";
import { describeShape, shapesOfCommand, type QueryShape } from "./query-shape";

/**
 * Records the shape of every query sent on the connections this process opens, through the MongoDB
 * driver's command monitoring: what reaches the server, whoever built it.
 *
 * Tests also query the database themselves, to check what was stored (`AuditEvent.find({"target.id": …})`);
 * those are not the application's queries and must not be held against its indexes. A query is the
 * application's when the (async) stack that sent it passes through `src/`, and the test's when it
 * passes through test code only. A query whose stack shows neither (a timer, a queue the driver
 * drains) is counted as the application's: only the application starts work of its own.
 */

export interface RecordedQuery {
  /** describeShape(shape): the key shapes are counted and allowlisted by. */
  readonly key: string;
  readonly shape: QueryShape;
  readonly origin: "application" | "test";
  /** The first application frame that sent it (`src/storage/users.ts:352`), when the stack shows one. */
  readonly site?: string;
}

const projectRoot = path.resolve(__dirname, "..", "..");
const sourceRoot = `${projectRoot}${path.sep}src${path.sep}`;
const testRoot = `${projectRoot}${path.sep}test${path.sep}`;
/** Frames that every storage call passes through and that say nothing about which query it is. */
const plumbing = ["src/storage/database-errors.ts", "src/storage/write-queue.ts", "src/storage/outbox.ts"];

/** The records one started command gives (none for commands that filter nothing). */
export function recordsOfCommand(event: Pick<mongoose.mongo.CommandStartedEvent, "commandName" | "command">, stack: string): RecordedQuery[] {
  const shapes = shapesOfCommand(event.commandName, event.command as Record<string, unknown>);
  if (!shapes.length) return [];
  const files = stackFrames(stack).filter((frame) => !frame.file.includes(`${path.sep}node_modules${path.sep}`) && frame.file !== __filename);
  const application = files.filter((frame) => frame.file.startsWith(sourceRoot));
  const origin = application.length || !files.some((frame) => frame.file.startsWith(testRoot)) ? "application" : "test";
  const named = application.map((frame) => `${path.relative(projectRoot, frame.file)}:${frame.line}`);
  const site = named.find((name) => !plumbing.some((file) => name.startsWith(`${file}:`))) ?? named[0];
  return shapes.map((shape) => ({ key: describeShape(shape), shape, origin, ...(site ? { site } : {}) }));
}

function stackFrames(stack: string): { file: string; line: number }[] {
  const frames: { file: string; line: number }[] = [];
  for (const line of stack.split("\n")) {
    const match = /\(?((?:\/|[A-Za-z]:\\)[^():]+):(\d+):\d+\)?\s*$/.exec(line);
    if (match) frames.push({ file: match[1]!, line: Number(match[2]) });
  }
  return frames;
}

/** The stack of the code that sent the command being started, async callers included. */
function currentStack(): string {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 200;
  try {
    return new Error().stack ?? "";
  } finally {
    Error.stackTraceLimit = limit;
  }
}

type Listener = (record: RecordedQuery) => void;
const listeners = new Set<Listener>();
let patched = false;

/**
 * Calls `listener` with every query shape sent on the connections `mongoose.createConnection`
 * opens from now on in this module registry (one per jest test file), until the returned function
 * is called. Test-only: it turns on the driver's command monitoring for those connections.
 */
export function recordQueries(listener: Listener): () => void {
  listeners.add(listener);
  if (!patched) {
    patched = true;
    const createConnection = mongoose.createConnection.bind(mongoose);
    const monitored = (uri?: string, options?: mongoose.ConnectOptions) => {
      if (uri === undefined) return createConnection();
      const connection = createConnection(uri, { ...options, monitorCommands: true });
      const client = connection.getClient() as mongoose.mongo.MongoClient | undefined;
      if (!client) throw new Error("query recording: the connection has no driver client yet (mongoose changed how createConnection opens)");
      client.on("commandStarted", (event) => {
        if (!listeners.size) return;
        for (const record of recordsOfCommand(event, currentStack())) for (const notify of listeners) notify(record);
      });
      return connection;
    };
    mongoose.createConnection = monitored as typeof mongoose.createConnection;
  }
  return () => listeners.delete(listener);
}

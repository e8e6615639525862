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
const plumbing = ["database-errors.ts", "write-queue.ts", "outbox.ts"].map((file) => `${path.sep}src${path.sep}storage${path.sep}${file}`);

/** The records one started command gives (none for commands that filter nothing). */
export function recordsOfCommand(event: Pick<mongoose.mongo.CommandStartedEvent, "commandName" | "command">, stack: CallerStack): RecordedQuery[] {
  const shapes = shapesOfCommand(event.commandName, event.command as Record<string, unknown>);
  if (!shapes.length) return [];
  const frames = stack.frames().filter((frame) => !frame.file.includes(`${path.sep}node_modules${path.sep}`) && frame.file !== __filename);
  const application = frames.filter((frame) => frame.file.startsWith(sourceRoot));
  const origin = application.length || !frames.some((frame) => frame.file.startsWith(testRoot)) ? "application" : "test";
  const sender = application.find((frame) => !plumbing.some((file) => frame.file.endsWith(file))) ?? application[0];
  const site = sender ? stack.sourceLine(sender) : undefined;
  return shapes.map((shape) => ({ key: describeShape(shape), shape, origin, ...(site ? { site } : {}) }));
}

interface Frame {
  readonly file: string;
  /** The line in the code that ran (jest's transform output), not yet in the source. */
  readonly line: number;
}

/** The stack of the code that sent the command being started, async callers included. */
export interface CallerStack {
  frames(): Frame[];
  /** `src/storage/users.ts:352`: the frame's line in the source, as jest reports it. */
  sourceLine(frame: Frame): string;
}

/**
 * Reading a stack's frames costs little; formatting it (source-mapped by jest) costs several
 * times more, so it is formatted only the first time a frame names a sender, and remembered.
 */
const sourceLines = new Map<string, string>();

function callerStack(): CallerStack {
  const captured = withFullStack(() => {
    const prepare = Error.prepareStackTrace;
    Error.prepareStackTrace = (_error, sites) => sites;
    try {
      const holder: { stack?: NodeJS.CallSite[] } = {};
      Error.captureStackTrace(holder);
      return holder.stack ?? [];
    } finally {
      Error.prepareStackTrace = prepare;
    }
  });
  return {
    frames: () => captured.flatMap((site) => (site.getFileName() ? [{ file: site.getFileName()!, line: site.getLineNumber() ?? 0 }] : [])),
    sourceLine(frame) {
      const key = `${frame.file}:${frame.line}`;
      let line = sourceLines.get(key);
      if (line === undefined) {
        // The same frame, formatted: the nth frame of this file in the formatted stack.
        const nth = captured.filter((site) => site.getFileName() === frame.file).findIndex((site) => site.getLineNumber() === frame.line);
        const formatted = withFullStack(() => new Error().stack ?? "").split("\n").filter((text) => text.includes(`${frame.file}:`));
        const match = /:(\d+):\d+\)?\s*$/.exec(formatted[nth] ?? "");
        line = `${path.relative(projectRoot, frame.file)}:${match ? match[1] : frame.line}`;
        sourceLines.set(key, line);
      }
      return line;
    },
  };
}

function withFullStack<T>(read: () => T): T {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 200;
  try {
    return read();
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
        for (const record of recordsOfCommand(event, callerStack())) for (const notify of listeners) notify(record);
      });
      return connection;
    };
    mongoose.createConnection = monitored as typeof mongoose.createConnection;
  }
  return () => listeners.delete(listener);
}

// @ts-check
"use strict";
/**
 * Preloaded (NODE_OPTIONS=--require, set by global-setup.ts) into every Node process the suite
 * starts. In the built server and CLI (dist/) — started as processes by the e2e and fault tests, so
 * their start-up work (the userName-key repair, outbox recovery) is recorded too — it appends the
 * filtering part of every command the process sends to `.query-shapes/process-<pid>.jsonl`, as
 * extended JSON; the index-coverage check reads their shapes from it (test/index-coverage/).
 * Plain JavaScript: those processes run the compiled code, without jest's TypeScript transform.
 * Anywhere else (jest's own workers, npm) it does nothing.
 */
const path = require("node:path");
const fs = require("node:fs");

const projectRoot = path.resolve(__dirname, "..", "..");
const directory = path.join(projectRoot, ".query-shapes");
const entry = process.argv[1] ? path.resolve(process.argv[1]) : "";

if (entry.startsWith(path.join(projectRoot, "dist") + path.sep) && fs.existsSync(directory)) {
  const mongoose = require(require.resolve("mongoose", { paths: [projectRoot] }));
  const { EJSON } = mongoose.mongo.BSON;
  const file = path.join(directory, `process-${process.pid}.jsonl`);
  const seen = new Set();
  const filtering = new Set(["find", "count", "distinct", "findAndModify", "update", "delete", "aggregate"]);
  const asDocument = (/** @type {unknown} */ sort) => (sort instanceof Map ? Object.fromEntries(sort) : sort);

  /** Only what shapes are read from: filters, sorts, pipelines — not the updates' new values. */
  const filteringPart = (/** @type {string} */ name, /** @type {Record<string, any>} */ command) => ({
    [name]: command[name],
    ...(command.filter ? { filter: command.filter } : {}),
    ...(command.query ? { query: command.query } : {}),
    ...(command.sort ? { sort: asDocument(command.sort) } : {}),
    ...(command.pipeline ? { pipeline: command.pipeline } : {}),
    ...(command.updates ? { updates: command.updates.map((/** @type {any} */ u) => ({ q: u.q })) } : {}),
    ...(command.deletes ? { deletes: command.deletes.map((/** @type {any} */ d) => ({ q: d.q })) } : {}),
  });

  const site = () => {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 200;
    const stack = new Error().stack ?? "";
    Error.stackTraceLimit = limit;
    for (const line of stack.split("\n")) {
      const match = /\(?(\/[^():]+):(\d+):\d+\)?\s*$/.exec(line);
      if (match && match[1].startsWith(path.join(projectRoot, "dist") + path.sep) && !/database-errors|write-queue|outbox/.test(match[1])) {
        return `${path.relative(projectRoot, match[1])}:${match[2]}`;
      }
    }
    return undefined;
  };

  const createConnection = mongoose.createConnection.bind(mongoose);
  mongoose.createConnection = (/** @type {string | undefined} */ uri, /** @type {object | undefined} */ options) => {
    if (uri === undefined) return createConnection();
    const connection = createConnection(uri, { ...options, monitorCommands: true });
    connection.getClient().on("commandStarted", (/** @type {{ commandName: string, command: Record<string, any> }} */ event) => {
      if (!filtering.has(event.commandName)) return;
      const line = EJSON.stringify({ commandName: event.commandName, command: filteringPart(event.commandName, event.command), site: site() }, { relaxed: false });
      if (seen.has(line)) return;
      seen.add(line);
      fs.appendFileSync(file, `${line}\n`);
    });
    return connection;
  };
}

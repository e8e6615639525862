import type { mongo } from "mongoose";
import type { ChangedIds, DocumentChange } from "./change-journal";

/**
 * Which documents a process writes, read off the driver's command monitoring (MongoDB Command
 * Logging and Monitoring specification; the client needs `monitorCommands: true`): every insert,
 * update, delete and findAndModify, whichever store or script sent it, so no write path can
 * forget to tell. A write filtered by exactly its `_id` (or `_id: {$in: [...]}`) names those
 * documents; any other filter (updateMany, deleteMany, an upsert by another field) is "all" of
 * its collection.
 *
 * `record` is called when the server has answered — or the command failed, since a write answered
 * with a network error may still have been applied — synchronously, before the operation's
 * promise settles. Writes still in flight when the process exits are recorded then (`flush`).
 */
const writeCommands = new Set(["insert", "update", "delete", "findAndModify"]);

type Command = Record<string, unknown>;

function idOf(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number") return String(value);
  if (value && typeof value === "object" && (value as { _bsontype?: unknown })._bsontype === "ObjectId") return (value as mongo.ObjectId).toHexString();
  return undefined;
}

/** The ids a filter can match, or "all" when it is not pinned to `_id`. */
function idsMatchedBy(filter: unknown): ChangedIds {
  if (!filter || typeof filter !== "object") return "all";
  const wanted = (filter as { _id?: unknown })._id;
  const one = idOf(wanted);
  if (one !== undefined) return [one];
  if (wanted && typeof wanted === "object") {
    const operators = wanted as { $eq?: unknown; $in?: unknown };
    const keys = Object.keys(operators);
    if (keys.length === 1 && keys[0] === "$eq" && idOf(operators.$eq) !== undefined) return [idOf(operators.$eq)!];
    if (keys.length === 1 && keys[0] === "$in" && Array.isArray(operators.$in)) {
      const ids = operators.$in.map(idOf);
      if (ids.every((id): id is string => id !== undefined)) return ids;
    }
  }
  return "all";
}

function union(parts: ChangedIds[]): ChangedIds {
  if (parts.some((ids) => ids === "all")) return "all";
  return [...new Set((parts as (readonly string[])[]).flat())];
}

/** The documents a write command touches, or undefined for a command that writes none. */
export function changeOf(commandName: string, command: Command): DocumentChange | undefined {
  if (!writeCommands.has(commandName)) return undefined;
  const collection = command[commandName];
  if (typeof collection !== "string") return undefined;
  const list = (key: string): Command[] => (Array.isArray(command[key]) ? (command[key] as Command[]) : []);
  switch (commandName) {
    case "insert":
      return { collection, ids: union(list("documents").map((doc) => (idOf(doc._id) === undefined ? "all" : [idOf(doc._id)!]))) };
    case "update":
      return { collection, ids: union(list("updates").map((update) => idsMatchedBy(update.q))) };
    case "delete":
      return { collection, ids: union(list("deletes").map((deletion) => idsMatchedBy(deletion.q))) };
    default:
      return { collection, ids: idsMatchedBy(command.query) };
  }
}

export interface WriteMonitor {
  /** Records the writes still waiting for an answer (the process is exiting). */
  flush(): void;
  stop(): void;
}

/** Calls `record` for every write command `client` sends, once it is answered or has failed. */
export function monitorWrites(client: mongo.MongoClient, record: (change: DocumentChange) => void): WriteMonitor {
  const pending = new Map<number, DocumentChange>();
  const started = (event: mongo.CommandStartedEvent) => {
    const change = changeOf(event.commandName, event.command as Command);
    if (change) pending.set(event.requestId, change);
  };
  const finished = (event: mongo.CommandSucceededEvent | mongo.CommandFailedEvent) => {
    const change = pending.get(event.requestId);
    if (!change) return;
    pending.delete(event.requestId);
    record(change);
  };
  client.on("commandStarted", started);
  client.on("commandSucceeded", finished);
  client.on("commandFailed", finished);
  return {
    flush() {
      for (const change of pending.values()) record(change);
      pending.clear();
    },
    stop() {
      client.off("commandStarted", started);
      client.off("commandSucceeded", finished);
      client.off("commandFailed", finished);
    },
  };
}

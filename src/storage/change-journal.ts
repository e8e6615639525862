import { appendFileSync, closeSync, openSync, readSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";

/**
 * On the embedded database one server process owns the data and may keep a resident copy of it
 * in memory (the directory, tokens, the audit index: see README "How it is built"). Other
 * processes that write to that same database — the CLI next to a running server — record which
 * documents they changed in a change journal; the owner applies those changes before it answers
 * from memory, so a change made by the CLI is seen by the very next request.
 *
 * The resident stores subscribe to their collections; `FileChangeJournal` below is how other
 * processes' writes reach them on the embedded database.
 */
export type ChangedIds = readonly string[] | "all";

export interface ChangeJournal {
  /**
   * Registers how a resident store refreshes documents of `collection` (the MongoDB collection
   * name) that another process changed: re-read those ids by `_id`, or everything on "all".
   */
  subscribe(collection: string, refresh: (ids: ChangedIds) => Promise<void>): void;
  /** Applies every change recorded by other processes since the last call; cheap when there is none. */
  catchUp(): Promise<void>;
}

/** No other process writes (tests, MongoDB): nothing to catch up on. */
export const noOtherWriters: ChangeJournal = {
  subscribe() {},
  catchUp: () => Promise.resolve(),
};

/** Documents one write command of another process touched (storage/write-monitoring.ts finds them). */
export interface DocumentChange {
  collection: string;
  ids: ChangedIds;
}

/** The journal of a data directory, next to embedded-database.json (storage/embedded-lock.ts). */
export function changeJournalPath(dataDir: string): string {
  return path.join(dataDir, "change-journal.ndjson");
}

/**
 * A record line: `{"c": collection, "ids": [...] | "all", "pid": writer}`. Lists longer than this
 * are recorded as "all": one short line per write keeps the append a single small write().
 */
const maxIdsPerRecord = 1000;

/**
 * Appends one change, as one line in one write() on a file opened for appending (O_APPEND): lines
 * of two CLI commands running at once never interleave, and the call returns only once the line
 * is in the file — before the write command that made the change is reported done. Throws when
 * the line could not be written (the caller must say so: the server would not see that change).
 */
export function appendChange(journalPath: string, change: DocumentChange): void {
  const ids = change.ids === "all" || change.ids.length > maxIdsPerRecord ? "all" : change.ids;
  appendFileSync(journalPath, `${JSON.stringify({ c: change.collection, ids, pid: process.pid })}\n`);
}

function parseRecord(line: string): DocumentChange | undefined {
  try {
    const record = JSON.parse(line) as { c?: unknown; ids?: unknown };
    if (typeof record.c !== "string") return undefined;
    if (record.ids === "all") return { collection: record.c, ids: "all" };
    if (Array.isArray(record.ids) && record.ids.every((id) => typeof id === "string")) return { collection: record.c, ids: record.ids as string[] };
  } catch {
    // not a record: handled by the caller as "anything may have changed"
  }
  return undefined;
}

interface FileState {
  size: number;
  ino: number;
  mtimeMs: number;
}

/**
 * The server's side of the journal: what other processes wrote since it last looked.
 *
 * - `catchUp()` costs one fstat when nothing was appended (the common case, checked before every
 *   answer from memory); otherwise it reads only the new bytes, hands each collection's changed
 *   ids to its subscribers, and only then moves past them — a refresh that fails (the database is
 *   unreachable) is retried by the next call, so refreshers must be idempotent. Concurrent calls
 *   wait for the one in progress: no caller answers from memory while a refresh it needs runs.
 * - An incomplete last line (its writer is between two writes, or died in the middle) is left
 *   for the next call; a line that cannot be read at all, or a journal that shrank (someone
 *   emptied it), means anything may have changed: every subscriber refreshes everything.
 * - `FileChangeJournal.startFresh` empties the journal at the server's start, before anything is
 *   resident: what was recorded before is already in what the server will read. An append racing
 *   with that truncation either lands before it (its change was made before the server read
 *   anything) or after it (and is read).
 */
export class FileChangeJournal implements ChangeJournal {
  private readonly subscribers = new Map<string, ((ids: ChangedIds) => Promise<void>)[]>();
  /** Bytes applied: the end of the last complete line handled. */
  private applied = 0;
  /** The journal as last looked at (a partial last line makes its size larger than `applied`). */
  private seen: FileState = { size: 0, ino: 0, mtimeMs: 0 };
  private applying: Promise<void> | undefined;

  private constructor(readonly path: string) {}

  /** Empties (or creates) the journal and reads it from its start: the server calls this once, at start-up. */
  static startFresh(journalPath: string): FileChangeJournal {
    writeFileSync(journalPath, "");
    const journal = new FileChangeJournal(journalPath);
    journal.seen = journal.stat();
    return journal;
  }

  subscribe(collection: string, refresh: (ids: ChangedIds) => Promise<void>): void {
    this.subscribers.set(collection, [...(this.subscribers.get(collection) ?? []), refresh]);
  }

  catchUp(): Promise<void> {
    if (this.applying) return this.applying.then(() => this.catchUp());
    const now = this.stat();
    if (now.size === this.seen.size && now.ino === this.seen.ino && now.mtimeMs === this.seen.mtimeMs) return Promise.resolve();
    const applying = this.apply(now).finally(() => {
      this.applying = undefined;
    });
    this.applying = applying;
    return applying;
  }

  private stat(): FileState {
    try {
      const { size, ino, mtimeMs } = statSync(this.path);
      return { size, ino, mtimeMs };
    } catch {
      return { size: 0, ino: 0, mtimeMs: 0 }; // removed: the next append creates it again
    }
  }

  private async apply(now: FileState): Promise<void> {
    if (now.size < this.applied || (this.seen.ino !== 0 && now.ino !== this.seen.ino)) {
      // Emptied or replaced under us: what it held is unknown.
      await this.refreshEverything();
      this.applied = 0;
    }
    const bytes = this.read(this.applied, now.size - this.applied);
    const end = bytes.lastIndexOf(0x0a);
    if (end < 0) {
      this.seen = now;
      return;
    }
    const changes = new Map<string, Set<string> | "all">();
    let unreadable = false;
    for (const line of bytes.subarray(0, end).toString("utf8").split("\n")) {
      if (!line.trim()) continue;
      const change = parseRecord(line);
      if (!change) {
        unreadable = true;
        continue;
      }
      const known = changes.get(change.collection);
      if (known === "all" || change.ids === "all") changes.set(change.collection, "all");
      else changes.set(change.collection, new Set([...(known ?? []), ...change.ids]));
    }
    if (unreadable) await this.refreshEverything();
    else await Promise.all([...changes].map(([collection, ids]) => this.refresh(collection, ids === "all" ? "all" : [...ids])));
    this.applied += end + 1;
    // What was read, not what is there now: a line appended meanwhile is seen by the next call.
    this.seen = { ...now, size: this.applied + (bytes.length - end - 1) };
  }

  private read(offset: number, length: number): Buffer {
    const buffer = Buffer.alloc(length);
    const fd = openSync(this.path, "r");
    try {
      let read = 0;
      while (read < length) {
        const n = readSync(fd, buffer, read, length - read, offset + read);
        if (n === 0) break;
        read += n;
      }
      return buffer.subarray(0, read);
    } finally {
      closeSync(fd);
    }
  }

  private async refresh(collection: string, ids: ChangedIds): Promise<void> {
    await Promise.all((this.subscribers.get(collection) ?? []).map((refresh) => refresh(ids)));
  }

  private async refreshEverything(): Promise<void> {
    await Promise.all([...this.subscribers.keys()].map((collection) => this.refresh(collection, "all")));
  }
}

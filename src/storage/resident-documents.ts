import type { ChangeJournal, ChangedIds } from "./change-journal";

/**
 * How a store reads one document by `_id`, and tells that it has just written one. The store reads
 * and writes through this whether the documents are resident or not.
 */
export interface DocumentsById<T> {
  /** The document as stored, or null; a copy the caller may keep or change. */
  get(id: string): Promise<T | null>;
  /** This process wrote the document (or tried to): the next `get` reads it from the database. */
  written(id: string): void;
  /** This process changed the document with `change` (already written): applied to the resident copy. */
  revised(id: string, change: (doc: T) => T): void;
  /**
   * The document cannot exist yet (its id names something this process is about to create): it is
   * remembered as missing, where missing ids are remembered, until a write or the journal says
   * otherwise — a later write of it forgets this like any other.
   */
  absent(id: string): void;
}

/**
 * A deep copy of a stored document, so no caller shares the resident one: Dates stay Dates (of
 * this realm: structuredClone's would not pass `instanceof Date` under jest's VM), driver values
 * such as ObjectId are kept as they are (nothing changes them in place).
 */
function copyOf<T>(value: T): T {
  if (value === null || typeof value !== "object") return value;
  if (value instanceof Date) return new Date(value.getTime()) as T;
  if (Array.isArray(value)) return value.map(copyOf) as T;
  const prototype = Object.getPrototypeOf(value) as unknown;
  if (prototype !== Object.prototype && prototype !== null) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, copyOf(v)])) as T;
}

/** What a resident store remembers for an id known to have no document (ResidentDocuments' `rememberMissing`). */
const missing: unique symbol = Symbol("missing");

/** Every `get` reads the database: MongoDB, tests, the CLI — today's path. */
export function readThrough<T>(load: (id: string) => Promise<T | null>): DocumentsById<T> {
  return { get: load, written() {}, revised() {}, absent() {} };
}

/**
 * Documents kept in the server's memory once read (the embedded database serves one server
 * process: README "How it is built"). A document enters on its first `get` (one `_id` read) and
 * stays until a write makes it stale: this process's own writes (`written`, `revised`) and other
 * processes' writes, which reach it through the change journal — checked before every answer.
 *
 * A read that started before a write or a journal refresh of the same document may finish after
 * it; its result is then not kept, so a stale read never overwrites a fresher state. Documents that do not exist are not remembered
 * (a flood of unknown ids costs reads, not memory) — unless `rememberMissing` says the ids are
 * bounded and mostly absent (a member's personal-token key: one per member, absent for most),
 * where "no such document" is worth keeping until a write or the journal says otherwise.
 */
export class ResidentDocuments<T> implements DocumentsById<T> {
  private readonly resident = new Map<string, T | typeof missing>();
  /** Reads in flight, per id: a change made meanwhile marks them stale, and their result is not kept. */
  private readonly reading = new Map<string, Set<{ stale: boolean }>>();

  constructor(
    collection: string,
    private readonly load: (id: string) => Promise<T | null>,
    private readonly journal: ChangeJournal,
    private readonly options: { rememberMissing?: boolean } = {},
  ) {
    journal.subscribe(collection, (ids) => {
      this.forget(ids);
      return Promise.resolve();
    });
  }

  async get(id: string): Promise<T | null> {
    await this.journal.catchUp();
    const known = this.resident.get(id);
    if (known === missing) return null;
    if (known !== undefined) return copyOf(known);
    const read = { stale: false };
    const reads = this.reading.get(id) ?? new Set();
    this.reading.set(id, reads.add(read));
    try {
      const doc = await this.load(id);
      if (!read.stale && (doc || this.options.rememberMissing)) this.resident.set(id, doc ? copyOf(doc) : missing);
      return doc;
    } finally {
      reads.delete(read);
      if (!reads.size && this.reading.get(id) === reads) this.reading.delete(id);
    }
  }

  written(id: string): void {
    this.forget([id]);
  }

  revised(id: string, change: (doc: T) => T): void {
    this.staleReads(id);
    const known = this.resident.get(id);
    if (known === missing) this.resident.delete(id);
    else if (known !== undefined) this.resident.set(id, change(known));
  }

  absent(id: string): void {
    if (this.options.rememberMissing && !this.resident.has(id) && !this.reading.has(id)) this.resident.set(id, missing);
  }

  private staleReads(id: string): void {
    for (const read of this.reading.get(id) ?? []) read.stale = true;
  }

  private forget(ids: ChangedIds): void {
    if (ids === "all") {
      this.resident.clear();
      for (const id of this.reading.keys()) this.staleReads(id);
      return;
    }
    for (const id of ids) {
      this.resident.delete(id);
      this.staleReads(id);
    }
  }
}

/**
 * On the embedded database one server process owns the data and may keep a resident copy of it
 * in memory (the directory, tokens, the audit index: see README "How it is built"). Other
 * processes that write to that same database — the CLI next to a running server — record which
 * documents they changed in a change journal; the owner applies those changes before it answers
 * from memory, so a change made by the CLI is seen by the very next request.
 *
 * This file declares the seam only. The resident stores subscribe to their collections; the
 * journal's implementation decides how other processes' writes reach them.
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

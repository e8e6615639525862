import type { Models } from "./models";

/**
 * The audit outbox's moves still under way in this process (storage/outbox.ts), and the read
 * barrier in front of the trail.
 *
 * On the embedded database the one server process is the only writer of `audit_events` and
 * `directory_events` (the CLI aside, which writes its own events through the change journal). A
 * change's events are durable in its own document once the change's write is acknowledged, so the
 * request may answer then and the move into the trail — directory events, then audit events — may
 * follow. What a user can observe must not change: every reader of those collections in the process
 * (the audit log and its export, the event feed, the webhook deliveries, the activity tallies, the
 * personal-data erasure, the access-review completions, recovery) first waits here for the moves
 * that were under way when it began (`settled`), so an answered change is in every answer read after
 * it — as if the request had waited for the move itself.
 *
 * Only the embedded database's server attaches one (composition: `resident`); on MongoDB several
 * instances read the trail, none of them can wait for another's memory, so the request awaits the
 * move as before and `trailSettled` costs nothing.
 */
export class PendingTrailMoves {
  private readonly moves = new Set<Promise<void>>();
  private readonly eventIds = new Map<string, number>();

  /** `hurry`: starts the moves that wait to go together (Outbox's lingering batch) — a reader is waiting for them. */
  constructor(private readonly hurry: () => void = () => undefined) {}

  /** Tracks a move of the events with `ids` until it settles (whether it succeeded or not). */
  track(ids: readonly string[], move: Promise<void>): void {
    for (const id of ids) this.eventIds.set(id, (this.eventIds.get(id) ?? 0) + 1);
    const settled = move.then(
      () => undefined,
      () => undefined,
    );
    this.moves.add(settled);
    void settled.then(() => {
      this.moves.delete(settled);
      for (const id of ids) {
        const left = (this.eventIds.get(id) ?? 1) - 1;
        if (left > 0) this.eventIds.set(id, left);
        else this.eventIds.delete(id);
      }
    });
  }

  /** Whether a move of this event is under way here (recovery leaves such an event to it). */
  moving(id: string): boolean {
    return this.eventIds.has(id);
  }

  get size(): number {
    return this.moves.size;
  }

  /**
   * Resolves once every move under way now has settled — those still waiting to go together with
   * others are started at once (`hurry`), so no reader waits for a batch to fill. Moves begun later
   * are not waited for, so a steady stream of changes cannot hold a reader back. A move that failed
   * left its events in their document for recovery, as a failed move did when the request awaited it.
   */
  async settled(): Promise<void> {
    if (!this.moves.size) return;
    const waited = [...this.moves];
    this.hurry();
    await Promise.all(waited);
  }
}

const pending = new WeakMap<Models, PendingTrailMoves>();

export function attachPendingTrailMoves(models: Models, moves: PendingTrailMoves): void {
  pending.set(models, moves);
}

export function pendingTrailMovesOf(models: Models): PendingTrailMoves | undefined {
  return pending.get(models);
}

/** The read barrier: waits for this process's moves into the trail under way now (none on MongoDB). */
export function trailSettled(models: Models): Promise<void> {
  return pending.get(models)?.settled() ?? Promise.resolve();
}

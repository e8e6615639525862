import { guarded } from "./database-errors";
import { writeQueueOf } from "./write-queue";
import type { AuthFailureDocument, Models } from "./models";

/**
 * Failed-authentication counters per client and fixed time window, kept in the database so every
 * instance behind the load balancer counts the same failures. Expired windows are swept now and
 * then (no TTL index: FerretDB has none).
 *
 * Counting is one atomic increment whose result decides: the caller refuses an attempt whose
 * number is above the limit. Reading the count first and incrementing after let every request of
 * a parallel burst read the same old count and pass (16 concurrent wrong tokens after 12 failures
 * got 14 × 401 where the limit of 20 allows 8).
 *
 * An increment is atomic on MongoDB, not on FerretDB v1.24 (it reads, changes and writes back the
 * document: ../shared/MONGODB.md), so on FerretDB the increments of one counter run one after
 * another through the connection's write queue (storage/write-queue.ts), like every other
 * read-modify-write.
 */
export class AuthFailureCounters {
  private lastSweep = 0;

  constructor(private readonly models: Models, private readonly windowSeconds: number, private readonly now: () => Date = () => new Date()) {}

  private window(client: string): { key: string; resetsAt: Date } {
    const windowMs = this.windowSeconds * 1000;
    const start = Math.floor(this.now().getTime() / windowMs) * windowMs;
    return { key: `${client}@${start}`, resetsAt: new Date(start + windowMs) };
  }

  /**
   * Counts one failed attempt and returns its number in the current window (1 for the first): the
   * count the atomic increment returned, so no two attempts get the same number.
   */
  async recordFailure(client: string): Promise<{ count: number; resetsAt: Date }> {
    const { key, resetsAt } = this.window(client);
    const doc = await guarded(() =>
      // On FerretDB the $inc is only atomic inside the write queue (storage/write-queue.ts).
      writeQueueOf(this.models).document("auth_failures", key, () =>
        this.models.AuthFailure.findOneAndUpdate(
          { _id: key },
          { $inc: { count: 1 }, $setOnInsert: { expiresAt: resetsAt } },
          { upsert: true, returnDocument: "after" },
        ).lean<AuthFailureDocument>(),
      ),
    );
    void this.sweep();
    if (!doc) throw new Error("the upserting increment of an auth-failure counter returned no document");
    return { count: doc.count, resetsAt };
  }

  private async sweep(): Promise<void> {
    const now = this.now().getTime();
    if (now - this.lastSweep < 10 * 60_000) return;
    this.lastSweep = now;
    await this.models.AuthFailure.deleteMany({ expiresAt: { $lt: new Date(now) } }).catch(() => undefined);
  }
}

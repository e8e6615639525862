import { guarded } from "./database-errors";
import { readById } from "./read-by-id";
import { writeQueueOf } from "./write-queue";
import type { AuthFailureDocument, Models } from "./models";

/**
 * Failed-authentication counters per client and fixed time window, kept in MongoDB so every
 * instance behind the load balancer counts the same failures. Expired windows are swept now and
 * then (no TTL index: FerretDB has none).
 */
export class AuthFailureCounters {
  private lastSweep = 0;

  constructor(private readonly models: Models, private readonly windowSeconds: number, private readonly now: () => Date = () => new Date()) {}

  private window(client: string): { key: string; resetsAt: Date } {
    const windowMs = this.windowSeconds * 1000;
    const start = Math.floor(this.now().getTime() / windowMs) * windowMs;
    return { key: `${client}@${start}`, resetsAt: new Date(start + windowMs) };
  }

  async failures(client: string): Promise<{ count: number; resetsAt: Date }> {
    const { key, resetsAt } = this.window(client);
    const doc = await guarded(() => readById<AuthFailureDocument>(this.models.AuthFailure, key));
    return { count: doc?.count ?? 0, resetsAt };
  }

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
    return { count: doc?.count ?? 1, resetsAt };
  }

  private async sweep(): Promise<void> {
    const now = this.now().getTime();
    if (now - this.lastSweep < 10 * 60_000) return;
    this.lastSweep = now;
    await this.models.AuthFailure.deleteMany({ expiresAt: { $lt: new Date(now) } }).catch(() => undefined);
  }
}

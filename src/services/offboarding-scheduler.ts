import type { Offboardings, SchedulerPass } from "./offboardings";

/**
 * Runs the offboarding agenda (Offboardings.runDue) every `intervalMs` — 15 s by default, so an
 * offboarding is carried out well within a minute of its time — on every instance at once: the
 * claims decide which instance does each step. Nothing is held in memory between passes, so a
 * restart loses nothing: the next pass reads the agenda from the database. `clock` and
 * `intervalMs` are injectable (tests run in seconds).
 */
export class OffboardingScheduler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly intervalMs: number;
  private readonly clock: () => Date;

  constructor(
    private readonly offboardings: Offboardings,
    private readonly report: { done(pass: SchedulerPass): void; failed(error: unknown): void },
    options: { intervalMs?: number; clock?: () => Date } = {},
  ) {
    this.intervalMs = options.intervalMs ?? 15_000;
    this.clock = options.clock ?? (() => new Date());
  }

  /** A pass now, then one every interval. */
  start(): void {
    void this.runOnce();
    this.timer = setInterval(() => void this.runOnce(), this.intervalMs);
    this.timer.unref();
  }

  /** One pass (a pass already under way is not doubled). */
  runOnce(): Promise<void> {
    this.running ??= this.offboardings
      .runDue(this.clock())
      .then((pass) => {
        if (pass.reminded.length || pass.carriedOut.length) this.report.done(pass);
      }, (error: unknown) => this.report.failed(error))
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  /** Stops the timer and waits for a pass under way (shutdown, tests). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}

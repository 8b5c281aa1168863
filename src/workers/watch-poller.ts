/**
 * Fires due watches from the watch schedule (`src/store/watch-schedule.store.ts`) in the worker
 * role: every poll claims the watches due now, each under a lease, fires them a few at a time
 * (`processWatchJob`: reconcile, DLR-timeout failover, expiry) and sets each one's next deadline or
 * ends it. A firing that throws (Redis trouble, a carrier read that failed oddly) is tried again
 * with back-off; a worker killed mid-firing leaves its leased watches to come due again when the
 * lease ends. Several workers may poll at once: a claim is atomic, so a watch fires in one place.
 */
import type { Logger } from '../logger.ts';
import { maskPhonesInText } from '../logger.ts';
import type { PipelineDeps } from '../pipeline/pipeline-deps.ts';
import { processWatchJob } from '../pipeline/watch-job.processor.ts';
import { WatchSchedule, type ClaimedWatch, type WatchState } from '../store/watch-schedule.store.ts';

export interface WatchPollerOptions {
  /** How often to look for due watches when none were due at the last look. */
  intervalMs: number;
  /** How long a claimed watch is left to its firing before it comes due again. */
  leaseMs: number;
  /** Watches claimed per poll. */
  batch: number;
  /** Watches firing at once. */
  concurrency: number;
}

export const WATCH_POLLER_DEFAULTS: WatchPollerOptions = { intervalMs: 100, leaseMs: 60_000, batch: 200, concurrency: 16 };

const MAX_BACKOFF_MS = 60_000;

export class WatchPoller {
  private readonly deps: PipelineDeps;
  private readonly schedule: WatchSchedule;
  private readonly opts: WatchPollerOptions;
  private readonly log: Logger;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;

  constructor(deps: PipelineDeps, opts: Partial<WatchPollerOptions> = {}) {
    this.deps = deps;
    this.opts = { ...WATCH_POLLER_DEFAULTS, ...opts };
    this.schedule = new WatchSchedule(deps.redis, deps.store.keys);
    this.log = deps.log.child({ component: 'watch' });
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.arm(0);
  }

  /** Stops polling and waits for the watches firing now (their leases keep the rest safe). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One poll: claims and fires the watches due now; returns how many fired. */
  async pollOnce(): Promise<number> {
    const now = this.deps.now();
    const due = await this.schedule.claimDue(now, now + this.opts.leaseMs, this.opts.batch);
    let next = 0;
    const lane = async (): Promise<void> => {
      for (let i = next++; i < due.length; i = next++) {
        const w = due[i];
        if (w !== undefined) await this.fire(w);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.opts.concurrency, due.length) }, lane));
    return due.length;
  }

  private arm(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const run = this.pollOnce().then(
        (n) => this.arm(n >= this.opts.batch ? 0 : this.opts.intervalMs),
        (err: unknown) => {
          this.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'watch poll failed; polling again');
          this.arm(Math.max(1_000, this.opts.intervalMs));
        },
      );
      this.running = run.finally(() => (this.running = undefined));
    }, delayMs);
    this.timer.unref();
  }

  private async fire(w: ClaimedWatch): Promise<void> {
    const { failures, ...carried } = w.state;
    try {
      const outcome = await processWatchJob(this.deps, { messageId: w.messageId, ...carried });
      if (outcome.kind === 'done') return await this.schedule.end(w.messageId);
      const { messageId: _id, ...state } = outcome.data;
      await this.schedule.reschedule(w.messageId, outcome.nextAt, state satisfies WatchState);
    } catch (err) {
      const tries = (failures ?? 0) + 1;
      const backoff = Math.min(MAX_BACKOFF_MS, 1_000 * 2 ** (tries - 1));
      this.log.warn(
        { messageId: w.messageId, tries, err: maskPhonesInText(err instanceof Error ? err.message : String(err)) },
        'watch firing failed; trying again',
      );
      await this.schedule.reschedule(w.messageId, this.deps.now() + backoff, { ...carried, failures: tries }).catch(() => undefined);
    }
  }
}

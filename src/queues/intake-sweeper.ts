/**
 * Re-adds send jobs for messages left `accepted` too long (DESIGN §7): the API writes the record
 * and then adds the job, and a crash or a Redis blip between the two must not lose the message.
 * Job id = message id, so re-adding a job that exists is a no-op; a message whose send batch
 * (`MessageRecord.sendJob`) is still queued or running is left to it. One process sweeps at a time.
 */
import type { RedisClient } from '../store/redis-client.ts';
import type { Logger } from '../logger.ts';
import type { MessageStore } from '../store/message.store.ts';
import type { QueueSet } from './queue-set.ts';
import { WatchSchedule } from '../store/watch-schedule.store.ts';

export interface SweeperOptions {
  afterMs: number;
  intervalMs: number;
}

export class IntakeSweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;
  private readonly deps: { redis: RedisClient; store: MessageStore; queues: QueueSet; log: Logger; now: () => number };
  private readonly opts: SweeperOptions;

  constructor(deps: { redis: RedisClient; store: MessageStore; queues: QueueSet; log: Logger; now: () => number }, opts: SweeperOptions) {
    this.deps = deps;
    this.opts = opts;
  }

  start(): void {
    if (this.timer || this.opts.intervalMs <= 0) return;
    this.timer = setInterval(() => {
      if (!this.running)
        this.running = this.sweepOnce()
          .catch(() => 0)
          .finally(() => (this.running = undefined));
    }, this.opts.intervalMs);
    this.timer.unref();
  }

  /** Returns how many jobs were re-added. */
  async sweepOnce(): Promise<number> {
    const { redis, store, queues, log, now } = this.deps;
    const lock = await redis.set(store.keys.lock('sweeper'), String(process.pid), 'PX', Math.max(1_000, this.opts.intervalMs), 'NX');
    if (lock === null) return 0;
    const watches = new WatchSchedule(redis, store.keys);
    const ids = await store.staleAccepted(now() - this.opts.afterMs, 500);
    let added = 0;
    for (const id of ids) {
      const msg = await store.get(id);
      if (!msg || msg.doc.status !== 'accepted' || msg.doc.final) {
        await store.dropFromAccepted(id);
        continue;
      }
      // The message's job is its own (job id = message id) or the send batch its record names.
      const jobs = await Promise.all(
        [id, msg.doc.sendJob].filter((j): j is string => j !== undefined).map(async (j) => queues.send.getJob(j)),
      );
      const states = await Promise.all(jobs.map(async (job) => job?.getState()));
      if (states.some((state) => state !== undefined && state !== 'completed' && state !== 'failed')) {
        await watches.ensure(id, now() + 1_000);
        continue;
      }
      const own = jobs[0];
      if (own) await own.remove().catch(() => undefined);
      // The watch was written with the record, but a message re-queued here gets one in any case.
      await Promise.all([queues.addSend(id), watches.ensure(id, now() + 1_000)]);
      added++;
    }
    if (added > 0) log.warn({ added }, 'sweeper re-queued messages left accepted');
    return added;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}

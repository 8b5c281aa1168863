/**
 * Moves webhook events from the outbox (written atomically with each message change) to the
 * `events` queue. One relay at a time across processes (a short Redis lock) so the list can be
 * trimmed safely; a crash between queueing and trimming re-queues the same events with the same
 * job ids, which BullMQ ignores.
 */
import { randomBytes } from 'node:crypto';
import type { RedisClient } from '../store/redis-client.ts';
import type { OutboxItem } from '../domain/events.ts';
import type { Logger } from '../logger.ts';
import type { QueueSet } from '../queues/queue-set.ts';
import type { RedisKeys } from '../store/redis-keys.ts';

const BATCH = 500;
const RELEASE_LUA = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";

export class OutboxRelay {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly token = randomBytes(8).toString('hex');
  private readonly deps: { redis: RedisClient; keys: RedisKeys; queues: QueueSet; log: Logger };
  private readonly intervalMs: number;

  constructor(deps: { redis: RedisClient; keys: RedisKeys; queues: QueueSet; log: Logger }, intervalMs: number) {
    this.deps = deps;
    this.intervalMs = intervalMs;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (!this.running) {
        this.running = this.drain()
          .then(() => undefined)
          .catch((err: unknown) => this.deps.log.warn({ err: (err as Error).message }, 'outbox relay failed; will retry'))
          .finally(() => (this.running = undefined));
      }
    }, this.intervalMs);
    this.timer.unref();
  }

  /** Relays everything in the outbox now; returns how many events were queued. */
  async drain(): Promise<number> {
    const { redis, keys, queues } = this.deps;
    const lockKey = keys.lock('outbox');
    if ((await redis.set(lockKey, this.token, 'PX', 10_000, 'NX')) === null) return 0;
    let moved = 0;
    try {
      for (;;) {
        const raw = await redis.lrange(keys.outbox, 0, BATCH - 1);
        if (raw.length === 0) break;
        const items = raw.map((r) => JSON.parse(r) as OutboxItem);
        await queues.addEventBatch(items);
        await redis.ltrim(keys.outbox, raw.length, -1);
        moved += raw.length;
        if (raw.length < BATCH) break;
      }
    } finally {
      await redis.eval(RELEASE_LUA, 1, lockKey, this.token);
    }
    return moved;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
    await this.drain().catch(() => 0);
  }
}

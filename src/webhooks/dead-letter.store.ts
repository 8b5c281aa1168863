/**
 * Dead letters: webhook events that exhausted their retries, kept for ops to inspect and replay
 * (`GET /v1/webhooks/dead-letters`, `POST …/:eventId/replay`).
 */
import type { RedisClient } from '../store/redis-client.ts';
import type { OutboxItem } from '../domain/events.ts';
import type { RedisKeys } from '../store/redis-keys.ts';

export interface DeadLetter {
  eventId: string;
  messageId: string;
  type: string;
  url: string;
  keyName: string;
  failedAt: string;
  attempts: number;
  lastError: string;
  item: OutboxItem;
}

export class DeadLetterStore {
  private readonly redis: RedisClient;
  private readonly keys: RedisKeys;
  private readonly retentionSeconds: number;

  constructor(redis: RedisClient, keys: RedisKeys, retentionSeconds: number) {
    this.redis = redis;
    this.keys = keys;
    this.retentionSeconds = retentionSeconds;
  }

  async add(item: OutboxItem, attempts: number, lastError: string, at: number): Promise<void> {
    const dl: DeadLetter = {
      eventId: item.event.id,
      messageId: item.event.data.messageId,
      type: item.event.type,
      url: item.url,
      keyName: item.keyName,
      failedAt: new Date(at).toISOString(),
      attempts,
      lastError,
      item,
    };
    await this.redis
      .multi()
      .set(this.keys.deadLetter(dl.eventId), JSON.stringify(dl), 'EX', this.retentionSeconds)
      .zadd(this.keys.deadLetters, at, dl.eventId)
      .exec();
  }

  async count(): Promise<number> {
    return this.redis.zcard(this.keys.deadLetters);
  }

  async get(eventId: string): Promise<DeadLetter | undefined> {
    const raw = await this.redis.get(this.keys.deadLetter(eventId));
    return raw === null ? undefined : (JSON.parse(raw) as DeadLetter);
  }

  async list(limit: number): Promise<DeadLetter[]> {
    const ids = await this.redis.zrevrange(this.keys.deadLetters, 0, limit - 1);
    if (ids.length === 0) return [];
    const raws = await this.redis.mget(...ids.map((id) => this.keys.deadLetter(id)));
    const out: DeadLetter[] = [];
    const gone: string[] = [];
    raws.forEach((raw, i) => {
      if (raw === null) gone.push(ids[i] as string);
      else out.push(JSON.parse(raw) as DeadLetter);
    });
    if (gone.length > 0) await this.redis.zrem(this.keys.deadLetters, ...gone);
    return out;
  }

  /** Removes a dead letter (it is being replayed); false when there is none. */
  async take(eventId: string): Promise<DeadLetter | undefined> {
    const dl = await this.get(eventId);
    if (!dl) return undefined;
    const [[, removed] = [null, 0]] = ((await this.redis
      .multi()
      .zrem(this.keys.deadLetters, eventId)
      .del(this.keys.deadLetter(eventId))
      .exec()) ?? []) as Array<[Error | null, number]>;
    return removed === 1 ? dl : undefined;
  }
}

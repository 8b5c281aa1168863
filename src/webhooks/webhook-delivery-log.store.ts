/**
 * The answers a message's webhook deliveries got, kept per message so support can see that the
 * upstream was told (or why it was not) without digging through the `events` queue, whose
 * completed jobs are trimmed after an hour and are not indexed by message.
 *
 * Written by the webhook worker after each try, never by the send path: one LIST per message
 * (newest first, capped), expiring with the message.
 */
import type { RedisClient } from '../store/redis-client.ts';
import type { RedisKeys } from '../store/redis-keys.ts';

/** What one try came to: the receiver's answer, or why no answer was asked for. */
export type DeliveryOutcome = 'success' | 'gone' | 'failure' | 'forbidden' | 'disabled' | 'dead_letter';

/** One delivery try of one event. */
export interface DeliveryLogEntry {
  eventId: string;
  type: string;
  url: string;
  at: string;
  /** 1-based try number of this event. */
  try: number;
  outcome: DeliveryOutcome;
  /** HTTP status the receiver answered, when it answered. */
  status?: number;
  /** Why the try failed (no answer, redirect, refused target). */
  reason?: string;
}

/** Tries kept per message: enough for every event of a message and a few retries each. */
const MAX_ENTRIES = 100;

export class WebhookDeliveryLog {
  private readonly redis: RedisClient;
  private readonly keys: RedisKeys;
  private readonly retentionSeconds: number;

  constructor(redis: RedisClient, keys: RedisKeys, retentionSeconds: number) {
    this.redis = redis;
    this.keys = keys;
    this.retentionSeconds = retentionSeconds;
  }

  /** Appends one try (one round trip). */
  async record(messageId: string, entry: DeliveryLogEntry): Promise<void> {
    await this.recordAll(messageId, [entry]);
  }

  /** Appends tries of one message, oldest first (one round trip: a batch's first tries of its events). */
  async recordAll(messageId: string, entries: readonly DeliveryLogEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const key = this.keys.webhookLog(messageId);
    // Plain commands, not an explicit pipeline: on the auto-pipelined connection they share this
    // tick's socket write with every other command (a pipeline is a write, a syscall, of its own).
    await Promise.all([
      this.redis.lpush(key, ...entries.map((e) => JSON.stringify(e))),
      this.redis.ltrim(key, 0, MAX_ENTRIES - 1),
      this.redis.expire(key, this.retentionSeconds),
    ]);
  }

  /** The tries of a message's events, oldest first. */
  async list(messageId: string): Promise<DeliveryLogEntry[]> {
    const raw = await this.redis.lrange(this.keys.webhookLog(messageId), 0, MAX_ENTRIES - 1);
    return raw.map((r) => JSON.parse(r) as DeliveryLogEntry).reverse();
  }
}

/**
 * The index of messages still open long after a carrier accepted them (`<prefix>:idx:stuck`): what
 * the "messages stuck in sent" gauge, panel and alert read. Only each message's watch writes
 * it, and only for a message past the threshold — never the send or callback path — so a message
 * delivered in time costs nothing here.
 */
import type { RedisClient } from './redis-client.ts';
import type { RedisKeys } from './redis-keys.ts';

export class StuckIndex {
  private readonly redis: RedisClient;
  private readonly key: string;

  constructor(redis: RedisClient, keys: Pick<RedisKeys, 'stuckSent'>) {
    this.redis = redis;
    this.key = keys.stuckSent;
  }

  /** Records the message as stuck since `acceptedAtMs` (its oldest open attempt's acceptance). */
  async add(messageId: string, acceptedAtMs: number): Promise<void> {
    await this.redis.zadd(this.key, acceptedAtMs, messageId);
  }

  /** The message settled (or is no longer watched). */
  async remove(messageId: string): Promise<void> {
    await this.redis.zrem(this.key, messageId);
  }

  /** How many messages are stuck now. */
  async count(): Promise<number> {
    return this.redis.zcard(this.key);
  }
}

/**
 * Cached number lookups (DESIGN §6.2), keyed by the phone's HMAC token (never the number): line
 * type and network for days, SIM-swap facts for an hour — a lookup costs about as much as an SMS,
 * and a SIM swap is the one fact that must be fresh.
 */
import type { RedisClient } from './redis-client.ts';
import type { NumberInfo } from '../../providers/provider.ts';

export interface CachedLookup {
  info: Omit<NumberInfo, 'simSwap' | 'cost'>;
  provider: string;
  at: number;
}

export interface CachedSimSwap {
  simSwap: NumberInfo['simSwap'] | null;
  at: number;
}

export class LookupCache {
  private readonly redis: RedisClient;
  private readonly prefix: string;
  private readonly lineTypeTtlSeconds: number;
  private readonly simSwapTtlSeconds: number;

  constructor(redis: RedisClient, opts: { prefix: string; lineTypeTtlSeconds: number; simSwapTtlSeconds: number }) {
    this.redis = redis;
    this.prefix = opts.prefix;
    this.lineTypeTtlSeconds = opts.lineTypeTtlSeconds;
    this.simSwapTtlSeconds = opts.simSwapTtlSeconds;
  }

  private key(kind: 'line' | 'swap', token: string): string {
    return `${this.prefix}:lookup:${kind}:${token}`;
  }

  async get(token: string): Promise<{ line?: CachedLookup; swap?: CachedSimSwap }> {
    const [line, swap] = await this.redis.mget(this.key('line', token), this.key('swap', token));
    return {
      ...(line ? { line: JSON.parse(line) as CachedLookup } : {}),
      ...(swap ? { swap: JSON.parse(swap) as CachedSimSwap } : {}),
    };
  }

  async put(token: string, provider: string, info: NumberInfo, at: number): Promise<void> {
    const { simSwap, cost: _cost, ...rest } = info;
    const line: CachedLookup = { info: rest, provider, at };
    const swap: CachedSimSwap = { simSwap: simSwap ?? null, at };
    await this.redis
      .multi()
      .set(this.key('line', token), JSON.stringify(line), 'EX', this.lineTypeTtlSeconds)
      .set(this.key('swap', token), JSON.stringify(swap), 'EX', this.simSwapTtlSeconds)
      .exec();
  }
}

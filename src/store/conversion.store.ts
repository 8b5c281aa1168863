/**
 * Conversion counters for the pumping guard (DESIGN §6.2): how many messages per
 * recipient country and number prefix ended in a verified login, and how many did not, per UTC
 * hour. SMS pumping shows up as traffic to a prefix that never converts; the guard will compare
 * these counts with what was sent. Only the first report of a message and later changes of its
 * value move the counters, so a retried report is not counted twice.
 */
import type { RedisClient } from './redis-client.ts';
import type { RedisKeys } from './redis-keys.ts';
import { TtlCache } from './ttl-cache.ts';
import { utcHour, utcHours } from './utc-hour.ts';

/** Hourly buckets are kept this long: a week of history plus a day of slack. */
export const CONVERSION_RETENTION_SECONDS = 8 * 86_400;

/** Digits of the number kept in the prefix dimension: country code plus the start of the range. */
const PREFIX_DIGITS = 5;

/** `+` and the first digits of an E.164 number: the range a pumping attack rents. */
export function numberPrefix(e164: string): string {
  return `+${e164.replace(/\D/g, '').slice(0, PREFIX_DIGITS)}`;
}

/** The UTC hour bucket name `YYYYMMDDHH` of a time. */
export function conversionHour(ms: number): string {
  return utcHour(ms);
}

/** Messages of one dimension that converted (verified login) and that did not. */
export interface ConversionCounts {
  converted: number;
  unconverted: number;
}

/** Options of a {@link ConversionStore}: the read cache of {@link ConversionStore.counts} (off unless `countsCacheMs` is given). */
export interface ConversionStoreOptions {
  /** How long this process reuses a dimension's sums (see `CONVERSION_CACHE_MS` in the pumping stage). */
  countsCacheMs?: number;
  /** The clock the cache's freshness is measured on (the pipeline's `now`). */
  now?: () => number;
}

/** Hourly conversion counters in Redis; one HINCRBY transaction per reported change. */
export class ConversionStore {
  private readonly redis: RedisClient;
  private readonly keys: RedisKeys;
  /** Sums per dimension and hour range, as last read by this instance. */
  private readonly cache: TtlCache<ConversionCounts>;

  constructor(redis: RedisClient, keys: RedisKeys, opts: ConversionStoreOptions = {}) {
    this.redis = redis;
    this.keys = keys;
    this.cache = new TtlCache({ ttlMs: opts.countsCacheMs ?? 0, now: opts.now ?? Date.now });
  }

  /**
   * Moves the counters of the message's country and prefix from its previous report (`before`,
   * undefined for the first one) to `after`. No-op when nothing changed.
   */
  async record(msg: { country: string; to: string }, before: boolean | undefined, after: boolean, atMs: number): Promise<void> {
    if (before === after) return;
    const key = this.keys.conversions(conversionHour(atMs));
    const field = (dim: string, v: boolean): string => `${dim}:${v ? 'converted' : 'unconverted'}`;
    const dims = [`country:${msg.country || 'ZZ'}`, `prefix:${numberPrefix(msg.to)}`];
    const tx = this.redis.multi();
    for (const dim of dims) {
      tx.hincrby(key, field(dim, after), 1);
      if (before !== undefined) tx.hincrby(key, field(dim, before), -1);
    }
    tx.expire(key, CONVERSION_RETENTION_SECONDS);
    await tx.exec();
  }

  /**
   * Sums one dimension (`country:US`, `prefix:+14155`) over the hours in `[fromMs, toMs]`. With
   * `countsCacheMs`, a sum read within that time for the same dimension and hours is reused, and
   * concurrent callers share one read.
   */
  async counts(dimension: string, fromMs: number, toMs: number): Promise<ConversionCounts> {
    const hours = utcHours(fromMs, toMs);
    if (hours.length === 0) return { converted: 0, unconverted: 0 };
    const cached = await this.cache.get(`${dimension}|${hours[0] ?? ''}|${hours.length}`, async () => {
      const out: ConversionCounts = { converted: 0, unconverted: 0 };
      const pipeline = this.redis.pipeline();
      for (const h of hours) pipeline.hmget(this.keys.conversions(h), `${dimension}:converted`, `${dimension}:unconverted`);
      for (const [, values] of (await pipeline.exec()) ?? []) {
        const [c, u] = (values as Array<string | null> | null) ?? [];
        out.converted += Number(c ?? 0);
        out.unconverted += Number(u ?? 0);
      }
      return out;
    });
    // A copy: the cached sums are shared by every caller within the cache time.
    return { ...cached };
  }
}

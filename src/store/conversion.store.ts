/**
 * Conversion counters for the pumping guard (DESIGN §6.2, a later issue): how many messages per
 * recipient country and number prefix ended in a verified login, and how many did not, per UTC
 * hour. SMS pumping shows up as traffic to a prefix that never converts; the guard will compare
 * these counts with what was sent. Only the first report of a message and later changes of its
 * value move the counters, so a retried report is not counted twice.
 */
import type { Redis } from 'ioredis';
import type { RedisKeys } from './redis-keys.ts';

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
  return new Date(ms).toISOString().slice(0, 13).replace(/[-T]/g, '');
}

/** Messages of one dimension that converted (verified login) and that did not. */
export interface ConversionCounts {
  converted: number;
  unconverted: number;
}

/** Hourly conversion counters in Redis; one HINCRBY transaction per reported change. */
export class ConversionStore {
  private readonly redis: Redis;
  private readonly keys: RedisKeys;

  constructor(redis: Redis, keys: RedisKeys) {
    this.redis = redis;
    this.keys = keys;
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

  /** Sums one dimension (`country:US`, `prefix:+14155`) over the hours in `[fromMs, toMs]`. */
  async counts(dimension: string, fromMs: number, toMs: number): Promise<ConversionCounts> {
    const hours: string[] = [];
    for (let t = Math.floor(fromMs / 3_600_000) * 3_600_000; t <= toMs; t += 3_600_000) hours.push(conversionHour(t));
    const out: ConversionCounts = { converted: 0, unconverted: 0 };
    if (hours.length === 0) return out;
    const pipeline = this.redis.pipeline();
    for (const h of hours) pipeline.hmget(this.keys.conversions(h), `${dimension}:converted`, `${dimension}:unconverted`);
    for (const [, values] of (await pipeline.exec()) ?? []) {
      const [c, u] = (values as Array<string | null> | null) ?? [];
      out.converted += Number(c ?? 0);
      out.unconverted += Number(u ?? 0);
    }
    return out;
  }
}

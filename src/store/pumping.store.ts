/**
 * Redis state of the SMS-pumping guard (issue 10, DESIGN §6): per dimension (a country, or a number
 * prefix) a sliding window of recent sends and a decayed baseline, updated and compared in one Lua
 * call (lua/pumping.lua); plus hourly send counts of the keys that report conversions, for the
 * conversion tripwire, and the list of those keys.
 *
 * Prefix dimensions are named by an HMAC token of the prefix, like every number-derived key that
 * outlives its message (PII at rest): a prefix is most of a number. Countries are named in clear.
 */
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import type { RedisKeys } from './redis-keys.ts';

const PUMPING_LUA = readFileSync(new URL('./lua/pumping.lua', import.meta.url), 'utf8');

type RedisWithScript = Redis & { sbPumping(numKeys: number, ...args: Array<string | number>): Promise<string[]> };

/** The guard's thresholds (config `pumping`). */
export interface PumpingLimits {
  windowMs: number;
  minSends: number;
  baselineMultiplier: number;
  baselineHalfLifeMs: number;
  warmupMs: number;
}

/** What one dimension looked like when a message was counted. */
export interface DimensionReading {
  /** Human label, e.g. `country:US` or `prefix:+1415555` (never stored in Redis as such). */
  label: string;
  count: number;
  threshold: number;
  ageMs: number;
  over: boolean;
}

/** A dimension: its label (for people) and its token (for Redis keys). */
export interface PumpingDimension {
  label: string;
  token: string;
}

/** The outcome of counting one message. */
export interface PumpingCount {
  over: boolean;
  readings: DimensionReading[];
}

/** Hourly tripwire buckets are kept this long (the longest window plus a day). */
export const TRIPWIRE_RETENTION_SECONDS = 8 * 86_400;

/** `YYYYMMDDHH` (UTC) of a time: the tripwire's bucket, the same hours as the conversion store. */
export function hourBucket(ms: number): string {
  return new Date(ms).toISOString().slice(0, 13).replace(/[-T]/g, '');
}

export class PumpingStore {
  private readonly redis: RedisWithScript;
  private readonly keys: RedisKeys;

  constructor(redis: Redis, keys: RedisKeys) {
    const r = redis as RedisWithScript;
    if (typeof r.sbPumping !== 'function') r.defineCommand('sbPumping', { lua: PUMPING_LUA });
    this.redis = r;
    this.keys = keys;
  }

  /**
   * Counts message `id` in each burst dimension (once per window, however often it is retried)
   * and compares each window with its baseline; counts it for the tripwire when `tripwire` is given
   * (its key reports conversions). `neverBlock`: safe-listed, counted but never over.
   */
  async count(
    id: string,
    nowMs: number,
    burst: readonly PumpingDimension[],
    limits: PumpingLimits,
    opts: { neverBlock: boolean; tripwire?: readonly PumpingDimension[] },
  ): Promise<PumpingCount> {
    const tripwire = opts.tripwire ?? [];
    const keys = [...burst.flatMap((d) => [this.keys.pumping('w', d.token), this.keys.pumping('b', d.token)]), ...tripwire.map((d) => this.keys.pumping('t', d.token))];
    const reply = await this.redis.sbPumping(
      keys.length,
      ...keys,
      nowMs,
      id,
      limits.windowMs,
      limits.minSends,
      limits.baselineMultiplier,
      limits.baselineHalfLifeMs,
      limits.warmupMs,
      opts.neverBlock ? '1' : '0',
      tripwire.length > 0 ? '1' : '0',
      hourBucket(nowMs),
      TRIPWIRE_RETENTION_SECONDS,
      burst.length,
      tripwire.length,
    );
    const readings = burst.map((d, i): DimensionReading => ({
      label: d.label,
      count: Number(reply[1 + 4 * i]),
      threshold: Number(reply[2 + 4 * i]),
      ageMs: Number(reply[3 + 4 * i]),
      over: reply[4 + 4 * i] === '1',
    }));
    return { over: reply[0] === '1', readings };
  }

  /** Sends counted for the tripwire in `dimension` over the UTC hours covering `[fromMs, toMs]`. */
  async tripwireSends(dimension: PumpingDimension, fromMs: number, toMs: number): Promise<number> {
    const hours: string[] = [];
    for (let t = Math.floor(fromMs / 3_600_000) * 3_600_000; t <= toMs; t += 3_600_000) hours.push(hourBucket(t));
    if (hours.length === 0) return 0;
    const values = await this.redis.hmget(this.keys.pumping('t', dimension.token), ...hours);
    return values.reduce((sum, v) => sum + Number(v ?? 0), 0);
  }

  /**
   * Writes a dimension's history as if it had carried `sendsPerWindow` steadily since
   * `firstSeenMs` (operators seeding a new deployment from their old numbers; tests).
   */
  async seedBaseline(dimension: PumpingDimension, sendsPerWindow: number, firstSeenMs: number, nowMs: number, limits: Pick<PumpingLimits, 'windowMs' | 'baselineHalfLifeMs'>): Promise<void> {
    // The state lua/pumping.lua would hold after that history: see its baseline comment.
    const f = Math.pow(2, -limits.windowMs / limits.baselineHalfLifeMs);
    const n = Math.max(0, Math.floor((nowMs - firstSeenMs) / limits.windowMs));
    const e = sendsPerWindow * (1 - Math.pow(f, n));
    const key = this.keys.pumping('b', dimension.token);
    await this.redis
      .multi()
      .hset(key, 'e', String(e), 'n', String(n), 'bucket', String(Math.floor(nowMs / limits.windowMs)), 'cur', '0', 'first', String(firstSeenMs))
      .pexpire(key, Math.floor(limits.baselineHalfLifeMs * 20))
      .exec();
  }

  /** Marks `keyName` as a key that reports conversions (it just did). */
  async markReporter(keyName: string, atMs: number): Promise<void> {
    await this.redis.hset(this.keys.conversionReporters, keyName, String(atMs));
  }

  /** Whether `keyName` reported a conversion within `withinMs` of `nowMs`. */
  async isReporter(keyName: string, nowMs: number, withinMs: number): Promise<boolean> {
    const at = await this.redis.hget(this.keys.conversionReporters, keyName);
    return at !== null && nowMs - Number(at) <= withinMs;
  }
}

/**
 * Redis state of the SMS-pumping guard (DESIGN §6): per dimension (a country, or a number prefix)
 * one hash holding a sliding window of recent sends (ten slot counters) and a decayed baseline,
 * updated and compared in one Lua call (lua/pumping.lua); plus hourly send counts of the keys that
 * report conversions, for the conversion tripwire, and the list of those keys.
 *
 * Prefix dimensions are named by an HMAC token of the prefix, like every number-derived key that
 * outlives its message (PII at rest): a prefix is most of a number. Countries are named in clear.
 */
import { readFileSync } from 'node:fs';
import type { RedisClient } from './redis-client.ts';
import type { RedisKeys } from './redis-keys.ts';
import { TtlCache } from './ttl-cache.ts';
import { utcHour, utcHours } from './utc-hour.ts';

const PUMPING_LUA = readFileSync(new URL('./lua/pumping.lua', import.meta.url), 'utf8');

type RedisWithScript = RedisClient & { sbPumping(numKeys: number, ...args: Array<string | number>): Promise<string[]> };

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

/** The tripwire part of one {@link PumpingStore.count} call. */
export interface TripwireRequest {
  dimensions: readonly PumpingDimension[];
  /** Count this message in each dimension's current hour (its key reports conversions); read them either way. */
  count: boolean;
  /** Start of the window whose sends are summed: every UTC hour overlapping `[fromMs, now]`. */
  fromMs: number;
}

/** Sends counted for the tripwire in one dimension over the requested window. */
export interface TripwireReading {
  label: string;
  sends: number;
}

/** The outcome of counting one message. */
export interface PumpingCount {
  over: boolean;
  readings: DimensionReading[];
  /** One per requested tripwire dimension, in order; empty when none was requested. */
  tripwire: TripwireReading[];
}

/**
 * Slots of the sliding window (lua/pumping.lua): a count covers between 9/10 of the window and the
 * whole of it, which moves a threshold of tens of sends by a send or two at most.
 */
export const WINDOW_SLOTS = 10;

/** Hourly tripwire buckets are kept this long (the longest window plus a day). */
export const TRIPWIRE_RETENTION_SECONDS = 8 * 86_400;

/** `YYYYMMDDHH` (UTC) of a time: the tripwire's bucket, the same hours as the conversion store. */
export function hourBucket(ms: number): string {
  return utcHour(ms);
}

/** Options of a {@link PumpingStore}: the reporter cache (off unless `reporterCacheMs` is given). */
export interface PumpingStoreOptions {
  /** How long this process trusts a key's reporter mark it read (see `REPORTER_CACHE_MS` in the stage). */
  reporterCacheMs?: number;
  /** The clock the cache's freshness is measured on (the pipeline's `now`). */
  now?: () => number;
}

export class PumpingStore {
  private readonly redis: RedisWithScript;
  private readonly keys: RedisKeys;
  /** Last report time (ms) per key name, `null` for a key that never reported, as last read or written here. */
  private readonly reporters: TtlCache<number | null>;

  constructor(redis: RedisClient, keys: RedisKeys, opts: PumpingStoreOptions = {}) {
    const r = redis as RedisWithScript;
    if (typeof r.sbPumping !== 'function') r.defineCommand('sbPumping', { lua: PUMPING_LUA });
    this.redis = r;
    this.keys = keys;
    this.reporters = new TtlCache({ ttlMs: opts.reporterCacheMs ?? 0, now: opts.now ?? Date.now });
  }

  /**
   * Counts message `id` in each burst dimension (once per window, however often it is retried)
   * and compares each window with its baseline; with `tripwire`, also counts it in the tripwire
   * dimensions when `tripwire.count` (its key reports conversions) and returns each one's sends over
   * the tripwire window, all in the same single Lua call. `neverBlock`: safe-listed, counted but
   * never over.
   */
  async count(
    id: string,
    nowMs: number,
    burst: readonly PumpingDimension[],
    limits: PumpingLimits,
    opts: { neverBlock: boolean; tripwire?: TripwireRequest },
  ): Promise<PumpingCount> {
    const tripwire = opts.tripwire?.dimensions ?? [];
    const hours = opts.tripwire !== undefined ? utcHours(opts.tripwire.fromMs, nowMs) : [];
    const keys = [
      this.keys.pumping('m', id),
      ...burst.map((d) => this.keys.pumping('b', d.token)),
      ...tripwire.map((d) => this.keys.pumping('t', d.token)),
    ];
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
      opts.tripwire?.count === true && tripwire.length > 0 ? '1' : '0',
      utcHour(nowMs),
      TRIPWIRE_RETENTION_SECONDS,
      burst.length,
      tripwire.length,
      WINDOW_SLOTS,
      ...hours,
    );
    const readings = burst.map((d, i): DimensionReading => ({
      label: d.label,
      count: Number(reply[1 + 4 * i]),
      threshold: Number(reply[2 + 4 * i]),
      ageMs: Number(reply[3 + 4 * i]),
      over: reply[4 + 4 * i] === '1',
    }));
    const base = 1 + 4 * burst.length;
    return {
      over: reply[0] === '1',
      readings,
      tripwire: tripwire.map((d, j): TripwireReading => ({ label: d.label, sends: Number(reply[base + j] ?? 0) })),
    };
  }

  /**
   * Sends counted for the tripwire in `dimension` over the UTC hours covering `[fromMs, toMs]`
   * (operators and tests; the guard gets these sums from {@link count}).
   */
  async tripwireSends(dimension: PumpingDimension, fromMs: number, toMs: number): Promise<number> {
    const hours = utcHours(fromMs, toMs);
    if (hours.length === 0) return 0;
    const values = await this.redis.hmget(this.keys.pumping('t', dimension.token), ...hours);
    return values.reduce((sum, v) => sum + Number(v ?? 0), 0);
  }

  /**
   * Writes a dimension's history as if it had carried `sendsPerWindow` steadily since
   * `firstSeenMs` (operators seeding a new deployment from their old numbers; tests).
   */
  async seedBaseline(
    dimension: PumpingDimension,
    sendsPerWindow: number,
    firstSeenMs: number,
    nowMs: number,
    limits: Pick<PumpingLimits, 'windowMs' | 'baselineHalfLifeMs'>,
  ): Promise<void> {
    // The state lua/pumping.lua would hold after that history: see its baseline comment.
    const f = Math.pow(2, -limits.windowMs / limits.baselineHalfLifeMs);
    const n = Math.max(0, Math.floor((nowMs - firstSeenMs) / limits.windowMs));
    const e = sendsPerWindow * (1 - Math.pow(f, n));
    const key = this.keys.pumping('b', dimension.token);
    await this.redis
      .multi()
      .hset(
        key,
        'e',
        String(e),
        'n',
        String(n),
        'bucket',
        String(Math.floor(nowMs / limits.windowMs)),
        'cur',
        '0',
        'first',
        String(firstSeenMs),
      )
      .pexpire(key, Math.floor(limits.baselineHalfLifeMs * 20))
      .exec();
  }

  /**
   * Marks `keyName` as a key that reports conversions (it just did). The mark is also written into
   * this instance's reporter cache, so a process that sees the report (role `all`) counts the key's
   * next message at once; other processes see it when their cached read expires.
   */
  async markReporter(keyName: string, atMs: number): Promise<void> {
    await this.redis.hset(this.keys.conversionReporters, keyName, String(atMs));
    this.reporters.set(keyName, atMs);
  }

  /**
   * Whether `keyName` reported a conversion within `withinMs` of `nowMs`. The report time is read
   * from Redis at most once per `reporterCacheMs` per key in this process (no round trip at all in
   * the common case); the window is applied to it on every call.
   */
  async isReporter(keyName: string, nowMs: number, withinMs: number): Promise<boolean> {
    const at = await this.reporters.get(keyName, async () => {
      const raw = await this.redis.hget(this.keys.conversionReporters, keyName);
      return raw === null ? null : Number(raw);
    });
    return at !== null && nowMs - at <= withinMs;
  }
}

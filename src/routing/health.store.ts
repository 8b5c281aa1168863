/**
 * Live provider health per provider×country (DESIGN §6.4), shared by every worker through Redis:
 * time-decayed counters (send errors: 60 s half-life; DLR success and latency: 10 min), so a
 * burst of failures shows at once and old ones fade. Reads are cached for a second per process:
 * routing must not cost a Redis round trip per candidate per message.
 */
import type { ChainableCommander } from 'ioredis';
import type { RedisClient } from '../store/redis-client.ts';
import type { ProviderId } from '../../providers/provider.ts';
import { NEUTRAL_HEALTH, type HealthSnapshot } from './router.ts';

const DECAY_LUA = `
local now = tonumber(ARGV[1]); local hl = tonumber(ARGV[2])
local v = redis.call('HMGET', KEYS[1], 't', 'n', 'h', 'l', 'c')
local t = tonumber(v[1]) or now
local d = math.pow(0.5, math.max(0, now - t) / hl)
local n = (tonumber(v[2]) or 0) * d + 1
local h = (tonumber(v[3]) or 0) * d + tonumber(ARGV[3])
local l = (tonumber(v[4]) or 0) * d
local c = (tonumber(v[5]) or 0) * d
if ARGV[4] ~= '' then l = l + tonumber(ARGV[4]); c = c + 1 end
redis.call('HSET', KEYS[1], 't', now, 'n', tostring(n), 'h', tostring(h), 'l', tostring(l), 'c', tostring(c))
redis.call('PEXPIRE', KEYS[1], math.floor(hl * 20))
return 1`;

type RedisWithDecay = RedisClient & { sbDecay(key: string, now: number, halfLifeMs: number, hit: number, latency: string): Promise<number> };
type PipelineWithDecay = ChainableCommander & { sbDecay(key: string, now: number, halfLifeMs: number, hit: number, latency: string): ChainableCommander };

export interface HealthOptions {
  prefix: string;
  errorHalfLifeMs: number;
  dlrHalfLifeMs: number;
  minSamples: number;
  cacheMs: number;
}

interface Counters {
  t: number;
  n: number;
  h: number;
  l: number;
  c: number;
}

function decayed(raw: Array<string | null>, now: number, halfLifeMs: number): Counters | undefined {
  const [t, n, h, l, c] = raw.map((x) => (x === null ? undefined : Number(x)));
  if (t === undefined || n === undefined) return undefined;
  const d = 0.5 ** (Math.max(0, now - t) / halfLifeMs);
  return { t, n: n * d, h: (h ?? 0) * d, l: (l ?? 0) * d, c: (c ?? 0) * d };
}

/** Decayed observations of one provider×country pair, as {@link HealthStore.observed} reads them. */
export interface ObservedHealth {
  provider: ProviderId;
  country: string;
  /** Decayed count of send outcomes (60 s half-life by default). */
  sendSamples: number;
  errorRate?: number;
  /** Decayed count of final delivery reports (10 min half-life by default). */
  dlrSamples: number;
  dlrSuccess?: number;
  /** Mean acceptance→report latency of the decayed reports. */
  dlrLatencyMs?: number;
  /** Samples below which routing treats the part as neutral. */
  minSamples: number;
}

export class HealthStore {
  private readonly redis: RedisWithDecay;
  private readonly opts: HealthOptions;
  private readonly cache = new Map<string, { at: number; value: HealthSnapshot }>();

  constructor(redis: RedisClient, opts: HealthOptions) {
    const r = redis as RedisWithDecay;
    if (typeof r.sbDecay !== 'function') r.defineCommand('sbDecay', { lua: DECAY_LUA, numberOfKeys: 1 });
    this.redis = r;
    this.opts = opts;
  }

  private key(kind: 'send' | 'dlr', provider: ProviderId, country: string): string {
    return `${this.opts.prefix}:health:${kind}:${provider}:${country}`;
  }

  private countriesKey(provider: ProviderId): string {
    return `${this.opts.prefix}:health:countries:${provider}`;
  }

  /** A send outcome that reflects on the provider (not refusals about the recipient). */
  async recordSend(provider: ProviderId, country: string, failed: boolean, now: number): Promise<void> {
    await this.redis.sbDecay(this.key('send', provider, country), now, this.opts.errorHalfLifeMs, failed ? 1 : 0, '');
    if (failed) await this.redis.sadd(this.countriesKey(provider), country);
  }

  /**
   * {@link recordSend} queued into a caller's pipeline (a send job's commit), so health costs no
   * round trip of its own. The pipeline must come from the same connection as this store's.
   */
  queueSend(p: ChainableCommander, provider: ProviderId, country: string, failed: boolean, now: number): void {
    (p as PipelineWithDecay).sbDecay(this.key('send', provider, country), now, this.opts.errorHalfLifeMs, failed ? 1 : 0, '');
    if (failed) p.sadd(this.countriesKey(provider), country);
  }

  /**
   * Forgets a provider's send errors: its breaker just closed after a successful probe, which
   * proves recovery better than errors recorded during the outage. Without this, the outage's
   * error rate would keep the provider out of routing long after it came back.
   */
  async resetSendErrors(provider: ProviderId): Promise<void> {
    const countries = await this.redis.smembers(this.countriesKey(provider));
    const keys = countries.map((c) => this.key('send', provider, c));
    if (keys.length > 0) await this.redis.del(...keys, this.countriesKey(provider));
    for (const c of countries) this.cache.delete(`${provider}:${c}`);
  }

  /** A final delivery report: delivered or not, and the carrier's acceptance→report latency. */
  async recordDlr(provider: ProviderId, country: string, delivered: boolean, latencyMs: number | undefined, now: number): Promise<void> {
    await this.redis.sbDecay(this.key('dlr', provider, country), now, this.opts.dlrHalfLifeMs, delivered ? 1 : 0, latencyMs === undefined ? '' : String(Math.max(0, latencyMs)));
  }

  /**
   * What was observed for each provider×country pair, uncached and without the neutral values
   * routing substitutes below `minSamples`: operators need to see a provider's first failures,
   * and how few samples they rest on. Absent parts are undefined.
   */
  async observed(pairs: ReadonlyArray<{ provider: ProviderId; country: string }>, now: number): Promise<ObservedHealth[]> {
    if (pairs.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const { provider, country } of pairs) {
      pipeline.hmget(this.key('send', provider, country), 't', 'n', 'h', 'l', 'c');
      pipeline.hmget(this.key('dlr', provider, country), 't', 'n', 'h', 'l', 'c');
    }
    const res = (await pipeline.exec()) ?? [];
    return pairs.map(({ provider, country }, i) => {
      const send = decayed((res[2 * i]?.[1] as Array<string | null>) ?? [], now, this.opts.errorHalfLifeMs);
      const dlr = decayed((res[2 * i + 1]?.[1] as Array<string | null>) ?? [], now, this.opts.dlrHalfLifeMs);
      return {
        provider,
        country,
        sendSamples: send?.n ?? 0,
        ...(send && send.n > 0 ? { errorRate: send.h / send.n } : {}),
        dlrSamples: dlr?.n ?? 0,
        ...(dlr && dlr.n > 0 ? { dlrSuccess: dlr.h / dlr.n } : {}),
        ...(dlr && dlr.c > 0 ? { dlrLatencyMs: dlr.l / dlr.c } : {}),
        minSamples: this.opts.minSamples,
      };
    });
  }

  /** Countries where a provider has recorded send errors (the set {@link resetSendErrors} clears). */
  async countriesWithErrors(provider: ProviderId): Promise<string[]> {
    return this.redis.smembers(this.countriesKey(provider));
  }

  /**
   * Health of each provider for a country. A part (send errors, DLRs) with fewer than
   * `minSamples` decayed samples is neutral; `samples` is the larger of the two counts.
   */
  async snapshot(providers: readonly ProviderId[], country: string, now: number): Promise<Map<ProviderId, HealthSnapshot>> {
    const out = new Map<ProviderId, HealthSnapshot>();
    const missing: ProviderId[] = [];
    for (const p of providers) {
      const hit = this.cache.get(`${p}:${country}`);
      if (hit && now - hit.at < this.opts.cacheMs) out.set(p, hit.value);
      else missing.push(p);
    }
    if (missing.length === 0) return out;
    const pipeline = this.redis.pipeline();
    for (const p of missing) {
      pipeline.hmget(this.key('send', p, country), 't', 'n', 'h', 'l', 'c');
      pipeline.hmget(this.key('dlr', p, country), 't', 'n', 'h', 'l', 'c');
    }
    const res = (await pipeline.exec()) ?? [];
    missing.forEach((p, i) => {
      const send = decayed((res[2 * i]?.[1] as Array<string | null>) ?? [], now, this.opts.errorHalfLifeMs);
      const dlr = decayed((res[2 * i + 1]?.[1] as Array<string | null>) ?? [], now, this.opts.dlrHalfLifeMs);
      const min = this.opts.minSamples;
      const value: HealthSnapshot = {
        errorRate: send && send.n >= min ? send.h / send.n : NEUTRAL_HEALTH.errorRate,
        dlrSuccess: dlr && dlr.n >= min ? dlr.h / dlr.n : NEUTRAL_HEALTH.dlrSuccess,
        dlrP50Ms: dlr && dlr.n >= min && dlr.c > 0 ? dlr.l / dlr.c : NEUTRAL_HEALTH.dlrP50Ms,
        samples: Math.max(send?.n ?? 0, dlr?.n ?? 0),
      };
      this.cache.set(`${p}:${country}`, { at: now, value });
      out.set(p, value);
    });
    return out;
  }
}

/** Monthly accepted-segment counters per provider (volume tiers). */
export class TierCounter {
  private readonly redis: RedisClient;
  private readonly prefix: string;
  private readonly cache = new Map<string, { at: number; value: number }>();
  private readonly cacheMs: number;

  constructor(redis: RedisClient, prefix: string, cacheMs: number) {
    this.redis = redis;
    this.prefix = prefix;
    this.cacheMs = cacheMs;
  }

  key(provider: ProviderId, month: string): string {
    return `${this.prefix}:tier:${provider}:${month}`;
  }

  async add(provider: ProviderId, month: string, segments: number): Promise<void> {
    const key = this.key(provider, month);
    await this.redis.multi().incrby(key, segments).expire(key, 40 * 86_400).exec();
  }

  /** {@link add} queued into a caller's pipeline (a send job's commit). */
  queueAdd(p: ChainableCommander, provider: ProviderId, month: string, segments: number): void {
    const key = this.key(provider, month);
    p.incrby(key, segments).expire(key, 40 * 86_400);
  }

  async counts(providers: readonly ProviderId[], month: string, now: number): Promise<Map<ProviderId, number>> {
    const out = new Map<ProviderId, number>();
    const missing = providers.filter((p) => {
      const hit = this.cache.get(`${p}:${month}`);
      if (hit && now - hit.at < this.cacheMs) {
        out.set(p, hit.value);
        return false;
      }
      return true;
    });
    if (missing.length > 0) {
      const values = await this.redis.mget(...missing.map((p) => this.key(p, month)));
      missing.forEach((p, i) => {
        const v = Number(values[i] ?? 0);
        this.cache.set(`${p}:${month}`, { at: now, value: v });
        out.set(p, v);
      });
    }
    return out;
  }
}

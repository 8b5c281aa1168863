/**
 * Live provider health per provider×country (DESIGN §6.4), shared by every worker through Redis:
 * time-decayed counters (send errors: 60 s half-life; DLR success and latency: 10 min), so a
 * burst of failures shows at once and old ones fade. Reads are cached for a second per process:
 * routing must not cost a Redis round trip per candidate per message.
 *
 * The DLR hash also holds the conversion counters of the routing score's conversion term
 * (conversion-score.ts): `cd` OTPs delivered, `cv` of them verified, decayed on their own clock
 * `ct` with their own half-life. They are written off the send path (a delivery report, a verify)
 * and read by the same HMGET as the DLR health, so they cost the send path no command.
 */
import type { ChainableCommander } from 'ioredis';
import type { RedisClient } from '../store/redis-client.ts';
import type { ProviderId } from '../../providers/provider.ts';
import { conversionRatio, type ConversionSnapshot } from './conversion-score.ts';
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

/**
 * The same decay as DECAY_LUA for a batch of samples taken at `now`: ARGV 3 samples, 4 hits,
 * 5 latency sum (ms), 6 samples with a latency. One call for a callback batch's provider×country.
 */
const DECAY_BATCH_LUA = `
local now = tonumber(ARGV[1]); local hl = tonumber(ARGV[2])
local v = redis.call('HMGET', KEYS[1], 't', 'n', 'h', 'l', 'c')
local t = tonumber(v[1]) or now
local d = math.pow(0.5, math.max(0, now - t) / hl)
local n = (tonumber(v[2]) or 0) * d + tonumber(ARGV[3])
local h = (tonumber(v[3]) or 0) * d + tonumber(ARGV[4])
local l = (tonumber(v[4]) or 0) * d + tonumber(ARGV[5])
local c = (tonumber(v[5]) or 0) * d + tonumber(ARGV[6])
redis.call('HSET', KEYS[1], 't', now, 'n', tostring(n), 'h', tostring(h), 'l', tostring(l), 'c', tostring(c))
redis.call('PEXPIRE', KEYS[1], math.floor(hl * 20))
return 1`;

/**
 * Adds delivered (ARGV[3]) and verified (ARGV[4]) OTPs to the conversion counters of a DLR hash,
 * decayed to now. Never shortens the key's life (the DLR writes keep it for 20 DLR half-lives).
 */
const CONVERSION_LUA = `
local now = tonumber(ARGV[1]); local hl = tonumber(ARGV[2])
local v = redis.call('HMGET', KEYS[1], 'ct', 'cd', 'cv')
local t = tonumber(v[1]) or now
local d = math.pow(0.5, math.max(0, now - t) / hl)
local cd = (tonumber(v[2]) or 0) * d + tonumber(ARGV[3])
local cv = (tonumber(v[3]) or 0) * d + tonumber(ARGV[4])
redis.call('HSET', KEYS[1], 'ct', math.max(now, t), 'cd', tostring(cd), 'cv', tostring(cv))
local keep = math.floor(hl * 20)
if redis.call('PTTL', KEYS[1]) < keep then redis.call('PEXPIRE', KEYS[1], keep) end
return {tostring(cd), tostring(cv)}`;

type RedisWithDecay = RedisClient & {
  sbDecay(key: string, now: number, halfLifeMs: number, hit: number, latency: string): Promise<number>;
  sbConversion(key: string, now: number, halfLifeMs: number, delivered: number, verified: number): Promise<[string, string]>;
};
type PipelineWithDecay = ChainableCommander & {
  sbDecay(key: string, now: number, halfLifeMs: number, hit: number, latency: string): ChainableCommander;
  sbDecayBatch(
    key: string,
    now: number,
    halfLifeMs: number,
    samples: number,
    hits: number,
    latencySum: number,
    latencies: number,
  ): ChainableCommander;
  sbConversion(key: string, now: number, halfLifeMs: number, delivered: number, verified: number): ChainableCommander;
};

/** One delivery outcome for {@link HealthStore.recordDlrBatch} (see `recordDlr` for the fields). */
export interface DlrSample {
  provider: ProviderId;
  country: string;
  delivered: boolean;
  latencyMs?: number | undefined;
  otpDelivered?: boolean;
}

export interface HealthOptions {
  prefix: string;
  errorHalfLifeMs: number;
  dlrHalfLifeMs: number;
  minSamples: number;
  cacheMs: number;
  /** Half-life of the OTP conversion counters (`routing.conversion.halfLifeMs`); the DLR one when unset. */
  conversionHalfLifeMs?: number;
}

interface Counters {
  t: number;
  n: number;
  h: number;
  l: number;
  c: number;
}

/** What a verify or a delivered OTP credits to a provider×country's conversion counters. */
export interface ConversionCredit {
  delivered: 0 | 1;
  verified: 0 | 1;
}

function decayedConversion(
  ct: string | null | undefined,
  cd: string | null | undefined,
  cv: string | null | undefined,
  now: number,
  halfLifeMs: number,
): ConversionSnapshot | undefined {
  if (ct == null || cd == null) return undefined;
  const d = 0.5 ** (Math.max(0, now - Number(ct)) / halfLifeMs);
  return { delivered: Number(cd) * d, verified: Number(cv ?? 0) * d };
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
  /** The conversion ratio of each provider×country as this process last read or wrote it (the gauge). */
  private readonly ratios = new Map<string, { provider: ProviderId; country: string; value: number }>();
  private readonly conversionHalfLifeMs: number;

  constructor(redis: RedisClient, opts: HealthOptions) {
    const r = redis as RedisWithDecay;
    if (typeof r.sbDecay !== 'function') r.defineCommand('sbDecay', { lua: DECAY_LUA, numberOfKeys: 1 });
    if (typeof r.sbConversion !== 'function') r.defineCommand('sbConversion', { lua: CONVERSION_LUA, numberOfKeys: 1 });
    if (typeof (r as { sbDecayBatch?: unknown }).sbDecayBatch !== 'function')
      r.defineCommand('sbDecayBatch', { lua: DECAY_BATCH_LUA, numberOfKeys: 1 });
    this.redis = r;
    this.opts = opts;
    this.conversionHalfLifeMs = opts.conversionHalfLifeMs ?? opts.dlrHalfLifeMs;
  }

  private noteRatio(provider: ProviderId, country: string, c: ConversionSnapshot | undefined): void {
    const value = conversionRatio(c);
    if (value !== undefined) this.ratios.set(`${provider}:${country}`, { provider, country, value });
  }

  /** `switchboard_otp_conversion_ratio`: the last ratio seen per provider×country (no Redis call). */
  conversionRatios(): Array<{ provider: ProviderId; country: string; value: number }> {
    return [...this.ratios.values()];
  }

  /**
   * Credits an OTP outcome to a provider×country (a verify, or a verify that also proves a
   * delivery no report announced). Off the send path: the API's verify, one command.
   */
  async recordConversion(provider: ProviderId, country: string, credit: ConversionCredit, now: number): Promise<ConversionSnapshot> {
    const [cd, cv] = await this.redis.sbConversion(
      this.key('dlr', provider, country),
      now,
      this.conversionHalfLifeMs,
      credit.delivered,
      credit.verified,
    );
    const snap = { delivered: Number(cd), verified: Number(cv) };
    this.noteRatio(provider, country, snap);
    return snap;
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

  /**
   * A final delivery report: delivered or not, and the carrier's acceptance→report latency.
   * `otpDelivered`: it is the delivery of an OTP not verified yet, which also counts in the
   * conversion term's denominator (same round trip).
   */
  async recordDlr(
    provider: ProviderId,
    country: string,
    delivered: boolean,
    latencyMs: number | undefined,
    now: number,
    otpDelivered = false,
  ): Promise<void> {
    const key = this.key('dlr', provider, country);
    const latency = latencyMs === undefined ? '' : String(Math.max(0, latencyMs));
    if (!otpDelivered) {
      await this.redis.sbDecay(key, now, this.opts.dlrHalfLifeMs, delivered ? 1 : 0, latency);
      return;
    }
    const p = this.redis.pipeline() as PipelineWithDecay;
    p.sbDecay(key, now, this.opts.dlrHalfLifeMs, delivered ? 1 : 0, latency);
    p.sbConversion(key, now, this.conversionHalfLifeMs, 1, 0);
    const res = (await p.exec()) ?? [];
    const conv = res[1]?.[1] as [string, string] | undefined;
    if (conv) this.noteRatio(provider, country, { delivered: Number(conv[0]), verified: Number(conv[1]) });
  }

  /**
   * The delivery outcomes of a batch of callbacks, summed per provider×country: one pipeline with
   * one decay call per pair (plus its conversion counters when OTP deliveries are among them),
   * where one call per callback made a callback batch of 200 cost 200 calls.
   */
  async recordDlrBatch(samples: readonly DlrSample[], now: number): Promise<void> {
    if (samples.length === 0) return;
    const sums = new Map<
      string,
      { provider: ProviderId; country: string; n: number; hits: number; latencySum: number; latencies: number; otp: number }
    >();
    for (const x of samples) {
      const k = `${x.provider}:${x.country}`;
      let sum = sums.get(k);
      if (sum === undefined) {
        sum = { provider: x.provider, country: x.country, n: 0, hits: 0, latencySum: 0, latencies: 0, otp: 0 };
        sums.set(k, sum);
      }
      sum.n++;
      if (x.delivered) sum.hits++;
      if (x.latencyMs !== undefined) {
        sum.latencySum += Math.max(0, x.latencyMs);
        sum.latencies++;
      }
      if (x.otpDelivered === true) sum.otp++;
    }
    const p = this.redis.pipeline() as PipelineWithDecay;
    const conversions: Array<{ provider: ProviderId; country: string; index: number }> = [];
    let index = 0;
    for (const sum of sums.values()) {
      const key = this.key('dlr', sum.provider, sum.country);
      p.sbDecayBatch(key, now, this.opts.dlrHalfLifeMs, sum.n, sum.hits, sum.latencySum, sum.latencies);
      index++;
      if (sum.otp > 0) {
        p.sbConversion(key, now, this.conversionHalfLifeMs, sum.otp, 0);
        conversions.push({ provider: sum.provider, country: sum.country, index });
        index++;
      }
    }
    const res = (await p.exec()) ?? [];
    for (const c of conversions) {
      const conv = res[c.index]?.[1] as [string, string] | undefined;
      if (conv) this.noteRatio(c.provider, c.country, { delivered: Number(conv[0]), verified: Number(conv[1]) });
    }
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
      pipeline.hmget(this.key('dlr', p, country), 't', 'n', 'h', 'l', 'c', 'ct', 'cd', 'cv');
    }
    const res = (await pipeline.exec()) ?? [];
    missing.forEach((p, i) => {
      const send = decayed((res[2 * i]?.[1] as Array<string | null>) ?? [], now, this.opts.errorHalfLifeMs);
      const dlrRaw = (res[2 * i + 1]?.[1] as Array<string | null>) ?? [];
      const dlr = decayed(dlrRaw.slice(0, 5), now, this.opts.dlrHalfLifeMs);
      const conversion = decayedConversion(dlrRaw[5], dlrRaw[6], dlrRaw[7], now, this.conversionHalfLifeMs);
      this.noteRatio(p, country, conversion);
      const min = this.opts.minSamples;
      const value: HealthSnapshot = {
        errorRate: send && send.n >= min ? send.h / send.n : NEUTRAL_HEALTH.errorRate,
        dlrSuccess: dlr && dlr.n >= min ? dlr.h / dlr.n : NEUTRAL_HEALTH.dlrSuccess,
        dlrP50Ms: dlr && dlr.n >= min && dlr.c > 0 ? dlr.l / dlr.c : NEUTRAL_HEALTH.dlrP50Ms,
        samples: Math.max(send?.n ?? 0, dlr?.n ?? 0),
        ...(conversion !== undefined ? { conversion } : {}),
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
  /** When {@link queueAdd} last renewed each counter's life (a handful of keys: providers × months). */
  private readonly expiredAt = new Map<string, number>();

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
    await this.redis
      .multi()
      .incrby(key, segments)
      .expire(key, 40 * 86_400)
      .exec();
  }

  /**
   * {@link add} queued into a caller's pipeline (a send job's commit). The counter's 40-day life is
   * renewed once a minute per process rather than with every send: one command fewer a message,
   * and a month's counter still outlives the month.
   */
  queueAdd(p: ChainableCommander, provider: ProviderId, month: string, segments: number): void {
    const key = this.key(provider, month);
    p.incrby(key, segments);
    const now = Date.now();
    if (now - (this.expiredAt.get(key) ?? -Infinity) < 60_000) return;
    this.expiredAt.set(key, now);
    p.expire(key, 40 * 86_400);
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

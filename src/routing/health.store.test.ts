import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deletePrefix, testPrefix, testRedis } from '../../test/helpers/redis.ts';
import { HealthStore, TierCounter } from './health.store.ts';

let redis: Redis;
const prefix = testPrefix('health');

beforeAll(() => {
  redis = testRedis();
});
afterAll(async () => {
  await deletePrefix(redis, prefix);
  redis.disconnect();
});

const store = (): HealthStore =>
  new HealthStore(redis, { prefix, errorHalfLifeMs: 60_000, dlrHalfLifeMs: 600_000, minSamples: 20, cacheMs: 0 });

describe('HealthStore', () => {
  it('stays neutral below the sample threshold', async () => {
    const h = store();
    const t = 1_000_000;
    for (let i = 0; i < 10; i++) await h.recordSend('twilio', 'US', true, t + i);
    const snap = (await h.snapshot(['twilio'], 'US', t + 10)).get('twilio');
    expect(snap).toMatchObject({ errorRate: 0, dlrSuccess: 1, dlrP50Ms: 0 });
    expect(snap?.samples).toBeCloseTo(10, 2);
  });

  it('reports the error ratio of recent sends and lets it fade with its half-life', async () => {
    const h = store();
    const t = 2_000_000;
    for (let i = 0; i < 30; i++) await h.recordSend('sinch', 'DE', i % 3 === 0, t + i);
    const now = (await h.snapshot(['sinch'], 'DE', t + 30)).get('sinch');
    expect(now?.errorRate).toBeCloseTo(10 / 30, 2);
    // Two half-lives later the samples have decayed below the threshold: neutral again.
    const later = (await h.snapshot(['sinch'], 'DE', t + 120_030)).get('sinch');
    expect(later?.errorRate).toBe(0);
    expect(later?.samples).toBeCloseTo(7.5, 1);
  });

  it('tracks delivery success and latency from final reports', async () => {
    const h = store();
    const t = 3_000_000;
    for (let i = 0; i < 25; i++) await h.recordDlr('messagebird', 'US', i < 15, i < 15 ? 2_000 : undefined, t + i);
    const snap = (await h.snapshot(['messagebird'], 'US', t + 25)).get('messagebird');
    expect(snap?.dlrSuccess).toBeCloseTo(0.6, 2);
    expect(snap?.dlrP50Ms).toBeCloseTo(2_000, 0);
  });
});

describe('HealthStore.recordDlrBatch', () => {
  it('records a batch of callbacks per provider×country exactly as one call per callback would', async () => {
    const one = store();
    const many = new HealthStore(redis, {
      prefix: `${prefix}:b`,
      errorHalfLifeMs: 60_000,
      dlrHalfLifeMs: 600_000,
      minSamples: 20,
      cacheMs: 0,
    });
    const t = 4_000_000;
    const samples = Array.from({ length: 30 }, (_, i) => ({
      provider: i % 3 === 0 ? ('sinch' as const) : ('twilio' as const),
      country: 'NL',
      delivered: i % 4 !== 0,
      latencyMs: i % 4 !== 0 ? 1_000 + i * 10 : undefined,
      otpDelivered: i % 2 === 0 && i % 4 !== 0,
    }));
    for (const x of samples) await one.recordDlr(x.provider, x.country, x.delivered, x.latencyMs, t, x.otpDelivered);
    await many.recordDlrBatch(samples, t);
    for (const provider of ['twilio', 'sinch'] as const) {
      const a = (await one.snapshot([provider], 'NL', t + 5)).get(provider);
      const b = (await many.snapshot([provider], 'NL', t + 5)).get(provider);
      expect(b?.samples).toBeCloseTo(a?.samples ?? -1, 6);
      expect(b?.dlrSuccess).toBeCloseTo(a?.dlrSuccess ?? -1, 6);
      expect(b?.dlrP50Ms).toBeCloseTo(a?.dlrP50Ms ?? -1, 6);
      expect(b?.conversion?.delivered).toBeCloseTo(a?.conversion?.delivered ?? -1, 6);
    }
    await many.recordDlrBatch([], t);
  });
});

describe('HealthStore conversion counters', () => {
  const conv = (): HealthStore =>
    new HealthStore(redis, {
      prefix,
      errorHalfLifeMs: 60_000,
      dlrHalfLifeMs: 600_000,
      minSamples: 20,
      cacheMs: 0,
      conversionHalfLifeMs: 3_600_000,
    });

  it('returns delivered and verified OTPs in the same read as delivery health, decaying with their half-life', async () => {
    const h = conv();
    const t = 5_000_000;
    for (let i = 0; i < 10; i++) {
      await h.recordDlr('sinch', 'FR', true, 500, t + i, true);
      if (i < 4) await h.recordConversion('sinch', 'FR', { delivered: 0, verified: 1 }, t + i);
    }
    const snap = (await h.snapshot(['sinch'], 'FR', t + 10)).get('sinch');
    expect(snap?.conversion?.delivered).toBeCloseTo(10, 2);
    expect(snap?.conversion?.verified).toBeCloseTo(4, 2);
    const hourLater = (await h.snapshot(['sinch'], 'FR', t + 10 + 3_600_000)).get('sinch');
    expect(hourLater?.conversion?.delivered).toBeCloseTo(5, 2);
    expect(hourLater?.conversion?.verified).toBeCloseTo(2, 2);
    expect(h.conversionRatios()).toContainEqual({ provider: 'sinch', country: 'FR', value: expect.closeTo(0.4, 3) });
  });

  it('leaves the conversion counters alone on delivery reports of messages that are not OTPs', async () => {
    const h = conv();
    const t = 6_000_000;
    await h.recordDlr('twilio', 'FR', true, 500, t, false);
    const snap = (await h.snapshot(['twilio'], 'FR', t + 1)).get('twilio');
    expect(snap?.conversion).toBeUndefined();
    const credited = await h.recordConversion('twilio', 'FR', { delivered: 1, verified: 1 }, t + 2);
    expect(credited).toEqual({ delivered: 1, verified: 1 });
    // The conversion write never shortens the key below 20 conversion half-lives.
    expect(await redis.pttl(`${prefix}:health:dlr:twilio:FR`)).toBeGreaterThan(19 * 3_600_000);
  });
});

describe('TierCounter', () => {
  it('counts accepted segments per provider and month', async () => {
    const c = new TierCounter(redis, prefix, 0);
    await c.add('twilio', '2026-11', 2);
    await c.add('twilio', '2026-11', 3);
    await c.add('twilio', '2026-12', 1);
    const counts = await c.counts(['twilio', 'sinch'], '2026-11', Date.now());
    expect(counts.get('twilio')).toBe(5);
    expect(counts.get('sinch')).toBe(0);
    expect(await redis.ttl(c.key('twilio', '2026-11'))).toBeGreaterThan(30 * 86_400);
  });
});

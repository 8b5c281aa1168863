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

const store = (): HealthStore => new HealthStore(redis, { prefix, errorHalfLifeMs: 60_000, dlrHalfLifeMs: 600_000, minSamples: 20, cacheMs: 0 });

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

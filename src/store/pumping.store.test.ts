import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deletePrefix, testPrefix, testRedis } from '../../test/helpers/redis.ts';
import { PumpingStore, type PumpingDimension, type PumpingLimits } from './pumping.store.ts';
import { redisKeys } from './redis-keys.ts';

let redis: Redis;
let store: PumpingStore;
const prefix = testPrefix('pump');
const W = 1_000;
const limits = (over: Partial<PumpingLimits> = {}): PumpingLimits => ({ windowMs: W, minSends: 3, baselineMultiplier: 3, baselineHalfLifeMs: 3_600_000, warmupMs: 0, ...over });
let n = 0;
const dim = (): PumpingDimension => {
  n++;
  return { label: `prefix:test${n}`, token: `prefix:t${n}` };
};
/** A time at the start of a window, far from others so windows never overlap between tests. */
const t0 = (): number => Math.floor(Date.now() / W) * W + n * 10_000_000;

beforeAll(() => {
  redis = testRedis();
  store = new PumpingStore(redis, redisKeys(prefix));
});
afterAll(async () => {
  await deletePrefix(redis, prefix);
  redis.disconnect();
});

describe('PumpingStore.count', () => {
  it('counts a message once per window however often it is retried', async () => {
    const d = dim();
    const t = t0();
    for (let i = 0; i < 3; i++) expect((await store.count('msg-a', t + i, [d], limits(), { neverBlock: false })).readings[0]?.count).toBe(1);
  });

  it('is over past minSends with no history, but not during the warm-up nor when safe-listed', async () => {
    const d = dim();
    const t = t0();
    const overs: boolean[] = [];
    for (let i = 0; i < 5; i++) overs.push((await store.count(`m${i}`, t + i, [d], limits(), { neverBlock: false })).over);
    expect(overs).toEqual([false, false, false, true, true]);
    const warm = dim();
    for (let i = 0; i < 5; i++) expect((await store.count(`w${i}`, t + i, [warm], limits({ warmupMs: 60_000 }), { neverBlock: false })).over).toBe(false);
    const safe = dim();
    for (let i = 0; i < 5; i++) expect((await store.count(`s${i}`, t + i, [safe], limits(), { neverBlock: true })).over).toBe(false);
  });

  it('raises the threshold to multiplier × the average of past windows, which a burst does not feed', async () => {
    const d = dim();
    const t = t0();
    const lim = limits({ minSends: 5 });
    // Ten windows of 5 sends each: the baseline is 5 per window, the threshold 15.
    for (let w = 0; w < 10; w++) for (let i = 0; i < 5; i++) expect((await store.count(`h${w}.${i}`, t + w * W + i, [d], lim, { neverBlock: false })).over).toBe(false);
    const now = t + 10 * W;
    const results = [];
    for (let i = 0; i < 20; i++) results.push(await store.count(`b${i}`, now + i, [d], lim, { neverBlock: false }));
    expect(results[0]?.readings[0]?.threshold).toBeCloseTo(15, 1);
    expect(results.findIndex((r) => r.over)).toBe(15);
    // The next window: the 5 over-threshold sends did not count, the 15 allowed ones did.
    const next = await store.count('after', now + W, [d], lim, { neverBlock: false });
    const f = Math.pow(2, -W / 3_600_000);
    const e10 = 5 * (1 - Math.pow(f, 10));
    const expected = (e10 * f + (1 - f) * 15) / (1 - Math.pow(f, 11));
    expect(next.readings[0]?.threshold).toBeCloseTo(3 * expected, 6);
  });

  it('is over when any dimension is, and reports each', async () => {
    const calm = dim();
    const hot = dim();
    const t = t0();
    await store.seedBaseline(calm, 100, t - 30 * 86_400_000, t, limits());
    let last;
    for (let i = 0; i < 4; i++) last = await store.count(`d${i}`, t + i, [calm, hot], limits(), { neverBlock: false });
    expect(last?.over).toBe(true);
    expect(last?.readings.map((r) => [r.label, r.over])).toEqual([
      [calm.label, false],
      [hot.label, true],
    ]);
    expect(last?.readings[0]?.threshold).toBeCloseTo(300, 0);
  });
});

describe('the tripwire counters', () => {
  it('count sends per UTC hour only when asked, once per message', async () => {
    const d = dim();
    const trip = dim();
    const t = t0();
    await store.count('x1', t, [d], limits({ minSends: 100 }), { neverBlock: false, tripwire: [trip] });
    await store.count('x1', t + 1, [d], limits({ minSends: 100 }), { neverBlock: false, tripwire: [trip] });
    await store.count('x2', t + 2, [d], limits({ minSends: 100 }), { neverBlock: false });
    await store.count('x3', t + 3, [d], limits({ minSends: 100 }), { neverBlock: false, tripwire: [trip] });
    expect(await store.tripwireSends(trip, t - 3_600_000, t + 10)).toBe(2);
  });

  it('remembers which keys report conversions, for a while', async () => {
    const now = Date.now();
    await store.markReporter('reporting-key', now - 1_000);
    expect(await store.isReporter('reporting-key', now, 60_000)).toBe(true);
    expect(await store.isReporter('reporting-key', now, 500)).toBe(false);
    expect(await store.isReporter('silent-key', now, 60_000)).toBe(false);
  });
});

import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deletePrefix, testPrefix, testRedis } from '../../test/helpers/redis.ts';
import { hourBucket, PumpingStore, TRIPWIRE_RETENTION_SECONDS, type PumpingDimension, type PumpingLimits } from './pumping.store.ts';
import { redisKeys } from './redis-keys.ts';

let redis: Redis;
let store: PumpingStore;
const prefix = testPrefix('pump');
const W = 1_000;
const limits = (over: Partial<PumpingLimits> = {}): PumpingLimits => ({
  windowMs: W,
  minSends: 3,
  baselineMultiplier: 3,
  baselineHalfLifeMs: 3_600_000,
  warmupMs: 0,
  ...over,
});
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
    for (let i = 0; i < 3; i++)
      expect((await store.count('msg-a', t + i, [d], limits(), { neverBlock: false })).readings[0]?.count).toBe(1);
  });

  it('is over past minSends with no history, but not during the warm-up nor when safe-listed', async () => {
    const d = dim();
    const t = t0();
    const overs: boolean[] = [];
    for (let i = 0; i < 5; i++) overs.push((await store.count(`m${i}`, t + i, [d], limits(), { neverBlock: false })).over);
    expect(overs).toEqual([false, false, false, true, true]);
    const warm = dim();
    for (let i = 0; i < 5; i++)
      expect((await store.count(`w${i}`, t + i, [warm], limits({ warmupMs: 60_000 }), { neverBlock: false })).over).toBe(false);
    const safe = dim();
    for (let i = 0; i < 5; i++) expect((await store.count(`s${i}`, t + i, [safe], limits(), { neverBlock: true })).over).toBe(false);
  });

  it('raises the threshold to multiplier × the average of past windows, which a burst does not feed', async () => {
    const d = dim();
    const t = t0();
    const lim = limits({ minSends: 5 });
    // Ten windows of 5 sends each: the baseline is 5 per window, the threshold 15.
    for (let w = 0; w < 10; w++)
      for (let i = 0; i < 5; i++)
        expect((await store.count(`h${w}.${i}`, t + w * W + i, [d], lim, { neverBlock: false })).over).toBe(false);
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

  it('lets sends older than the window leave the count, slot by slot', async () => {
    const d = dim();
    const t = t0();
    const lim = limits({ minSends: 100 });
    for (let i = 0; i < 4; i++) await store.count(`old${i}`, t + i, [d], lim, { neverBlock: false });
    for (let i = 0; i < 3; i++) await store.count(`mid${i}`, t + W / 2 + i, [d], lim, { neverBlock: false });
    // Still inside the window: 4 + 3 + this one.
    expect((await store.count('in', t + W - 1, [d], lim, { neverBlock: false })).readings[0]?.count).toBe(8);
    // A window after the first sends: their slot has left; the half-window ones and 'in' remain.
    expect((await store.count('later', t + W + 1, [d], lim, { neverBlock: false })).readings[0]?.count).toBe(5);
    // Two windows on: nothing left but this one (a stale slot reads as zero).
    expect((await store.count('much-later', t + 3 * W, [d], lim, { neverBlock: false })).readings[0]?.count).toBe(1);
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
  const H = 3_600_000;
  const counting = (trip: PumpingDimension, t: number) => ({ dimensions: [trip], count: true, fromMs: t - H });

  it('count sends per UTC hour only when asked, once per message', async () => {
    const d = dim();
    const trip = dim();
    const t = t0();
    await store.count('x1', t, [d], limits({ minSends: 100 }), { neverBlock: false, tripwire: counting(trip, t) });
    await store.count('x1', t + 1, [d], limits({ minSends: 100 }), { neverBlock: false, tripwire: counting(trip, t) });
    await store.count('x2', t + 2, [d], limits({ minSends: 100 }), { neverBlock: false });
    await store.count('x3', t + 3, [d], limits({ minSends: 100 }), {
      neverBlock: false,
      tripwire: { dimensions: [trip], count: false, fromMs: t - H },
    });
    await store.count('x4', t + 4, [d], limits({ minSends: 100 }), { neverBlock: false, tripwire: counting(trip, t) });
    expect(await store.tripwireSends(trip, t - H, t + 10)).toBe(2);
    const key = redisKeys(prefix).pumping('t', trip.token);
    expect(await redis.hget(key, hourBucket(t))).toBe('2');
    expect(await redis.ttl(key)).toBeGreaterThan(TRIPWIRE_RETENTION_SECONDS - 60);
  });

  it('returns each dimension’s sends over the window’s hours from the counting call, this message included', async () => {
    const d = dim();
    const country = dim();
    const range = dim();
    const t = t0() + 30 * 60_000;
    const keys = redisKeys(prefix);
    // History: 5 and 7 sends 3 h ago (inside a 4 h window), 100 sends 6 h ago (outside), 1 in the next hour (outside).
    await redis.hset(keys.pumping('t', country.token), hourBucket(t - 3 * H), '5', hourBucket(t - 6 * H), '100', hourBucket(t + H), '1');
    await redis.hset(keys.pumping('t', range.token), hourBucket(t - 3 * H), '7');
    const tripwire = { dimensions: [country, range], count: true, fromMs: t - 4 * H };
    const first = await store.count('tw1', t, [d], limits({ minSends: 100 }), { neverBlock: false, tripwire });
    expect(first.tripwire).toEqual([
      { label: country.label, sends: 6 },
      { label: range.label, sends: 8 },
    ]);
    // The window's first hour is the one `fromMs` falls in, however late in it: the 6 h-old hour now counts.
    const wider = await store.count('tw2', t, [d], limits({ minSends: 100 }), {
      neverBlock: false,
      tripwire: { ...tripwire, fromMs: t - 6 * H + 1 },
    });
    expect(wider.tripwire.map((r) => r.sends)).toEqual([107, 9]);
    // A retry of a counted message, or a message that is not counted, reads the same sums without moving them.
    const retry = await store.count('tw1', t + 1, [d], limits({ minSends: 100 }), { neverBlock: false, tripwire });
    const reader = await store.count('tw3', t + 2, [d], limits({ minSends: 100 }), {
      neverBlock: false,
      tripwire: { ...tripwire, count: false },
    });
    expect(retry.tripwire.map((r) => r.sends)).toEqual([7, 9]);
    expect(reader.tripwire.map((r) => r.sends)).toEqual([7, 9]);
    // The burst readings are unaffected by the tripwire fields that follow them in the reply.
    expect(reader.readings.map((r) => r.count)).toEqual([3]);
  });

  it('returns no tripwire sums when none are asked for, and zero for a dimension never counted', async () => {
    const d = dim();
    const fresh = dim();
    const t = t0();
    expect((await store.count('n1', t, [d], limits(), { neverBlock: false })).tripwire).toEqual([]);
    const read = await store.count('n2', t, [d], limits(), {
      neverBlock: false,
      tripwire: { dimensions: [fresh], count: false, fromMs: t - 24 * H },
    });
    expect(read.tripwire).toEqual([{ label: fresh.label, sends: 0 }]);
    expect(await redis.exists(redisKeys(prefix).pumping('t', fresh.token))).toBe(0);
  });

  it('remembers which keys report conversions, for a while', async () => {
    const now = Date.now();
    await store.markReporter('reporting-key', now - 1_000);
    expect(await store.isReporter('reporting-key', now, 60_000)).toBe(true);
    expect(await store.isReporter('reporting-key', now, 500)).toBe(false);
    expect(await store.isReporter('silent-key', now, 60_000)).toBe(false);
  });
});

describe('the reporter cache', () => {
  it('reads a key’s mark from Redis once per cache time, and sees its own marks at once', async () => {
    let clock = 1_000_000;
    const cached = new PumpingStore(redis, redisKeys(prefix), { reporterCacheMs: 5_000, now: () => clock });
    const elsewhere = new PumpingStore(redis, redisKeys(prefix));
    const now = Date.now();
    const key = `cache-key-${n}`;
    expect(await cached.isReporter(key, now, 60_000)).toBe(false);
    // Another process marks the key: this one keeps its cached answer until the cache time is over.
    await elsewhere.markReporter(key, now);
    clock += 4_999;
    expect(await cached.isReporter(key, now, 60_000)).toBe(false);
    clock += 1;
    expect(await cached.isReporter(key, now, 60_000)).toBe(true);
    // The reporting window is applied to the cached time on every call.
    expect(await cached.isReporter(key, now + 60_001, 60_000)).toBe(false);
    // Its own mark is seen without waiting.
    const own = `own-key-${n}`;
    expect(await cached.isReporter(own, now, 60_000)).toBe(false);
    await cached.markReporter(own, now);
    expect(await cached.isReporter(own, now, 60_000)).toBe(true);
  });

  it('reads Redis on every call without a cache time', async () => {
    const plain = new PumpingStore(redis, redisKeys(prefix));
    const now = Date.now();
    const key = `plain-key-${n}`;
    expect(await plain.isReporter(key, now, 60_000)).toBe(false);
    await new PumpingStore(redis, redisKeys(prefix)).markReporter(key, now);
    expect(await plain.isReporter(key, now, 60_000)).toBe(true);
  });
});

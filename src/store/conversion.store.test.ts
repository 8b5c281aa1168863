import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { deletePrefix, testPrefix, testRedis } from '../../test/helpers/redis.ts';
import { ConversionStore, conversionHour, numberPrefix } from './conversion.store.ts';
import { redisKeys } from './redis-keys.ts';

let redis: Redis;
let store: ConversionStore;
const prefix = testPrefix('conv');

beforeAll(() => {
  redis = testRedis();
  store = new ConversionStore(redis, redisKeys(prefix));
});
afterAll(async () => {
  await deletePrefix(redis, prefix);
  redis.disconnect();
});

describe('ConversionStore', () => {
  it('names prefixes and hours', () => {
    expect(numberPrefix('+14155550100')).toBe('+14155');
    expect(conversionHour(Date.parse('2026-03-04T05:59:59Z'))).toBe('2026030405');
  });

  it('counts a first report, moves a changed one and ignores a repeat', async () => {
    const at = Date.parse('2026-03-04T05:10:00Z');
    const msg = { country: 'GB', to: '+447911123456' };
    await store.record(msg, undefined, false, at);
    expect(await store.counts('country:GB', at, at)).toEqual({ converted: 0, unconverted: 1 });
    await store.record(msg, false, true, at + 1_000);
    await store.record(msg, true, true, at + 2_000);
    expect(await store.counts('country:GB', at, at)).toEqual({ converted: 1, unconverted: 0 });
    expect(await store.counts('prefix:+44791', at - 7_200_000, at + 7_200_000)).toEqual({ converted: 1, unconverted: 0 });
    expect(await store.counts('country:FR', at, at)).toEqual({ converted: 0, unconverted: 0 });
    expect(await redis.ttl(redisKeys(prefix).conversions('2026030405'))).toBeGreaterThan(7 * 86_400);
  });

  it('reuses a dimension’s sums for the cache time when asked to, per dimension and window', async () => {
    let clock = 0;
    const cached = new ConversionStore(redis, redisKeys(prefix), { countsCacheMs: 1_000, now: () => clock });
    const at = Date.parse('2026-05-06T07:10:00Z');
    const msg = { country: 'DE', to: '+4915112345678' };
    await store.record(msg, undefined, true, at);
    expect(await cached.counts('country:DE', at - 3_600_000, at)).toEqual({ converted: 1, unconverted: 0 });
    await store.record({ ...msg, to: '+4917012345678' }, undefined, false, at);
    clock = 999;
    expect(await cached.counts('country:DE', at - 3_600_000, at)).toEqual({ converted: 1, unconverted: 0 });
    // Another window or dimension is read afresh.
    expect(await cached.counts('country:DE', at, at)).toEqual({ converted: 1, unconverted: 1 });
    expect(await cached.counts('prefix:+49170', at - 3_600_000, at)).toEqual({ converted: 0, unconverted: 1 });
    clock = 1_000;
    expect(await cached.counts('country:DE', at - 3_600_000, at)).toEqual({ converted: 1, unconverted: 1 });
    // The store without a cache time always reads.
    expect(await store.counts('country:DE', at - 3_600_000, at)).toEqual({ converted: 1, unconverted: 1 });
  });
});

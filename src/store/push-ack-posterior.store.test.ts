import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deletePrefix, keysUnder, testPrefix, testRedis } from '../../test/helpers/redis.ts';
import { PushAckPosteriorStore } from './push-ack-posterior.store.ts';
import { redisKeys } from './redis-keys.ts';

let redis: Redis;
const prefix = testPrefix('pushpost');
const store = (): PushAckPosteriorStore =>
  new PushAckPosteriorStore(redis, redisKeys(prefix), Buffer.alloc(32, 7), { halfLifeMs: 60_000, retentionSeconds: 3_600 });

beforeAll(() => {
  redis = testRedis();
});
afterAll(async () => {
  await deletePrefix(redis, prefix);
  redis.disconnect();
});

describe('PushAckPosteriorStore', () => {
  it('has no evidence for an unknown token', async () => {
    expect(await store().read('never-seen')).toBeUndefined();
  });

  it('decays earlier outcomes by the half-life when it adds one, and ends the run of skips', async () => {
    const s = store();
    await s.recordOutcome('tok-a', false, 1_000);
    await s.recordOutcome('tok-a', false, 1_000);
    const p = redis.pipeline();
    s.queueSkip(p, 'tok-a');
    s.queueSkip(p, 'tok-a');
    await p.exec();
    expect(await s.read('tok-a')).toEqual({ at: 1_000, acks: 0, misses: 2, skips: 2 });
    await s.recordOutcome('tok-a', true, 61_000);
    expect(await s.read('tok-a')).toEqual({ at: 61_000, acks: 1, misses: 1, skips: 0 });
    expect(await redis.ttl(s.keyOf('tok-a'))).toBeGreaterThan(3_500);
  });

  it('keys the evidence by an HMAC of the token, never the token', async () => {
    await store().recordOutcome('tok-secret-registration', true, 1);
    const keys = await keysUnder(redis, prefix);
    expect(keys.some((k) => k.includes('tok-secret-registration'))).toBe(false);
    expect(keys).toContain(store().keyOf('tok-secret-registration'));
    const other = new PushAckPosteriorStore(redis, redisKeys(prefix), Buffer.alloc(32, 8), { halfLifeMs: 60_000, retentionSeconds: 3_600 });
    expect(other.keyOf('tok-secret-registration')).not.toBe(store().keyOf('tok-secret-registration'));
  });
});

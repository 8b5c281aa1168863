import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { deletePrefix, testPrefix, testRedis } from '../../test/helpers/redis.ts';
import { OtpAttemptStore } from './otp-attempts.store.ts';
import { redisKeys } from './redis-keys.ts';

let redis: Redis;
let store: OtpAttemptStore;
const prefix = testPrefix('otpatt');
const later = (): number => Date.now() + 60_000;

beforeAll(() => {
  redis = testRedis();
  store = new OtpAttemptStore(redis, redisKeys(prefix));
});
afterAll(async () => {
  await deletePrefix(redis, prefix);
  redis.disconnect();
});

describe('OtpAttemptStore', () => {
  it('counts wrong codes down to zero, then locks even for the right code', async () => {
    const lefts: number[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await store.attempt('msg_lock', false, 5, later());
      expect(r.result).toBe('invalid');
      if (r.result === 'invalid') lefts.push(r.attemptsLeft);
    }
    expect(lefts).toEqual([4, 3, 2, 1, 0]);
    expect(await store.attempt('msg_lock', true, 5, later())).toEqual({ result: 'locked' });
  });

  it('accepts a right code once', async () => {
    expect(await store.attempt('msg_once', false, 5, later())).toEqual({ result: 'invalid', attemptsLeft: 4 });
    expect(await store.attempt('msg_once', true, 5, later())).toEqual({ result: 'valid' });
    expect(await store.attempt('msg_once', true, 5, later())).toEqual({ result: 'already' });
  });

  it('evaluates no more than the maximum of concurrent wrong guesses', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, () => store.attempt('msg_race', false, 5, later())));
    expect(results.filter((r) => r.result === 'invalid')).toHaveLength(5);
    expect(results.filter((r) => r.result === 'locked')).toHaveLength(15);
  });

  it('expires the state at the given time', async () => {
    await store.attempt('msg_ttl', false, 5, Date.now() + 30_000);
    const pttl = await redis.pttl(redisKeys(prefix).otpAttempts('msg_ttl'));
    expect(pttl).toBeGreaterThan(20_000);
    expect(pttl).toBeLessThanOrEqual(30_000);
  });
});

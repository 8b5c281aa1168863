import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { deletePrefix, keysUnder, testPrefix, testRedis } from '../../test/helpers/redis.ts';
import { newMessageId } from '../domain/ids.ts';
import type { MessageRecord } from '../domain/message.ts';
import { MessageStore, type IntakeLimit } from './message.store.ts';

let redis: Redis;
let store: MessageStore;
const prefix = testPrefix('limits');

function doc(at: number): MessageRecord {
  const createdAt = new Date(at).toISOString();
  return {
    id: newMessageId(at),
    keyName: 'k1',
    status: 'accepted',
    to: '+14155550100',
    country: 'US',
    channels: ['sms'],
    purpose: 'otp',
    body: 'code {{code}}',
    createdAt,
    updatedAt: createdAt,
    attempts: [],
    timeline: [{ at: createdAt, type: 'accepted' }],
    final: false,
  };
}

const limit = (name: string, max: number, windowMs: number, enforce = true): IntakeLimit => ({
  name,
  key: `${prefix}:rl:test:${name}`,
  max,
  windowMs,
  enforce,
});

beforeAll(() => {
  redis = testRedis();
  store = new MessageStore(redis, { prefix, retentionSeconds: 3600, idempotencyTtlSeconds: 600 });
});
afterAll(async () => {
  await deletePrefix(redis, prefix);
  redis.disconnect();
});

describe('MessageStore.intake with admission limits', () => {
  it('admits up to the maximum, then refuses with the time until the oldest entry leaves, writing nothing', async () => {
    const t0 = 1_800_000_000_000;
    const hour = limit('hour', 2, 3_600_000);
    expect(await store.intake(doc(t0), undefined, [], [hour])).toEqual({ created: true });
    expect(await store.intake(doc(t0 + 60_000), undefined, [], [hour])).toEqual({ created: true });
    const before = (await keysUnder(redis, prefix)).sort();
    const refusedDoc = doc(t0 + 120_000);
    const refused = await store.intake(refusedDoc, { keyHash: 'h-refused', requestHash: 'r' }, [], [hour]);
    expect(refused).toEqual({ created: false, limited: { name: 'hour', retryAfterMs: 3_600_000 - 120_000 } });
    expect(await store.get(refusedDoc.id)).toBeUndefined();
    expect((await keysUnder(redis, prefix)).sort()).toEqual(before);
    expect(await redis.zcard(hour.key)).toBe(2);
    // An hour after the first one, a slot is free again.
    expect(await store.intake(doc(t0 + 3_600_000), undefined, [], [hour])).toEqual({ created: true });
  });

  it('refuses on the first full limit without counting the others', async () => {
    const t0 = 1_800_000_100_000;
    const a = limit('a', 5, 1_000);
    const b = limit('b', 1, 1_000);
    expect(await store.intake(doc(t0), undefined, [], [a, b])).toEqual({ created: true });
    expect(await store.intake(doc(t0 + 10), undefined, [], [a, b])).toMatchObject({ created: false, limited: { name: 'b' } });
    expect(await redis.zcard(a.key)).toBe(1);
  });

  it('answers a replay from the idempotency key even when the limit is full, and does not count it', async () => {
    const t0 = 1_800_000_200_000;
    const one = limit('one', 1, 60_000);
    const first = doc(t0);
    expect(await store.intake(first, { keyHash: 'h-replay', requestHash: 'r' }, [], [one])).toEqual({ created: true });
    const replay = await store.intake(doc(t0 + 1), { keyHash: 'h-replay', requestHash: 'r' }, [], [one]);
    expect(replay).toMatchObject({ created: false, existing: { id: first.id } });
    expect(await redis.zcard(one.key)).toBe(1);
  });

  it('admits past the maximum in shadow mode and names the limit', async () => {
    const t0 = 1_800_000_300_000;
    const shadow = limit('shadow', 1, 60_000, false);
    expect(await store.intake(doc(t0), undefined, [], [shadow])).toEqual({ created: true });
    expect(await store.intake(doc(t0 + 1), undefined, [], [shadow])).toEqual({ created: true, shadowed: ['shadow'] });
    expect(await redis.zcard(shadow.key)).toBe(2);
  });

  it('lets a limit key expire with its window', async () => {
    const ttl = limit('ttl', 10, 5_000);
    await store.intake(doc(Date.now()), undefined, [], [ttl]);
    const pttl = await redis.pttl(ttl.key);
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(5_000);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { deletePrefix, testPrefix, testRedis } from '../../test/helpers/redis.ts';
import { redisKeys } from './redis-keys.ts';
import { WatchSchedule } from './watch-schedule.store.ts';

let redis: Redis;
const prefix = testPrefix('watchsched');
let n = 0;
const fresh = (): WatchSchedule => new WatchSchedule(redis, redisKeys(`${prefix}:${n++}`));
const T0 = 1_800_000_000_000;

beforeAll(() => {
  redis = testRedis();
});
afterAll(async () => {
  await deletePrefix(redis, prefix);
  redis.disconnect();
});

describe('WatchSchedule', () => {
  it('claims only the watches due by now, oldest first, up to the limit', async () => {
    const s = fresh();
    await s.ensure('msg_a', T0 - 10);
    await s.ensure('msg_b', T0 - 20);
    await s.ensure('msg_c', T0 + 1_000);
    await s.ensure('msg_d', T0 - 5);
    const first = await s.claimDue(T0, T0 + 60_000, 2);
    expect(first.map((w) => w.messageId)).toEqual(['msg_b', 'msg_a']);
    const second = await s.claimDue(T0, T0 + 60_000, 10);
    expect(second.map((w) => w.messageId)).toEqual(['msg_d']);
  });

  it('leases a claimed watch: no one else claims it until the lease ends, then it comes due again', async () => {
    const s = fresh();
    await s.ensure('msg_crash', T0);
    expect((await s.claimDue(T0, T0 + 60_000, 10)).map((w) => w.messageId)).toEqual(['msg_crash']);
    expect(await s.dueAt('msg_crash')).toBe(T0 + 60_000);
    // A second worker polling during the lease finds nothing; the first one "dies" without rescheduling.
    expect(await s.claimDue(T0 + 30_000, T0 + 90_000, 10)).toEqual([]);
    const again = await s.claimDue(T0 + 60_000, T0 + 120_000, 10);
    expect(again.map((w) => w.messageId)).toEqual(['msg_crash']);
  });

  it('carries the state of a rescheduled watch to its next firing, and drops it when the state is empty', async () => {
    const s = fresh();
    await s.ensure('msg_s', T0);
    await s.claimDue(T0, T0 + 60_000, 10);
    await s.reschedule('msg_s', T0 + 5_000, { reads: { '1': { nextAt: T0 + 5_000, gapMs: 5_000 } }, stuck: true });
    const [w] = await s.claimDue(T0 + 5_000, T0 + 65_000, 10);
    expect(w).toEqual({ messageId: 'msg_s', state: { reads: { '1': { nextAt: T0 + 5_000, gapMs: 5_000 } }, stuck: true } });
    await s.reschedule('msg_s', T0 + 9_000, {});
    const [plain] = await s.claimDue(T0 + 9_000, T0 + 69_000, 10);
    expect(plain).toEqual({ messageId: 'msg_s', state: {} });
  });

  it('keeps an existing deadline when a watch is ensured again', async () => {
    const s = fresh();
    await s.ensure('msg_e', T0 + 5_000);
    await s.ensure('msg_e', T0 + 1_000);
    expect(await s.dueAt('msg_e')).toBe(T0 + 5_000);
  });

  it('does not bring back a watch that was ended while it fired', async () => {
    const s = fresh();
    await s.ensure('msg_x', T0);
    await s.claimDue(T0, T0 + 60_000, 10);
    await s.end('msg_x');
    await s.reschedule('msg_x', T0 + 1_000, { stuck: true });
    expect(await s.dueAt('msg_x')).toBeUndefined();
    expect(await redis.hexists(redisKeys(`${prefix}:${n - 1}`).watchState, 'msg_x')).toBe(0);
    expect(await s.claimDue(T0 + 120_000, T0 + 180_000, 10)).toEqual([]);
  });
});

import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deletePrefix, testPrefix, testRedis, TEST_REDIS_URL } from '../../test/helpers/redis.ts';
import { QueueSet } from './queue-set.ts';

let redis: Redis;
const prefix = testPrefix('qset');
const OPTS = { prefix, sendJobAttempts: 3, sendBackoffMs: 100, dlrUnknownRetryForMs: 1_000, webhookAttempts: 2 };

beforeAll(() => {
  redis = testRedis();
});
afterAll(async () => {
  await deletePrefix(redis, prefix);
  redis.disconnect();
});

describe('QueueSet.addSendSoon', () => {
  it('queues the send job after the call returns, and close waits for it', async () => {
    const conn = testRedis();
    const queues = new QueueSet(conn, OPTS);
    const errors: unknown[] = [];
    queues.addSendSoon('msg_soon1', (err) => errors.push(err));
    await queues.close();
    conn.disconnect();
    const check = new Queue('send', { connection: redis, prefix });
    try {
      expect((await check.getJob('msg_soon1'))?.data).toEqual({ messageId: 'msg_soon1' });
    } finally {
      await check.close();
    }
    expect(errors).toEqual([]);
  });

  it('reports an add that fails instead of throwing at the caller', async () => {
    // A producer connection that fails fast (never connected, no offline queue), as the API's does when Redis is down.
    const down = new Redis(TEST_REDIS_URL, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    const queues = new QueueSet(down, OPTS);
    const errors: unknown[] = [];
    queues.addSendSoon('msg_soon2', (err) => errors.push(err));
    await queues.close();
    down.disconnect();
    expect(errors).toHaveLength(1);
    expect(await redis.exists(`${prefix}:send:msg_soon2`)).toBe(0);
  });
});

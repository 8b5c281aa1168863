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

async function jobOf(id: string): Promise<{ name: string; data: unknown } | undefined> {
  const check = new Queue('send', { connection: redis, prefix });
  try {
    const job = await check.getJob(id);
    return job ? { name: job.name, data: job.data } : undefined;
  } finally {
    await check.close();
  }
}

describe('QueueSet.reserveSend', () => {
  it('queues a lone admitted message as its own send job after the call returns, and close waits for it', async () => {
    const conn = testRedis();
    const queues = new QueueSet(conn, OPTS);
    const slot = queues.reserveSend();
    slot.admit('msg_soon1');
    await queues.close();
    conn.disconnect();
    expect(await jobOf('msg_soon1')).toEqual({ name: 'send', data: { messageId: 'msg_soon1' } });
    expect(await jobOf(slot.jobId)).toBeUndefined();
  });

  it('queues the messages reserved before the first intake answer as one send-batch job, leaving out refused requests', async () => {
    const conn = testRedis();
    const queues = new QueueSet(conn, OPTS);
    const slots = [queues.reserveSend(), queues.reserveSend(), queues.reserveSend()];
    expect(new Set(slots.map((s) => s.jobId)).size).toBe(1);
    // Intake answers arrive in no fixed order; the batch waits for every reserved request.
    slots[2]?.admit('msg_batch3');
    await new Promise((r) => setImmediate(r));
    const later = queues.reserveSend();
    expect(later.jobId).not.toBe(slots[0]?.jobId);
    slots[1]?.release();
    slots[0]?.admit('msg_batch1');
    later.release();
    await queues.close();
    conn.disconnect();
    expect(await jobOf(String(slots[0]?.jobId))).toEqual({ name: 'send-batch', data: { messageIds: ['msg_batch3', 'msg_batch1'] } });
    expect(await jobOf('msg_batch1')).toBeUndefined();
  });

  it('starts a new batch once one holds sendBatchMax requests', async () => {
    const conn = testRedis();
    const queues = new QueueSet(conn, { ...OPTS, sendBatchMax: 2 });
    const slots = [queues.reserveSend(), queues.reserveSend(), queues.reserveSend()];
    expect(slots[1]?.jobId).toBe(slots[0]?.jobId);
    expect(slots[2]?.jobId).not.toBe(slots[0]?.jobId);
    slots.forEach((s, i) => s.admit(`msg_max${i}`));
    await queues.close();
    conn.disconnect();
    expect(await jobOf(String(slots[0]?.jobId))).toEqual({ name: 'send-batch', data: { messageIds: ['msg_max0', 'msg_max1'] } });
    expect(await jobOf('msg_max2')).toEqual({ name: 'send', data: { messageId: 'msg_max2' } });
  });

  it('reports an add that fails instead of throwing at the caller', async () => {
    // A producer connection that fails fast (never connected, no offline queue), as the API's does when Redis is down.
    const down = new Redis(TEST_REDIS_URL, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    const errors: Array<readonly string[]> = [];
    const queues = new QueueSet(down, { ...OPTS, onSendAddError: (_err, ids) => errors.push(ids) });
    queues.reserveSend().admit('msg_soon2');
    await queues.close();
    down.disconnect();
    expect(errors).toEqual([['msg_soon2']]);
    expect(await redis.exists(`${prefix}:send:msg_soon2`)).toBe(0);
  });
});

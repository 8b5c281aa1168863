import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deletePrefix, testPrefix, testRedis } from '../../test/helpers/redis.ts';
import { redisKeys } from '../store/redis-keys.ts';
import { WebhookDeliveryLog, type DeliveryLogEntry } from './webhook-delivery-log.store.ts';

let redis: Redis;
let log: WebhookDeliveryLog;
const prefix = testPrefix('whlog');
const entry = (n: number): DeliveryLogEntry => ({
  eventId: `evt_${n}`,
  type: 'message.sent',
  url: 'https://hooks.example/x',
  at: new Date(n).toISOString(),
  try: 1,
  outcome: 'success',
  status: 204,
});

beforeAll(() => {
  redis = testRedis();
  log = new WebhookDeliveryLog(redis, redisKeys(prefix), 600);
});
afterAll(async () => {
  await deletePrefix(redis, prefix);
  redis.disconnect();
});

describe('WebhookDeliveryLog', () => {
  it('keeps the tries of a message oldest first, whether written one by one or together', async () => {
    await log.record('msg_a', entry(1));
    await log.recordAll('msg_a', [entry(2), entry(3)]);
    await log.record('msg_a', entry(4));
    expect((await log.list('msg_a')).map((e) => e.eventId)).toEqual(['evt_1', 'evt_2', 'evt_3', 'evt_4']);
    expect(await redis.ttl(redisKeys(prefix).webhookLog('msg_a'))).toBeGreaterThan(590);
  });

  it('keeps the newest hundred tries and writes nothing for an empty batch', async () => {
    await log.recordAll(
      'msg_b',
      Array.from({ length: 120 }, (_, i) => entry(i)),
    );
    const kept = await log.list('msg_b');
    expect(kept).toHaveLength(100);
    expect(kept[0]?.eventId).toBe('evt_20');
    expect(kept[99]?.eventId).toBe('evt_119');
    await log.recordAll('msg_c', []);
    expect(await redis.exists(redisKeys(prefix).webhookLog('msg_c'))).toBe(0);
  });
});

/**
 * What a crash leaves behind, replayed on purpose: a record whose job was never queued, an
 * attempt whose carrier call succeeded but was not recorded, and one whose outcome is unknown.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newMessageId } from '../../src/domain/ids.ts';
import type { MessageRecord } from '../../src/domain/message.ts';
import { messageFixture } from '../../src/domain/message.fixture.ts';
import { startAttempt } from '../../src/domain/status.ts';
import { createLogger } from '../../src/logger.ts';
import { IntakeSweeper } from '../../src/queues/intake-sweeper.ts';
import { QueueSet } from '../../src/queues/queue-set.ts';
import { MessageStore } from '../../src/store/message.store.ts';
import { WatchSchedule } from '../../src/store/watch-schedule.store.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';

let gw: TestGateway;
let store: MessageStore;
let queues: QueueSet;

beforeAll(async () => {
  gw = await startTestGateway({ label: 'rec', smsProviders: ['twilio'] });
  store = new MessageStore(gw.redis, { prefix: gw.prefix, retentionSeconds: 3600, idempotencyTtlSeconds: 600 });
  queues = new QueueSet(gw.redis, {
    prefix: gw.prefix,
    sendJobAttempts: 5,
    sendBackoffMs: 200,
    dlrUnknownRetryForMs: 10_000,
    webhookAttempts: 2,
  });
});
afterAll(async () => {
  await queues?.close();
  await gw?.stop();
});

function record(to: string, createdMs = Date.now()): MessageRecord {
  const createdAt = new Date(createdMs).toISOString();
  return messageFixture(
    { id: newMessageId(), keyName: 'sandbox', to, body: 'hello', timeline: [{ at: createdAt, type: 'accepted' }] },
    createdAt,
  );
}

async function sends(to: string): Promise<number> {
  const res = await gw.sandbox(`/_sandbox/log?provider=twilio&to=${encodeURIComponent(to)}`);
  const body = (await res.json()) as { items?: Array<{ path?: string }> } | Array<{ path?: string }>;
  return (Array.isArray(body) ? body : (body.items ?? [])).filter((e) => e.path?.endsWith('/Messages.json')).length;
}

describe('recovery after a crash', () => {
  it('re-queues a message whose job was never added, once it has waited past the sweep threshold', async () => {
    const m = record('+14155550201', Date.now() - 60_000);
    await store.intake(m);
    const sweeper = new IntakeSweeper(
      { redis: gw.redis, store, queues, log: createLogger('silent'), now: Date.now },
      { afterMs: 30_000, intervalMs: 1_000 },
    );
    const fresh = record('+14155550202');
    await store.intake(fresh);
    expect(await sweeper.sweepOnce()).toBe(1);
    const msg = await gw.waitForStatus(m.id, ['delivered']);
    expect(msg['status']).toBe('delivered');
    expect((await store.get(fresh.id))?.doc.status).toBe('accepted');
    await gw.redis.del(store.keys.lock('sweeper'));
    expect(await sweeper.sweepOnce()).toBe(0);
  });

  it('does not resend an attempt the ledger says the carrier already accepted', async () => {
    const m = record('+14155550203');
    await store.intake(m);
    await store.update(m.id, (d) => (startAttempt(d, 1, 'sms', 'twilio', new Date().toISOString()), true));
    await store.ledgerSent(m.id, 1, 'SM00000000000000000000000000000abc');
    await queues.addSend(m.id);
    await new Promise((r) => setTimeout(r, 500));
    const msg = (await store.get(m.id))?.doc;
    expect(msg?.attempts[0]?.providerMessageId).toBe('SM00000000000000000000000000000abc');
    expect(await sends('+14155550203')).toBe(0);
  });

  it('resends an attempt whose outcome is unknown and marks it ambiguous_resend', async () => {
    const m = record('+14155550204');
    await store.intake(m);
    await store.update(m.id, (d) => (startAttempt(d, 1, 'sms', 'twilio', new Date().toISOString()), true));
    await store.ledgerSending(m.id, 1);
    await queues.addSend(m.id);
    const msg = (await gw.waitForStatus(m.id, ['delivered'])) as { attempts: unknown[]; timeline: Array<{ type: string }> };
    expect(msg.attempts).toHaveLength(1);
    expect(msg.timeline.filter((t) => t.type === 'ambiguous_resend')).toHaveLength(1);
    expect(await sends('+14155550204')).toBe(1);
  });

  it('expires an OTP that could not be delivered before its expiry, through its watch', async () => {
    await gw.sandbox('/_sandbox/providers/twilio', { method: 'PUT', json: { dlr: 'none' } });
    try {
      const res = await gw.api('/v1/messages', {
        method: 'POST',
        json: { to: '+14155550205', otp: { ttlSeconds: 30 }, expiresAt: new Date(Date.now() + 2_000).toISOString() },
      });
      const { id } = (await res.json()) as { id: string };
      // The message's one watch entry, written with the record: due at its first deadline, here the expiry.
      const due = await new WatchSchedule(gw.redis, store.keys).dueAt(id);
      expect(due).toBeDefined();
      expect(due).toBeLessThanOrEqual(Date.now() + 2_000);
      const msg = await gw.waitForStatus(id, ['expired']);
      expect(msg['error']).toMatchObject({ code: 'SB_MESSAGE_EXPIRED' });
    } finally {
      await gw.sandbox('/_sandbox/providers/twilio', { method: 'PUT', json: { dlr: 'delivered' } });
    }
  });
});

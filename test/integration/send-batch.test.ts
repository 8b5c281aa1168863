/**
 * Send batches (queues/send-batcher.ts, pipeline/send-batch-job.processor.ts): messages admitted
 * together ride in one `send-batch` job; a member that must retry continues in a job of its own;
 * a re-run batch leaves such members to that job; the sweeper leaves a batched message to its batch.
 */
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newBatchId, newMessageId } from '../../src/domain/ids.ts';
import type { MessageRecord } from '../../src/domain/message.ts';
import { messageFixture } from '../../src/domain/message.fixture.ts';
import { createLogger } from '../../src/logger.ts';
import { IntakeSweeper } from '../../src/queues/intake-sweeper.ts';
import { QueueSet } from '../../src/queues/queue-set.ts';
import { MessageStore } from '../../src/store/message.store.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';

let gw: TestGateway;
let store: MessageStore;
let queues: QueueSet;
/** The send queue without the typed job names, to queue batch jobs with options of the test's choosing. */
let raw: Queue;
const JOB_ATTEMPTS = 5;

beforeAll(async () => {
  gw = await startTestGateway({ label: 'batch', smsProviders: ['twilio'] });
  store = new MessageStore(gw.redis, { prefix: gw.prefix, retentionSeconds: 3600, idempotencyTtlSeconds: 600 });
  queues = new QueueSet(gw.redis, {
    prefix: gw.prefix,
    sendJobAttempts: JOB_ATTEMPTS,
    sendBackoffMs: 200,
    dlrUnknownRetryForMs: 10_000,
    webhookAttempts: 2,
  });
  raw = new Queue('send', { connection: gw.redis, prefix: gw.prefix });
});
afterAll(async () => {
  await raw?.close();
  await queues?.close();
  await gw?.stop();
});

function record(to: string, createdMs = Date.now(), sendJob?: string): MessageRecord {
  const createdAt = new Date(createdMs).toISOString();
  return messageFixture(
    {
      id: newMessageId(),
      keyName: 'sandbox',
      to,
      body: 'hello',
      timeline: [{ at: createdAt, type: 'accepted' }],
      ...(sendJob !== undefined ? { sendJob } : {}),
    },
    createdAt,
  );
}

async function sends(to: string): Promise<number> {
  const res = await gw.sandbox(`/_sandbox/log?provider=twilio&to=${encodeURIComponent(to)}`);
  const body = (await res.json()) as { items?: Array<{ path?: string; status: number }> } | Array<{ path?: string; status: number }>;
  return (Array.isArray(body) ? body : (body.items ?? [])).filter((e) => e.path?.endsWith('/Messages.json') && e.status < 300).length;
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('send batches', () => {
  it('queues messages posted at the same moment in shared send-batch jobs and sends each once', async () => {
    const numbers = Array.from({ length: 20 }, (_, i) => `+1415555${String(3100 + i)}`);
    const ids = await Promise.all(
      numbers.map(async (to) => {
        const res = await gw.api('/v1/messages', { method: 'POST', json: { to, body: 'together' } });
        expect(res.status).toBe(202);
        return ((await res.json()) as { id: string }).id;
      }),
    );
    await Promise.all(ids.map(async (id) => gw.waitForStatus(id, ['delivered'])));
    const batches = await Promise.all(ids.map(async (id) => (await store.get(id))?.doc.sendJob));
    expect(batches.every((b) => b?.startsWith('batch_'))).toBe(true);
    const shared = new Set(batches);
    expect(shared.size).toBeLessThan(ids.length);
    // A message that rode in a batch has no send job of its own.
    const batchedAlone = ids.filter((id, i) => batches.filter((b) => b === batches[i]).length > 1);
    expect(batchedAlone.length).toBeGreaterThan(1);
    expect((await Promise.all(batchedAlone.map(async (id) => queues.send.getJob(id)))).every((j) => j === undefined)).toBe(true);
    expect(await Promise.all(numbers.map(sends))).toEqual(numbers.map(() => 1));
  });

  it('continues a member whose carrier is down in a send job of its own, and delivers it once the carrier is back', async () => {
    await gw.sandbox('/_sandbox/providers/twilio', { method: 'PUT', json: { outage: true } });
    const members = [record('+14155553201'), record('+14155553202')];
    try {
      await Promise.all(members.map(async (m) => store.intake(m)));
      await queues.addSendBatch(
        newBatchId(),
        members.map((m) => m.id),
      );
      await waitFor(async () => (await Promise.all(members.map(async (m) => queues.send.getJob(m.id)))).every((j) => j !== undefined));
      const own = await Promise.all(members.map(async (m) => queues.send.getJob(m.id)));
      // Every candidate failed (a try counted: one fewer left) or every breaker opened (a wait: none counted).
      for (const job of own) expect([JOB_ATTEMPTS - 1, JOB_ATTEMPTS]).toContain(job?.opts.attempts);
      await gw.sandbox('/_sandbox/providers/twilio', { method: 'PUT', json: { outage: false } });
      for (const m of members) expect((await gw.waitForStatus(m.id, ['delivered'], 30_000))['status']).toBe('delivered');
      expect(await Promise.all(members.map(async (m) => sends(m.to)))).toEqual([1, 1]);
    } finally {
      await gw.sandbox('/_sandbox/providers/twilio', { method: 'PUT', json: { outage: false } });
    }
  }, 40_000);

  it('leaves out, when a batch runs again, a member that has a send job of its own', async () => {
    const batch = newBatchId();
    await raw.add('send-batch', { messageIds: [] }, { jobId: batch, attempts: 2 });
    await waitFor(async () => (await (await queues.send.getJob(batch))?.getState()) === 'completed');
    const handedOff = record('+14155553301');
    const member = record('+14155553302');
    await Promise.all([store.intake(handedOff), store.intake(member)]);
    await queues.addSendContinuation(handedOff.id, 60_000, 0);
    const job = await raw.getJob(batch);
    await job?.updateData({ messageIds: [handedOff.id, member.id] });
    await job?.retry('completed');
    await gw.waitForStatus(member.id, ['delivered']);
    expect(await sends('+14155553302')).toBe(1);
    expect(await sends('+14155553301')).toBe(0);
    expect((await store.get(handedOff.id))?.doc.status).toBe('accepted');
    expect(await (await queues.send.getJob(handedOff.id))?.getState()).toBe('delayed');
    await (await queues.send.getJob(handedOff.id))?.remove();
  });

  it('leaves a stale message to the send batch its record names while that batch is queued', async () => {
    const batch = newBatchId();
    const m = record('+14155553401', Date.now() - 60_000, batch);
    await store.intake(m);
    await raw.add('send-batch', { messageIds: [m.id] }, { jobId: batch, delay: 60_000 });
    const sweeper = new IntakeSweeper(
      { redis: gw.redis, store, queues, log: createLogger('silent'), now: Date.now },
      { afterMs: 30_000, intervalMs: 1_000 },
    );
    await gw.redis.del(store.keys.lock('sweeper'));
    expect(await sweeper.sweepOnce()).toBe(0);
    expect(await queues.send.getJob(m.id)).toBeUndefined();
    // The batch is gone (lost, or run without reaching the message): the sweeper queues its own job.
    await (await queues.send.getJob(batch))?.remove();
    await gw.redis.del(store.keys.lock('sweeper'));
    expect(await sweeper.sweepOnce()).toBe(1);
    await gw.waitForStatus(m.id, ['delivered']);
    expect(await sends('+14155553401')).toBe(1);
  });
});

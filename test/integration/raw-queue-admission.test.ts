/**
 * A job added straight to the `send` queue (no API, no admission stamp) is admitted by the
 * worker with the same rules as the API (CONTRACTS §3).
 */
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';

let gw: TestGateway;
let queue: Queue;

beforeAll(async () => {
  gw = await startTestGateway({ label: 'raw', smsProviders: ['twilio'] });
  queue = new Queue('send', { connection: gw.redis, prefix: gw.prefix });
});
afterAll(async () => {
  await queue?.close();
  await gw?.stop();
});

async function finished(jobId: string): Promise<{ state: string; failedReason?: string }> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const state = await queue.getJobState(jobId);
    if (state === 'completed' || state === 'failed') {
      // Read the job after it settled: an object fetched while it was active has no failedReason yet.
      const job = await queue.getJob(jobId);
      return { state, ...(job?.failedReason ? { failedReason: job.failedReason } : {}) };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('raw job did not finish');
}

describe('raw Queue.add jobs', () => {
  it('admits a raw job and delivers the message it creates, with its key as owner', async () => {
    const job = await queue.add('send', { request: { to: '+14155551101', body: 'hello {{code}}', otp: {}, metadata: { source: 'raw' } }, key: 'sandbox' });
    expect(await finished(String(job.id))).toEqual({ state: 'completed' });
    // The raw payload (number and text in clear) is replaced by a reference once admitted.
    expect(JSON.stringify((await queue.getJob(String(job.id)))?.data)).not.toContain('14155551101');
    const list = (await (await gw.api('/v1/messages?limit=10')).json()) as { items: Array<{ id: string; metadata: Record<string, unknown> }> };
    const created = list.items.find((m) => m.metadata['source'] === 'raw');
    expect(created).toBeDefined();
    const msg = await gw.waitForStatus(created?.id ?? '', ['delivered', 'failed']);
    expect(msg['status']).toBe('delivered');
  });

  it('fails a raw job with the same SB code the API would answer, creating nothing', async () => {
    const before = (await (await gw.api('/v1/messages?limit=100')).json()) as { items: unknown[] };
    const bad = await queue.add('send', { request: { to: '+1234', body: 'x' }, key: 'sandbox' });
    const unknownKey = await queue.add('send', { request: { to: '+14155551102', body: 'x' }, key: 'nobody' });
    const extra = await queue.add('send', { request: { to: '+14155551103', body: 'x', priority: 'high' }, key: 'sandbox' });
    expect((await finished(String(bad.id))).failedReason).toMatch(/^SB_VALIDATION_PHONE_NUMBER: /);
    expect(JSON.stringify((await queue.getJob(String(unknownKey.id)))?.data)).not.toContain('14155551102');
    expect((await finished(String(unknownKey.id))).failedReason).toMatch(/^SB_AUTH_UNAUTHORIZED: /);
    expect((await finished(String(extra.id))).failedReason).toMatch(/^SB_VALIDATION_FAILED: /);
    const after = (await (await gw.api('/v1/messages?limit=100')).json()) as { items: unknown[] };
    expect(after.items.length).toBe(before.items.length);
  });

  it('honours idempotency keys on raw jobs', async () => {
    const a = await queue.add('send', { request: { to: '+14155551104', body: 'x' }, key: 'sandbox', idempotencyKey: 'raw-1' });
    await finished(String(a.id));
    const b = await queue.add('send', { request: { to: '+14155551104', body: 'x' }, key: 'sandbox', idempotencyKey: 'raw-1' });
    await finished(String(b.id));
    const list = (await (await gw.api('/v1/messages?limit=100')).json()) as { items: Array<{ to: string }> };
    expect(list.items.filter((m) => m.to === '+1415***1104')).toHaveLength(1);
  });
});

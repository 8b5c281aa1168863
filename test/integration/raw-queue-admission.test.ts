/**
 * A job added straight to the `send` queue (no API, no admission stamp) is admitted by the
 * worker with the same rules as the API (CONTRACTS §3).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/admission/admission.ts';
import { sendMessageBodySchema } from '../../src/admission/message-request.schema.ts';
import { rawSendJobJsonSchema } from '../../src/admission/raw-job.schema.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { ROOT } from '../helpers/processes.ts';
import { TEST_REDIS_URL } from '../helpers/redis.ts';

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

async function finished(jobId: string, timeoutMs = 10_000): Promise<{ state: string; failedReason?: string }> {
  const deadline = Date.now() + timeoutMs;
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
    const job = await queue.add('send', {
      request: { to: '+14155551101', body: 'hello {{code}}', otp: {}, metadata: { source: 'raw' } },
      key: 'sandbox',
    });
    expect(await finished(String(job.id))).toEqual({ state: 'completed' });
    // The raw payload (number and text in clear) is replaced by a reference once admitted.
    expect(JSON.stringify((await queue.getJob(String(job.id)))?.data)).not.toContain('14155551101');
    const list = (await (await gw.api('/v1/messages?limit=10')).json()) as {
      items: Array<{ id: string; metadata: Record<string, unknown> }>;
    };
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

  it('rejects a raw job without a request, without a key or with a non-string key (SB_VALIDATION_JOB, every problem listed)', async () => {
    const noRequest = await queue.add('send', { key: 'sandbox', to: '+14155551110' });
    const noKey = await queue.add('send', { request: { to: '+14155551111', body: 'x' } });
    const numericKey = await queue.add('send', { request: { to: '+14155551112', body: 'x' }, key: 7 });
    const empty = await queue.add('send', {});
    const noRequestEnd = await finished(String(noRequest.id));
    expect(noRequestEnd.state).toBe('failed');
    expect(noRequestEnd.failedReason).toMatch(/^SB_VALIDATION_JOB: /);
    expect(noRequestEnd.failedReason).toContain('request');
    expect(noRequestEnd.failedReason).toContain('to');
    const noKeyEnd = await finished(String(noKey.id));
    expect(noKeyEnd.state).toBe('failed');
    expect(noKeyEnd.failedReason).toMatch(/^SB_VALIDATION_JOB: .*key/);
    expect((await finished(String(numericKey.id))).failedReason).toMatch(/^SB_VALIDATION_JOB: .*key/);
    const emptyEnd = await finished(String(empty.id));
    expect(emptyEnd.failedReason).toMatch(/^SB_VALIDATION_JOB: .*request.*key|^SB_VALIDATION_JOB: .*key.*request/);
    // Refused: the job data keeps no number.
    for (const j of [noRequest, noKey, numericKey])
      expect(JSON.stringify((await queue.getJob(String(j.id)))?.data)).not.toMatch(/415555111\d/);
  });

  it('keeps no number in the failedReason of a malformed raw job that quotes one', async () => {
    const job = await queue.add('send', { request: { to: '+14155551119', body: 'x' }, key: 'sandbox', '+14155551119': true });
    const end = await finished(String(job.id));
    expect(end.failedReason).toMatch(/^SB_VALIDATION_JOB: /);
    expect(end.failedReason).not.toContain('4155551119');
    expect(JSON.stringify((await queue.getJob(String(job.id)))?.data)).not.toContain('4155551119');
  });

  it('rejects a non-string idempotencyKey with SB_VALIDATION_JOB instead of crashing', async () => {
    const job = await queue.add('send', { request: { to: '+14155551113', body: 'x' }, key: 'sandbox', idempotencyKey: 42 });
    const end = await finished(String(job.id));
    expect(end.state).toBe('failed');
    expect(end.failedReason).toMatch(/^SB_VALIDATION_JOB: idempotencyKey: /);
  });

  it('completes an admitted raw job with returnvalue {messageId}', async () => {
    const job = await queue.add('send', { request: { to: '+14155551114', body: 'hello', metadata: { source: 'raw-rv' } }, key: 'sandbox' });
    expect(await finished(String(job.id))).toEqual({ state: 'completed' });
    const settled = await queue.getJob(String(job.id));
    expect(settled?.returnvalue).toEqual({ messageId: expect.stringMatching(/^msg_[0-9A-HJKMNP-TV-Z]{26}$/) });
    const msg = await gw.api(`/v1/messages/${(settled?.returnvalue as { messageId: string }).messageId}`);
    expect(msg.status).toBe(200);
    expect(((await msg.json()) as { metadata: unknown }).metadata).toEqual({ source: 'raw-rv' });
  });

  it('admits a raw job without idempotencyKey only once when it runs again after a stall', async () => {
    const data = { request: { to: '+14155551115', body: 'once' }, key: 'sandbox' };
    const job = await queue.add('send', data, { jobId: 'stall-once-1' });
    await finished('stall-once-1');
    const first = (await queue.getJob('stall-once-1'))?.returnvalue as { messageId: string };
    // A worker that dies after admitting leaves the job with its original data; it runs again.
    await job.updateData(data);
    await (await queue.getJob('stall-once-1'))?.retry('completed');
    const again = await finished('stall-once-1');
    expect(again.state).toBe('completed');
    const second = (await queue.getJob('stall-once-1'))?.returnvalue as { messageId: string };
    expect(second).toEqual(first);
    const list = (await (await gw.api('/v1/messages?limit=100')).json()) as { items: Array<{ to: string }> };
    expect(list.items.filter((m) => m.to === '+1415***1115')).toHaveLength(1);
  });

  it('delays, and does not fail, a raw job whose idempotency key is still being admitted', async () => {
    const request = { to: '+14155551116', body: 'in flight' };
    // The first admission with this key claimed it and has not finished (its worker is still on it).
    const { idempotencyKey: _none, ...fingerprinted } = sendMessageBodySchema.parse(request);
    const sha = (v: string): string => createHash('sha256').update(v, 'utf8').digest('hex');
    const pendingId = 'msg_01JAAAAAAAAAAAAAAAAAAAAAAA';
    await gw.redis.set(
      `${gw.prefix}:idem:sandbox:${sha('flight-1')}`,
      JSON.stringify({ hash: sha(canonicalJson(fingerprinted)), id: pendingId, state: 'pending', at: Date.now() }),
      'EX',
      60,
    );
    const job = await queue.add('send', { request, key: 'sandbox', idempotencyKey: 'flight-1' }, { attempts: 1 });
    const deadline = Date.now() + 5_000;
    let state = await queue.getJobState(String(job.id));
    while (state !== 'delayed' && state !== 'failed' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 25));
      state = await queue.getJobState(String(job.id));
    }
    expect(state).toBe('delayed');
    // Once the first admission is past its in-flight window the job answers with that message.
    const end = await finished(String(job.id), 15_000);
    expect(end.state).toBe('completed');
    expect((await queue.getJob(String(job.id)))?.returnvalue).toEqual({ messageId: pendingId });
  });
});

describe('the raw job contract for producers outside the project', () => {
  it('ships the job schema as JSON Schema in docs/, equal to the one the worker checks', () => {
    const shipped = JSON.parse(readFileSync(`${ROOT}docs/raw-send-job.schema.json`, 'utf8')) as Record<string, unknown>;
    expect(shipped).toEqual(rawSendJobJsonSchema());
    expect(shipped['required']).toEqual(['request', 'key']);
  });

  it('admits a job from a producer that imports only bullmq and answers it {messageId}', async () => {
    const run = promisify(execFile);
    const produce = async (data: unknown): Promise<{ state: string; returnvalue?: { messageId: string }; failedReason?: string }> => {
      const { stdout } = await run(
        process.execPath,
        [`${ROOT}test/fixtures/raw-producer.mjs`, TEST_REDIS_URL, gw.prefix, JSON.stringify(data)],
        { cwd: ROOT, timeout: 25_000 },
      );
      return JSON.parse(stdout.trim()) as { state: string; returnvalue?: { messageId: string }; failedReason?: string };
    };
    const ok = await produce({ request: { to: '+14155551117', body: 'from outside' }, key: 'sandbox' });
    expect(ok, JSON.stringify(ok)).toMatchObject({ state: 'completed', returnvalue: { messageId: expect.stringMatching(/^msg_/) } });
    const msg = await gw.waitForStatus(ok.returnvalue?.messageId ?? '', ['delivered', 'failed']);
    expect(msg['status']).toBe('delivered');
    const bad = await produce({ to: '+14155551118', body: 'no envelope' });
    expect(bad.state).toBe('failed');
    expect(bad.failedReason).toMatch(/^SB_VALIDATION_JOB: /);
  });
});

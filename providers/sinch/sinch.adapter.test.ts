import { SinchClient } from '@sinch/sdk-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isProviderError } from '../errors.ts';
import type { ProviderError } from '../errors.ts';
import type { ProviderAdapter, SendRequest } from '../provider.ts';
import { SINCH_MAX_EXPIRY_SECONDS, createSinchAdapter, sinchExpireAt } from './sinch.adapter.ts';
import { sinchConfigSchema } from './sinch.config.ts';
import { closedPortUrl, startCallbackReceiver, startSinchEmulator } from './sandbox/sinch.fixtures.ts';
import type { CallbackReceiver, RunningEmulator } from './sandbox/sinch.fixtures.ts';
import { SINCH_SANDBOX_CREDENTIALS } from './sandbox/sinch.sandbox.ts';

const config = sinchConfigSchema.parse({ ...SINCH_SANDBOX_CREDENTIALS });

async function sendError(adapter: ProviderAdapter, req: SendRequest): Promise<ProviderError> {
  try {
    await adapter.send(req);
  } catch (err) {
    if (isProviderError(err)) return err;
    throw new Error(`send rejected with something other than a ProviderError: ${String(err)}`);
  }
  throw new Error('expected the send to fail');
}

describe('sinchExpireAt', () => {
  const now = new Date('2024-06-06T09:00:00.000Z');

  it('adds the validity to now', () => {
    expect(sinchExpireAt(300, now).toISOString()).toBe('2024-06-06T09:05:00.000Z');
  });

  it('clamps to Sinch’s 3-day maximum and to at least 1 s', () => {
    expect(sinchExpireAt(10 * 86_400, now).getTime() - now.getTime()).toBe(SINCH_MAX_EXPIRY_SECONDS * 1000);
    expect(sinchExpireAt(0, now).getTime() - now.getTime()).toBe(1000);
  });
});

describe('createSinchAdapter against the emulator', () => {
  let emulator: RunningEmulator;
  let receiver: CallbackReceiver;
  let adapter: ProviderAdapter;
  let n = 0;

  const request = (to: string, overrides: Partial<SendRequest> = {}): SendRequest => {
    n += 1;
    const messageId = `msg_sinch${n}`;
    return {
      messageId,
      attempt: 1,
      channel: 'sms',
      to,
      body: 'Your code is 123456',
      statusCallbackUrl: `${receiver.origin}/webhooks/sinch?sb=${messageId}`,
      ...overrides,
    };
  };

  /** Reads a batch back through the real SDK. */
  const fetchBatch = (id: string) =>
    new SinchClient({ ...SINCH_SANDBOX_CREDENTIALS, smsHostname: emulator.baseUrl, logger: null }).sms.batches.get({ batch_id: id });

  beforeAll(async () => {
    emulator = await startSinchEmulator();
    receiver = await startCallbackReceiver();
    adapter = createSinchAdapter(config, { baseUrl: emulator.baseUrl, timeoutMs: 2_000 });
  });
  afterEach(() => {
    emulator.control.set('sinch', { outage: false, errorRate: 0, errorStatus: 503, latencyMs: 0, dlr: 'delivered', dlrDelayMs: 200 });
    receiver.received.length = 0;
    receiver.status = 204;
  });
  afterAll(async () => {
    await emulator.close();
    await receiver.close();
  });

  it("reads a recipient whose delivery report was lost through the SDK's delivery report read, normalised like the report", async () => {
    emulator.control.set('sinch', { callbacks: 'drop', dlrDelayMs: 20 });
    try {
      const req = request('+14155550191');
      const sent = await adapter.send(req);
      await new Promise((resolve) => setTimeout(resolve, 120));
      const read = await adapter.readStatus?.({
        providerMessageId: sent.providerMessageId,
        channel: 'sms',
        to: req.to,
        messageId: req.messageId,
      });
      expect(read).toMatchObject({
        provider: 'sinch',
        providerMessageId: sent.providerMessageId,
        messageId: req.messageId,
        status: 'delivered',
        rawStatus: 'Delivered',
      });
      expect(
        await adapter.readStatus?.({
          providerMessageId: '01ARZ3NDEKTSV4RRFFQ69G5FAV',
          channel: 'sms',
          to: req.to,
          messageId: req.messageId,
        }),
      ).toBe('not_found');
      expect(
        await adapter.readStatus?.({ providerMessageId: sent.providerMessageId, channel: 'rcs', to: req.to, messageId: req.messageId }),
      ).toBe('unsupported');
    } finally {
      emulator.control.set('sinch', { callbacks: 'post' });
    }
  });

  it('returns the batch id and queued', async () => {
    emulator.control.set('sinch', { dlr: 'none' });
    const before = Date.now();
    const result = await adapter.send(request('+14155550100'));
    expect(result.providerMessageId).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(result.status).toBe('queued');
    expect(result.acceptedAt.getTime()).toBeGreaterThanOrEqual(before);
  });

  it('sends to, from, body, per-recipient reports, our callback URL, client_reference and expire_at', async () => {
    emulator.control.set('sinch', { dlr: 'none' });
    const req = request('+14155550101', { validitySeconds: 300 });
    const sentAt = Date.now();
    const result = await adapter.send(req);
    const batch = await fetchBatch(result.providerMessageId);
    expect(batch).toMatchObject({
      to: ['+14155550101'],
      from: '+15005550006',
      body: req.body,
      delivery_report: 'per_recipient',
      callback_url: req.statusCallbackUrl,
      client_reference: req.messageId,
    });
    const expireAt = batch.expire_at instanceof Date ? batch.expire_at.getTime() : Number.NaN;
    expect(expireAt - sentAt).toBeGreaterThan(299_000);
    expect(expireAt - sentAt).toBeLessThan(302_000);
    const entry = emulator.control.entries.findLast((e) => e.method === 'POST');
    expect(entry).toMatchObject({ provider: 'sinch', to: '+14155550101', reference: req.messageId, status: 201 });
  });

  it.each([
    ['+15005550001', 'permanent', 'recipient', 'syntax_invalid_parameter_format', 400],
    ['+15005550009', 'permanent', 'channel', 'illegal_number_type', 403],
    ['+15005550003', 'permanent', 'provider', 'unprovisioned_region', 403],
  ] as const)('classifies magic number %s as %s/%s (%s)', async (to, kind, scope, providerCode, httpStatus) => {
    const err = await sendError(adapter, request(to));
    expect(err.kind).toBe(kind);
    expect(err.scope).toBe(scope);
    expect(err.providerCode).toBe(providerCode);
    expect(err.httpStatus).toBe(httpStatus);
    expect(err.ambiguous).toBe(false);
  });

  it('reports the opted-out magic number as Rejected (failed) after accepting it', async () => {
    emulator.control.set('sinch', { dlrDelayMs: 40 });
    const req = request('+15005550004');
    const result = await adapter.send(req);
    const [callback] = await receiver.waitFor(1, { ref: req.messageId });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(receiver.forRef(req.messageId)).toHaveLength(1);
    expect(await adapter.verifyWebhook(callback!)).toBe(true);
    expect(adapter.parseWebhook(callback!)).toEqual([
      expect.objectContaining({
        providerMessageId: result.providerMessageId,
        messageId: req.messageId,
        status: 'failed',
        rawStatus: 'Rejected',
        errorCode: '408',
        transient: false,
      }),
    ]);
  });

  it('classifies an outage as retryable, counting against the breaker', async () => {
    emulator.control.set('sinch', { outage: true });
    const err = await sendError(adapter, request('+14155550100'));
    expect(err.kind).toBe('retryable');
    expect(err.httpStatus).toBe(503);
    expect(err.countsAgainstBreaker).toBe(true);
  });

  it('classifies a 429 with Retry-After as rate_limited with retryAfterMs', async () => {
    emulator.control.set('sinch', { errorRate: 1, errorStatus: 429, retryAfterSec: 2 });
    const err = await sendError(adapter, request('+14155550100'));
    expect(err.kind).toBe('rate_limited');
    expect(err.retryAfterMs).toBe(2_000);
    expect(err.countsAgainstBreaker).toBe(false);
  });

  it('does not retry a 429 inside the SDK', async () => {
    emulator.control.set('sinch', { errorRate: 1, errorStatus: 429 });
    const before = emulator.control.counters('sinch').requests;
    await sendError(adapter, request('+14155550100'));
    expect(emulator.control.counters('sinch').requests - before).toBe(1);
  });

  it('classifies a wrong token as auth', async () => {
    const wrong = createSinchAdapter({ ...config, apiToken: 'not-the-token' }, { baseUrl: emulator.baseUrl, timeoutMs: 2_000 });
    const err = await sendError(wrong, request('+14155550100'));
    expect(err.kind).toBe('auth');
    expect(err.httpStatus).toBe(401);
  });

  it('classifies a closed port as retryable and not ambiguous', async () => {
    const closed = createSinchAdapter(config, { baseUrl: await closedPortUrl(), timeoutMs: 2_000 });
    const err = await sendError(closed, request('+14155550100'));
    expect(err.kind).toBe('retryable');
    expect(err.ambiguous).toBe(false);
    expect(err.providerCode).toBe('ECONNREFUSED');
  });

  it('classifies a timeout as retryable and ambiguous, and gives up within the timeout', async () => {
    emulator.control.set('sinch', { latencyMs: 1_000, dlr: 'none' });
    const slow = createSinchAdapter(config, { baseUrl: emulator.baseUrl, timeoutMs: 100 });
    const started = Date.now();
    const err = await sendError(slow, request('+14155550100'));
    expect(Date.now() - started).toBeLessThan(900);
    expect(err.kind).toBe('retryable');
    expect(err.ambiguous).toBe(true);
  });

  it('aborts through the request signal as retryable and ambiguous', async () => {
    emulator.control.set('sinch', { latencyMs: 1_000, dlr: 'none' });
    const err = await sendError(adapter, request('+14155550100', { signal: AbortSignal.timeout(50) }));
    expect(err.kind).toBe('retryable');
    expect(err.ambiguous).toBe(true);
  });

  it('refuses an already aborted signal without calling Sinch', async () => {
    const before = emulator.control.counters('sinch').requests;
    const err = await sendError(adapter, request('+14155550100', { signal: AbortSignal.abort() }));
    expect(err.kind).toBe('retryable');
    expect(err.ambiguous).toBe(false);
    expect(emulator.control.counters('sinch').requests).toBe(before);
  });

  it('refuses channels it does not offer as permanent/channel', async () => {
    const err = await sendError(adapter, request('+14155550100', { channel: 'voice' }));
    expect(err.kind).toBe('permanent');
    expect(err.scope).toBe('channel');
  });

  it('receives authenticated per-recipient reports Dispatched then Delivered', async () => {
    emulator.control.set('sinch', { dlrDelayMs: 60 });
    const req = request('+14155550100');
    const result = await adapter.send(req);
    const callbacks = await receiver.waitFor(2, { ref: req.messageId });
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(receiver.forRef(req.messageId)).toHaveLength(2);
    const events = callbacks.flatMap((c) => adapter.parseWebhook(c));
    expect(events.map((e) => e.status)).toEqual(['sent', 'delivered']);
    for (const callback of callbacks) {
      expect(callback.method).toBe('POST');
      expect(callback.headers['content-type']).toContain('application/json');
      expect(await adapter.verifyWebhook(callback)).toBe(true);
    }
    for (const event of events) {
      expect(event.providerMessageId).toBe(result.providerMessageId);
      expect(event.messageId).toBe(req.messageId);
    }
    expect(emulator.control.counters('sinch').callbacksSent).toBeGreaterThanOrEqual(2);
  });

  it('reports Failed with a transient 404 when the scenario says undelivered', async () => {
    emulator.control.set('sinch', { dlr: 'undelivered', dlrDelayMs: 40 });
    const req = request('+14155550100');
    await adapter.send(req);
    const callbacks = await receiver.waitFor(2, { ref: req.messageId });
    const events = callbacks.flatMap((c) => adapter.parseWebhook(c));
    expect(events.map((e) => e.status).sort()).toEqual(['sent', 'undelivered']);
    expect(events.find((e) => e.status === 'undelivered')).toMatchObject({ rawStatus: 'Failed', errorCode: '404', transient: true });
  });

  it('uses the scenario dlrErrorCode for Failed reports', async () => {
    emulator.control.set('sinch', { dlr: 'undelivered', dlrErrorCode: '402', dlrDelayMs: 20 });
    const req = request('+14155550100');
    await adapter.send(req);
    const callbacks = await receiver.waitFor(2, { ref: req.messageId });
    const failed = callbacks.flatMap((c) => adapter.parseWebhook(c)).find((e) => e.status === 'undelivered');
    expect(failed).toMatchObject({ errorCode: '402', transient: false });
  });

  it('rejects a report with the wrong credentials', async () => {
    emulator.control.set('sinch', { dlrDelayMs: 20 });
    const req = request('+14155550100');
    await adapter.send(req);
    const [callback] = await receiver.waitFor(1, { ref: req.messageId });
    const forged = {
      ...callback!,
      headers: { ...callback!.headers, authorization: 'Basic ' + Buffer.from('sinch-callback:guess').toString('base64') },
    };
    expect(await adapter.verifyWebhook(forged)).toBe(false);
    const other = createSinchAdapter({ ...config, callbackPassword: 'another-secret' }, { baseUrl: emulator.baseUrl, timeoutMs: 2_000 });
    expect(await other.verifyWebhook(callback!)).toBe(false);
  });
});

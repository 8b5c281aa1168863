import twilio from 'twilio';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isProviderError } from '../errors.ts';
import type { ProviderError } from '../errors.ts';
import type { ProviderAdapter, SendRequest } from '../provider.ts';
import { clampTwilioValidity, createTwilioAdapter } from './twilio.adapter.ts';
import { twilioConfigSchema } from './twilio.config.ts';
import { closedPortUrl, startCallbackReceiver, startTwilioEmulator } from './sandbox/twilio.fixtures.ts';
import type { CallbackReceiver, RunningEmulator } from './sandbox/twilio.fixtures.ts';
import { BaseUrlRequestClient } from './twilio.request-client.ts';
import { TWILIO_SANDBOX_CREDENTIALS } from './sandbox/twilio.sandbox.ts';

const config = twilioConfigSchema.parse({ ...TWILIO_SANDBOX_CREDENTIALS });

async function sendError(adapter: ProviderAdapter, req: SendRequest): Promise<ProviderError> {
  try {
    await adapter.send(req);
  } catch (err) {
    if (isProviderError(err)) return err;
    throw new Error(`send rejected with something other than a ProviderError: ${String(err)}`);
  }
  throw new Error('expected the send to fail');
}

describe('createTwilioAdapter against the emulator', () => {
  let emulator: RunningEmulator;
  let receiver: CallbackReceiver;
  let adapter: ProviderAdapter;
  let n = 0;

  const request = (to: string, overrides: Partial<SendRequest> = {}): SendRequest => {
    n += 1;
    const messageId = `msg_test${n}`;
    return {
      messageId,
      attempt: 1,
      channel: 'sms',
      to,
      body: 'Your code is 123456',
      statusCallbackUrl: `${receiver.origin}/webhooks/twilio?sb=${messageId}`,
      ...overrides,
    };
  };

  beforeAll(async () => {
    emulator = await startTwilioEmulator();
    receiver = await startCallbackReceiver();
    adapter = createTwilioAdapter(config, { baseUrl: emulator.baseUrl, timeoutMs: 2_000 });
  });
  afterEach(() => {
    emulator.control.set('twilio', { outage: false, errorRate: 0, errorStatus: 503, latencyMs: 0, dlr: 'delivered', dlrDelayMs: 200 });
    receiver.received.length = 0;
    receiver.status = 204;
  });
  afterAll(async () => {
    await emulator.close();
    await receiver.close();
  });

  it("reads a message whose callbacks were lost through the SDK's Messages fetch, normalised like its StatusCallback", async () => {
    emulator.control.set('twilio', { callbacks: 'drop', dlr: 'undelivered', dlrErrorCode: '30003', dlrDelayMs: 20 });
    try {
      const req = request('+14155550192');
      const sent = await adapter.send(req);
      await new Promise((resolve) => setTimeout(resolve, 120));
      const read = await adapter.readStatus?.({
        providerMessageId: sent.providerMessageId,
        channel: 'sms',
        to: req.to,
        messageId: req.messageId,
      });
      expect(read).toMatchObject({
        provider: 'twilio',
        providerMessageId: sent.providerMessageId,
        messageId: req.messageId,
        status: 'undelivered',
        rawStatus: 'undelivered',
        errorCode: '30003',
        transient: true,
      });
      expect(receiver.received).toHaveLength(0);
      expect(
        await adapter.readStatus?.({ providerMessageId: 'SM' + '0'.repeat(32), channel: 'sms', to: req.to, messageId: req.messageId }),
      ).toBe('not_found');
    } finally {
      emulator.control.set('twilio', { callbacks: 'post' });
    }
  });

  it('returns an SM sid, the segment count and queued', async () => {
    emulator.control.set('twilio', { dlr: 'none' });
    const before = Date.now();
    const result = await adapter.send(request('+14155550100', { body: 'x'.repeat(161) }));
    expect(result.providerMessageId).toMatch(/^SM[0-9a-f]{32}$/);
    expect(result.segments).toBe(2);
    expect(result.status).toBe('queued');
    expect(result.acceptedAt.getTime()).toBeGreaterThanOrEqual(before);
  });

  it('sends To, From, Body, StatusCallback and a clamped ValidityPeriod', async () => {
    emulator.control.set('twilio', { dlr: 'none' });
    const req = request('+14155550101', { validitySeconds: 86_400 });
    const result = await adapter.send(req);
    const client = twilio(TWILIO_SANDBOX_CREDENTIALS.accountSid, TWILIO_SANDBOX_CREDENTIALS.authToken, {
      httpClient: new BaseUrlRequestClient({ baseUrl: emulator.baseUrl, timeoutMs: 2_000 }),
    });
    const fetched = await client.messages(result.providerMessageId).fetch();
    expect(fetched.to).toBe('+14155550101');
    expect(fetched.from).toBe('+15005550006');
    expect(fetched.body).toBe(req.body);
    const entry = emulator.control.entries.findLast((e) => e.method === 'POST');
    expect(entry?.reference).toBe(req.messageId);
    expect(clampTwilioValidity(86_400)).toBe(36_000);
    expect(clampTwilioValidity(0)).toBe(1);
    expect(clampTwilioValidity(300)).toBe(300);
  });

  it('sends through the Messaging Service when one is configured', async () => {
    emulator.control.set('twilio', { dlr: 'none' });
    const viaService = createTwilioAdapter(
      { ...config, messagingServiceSid: 'MG' + 'b'.repeat(32) },
      { baseUrl: emulator.baseUrl, timeoutMs: 2_000 },
    );
    const result = await viaService.send(request('+14155550102'));
    // Twilio answers `accepted` through a service; that is still `queued` for us.
    expect(result.status).toBe('queued');
    const client = twilio(TWILIO_SANDBOX_CREDENTIALS.accountSid, TWILIO_SANDBOX_CREDENTIALS.authToken, {
      httpClient: new BaseUrlRequestClient({ baseUrl: emulator.baseUrl, timeoutMs: 2_000 }),
    });
    const fetched = await client.messages(result.providerMessageId).fetch();
    expect(fetched.messagingServiceSid).toBe('MG' + 'b'.repeat(32));
  });

  it.each([
    ['+15005550001', 'permanent', 'recipient', '21211'],
    ['+15005550004', 'permanent', 'recipient', '21610'],
    ['+15005550009', 'permanent', 'channel', '21614'],
    ['+15005550002', 'permanent', 'provider', '21612'],
    ['+15005550003', 'permanent', 'provider', '21408'],
  ] as const)('classifies magic number %s as %s/%s (%s)', async (to, kind, scope, providerCode) => {
    const err = await sendError(adapter, request(to));
    expect(err.kind).toBe(kind);
    expect(err.scope).toBe(scope);
    expect(err.providerCode).toBe(providerCode);
    expect(err.httpStatus).toBe(400);
    expect(err.ambiguous).toBe(false);
  });

  it('classifies an outage as retryable, counting against the breaker', async () => {
    emulator.control.set('twilio', { outage: true });
    const err = await sendError(adapter, request('+14155550100'));
    expect(err.kind).toBe('retryable');
    expect(err.httpStatus).toBe(503);
    expect(err.countsAgainstBreaker).toBe(true);
  });

  it('classifies a 429 with Retry-After as rate_limited with retryAfterMs', async () => {
    emulator.control.set('twilio', { errorRate: 1, errorStatus: 429, retryAfterSec: 2 });
    const err = await sendError(adapter, request('+14155550100'));
    expect(err.kind).toBe('rate_limited');
    expect(err.providerCode).toBe('20429');
    expect(err.retryAfterMs).toBe(2_000);
    expect(err.countsAgainstBreaker).toBe(false);
  });

  it('does not retry a 429 inside the SDK', async () => {
    emulator.control.set('twilio', { errorRate: 1, errorStatus: 429 });
    const before = emulator.control.counters('twilio').requests;
    await sendError(adapter, request('+14155550100'));
    expect(emulator.control.counters('twilio').requests - before).toBe(1);
  });

  it('classifies wrong credentials as auth', async () => {
    const wrong = createTwilioAdapter({ ...config, authToken: 'not-the-token' }, { baseUrl: emulator.baseUrl, timeoutMs: 2_000 });
    const err = await sendError(wrong, request('+14155550100'));
    expect(err.kind).toBe('auth');
    expect(err.providerCode).toBe('20003');
  });

  it('classifies a closed port as retryable and not ambiguous', async () => {
    const closed = createTwilioAdapter(config, { baseUrl: await closedPortUrl(), timeoutMs: 2_000 });
    const err = await sendError(closed, request('+14155550100'));
    expect(err.kind).toBe('retryable');
    expect(err.ambiguous).toBe(false);
    expect(err.providerCode).toBe('ECONNREFUSED');
  });

  it('classifies a timeout as retryable and ambiguous', async () => {
    emulator.control.set('twilio', { latencyMs: 500, dlr: 'none' });
    const slow = createTwilioAdapter(config, { baseUrl: emulator.baseUrl, timeoutMs: 100 });
    const err = await sendError(slow, request('+14155550100'));
    expect(err.kind).toBe('retryable');
    expect(err.ambiguous).toBe(true);
  });

  it('aborts through the request signal as retryable and ambiguous', async () => {
    emulator.control.set('twilio', { latencyMs: 500, dlr: 'none' });
    const err = await sendError(adapter, request('+14155550100', { signal: AbortSignal.timeout(50) }));
    expect(err.kind).toBe('retryable');
    expect(err.ambiguous).toBe(true);
  });

  it('refuses channels it does not offer as permanent/channel', async () => {
    const err = await sendError(adapter, request('+14155550100', { channel: 'push' }));
    expect(err.kind).toBe('permanent');
    expect(err.scope).toBe('channel');
  });

  it('delivers signed callbacks in order sent then delivered, none for queued', async () => {
    emulator.control.set('twilio', { dlrDelayMs: 60 });
    const req = request('+14155550100');
    const result = await adapter.send(req);
    const callbacks = await receiver.waitFor(2, { ref: req.messageId });
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(receiver.forRef(req.messageId)).toHaveLength(2);
    const events = callbacks.map((c) => adapter.parseWebhook(c)[0]);
    expect(events.map((e) => e?.status)).toEqual(['sent', 'delivered']);
    for (const callback of callbacks) {
      expect(await adapter.verifyWebhook(callback)).toBe(true);
      expect(callback.headers['content-type']).toContain('application/x-www-form-urlencoded');
    }
    for (const event of events) {
      expect(event?.providerMessageId).toBe(result.providerMessageId);
      expect(event?.messageId).toBe(req.messageId);
    }
    const counters = emulator.control.counters('twilio');
    expect(counters.callbacksSent).toBeGreaterThanOrEqual(2);
  });

  it('reports undelivered with a transient 30003 when the scenario says so', async () => {
    emulator.control.set('twilio', { dlr: 'undelivered', dlrDelayMs: 40 });
    const req = request('+14155550100');
    await adapter.send(req);
    const callbacks = await receiver.waitFor(2, { ref: req.messageId });
    const events = callbacks.flatMap((c) => adapter.parseWebhook(c));
    expect(events.map((e) => e.status).sort()).toEqual(['sent', 'undelivered']);
    const last = events.find((e) => e.status === 'undelivered');
    expect(last?.errorCode).toBe('30003');
    expect(last?.transient).toBe(true);
    for (const callback of callbacks) expect(await adapter.verifyWebhook(callback)).toBe(true);
  });

  it('rejects a tampered callback', async () => {
    emulator.control.set('twilio', { dlrDelayMs: 20 });
    const req = request('+14155550100');
    await adapter.send(req);
    const [callback] = await receiver.waitFor(1, { ref: req.messageId });
    const tampered = {
      ...callback!,
      rawBody: Buffer.from(callback!.rawBody.toString().replace('MessageStatus=sent', 'MessageStatus=delivered')),
    };
    expect(await adapter.verifyWebhook(tampered)).toBe(false);
  });
});

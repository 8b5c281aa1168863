import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isProviderError } from '../errors.ts';
import type { ProviderError } from '../errors.ts';
import type { ProviderAdapter, SendRequest } from '../provider.ts';
import { createMessageBirdAdapter, toMsisdn } from './messagebird.adapter.ts';
import { messagebirdConfigSchema } from './messagebird.config.ts';
import { closedPortUrl, startCallbackReceiver, startMessageBirdEmulator } from './sandbox/messagebird.fixtures.ts';
import type { CallbackReceiver, RunningEmulator } from './sandbox/messagebird.fixtures.ts';
import { MESSAGEBIRD_SANDBOX_CREDENTIALS } from './sandbox/messagebird.sandbox.ts';

const config = messagebirdConfigSchema.parse({ ...MESSAGEBIRD_SANDBOX_CREDENTIALS });

async function sendError(adapter: ProviderAdapter, req: SendRequest): Promise<ProviderError> {
  try {
    await adapter.send(req);
  } catch (err) {
    if (isProviderError(err)) return err;
    throw new Error(`send rejected with something other than a ProviderError: ${String(err)}`);
  }
  throw new Error('expected the send to fail');
}

describe('toMsisdn', () => {
  it('drops the plus of an E.164 number', () => {
    expect(toMsisdn('+31612345678')).toBe('31612345678');
    expect(toMsisdn('31612345678')).toBe('31612345678');
  });
});

describe('createMessageBirdAdapter against the emulator', () => {
  let emulator: RunningEmulator;
  let receiver: CallbackReceiver;
  let adapter: ProviderAdapter;
  let n = 0;

  const request = (to: string, overrides: Partial<SendRequest> = {}): SendRequest => {
    n += 1;
    const messageId = `msg_mb${n}`;
    return {
      messageId,
      attempt: 1,
      channel: 'sms',
      to,
      body: 'Your code is 123456',
      statusCallbackUrl: `${receiver.origin}/webhooks/messagebird?sb=${messageId}`,
      ...overrides,
    };
  };

  const fetchMessage = async (id: string): Promise<Record<string, unknown>> => {
    const res = await fetch(`${emulator.baseUrl}/messages/${id}`, {
      headers: { authorization: `AccessKey ${MESSAGEBIRD_SANDBOX_CREDENTIALS.accessKey}` },
    });
    return (await res.json()) as Record<string, unknown>;
  };

  beforeAll(async () => {
    emulator = await startMessageBirdEmulator();
    receiver = await startCallbackReceiver();
    adapter = createMessageBirdAdapter(config, { baseUrl: emulator.baseUrl, timeoutMs: 2_000 });
  });
  afterEach(() => {
    emulator.control.set('messagebird', { outage: false, errorRate: 0, errorStatus: 503, latencyMs: 0, dlr: 'delivered', dlrDelayMs: 200 });
    receiver.received.length = 0;
    receiver.status = 204;
  });
  afterAll(async () => {
    await emulator.close();
    await receiver.close();
  });

  it('reads a message whose status report was lost through GET /messages/:id, normalised like the report', async () => {
    emulator.control.set('messagebird', { callbacks: 'drop', dlr: 'undelivered', dlrErrorCode: '27', dlrDelayMs: 20 });
    try {
      const req = request('+14155550190');
      const sent = await adapter.send(req);
      await new Promise((resolve) => setTimeout(resolve, 120));
      const read = await adapter.readStatus?.({
        providerMessageId: sent.providerMessageId,
        channel: 'sms',
        to: req.to,
        messageId: req.messageId,
      });
      expect(read).toMatchObject({
        provider: 'messagebird',
        providerMessageId: sent.providerMessageId,
        messageId: req.messageId,
        status: 'undelivered',
        rawStatus: 'delivery_failed',
        errorCode: '27',
        transient: true,
      });
      expect(receiver.received).toHaveLength(0);
      expect(await adapter.readStatus?.({ providerMessageId: '0'.repeat(32), channel: 'sms', to: req.to, messageId: req.messageId })).toBe(
        'not_found',
      );
    } finally {
      emulator.control.set('messagebird', { callbacks: 'post' });
    }
  });

  it('returns the message id, sent and the part count', async () => {
    emulator.control.set('messagebird', { dlr: 'none' });
    const before = Date.now();
    const result = await adapter.send(request('+14155550100', { body: 'x'.repeat(161) }));
    expect(result.providerMessageId).toMatch(/^[0-9a-f]{32}$/);
    expect(result.status).toBe('sent');
    expect(result.segments).toBe(2);
    expect(result.acceptedAt.getTime()).toBeGreaterThanOrEqual(before);
  });

  it('sends recipients without the plus, originator, body, reference, reportUrl and validity', async () => {
    emulator.control.set('messagebird', { dlr: 'none' });
    const req = request('+14155550101', { validitySeconds: 300 });
    const result = await adapter.send(req);
    expect(await fetchMessage(result.providerMessageId)).toMatchObject({
      originator: '+15005550006',
      body: req.body,
      reference: req.messageId,
      reportUrl: req.statusCallbackUrl,
      validity: 300,
      datacoding: 'auto',
      recipients: { totalCount: 1, items: [{ recipient: 14155550101, status: 'sent' }] },
    });
    expect(emulator.control.entries.findLast((e) => e.method === 'POST')).toMatchObject({
      provider: 'messagebird',
      path: '/messages',
      to: '+14155550101',
      reference: req.messageId,
      status: 201,
    });
  });

  it('classifies the invalid magic number as permanent/recipient (422 code 10)', async () => {
    const err = await sendError(adapter, request('+15005550001'));
    expect(err).toMatchObject({ kind: 'permanent', scope: 'recipient', providerCode: '10', httpStatus: 422, ambiguous: false });
  });

  it('reports the opted-out magic number as delivery_failed (failed) without a sent report', async () => {
    emulator.control.set('messagebird', { dlrDelayMs: 40 });
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
        rawStatus: 'delivery_failed',
      }),
    ]);
  });

  it('reports the not-SMS-capable magic number as sent then undelivered (unknown subscriber)', async () => {
    emulator.control.set('messagebird', { dlrDelayMs: 40 });
    const req = request('+15005550009');
    await adapter.send(req);
    const callbacks = await receiver.waitFor(2, { ref: req.messageId });
    const events = callbacks.flatMap((c) => adapter.parseWebhook(c));
    expect(events.map((e) => e.status)).toEqual(['sent', 'undelivered']);
    expect(events[1]).toMatchObject({ errorCode: '1', transient: false });
  });

  it('classifies an outage as retryable, counting against the breaker', async () => {
    emulator.control.set('messagebird', { outage: true });
    const err = await sendError(adapter, request('+14155550100'));
    expect(err).toMatchObject({ kind: 'retryable', httpStatus: 503, countsAgainstBreaker: true });
  });

  it('classifies a 429 with Retry-After as rate_limited with retryAfterMs', async () => {
    emulator.control.set('messagebird', { errorRate: 1, errorStatus: 429, retryAfterSec: 2 });
    const err = await sendError(adapter, request('+14155550100'));
    expect(err).toMatchObject({ kind: 'rate_limited', retryAfterMs: 2_000, countsAgainstBreaker: false });
  });

  it('makes one request per send (no client retries)', async () => {
    emulator.control.set('messagebird', { errorRate: 1, errorStatus: 500 });
    const before = emulator.control.counters('messagebird').requests;
    await sendError(adapter, request('+14155550100'));
    expect(emulator.control.counters('messagebird').requests - before).toBe(1);
  });

  it('classifies a wrong access key as auth (code 2)', async () => {
    const wrong = createMessageBirdAdapter({ ...config, accessKey: 'not-the-key' }, { baseUrl: emulator.baseUrl, timeoutMs: 2_000 });
    const err = await sendError(wrong, request('+14155550100'));
    expect(err).toMatchObject({ kind: 'auth', providerCode: '2', httpStatus: 401 });
  });

  it('classifies a refused originator as permanent/provider', async () => {
    const bad = createMessageBirdAdapter({ ...config, from: 'Switchboard' }, { baseUrl: emulator.baseUrl, timeoutMs: 2_000 });
    emulator.control.set('messagebird', { dlr: 'none' });
    expect((await bad.send(request('+14155550100'))).providerMessageId).toMatch(/^[0-9a-f]{32}$/);
    const worse = createMessageBirdAdapter({ ...config, from: 'Hello world!' }, { baseUrl: emulator.baseUrl, timeoutMs: 2_000 });
    expect(await sendError(worse, request('+14155550100'))).toMatchObject({ kind: 'permanent', scope: 'provider', providerCode: '10' });
  });

  it('uses config.baseUrl when no sandbox base URL is given', async () => {
    emulator.control.set('messagebird', { dlr: 'none' });
    const live = createMessageBirdAdapter({ ...config, baseUrl: emulator.baseUrl }, { timeoutMs: 2_000 });
    expect((await live.send(request('+14155550100'))).providerMessageId).toMatch(/^[0-9a-f]{32}$/);
  });

  it('classifies a closed port as retryable and not ambiguous', async () => {
    const closed = createMessageBirdAdapter(config, { baseUrl: await closedPortUrl(), timeoutMs: 2_000 });
    const err = await sendError(closed, request('+14155550100'));
    expect(err).toMatchObject({ kind: 'retryable', ambiguous: false, providerCode: 'ECONNREFUSED' });
  });

  it('classifies a timeout as retryable and ambiguous, and gives up within the timeout', async () => {
    emulator.control.set('messagebird', { latencyMs: 1_000, dlr: 'none' });
    const slow = createMessageBirdAdapter(config, { baseUrl: emulator.baseUrl, timeoutMs: 100 });
    const started = Date.now();
    const err = await sendError(slow, request('+14155550100'));
    expect(Date.now() - started).toBeLessThan(900);
    expect(err).toMatchObject({ kind: 'retryable', ambiguous: true });
  });

  it('aborts through the request signal as retryable and ambiguous', async () => {
    emulator.control.set('messagebird', { latencyMs: 1_000, dlr: 'none' });
    const err = await sendError(adapter, request('+14155550100', { signal: AbortSignal.timeout(50) }));
    expect(err).toMatchObject({ kind: 'retryable', ambiguous: true });
  });

  it('refuses channels it does not offer as permanent/channel', async () => {
    expect(await sendError(adapter, request('+14155550100', { channel: 'push' }))).toMatchObject({ kind: 'permanent', scope: 'channel' });
  });

  it('receives signed GET reports sent then delivered', async () => {
    emulator.control.set('messagebird', { dlrDelayMs: 60 });
    const req = request('+14155550100');
    const result = await adapter.send(req);
    const callbacks = await receiver.waitFor(2, { ref: req.messageId });
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(receiver.forRef(req.messageId)).toHaveLength(2);
    const events = callbacks.flatMap((c) => adapter.parseWebhook(c));
    expect(events.map((e) => e.status)).toEqual(['sent', 'delivered']);
    for (const callback of callbacks) {
      expect(callback.method).toBe('GET');
      expect(callback.rawBody).toHaveLength(0);
      expect(await adapter.verifyWebhook(callback)).toBe(true);
    }
    for (const event of events) {
      expect(event.providerMessageId).toBe(result.providerMessageId);
      expect(event.messageId).toBe(req.messageId);
    }
  });

  it('reports delivery_failed with a transient 27 when the scenario says undelivered', async () => {
    emulator.control.set('messagebird', { dlr: 'undelivered', dlrDelayMs: 40 });
    const req = request('+14155550100');
    await adapter.send(req);
    const callbacks = await receiver.waitFor(2, { ref: req.messageId });
    const last = callbacks.flatMap((c) => adapter.parseWebhook(c)).find((e) => e.status === 'undelivered');
    expect(last).toMatchObject({ rawStatus: 'delivery_failed', errorCode: '27', transient: true });
  });

  it('rejects a tampered report', async () => {
    emulator.control.set('messagebird', { dlrDelayMs: 20 });
    const req = request('+14155550100');
    await adapter.send(req);
    const [callback] = await receiver.waitFor(1, { ref: req.messageId });
    const tamperedUrl = callback!.publicUrl.replace('status=sent', 'status=delivered');
    expect(tamperedUrl).not.toBe(callback!.publicUrl);
    expect(
      await adapter.verifyWebhook({ ...callback!, publicUrl: tamperedUrl, query: Object.fromEntries(new URL(tamperedUrl).searchParams) }),
    ).toBe(false);
    const other = createMessageBirdAdapter(
      { ...config, signingKey: 'another-signing-key' },
      { baseUrl: emulator.baseUrl, timeoutMs: 2_000 },
    );
    expect(await other.verifyWebhook(callback!)).toBe(false);
  });
});

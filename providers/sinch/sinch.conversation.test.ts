import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { defaultProviderScenario } from '../provider.ts';
import { isProviderError } from '../errors.ts';
import type { ProviderError } from '../errors.ts';
import type { ProviderAdapter, SendRequest, WebhookEndpoint } from '../provider.ts';
import { startEmulator, recordRequests } from '../sandbox-kit/loopback-fixtures.ts';
import type { RecordedRequest } from '../sandbox-kit/loopback-fixtures.ts';
import { createSinchAdapter } from './sinch.adapter.ts';
import { sinchConfigSchema } from './sinch.config.ts';
import { buildSinchRcsRequest } from './sinch.conversation.ts';
import { registerSinchEmulator } from './sandbox/sinch.emulator.ts';
import { startCallbackReceiver } from './sandbox/sinch.fixtures.ts';
import type { CallbackReceiver, ReceivedCallback, RunningEmulator } from './sandbox/sinch.fixtures.ts';
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

function json(callback: ReceivedCallback): Record<string, unknown> {
  return JSON.parse(callback.rawBody.toString('utf8')) as Record<string, unknown>;
}

describe('buildSinchRcsRequest', () => {
  const req: SendRequest = {
    messageId: 'msg_1',
    attempt: 1,
    channel: 'rcs',
    to: '+46701234567',
    body: 'Your code is 123456',
    statusCallbackUrl: 'https://gw/webhooks/sinch/conversation?sb=msg_1',
  };

  it('asks for RCS only, with our message id as metadata and correlation id', () => {
    expect(buildSinchRcsRequest(req, 'APP')).toEqual({
      app_id: 'APP',
      recipient: { identified_by: { channel_identities: [{ channel: 'RCS', identity: '+46701234567' }] } },
      message: { text_message: { text: 'Your code is 123456' } },
      channel_priority_order: ['RCS'],
      callback_url: 'https://gw/webhooks/sinch/conversation?sb=msg_1',
      message_metadata: 'msg_1',
      correlation_id: 'msg_1',
    });
  });

  it('turns the validity into a ttl of at least 3 s', () => {
    expect(buildSinchRcsRequest({ ...req, validitySeconds: 300 }, 'APP').ttl).toBe('300s');
    expect(buildSinchRcsRequest({ ...req, validitySeconds: 1 }, 'APP').ttl).toBe('3s');
  });
});

describe('Sinch RCS through the Conversation API, against the emulator', () => {
  let emulator: RunningEmulator;
  let receiver: CallbackReceiver;
  let adapter: ProviderAdapter;
  let conversation: WebhookEndpoint;
  const wire: RecordedRequest[] = [];
  let n = 0;

  const request = (to: string, overrides: Partial<SendRequest> = {}): SendRequest => {
    n += 1;
    const messageId = `msg_rcs${n}`;
    return {
      messageId,
      attempt: 1,
      channel: 'rcs',
      to,
      body: `Your code is ${100000 + n}`,
      statusCallbackUrl: `${receiver.origin}/webhooks/sinch/conversation?sb=${messageId}`,
      ...overrides,
    };
  };
  const fresh = (rcs: boolean): string => {
    const e164 = `+1415555${String(8000 + n).padStart(4, '0')}`;
    emulator.control.setNumber(e164, { rcs });
    return e164;
  };
  const byTime = (callbacks: ReceivedCallback[]): ReceivedCallback[] => callbacks.sort((a, b) => a.receivedAt - b.receivedAt);

  beforeAll(async () => {
    emulator = await startEmulator((app, control) => {
      recordRequests(app, wire);
      registerSinchEmulator(app, control);
    });
    receiver = await startCallbackReceiver();
    adapter = createSinchAdapter(config, { baseUrl: emulator.baseUrl, timeoutMs: 2_000 });
    const endpoint = adapter.webhooks?.['conversation'];
    if (endpoint === undefined) throw new Error('no conversation webhook');
    conversation = endpoint;
  });
  afterEach(() => {
    emulator.control.set('sinch', { ...defaultProviderScenario(), dlrErrorCode: undefined, retryAfterSec: undefined });
    receiver.received.length = 0;
    wire.length = 0;
  });
  afterAll(async () => {
    await emulator.close();
    await receiver.close();
  });

  it('offers rcs besides sms and serves the conversation webhook when an app is configured', () => {
    expect(adapter.channels).toEqual(['sms', 'rcs', 'whatsapp']);
    expect(Object.keys(adapter.webhooks ?? {})).toEqual(['conversation']);
  });

  it('stays SMS-only without a Conversation app, refusing rcs as permanent/channel', async () => {
    const { appId: _a, conversationWebhookSecret: _s, whatsappTemplateId: _w, ...smsOnly } = SINCH_SANDBOX_CREDENTIALS;
    const plain = createSinchAdapter(sinchConfigSchema.parse(smsOnly), { baseUrl: emulator.baseUrl, timeoutMs: 2_000 });
    expect(plain.channels).toEqual(['sms']);
    expect(plain.webhooks).toBeUndefined();
    expect(await sendError(plain, request('+14155550100'))).toMatchObject({ kind: 'permanent', scope: 'channel' });
    expect(wire).toHaveLength(0);
  });

  it('sends RCS only through messages:send with an OAuth token, and returns the message id', async () => {
    emulator.control.set('sinch', { dlr: 'none' });
    const req = request(fresh(true), { validitySeconds: 300 });
    const result = await adapter.send(req);
    expect(result.providerMessageId).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(result.status).toBe('queued');
    const send = wire.find((w) => w.path === `/v1/projects/${SINCH_SANDBOX_CREDENTIALS.projectId}/messages:send`);
    expect(send?.headers['authorization']).toMatch(/^Bearer sbx-sinch-/);
    expect(send?.body).toEqual(buildSinchRcsRequest(req, SINCH_SANDBOX_CREDENTIALS.appId));
    expect(wire.some((w) => w.path === '/oauth2/token')).toBe(true);
    expect(emulator.control.entries.at(-1)).toMatchObject({
      provider: 'sinch',
      channel: 'rcs',
      to: req.to,
      reference: req.messageId,
      body: req.body,
      status: 200,
    });
    expect(emulator.control.counters('sinch').accepted).toBeGreaterThanOrEqual(1);
  });

  it('reports an RCS-capable number through signed receipts: QUEUED_ON_CHANNEL then DELIVERED', async () => {
    emulator.control.set('sinch', { dlrDelayMs: 60 });
    const req = request(fresh(true));
    const result = await adapter.send(req);
    const callbacks = byTime(await receiver.waitFor(2, { ref: req.messageId }));
    for (const callback of callbacks) expect(await conversation.verify(callback)).toBe(true);
    const events = callbacks.flatMap((c) => conversation.parse(c));
    expect(events.map((e) => [e.rawStatus, e.status])).toEqual([
      ['QUEUED_ON_CHANNEL', 'sent'],
      ['DELIVERED', 'delivered'],
    ]);
    for (const event of events)
      expect(event).toMatchObject({ provider: 'sinch', providerMessageId: result.providerMessageId, messageId: req.messageId });
    const body = json(callbacks[1] ?? callbacks[0]!);
    expect(body).toMatchObject({
      app_id: 'sandbox-app',
      project_id: 'sandbox-project',
      message_metadata: req.messageId,
      correlation_id: req.messageId,
    });
    expect(body['message_delivery_report']).toMatchObject({
      channel_identity: { channel: 'RCS', identity: req.to.slice(1) },
      metadata: req.messageId,
    });
    // The SMS webhook's check (HTTP Basic) does not accept Conversation receipts, nor the reverse.
    expect(await adapter.verifyWebhook(callbacks[0]!)).toBe(false);
    await expect.poll(() => emulator.control.counters('sinch').callbacksSent).toBeGreaterThanOrEqual(2);
  });

  it('reports a number without RCS as a failed receipt with RECIPIENT_NOT_REACHABLE, not capable', async () => {
    emulator.control.set('sinch', { dlrDelayMs: 40 });
    const req = request(fresh(false));
    await adapter.send(req);
    const [callback] = await receiver.waitFor(1, { ref: req.messageId });
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(receiver.forRef(req.messageId)).toHaveLength(1);
    expect(await conversation.verify(callback!)).toBe(true);
    expect(conversation.parse(callback!)).toEqual([
      expect.objectContaining({
        status: 'failed',
        rawStatus: 'FAILED',
        errorCode: 'RECIPIENT_NOT_REACHABLE',
        recipientNotCapable: true,
        transient: false,
        messageId: req.messageId,
      }),
    ]);
  });

  it('reports an undelivered RCS message as FAILED with a transient channel failure', async () => {
    emulator.control.set('sinch', { dlr: 'undelivered', dlrDelayMs: 40 });
    const req = request(fresh(true));
    await adapter.send(req);
    const callbacks = byTime(await receiver.waitFor(2, { ref: req.messageId }));
    expect(callbacks.flatMap((c) => conversation.parse(c)).at(-1)).toMatchObject({
      status: 'undelivered',
      errorCode: 'CHANNEL_FAILURE',
      transient: true,
    });
  });

  it('fails verification of a tampered receipt', async () => {
    emulator.control.set('sinch', { dlrDelayMs: 20 });
    const req = request(fresh(true));
    await adapter.send(req);
    const [callback] = await receiver.waitFor(1, { ref: req.messageId });
    const tampered = { ...callback!, rawBody: Buffer.from(callback!.rawBody.toString('utf8').replace('QUEUED_ON_CHANNEL', 'DELIVERED')) };
    expect(await conversation.verify(tampered)).toBe(false);
  });

  it('classifies an outage as retryable 503 and a 429 as rate_limited with Retry-After', async () => {
    emulator.control.set('sinch', { outage: true });
    expect(await sendError(adapter, request(fresh(true)))).toMatchObject({
      kind: 'retryable',
      httpStatus: 503,
      providerCode: 'UNAVAILABLE',
    });
    emulator.control.set('sinch', { outage: false, errorRate: 1, errorStatus: 429, retryAfterSec: 3 });
    expect(await sendError(adapter, request(fresh(true)))).toMatchObject({ kind: 'rate_limited', httpStatus: 429, retryAfterMs: 3_000 });
  });

  it('classifies a timeout as retryable and ambiguous, within the adapter timeout', async () => {
    emulator.control.set('sinch', { latencyMs: 1_000, dlr: 'none' });
    const slow = createSinchAdapter(config, { baseUrl: emulator.baseUrl, timeoutMs: 150 });
    const started = Date.now();
    expect(await sendError(slow, request(fresh(true)))).toMatchObject({ kind: 'retryable', ambiguous: true });
    expect(Date.now() - started).toBeLessThan(900);
  });

  it('classifies an unknown app as permanent/provider with Conversation’s status', async () => {
    const other = createSinchAdapter(sinchConfigSchema.parse({ ...SINCH_SANDBOX_CREDENTIALS, appId: 'not-our-app' }), {
      baseUrl: emulator.baseUrl,
      timeoutMs: 2_000,
    });
    const err = await sendError(other, request(fresh(true)));
    expect(err).toMatchObject({ kind: 'permanent', scope: 'provider', httpStatus: 404, providerCode: 'NOT_FOUND' });
    expect(err.message).toContain('not-our-app');
  });

  it('classifies wrong OAuth credentials as auth', async () => {
    const wrong = createSinchAdapter(sinchConfigSchema.parse({ ...SINCH_SANDBOX_CREDENTIALS, keySecret: 'guessed' }), {
      baseUrl: emulator.baseUrl,
      timeoutMs: 2_000,
    });
    expect(await sendError(wrong, request(fresh(true)))).toMatchObject({ kind: 'auth' });
  });
});

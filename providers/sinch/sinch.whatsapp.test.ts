import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { defaultProviderScenario } from '../provider.ts';
import { isProviderError } from '../errors.ts';
import type { ProviderError } from '../errors.ts';
import type { ProviderAdapter, SendRequest, WebhookEndpoint, WebhookRequest } from '../provider.ts';
import { startEmulator, recordRequests } from '../sandbox-kit/loopback-fixtures.ts';
import type { RecordedRequest } from '../sandbox-kit/loopback-fixtures.ts';
import { createSinchAdapter } from './sinch.adapter.ts';
import { sinchConfigSchema } from './sinch.config.ts';
import { registerSinchEmulator } from './sandbox/sinch.emulator.ts';
import { parseSinchConversationWebhook } from './sinch.conversation-webhook.ts';
import { startCallbackReceiver } from './sandbox/sinch.fixtures.ts';
import type { CallbackReceiver, ReceivedCallback, RunningEmulator } from './sandbox/sinch.fixtures.ts';
import { SINCH_SANDBOX_CREDENTIALS } from './sandbox/sinch.sandbox.ts';
import { buildSinchWhatsAppRequest, sinchWhatsAppLanguage } from './sinch.whatsapp.ts';
import { sinchWhatsAppGolden as golden } from './sandbox/sinch.whatsapp.golden.ts';

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

const json = (callback: ReceivedCallback): Record<string, unknown> =>
  JSON.parse(callback.rawBody.toString('utf8')) as Record<string, unknown>;
const report = (callback: ReceivedCallback): Record<string, unknown> =>
  json(callback)['message_delivery_report'] as Record<string, unknown>;

describe('sinchWhatsAppLanguage', () => {
  it('picks the locale, then its language, then the first approved language', () => {
    expect(sinchWhatsAppLanguage('pt-BR', ['en', 'pt_BR'])).toBe('pt_BR');
    expect(sinchWhatsAppLanguage('es-MX', ['en', 'es'])).toBe('es');
    expect(sinchWhatsAppLanguage('de', ['en', 'es'])).toBe('en');
    expect(sinchWhatsAppLanguage(undefined, ['fr'])).toBe('fr');
  });
});

describe('buildSinchWhatsAppRequest', () => {
  it('asks for WhatsApp only, with the authentication template carrying the code twice', () => {
    const body = buildSinchWhatsAppRequest(
      {
        messageId: 'msg_1',
        to: '+46701234567',
        statusCallbackUrl: 'https://gw/webhooks/sinch/conversation?sb=msg_1',
        otpCode: '042917',
        locale: 'es',
      },
      { appId: 'APP', templateId: 'login_otp', languages: ['en', 'es'] },
    );
    expect(body).toEqual({
      app_id: 'APP',
      recipient: { identified_by: { channel_identities: [{ channel: 'WHATSAPP', identity: '+46701234567' }] } },
      message: {
        template_message: {
          channel_template: {
            WHATSAPP: {
              template_id: 'login_otp',
              language_code: 'es',
              parameters: { 'body[1]text': '042917', 'button[0]url_text': '042917' },
            },
          },
        },
      },
      channel_priority_order: ['WHATSAPP'],
      callback_url: 'https://gw/webhooks/sinch/conversation?sb=msg_1',
      message_metadata: 'msg_1',
      correlation_id: 'msg_1',
    });
  });
});

describe('sinch config for WhatsApp', () => {
  it('refuses a WhatsApp template without a Conversation app', () => {
    const { appId: _a, conversationWebhookSecret: _c, ...noApp } = SINCH_SANDBOX_CREDENTIALS;
    expect(sinchConfigSchema.safeParse(noApp).success).toBe(false);
  });
});

describe('Sinch WhatsApp through the Conversation API, against the emulator', () => {
  let emulator: RunningEmulator;
  let receiver: CallbackReceiver;
  let adapter: ProviderAdapter;
  let conversation: WebhookEndpoint;
  const wire: RecordedRequest[] = [];
  let n = 0;

  const request = (to: string, overrides: Partial<SendRequest> = {}): SendRequest => {
    n += 1;
    const messageId = `msg_sinchwa${n}`;
    return {
      messageId,
      attempt: 1,
      channel: 'whatsapp',
      to,
      body: 'Your code is 123456',
      otpCode: String(200000 + n),
      statusCallbackUrl: `${receiver.origin}/webhooks/sinch/conversation?sb=${messageId}`,
      ...overrides,
    };
  };
  const fresh = (patch: { whatsapp?: boolean } = {}): string => {
    const e164 = `+4670${String(1000000 + n).padStart(7, '0')}`;
    emulator.control.setNumber(e164, patch);
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
    emulator.control.set('sinch', { ...defaultProviderScenario(), dlrErrorCode: undefined });
    receiver.received.length = 0;
    wire.length = 0;
  });
  afterAll(async () => {
    await emulator.close();
    await receiver.close();
  });

  it('offers whatsapp with a template configured, and not without one', async () => {
    expect(adapter.channels).toContain('whatsapp');
    const { whatsappTemplateId: _w, ...noTemplate } = SINCH_SANDBOX_CREDENTIALS;
    const without = createSinchAdapter(sinchConfigSchema.parse(noTemplate), { baseUrl: emulator.baseUrl, timeoutMs: 2_000 });
    expect(without.channels).toEqual(['sms', 'rcs']);
    expect(await sendError(without, request(fresh()))).toMatchObject({ kind: 'permanent', scope: 'channel' });
  });

  it('sends the golden template request and logs a whatsapp send with the text the handset shows', async () => {
    emulator.control.set('sinch', { dlr: 'none' });
    const req = request(fresh(), { validitySeconds: 300 });
    const result = await adapter.send(req);
    expect(result).toMatchObject({ providerMessageId: expect.stringMatching(/.+/), status: 'queued' });
    const sent = wire.find((w) => w.path === golden.send.path);
    expect(sent?.contentType).toMatch(golden.send.contentType);
    const body = sent?.body as Record<string, unknown>;
    for (const field of golden.send.requiredFields) expect(body, field).toHaveProperty(field);
    expect(body).toMatchObject({ ...golden.send.expected(req.to, req.otpCode ?? ''), message_metadata: req.messageId, ttl: '300s' });
    expect(emulator.control.entries.at(-1)).toMatchObject({
      provider: 'sinch',
      channel: 'whatsapp',
      to: req.to,
      reference: req.messageId,
      body: `*${req.otpCode ?? ''}* is your verification code. For your security, do not share this code.`,
      status: 200,
    });
  });

  it('refuses a WhatsApp send without the code before calling Sinch', async () => {
    const { otpCode: _o, ...noCode } = request(fresh());
    expect(await sendError(adapter, noCode)).toMatchObject({ kind: 'permanent', scope: 'channel', provider: 'sinch' });
    expect(wire.filter((w) => w.path === golden.send.path)).toHaveLength(0);
  });

  it('reports a number on WhatsApp through signed QUEUED_ON_CHANNEL → DELIVERED → READ receipts on the WHATSAPP channel', async () => {
    emulator.control.set('sinch', { dlrDelayMs: 60 });
    const req = request(fresh());
    const result = await adapter.send(req);
    const callbacks = byTime(await receiver.waitFor(3, { ref: req.messageId }));
    for (const callback of callbacks) {
      expect(callback.headers['content-type']).toMatch(golden.callback.contentType);
      for (const header of golden.callback.authHeaders) expect(callback.headers[header]).toBeTruthy();
      expect(await conversation.verify(callback)).toBe(true);
      expect(report(callback)['channel_identity']).toMatchObject({ ...golden.callback.markers, identity: req.to.slice(1) });
    }
    expect(callbacks.map((c) => report(c)['status'])).toEqual(golden.callback.deliveredSequence);
    expect(
      callbacks.flatMap((c) => conversation.parse(c)).map((e) => [e.status, e.providerMessageId, e.messageId, e.read === true]),
    ).toEqual([
      ['sent', result.providerMessageId, req.messageId, false],
      ['delivered', result.providerMessageId, req.messageId, false],
      ['delivered', result.providerMessageId, req.messageId, true],
    ]);
  });

  it('accepts a number marked not on WhatsApp, then reports FAILED RECIPIENT_NOT_REACHABLE as not capable', async () => {
    emulator.control.set('sinch', { dlrDelayMs: 40 });
    const req = request(fresh({ whatsapp: false }));
    await adapter.send(req);
    const [callback] = await receiver.waitFor(1, { ref: req.messageId });
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(receiver.forRef(req.messageId)).toHaveLength(1);
    expect(report(callback!)).toMatchObject({
      status: golden.callback.notRegistered.status,
      reason: { code: golden.callback.notRegistered.errorCode, channel_code: '131026' },
      channel_identity: { channel: 'WHATSAPP' },
    });
    expect(await conversation.verify(callback!)).toBe(true);
    expect(conversation.parse(callback!)).toEqual([
      expect.objectContaining({
        status: 'failed',
        errorCode: 'RECIPIENT_NOT_REACHABLE',
        recipientNotCapable: true,
        messageId: req.messageId,
      }),
    ]);
  });

  it('reports a template WhatsApp does not know as FAILED TEMPLATE_NOT_FOUND, not as "not on WhatsApp"', async () => {
    emulator.control.set('sinch', { dlrDelayMs: 40 });
    const other = createSinchAdapter(
      { ...config, whatsappTemplateId: 'no_such_template' },
      { baseUrl: emulator.baseUrl, timeoutMs: 2_000 },
    );
    const req = request(fresh());
    await other.send(req);
    const [callback] = await receiver.waitFor(1, { ref: req.messageId });
    const [event] = conversation.parse(callback!);
    expect(event).toMatchObject({ status: 'failed', errorCode: 'TEMPLATE_NOT_FOUND' });
    expect(event?.recipientNotCapable).toBeUndefined();
  });

  it('reports an undelivered WhatsApp message with a transient channel failure', async () => {
    emulator.control.set('sinch', { dlr: 'undelivered', dlrDelayMs: 40 });
    const req = request(fresh());
    await adapter.send(req);
    const callbacks = byTime(await receiver.waitFor(2, { ref: req.messageId }));
    expect(callbacks.flatMap((c) => conversation.parse(c)).at(-1)).toMatchObject({
      status: 'undelivered',
      errorCode: 'CHANNEL_FAILURE',
      transient: true,
    });
  });

  it('classifies an outage as retryable (503), so the router fails over', async () => {
    emulator.control.set('sinch', { outage: true });
    expect(await sendError(adapter, request(fresh()))).toMatchObject({ kind: 'retryable', httpStatus: 503, provider: 'sinch' });
  });
});

describe('Sinch WhatsApp status table (golden)', () => {
  const callback = (status: string, reason?: string): WebhookRequest => ({
    method: 'POST',
    publicUrl: 'https://gw.example/webhooks/sinch/conversation?sb=msg_golden',
    headers: {},
    query: { sb: 'msg_golden' },
    rawBody: Buffer.from(
      JSON.stringify({
        app_id: 'sandbox-app',
        event_time: new Date().toISOString(),
        message_metadata: 'msg_golden',
        message_delivery_report: {
          message_id: '01HWA',
          status,
          channel_identity: { channel: 'WHATSAPP', identity: '46701234567', app_id: '' },
          ...(reason !== undefined ? { reason: { code: reason, description: '', sub_code: 'UNSPECIFIED_SUB_CODE' } } : {}),
        },
      }),
    ),
  });
  it.each(golden.statusTable)('maps $status $errorCode to $normalized', (row) => {
    const [event] = parseSinchConversationWebhook(callback(row.status, row.errorCode));
    expect(event).toMatchObject({ status: row.normalized, messageId: 'msg_golden' });
    expect(event?.recipientNotCapable === true).toBe(row.recipientNotCapable === true);
    expect(event?.read === true).toBe(row.read === true);
  });
});

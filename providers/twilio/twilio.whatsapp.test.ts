import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { defaultProviderScenario } from '../provider.ts';
import { isProviderError } from '../errors.ts';
import type { ProviderError } from '../errors.ts';
import type { ProviderAdapter, SendRequest, WebhookRequest } from '../provider.ts';
import { startEmulator, recordRequests } from '../sandbox-kit/loopback-fixtures.ts';
import type { RecordedRequest } from '../sandbox-kit/loopback-fixtures.ts';
import { createTwilioAdapter } from './twilio.adapter.ts';
import { twilioConfigSchema } from './twilio.config.ts';
import { registerTwilioEmulator } from './sandbox/twilio.emulator.ts';
import { classifyTwilioError } from './twilio.errors.ts';
import { startCallbackReceiver } from './sandbox/twilio.fixtures.ts';
import type { CallbackReceiver, ReceivedCallback, RunningEmulator } from './sandbox/twilio.fixtures.ts';
import { TWILIO_SANDBOX_CREDENTIALS } from './sandbox/twilio.sandbox.ts';
import { parseTwilioWebhook } from './twilio.webhook.ts';
import { buildTwilioWhatsAppParams, twilioWhatsAppAddress } from './twilio.whatsapp.ts';
import { twilioWhatsAppGolden as golden } from './sandbox/twilio.whatsapp.golden.ts';

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

const form = (callback: ReceivedCallback): Record<string, string> =>
  Object.fromEntries(new URLSearchParams(callback.rawBody.toString('utf8')));
const byTime = (callbacks: ReceivedCallback[]): ReceivedCallback[] => callbacks.sort((a, b) => a.receivedAt - b.receivedAt);

describe('twilioWhatsAppAddress and buildTwilioWhatsAppParams', () => {
  it('prefixes an address with whatsapp: once', () => {
    expect(twilioWhatsAppAddress('+14155238886')).toBe('whatsapp:+14155238886');
    expect(twilioWhatsAppAddress('whatsapp:+14155238886')).toBe('whatsapp:+14155238886');
  });

  it('builds a template send with the code as variable 1 and no body', () => {
    const params = buildTwilioWhatsAppParams(
      { to: '+447700900123', statusCallbackUrl: 'https://gw.example/webhooks/twilio?sb=msg_1', otpCode: '042917' },
      { whatsappFrom: 'whatsapp:+14155238886', whatsappContentSid: TWILIO_SANDBOX_CREDENTIALS.whatsappContentSid },
    );
    expect(params).toEqual({
      to: 'whatsapp:+447700900123',
      from: 'whatsapp:+14155238886',
      contentSid: TWILIO_SANDBOX_CREDENTIALS.whatsappContentSid,
      contentVariables: '{"1":"042917"}',
      statusCallback: 'https://gw.example/webhooks/twilio?sb=msg_1',
    });
  });
});

describe('twilio config for WhatsApp', () => {
  it('refuses a WhatsApp sender without a template, and a template SID that is not HX…', () => {
    const { whatsappContentSid: _c, ...noTemplate } = TWILIO_SANDBOX_CREDENTIALS;
    expect(twilioConfigSchema.safeParse(noTemplate).success).toBe(false);
    expect(twilioConfigSchema.safeParse({ ...TWILIO_SANDBOX_CREDENTIALS, whatsappContentSid: 'MG' + '0'.repeat(32) }).success).toBe(false);
  });
});

describe('Twilio WhatsApp against the emulator', () => {
  let emulator: RunningEmulator;
  let receiver: CallbackReceiver;
  let adapter: ProviderAdapter;
  const wire: RecordedRequest[] = [];
  let n = 0;

  const request = (to: string, overrides: Partial<SendRequest> = {}): SendRequest => {
    n += 1;
    const messageId = `msg_twwa${n}`;
    return {
      messageId,
      attempt: 1,
      channel: 'whatsapp',
      to,
      body: 'Your code is 123456',
      otpCode: String(100000 + n),
      statusCallbackUrl: `${receiver.origin}/webhooks/twilio?sb=${messageId}`,
      ...overrides,
    };
  };
  const fresh = (patch: { whatsapp?: boolean; lineType?: 'landline' } = {}): string => {
    const e164 = `+4477009${String(10000 + n).padStart(5, '0')}`;
    emulator.control.setNumber(e164, patch);
    return e164;
  };

  beforeAll(async () => {
    emulator = await startEmulator((app, control) => {
      recordRequests(app, wire);
      registerTwilioEmulator(app, control);
    });
    receiver = await startCallbackReceiver();
    adapter = createTwilioAdapter(config, { baseUrl: emulator.baseUrl, timeoutMs: 2_000 });
  });
  afterEach(() => {
    emulator.control.set('twilio', { ...defaultProviderScenario(), dlrErrorCode: undefined });
    receiver.received.length = 0;
    wire.length = 0;
  });
  afterAll(async () => {
    await emulator.close();
    await receiver.close();
  });

  it('offers whatsapp with a sender and template configured, and not without them', async () => {
    expect(adapter.channels).toContain('whatsapp');
    const { whatsappFrom: _f, whatsappContentSid: _c, ...plain } = TWILIO_SANDBOX_CREDENTIALS;
    const without = createTwilioAdapter(twilioConfigSchema.parse(plain), { baseUrl: emulator.baseUrl, timeoutMs: 2_000 });
    expect(without.channels).not.toContain('whatsapp');
    expect(await sendError(without, request(fresh()))).toMatchObject({ kind: 'permanent', scope: 'channel' });
    expect(wire).toHaveLength(0);
  });

  it('sends the golden template request: whatsapp: addresses, ContentSid, the code in ContentVariables, no Body', async () => {
    emulator.control.set('twilio', { dlr: 'none' });
    const req = request(fresh(), { validitySeconds: 300 });
    const result = await adapter.send(req);
    expect(result).toMatchObject({ providerMessageId: expect.stringMatching(/^SM[0-9a-f]{32}$/), status: 'queued', segments: 1 });
    const sent = wire.at(-1);
    expect(sent?.path).toBe(golden.send.path);
    expect(sent?.contentType).toMatch(golden.send.contentType);
    for (const field of golden.send.requiredFields) expect(sent?.body, field).toHaveProperty(field);
    for (const field of golden.send.forbiddenFields) expect(sent?.body, field).not.toHaveProperty(field);
    expect(sent?.body).toMatchObject({
      ...golden.send.expected(req.to, req.otpCode ?? ''),
      StatusCallback: req.statusCallbackUrl,
      ValidityPeriod: '300',
    });
    // The handset shows Meta's fixed authentication text around the code.
    expect(emulator.control.entries.at(-1)).toMatchObject({
      provider: 'twilio',
      channel: 'whatsapp',
      to: req.to,
      reference: req.messageId,
      body: `*${req.otpCode ?? ''}* is your verification code. For your security, do not share this code.`,
      status: 201,
    });
  });

  it('refuses a WhatsApp send without the code before calling Twilio', async () => {
    const { otpCode: _o, ...noCode } = request(fresh());
    expect(await sendError(adapter, noCode)).toMatchObject({ kind: 'permanent', scope: 'channel', provider: 'twilio' });
    expect(wire).toHaveLength(0);
  });

  it('reports a number on WhatsApp through signed sent → delivered → read callbacks with ChannelPrefix=whatsapp', async () => {
    emulator.control.set('twilio', { dlrDelayMs: 60 });
    const req = request(fresh());
    const result = await adapter.send(req);
    const callbacks = byTime(await receiver.waitFor(3, { ref: req.messageId }));
    for (const callback of callbacks) {
      expect(callback.headers['content-type']).toMatch(golden.callback.contentType);
      for (const header of golden.callback.authHeaders) expect(callback.headers[header]).toBeTruthy();
      expect(await adapter.verifyWebhook(callback)).toBe(true);
      expect(form(callback)).toMatchObject({ ...golden.callback.markers, To: `whatsapp:${req.to}` });
      expect(form(callback)).not.toHaveProperty('RawDlrDoneDate');
    }
    expect(callbacks.map((c) => form(c)['MessageStatus'])).toEqual(golden.callback.deliveredSequence);
    expect(form(callbacks[2]!)).toMatchObject({ EventType: 'READ' });
    expect(
      callbacks.flatMap((c) => adapter.parseWebhook(c)).map((e) => [e.status, e.providerMessageId, e.messageId, e.read === true]),
    ).toEqual([
      ['sent', result.providerMessageId, req.messageId, false],
      ['delivered', result.providerMessageId, req.messageId, false],
      ['delivered', result.providerMessageId, req.messageId, true],
    ]);
  });

  it.each([
    ['a number marked not on WhatsApp', { whatsapp: false }],
    ['a landline', { lineType: 'landline' as const }],
  ])('accepts %s, then reports it failed with 63024 as not a WhatsApp user', async (_name, patch) => {
    emulator.control.set('twilio', { dlrDelayMs: 40 });
    const req = request(fresh(patch));
    await adapter.send(req);
    const [callback] = await receiver.waitFor(1, { ref: req.messageId });
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(receiver.forRef(req.messageId)).toHaveLength(1);
    expect(form(callback!)).toMatchObject({
      MessageStatus: golden.callback.notRegistered.status,
      ErrorCode: golden.callback.notRegistered.errorCode,
      ChannelPrefix: 'whatsapp',
    });
    expect(await adapter.verifyWebhook(callback!)).toBe(true);
    expect(adapter.parseWebhook(callback!)).toEqual([
      expect.objectContaining({
        status: 'failed',
        errorCode: '63024',
        recipientNotCapable: true,
        transient: false,
        messageId: req.messageId,
      }),
    ]);
  });

  it('reads a not-on-WhatsApp message back as not capable (reconciliation of a lost callback)', async () => {
    emulator.control.set('twilio', { dlrDelayMs: 20, callbacks: 'drop' });
    const req = request(fresh({ whatsapp: false }));
    const { providerMessageId } = await adapter.send(req);
    await new Promise((resolve) => setTimeout(resolve, 60));
    const read = await adapter.readStatus?.({ providerMessageId, channel: 'whatsapp', to: req.to, messageId: req.messageId });
    expect(read).toMatchObject({ status: 'failed', errorCode: '63024', recipientNotCapable: true });
    emulator.control.set('twilio', { callbacks: 'post' });
  });

  it('reports an undelivered WhatsApp message with the scenario code, not as "not on WhatsApp"', async () => {
    emulator.control.set('twilio', { dlr: 'undelivered', dlrDelayMs: 40 });
    const req = request(fresh());
    await adapter.send(req);
    const callbacks = byTime(await receiver.waitFor(2, { ref: req.messageId }));
    const last = callbacks.flatMap((c) => adapter.parseWebhook(c)).at(-1);
    expect(last).toMatchObject({ status: 'undelivered', errorCode: '63012' });
    expect(last?.recipientNotCapable).toBeUndefined();
  });

  it('refuses the invalid magic number synchronously (21211) as a recipient error', async () => {
    expect(await sendError(adapter, request('+15005550001'))).toMatchObject({
      kind: 'permanent',
      scope: 'recipient',
      providerCode: '21211',
    });
  });

  it('fails over on an outage: 503 is retryable', async () => {
    emulator.control.set('twilio', { outage: true });
    expect(await sendError(adapter, request(fresh()))).toMatchObject({ kind: 'retryable', httpStatus: 503 });
  });

  it('answers Twilio errors for a bad template (21655) and a whatsapp: sender sending SMS (21910)', async () => {
    const wrongTemplate = createTwilioAdapter(
      { ...config, whatsappContentSid: 'HX' + 'f'.repeat(32) },
      { baseUrl: emulator.baseUrl, timeoutMs: 2_000 },
    );
    expect(await sendError(wrongTemplate, request(fresh()))).toMatchObject({ kind: 'permanent', scope: 'provider', providerCode: '21655' });
    const auth =
      'Basic ' + Buffer.from(`${TWILIO_SANDBOX_CREDENTIALS.accountSid}:${TWILIO_SANDBOX_CREDENTIALS.authToken}`).toString('base64');
    const res = await fetch(`${emulator.baseUrl}/2010-04-01/Accounts/${TWILIO_SANDBOX_CREDENTIALS.accountSid}/Messages.json`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ To: '+14155550100', From: 'whatsapp:+14155238886', Body: 'hi' }).toString(),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: 21910 });
  });

  it('classifies 63024 and 63003 as permanent/channel (next channel, not another WhatsApp provider)', () => {
    for (const code of [63024, 63003]) {
      expect(classifyTwilioError({ status: 400, code, message: 'not a WhatsApp user' })).toMatchObject({
        kind: 'permanent',
        scope: 'channel',
        providerCode: String(code),
      });
    }
  });
});

describe('Twilio WhatsApp status table (golden)', () => {
  const callback = (fields: Record<string, string>): WebhookRequest => ({
    method: 'POST',
    publicUrl: 'https://gw.example/webhooks/twilio?sb=msg_golden',
    headers: {},
    query: { sb: 'msg_golden' },
    rawBody: Buffer.from(new URLSearchParams(fields).toString()),
  });
  it.each(golden.statusTable)('maps $status $errorCode to $normalized', (row) => {
    const fields: Record<string, string> = {
      MessageSid: 'SM' + 'a'.repeat(32),
      MessageStatus: row.status,
      ChannelPrefix: 'whatsapp',
      From: 'whatsapp:+14155238886',
      To: 'whatsapp:+447700900123',
      ...(row.errorCode !== undefined ? { ErrorCode: row.errorCode } : {}),
      ...(row.read === true ? { EventType: 'READ' } : {}),
    };
    const [event] = parseTwilioWebhook(callback(fields));
    expect(event).toMatchObject({ status: row.normalized, messageId: 'msg_golden' });
    expect(event?.recipientNotCapable === true).toBe(row.recipientNotCapable === true);
    expect(event?.read === true).toBe(row.read === true);
  });

  it('does not take 63024 on an SMS callback for "not on WhatsApp"', () => {
    const [event] = parseTwilioWebhook(
      callback({
        MessageSid: 'SM' + 'b'.repeat(32),
        MessageStatus: 'failed',
        ErrorCode: '63024',
        From: '+15005550006',
        To: '+447700900123',
      }),
    );
    expect(event?.recipientNotCapable).toBeUndefined();
  });
});

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { defaultProviderScenario } from '../provider.ts';
import { isProviderError } from '../errors.ts';
import type { ProviderError } from '../errors.ts';
import type { ProviderAdapter, SendRequest } from '../provider.ts';
import { startEmulator, recordRequests } from '../sandbox-kit/loopback-fixtures.ts';
import type { RecordedRequest } from '../sandbox-kit/loopback-fixtures.ts';
import { createTwilioAdapter, twilioRcsFrom } from './twilio.adapter.ts';
import { twilioConfigSchema } from './twilio.config.ts';
import { registerTwilioEmulator } from './sandbox/twilio.emulator.ts';
import { classifyTwilioError } from './twilio.errors.ts';
import { startCallbackReceiver } from './sandbox/twilio.fixtures.ts';
import type { CallbackReceiver, ReceivedCallback, RunningEmulator } from './sandbox/twilio.fixtures.ts';
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

const form = (callback: ReceivedCallback): Record<string, string> =>
  Object.fromEntries(new URLSearchParams(callback.rawBody.toString('utf8')));

describe('twilioRcsFrom', () => {
  it('prefixes a sender id with rcs: once', () => {
    expect(twilioRcsFrom('brand_agent')).toBe('rcs:brand_agent');
    expect(twilioRcsFrom('rcs:brand_agent')).toBe('rcs:brand_agent');
  });
});

describe('Twilio RCS against the emulator', () => {
  let emulator: RunningEmulator;
  let receiver: CallbackReceiver;
  let adapter: ProviderAdapter;
  const wire: RecordedRequest[] = [];
  let n = 0;

  const request = (to: string, overrides: Partial<SendRequest> = {}): SendRequest => {
    n += 1;
    const messageId = `msg_twrcs${n}`;
    return {
      messageId,
      attempt: 1,
      channel: 'rcs',
      to,
      body: 'Your code is 123456',
      statusCallbackUrl: `${receiver.origin}/webhooks/twilio?sb=${messageId}`,
      ...overrides,
    };
  };
  const fresh = (patch: { rcs: boolean; lineType?: 'landline' }): string => {
    const e164 = `+1415555${String(9000 + n).padStart(4, '0')}`;
    emulator.control.setNumber(e164, patch);
    return e164;
  };
  const byTime = (callbacks: ReceivedCallback[]): ReceivedCallback[] => callbacks.sort((a, b) => a.receivedAt - b.receivedAt);

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

  it('offers rcs with an RCS sender configured, and not without one', async () => {
    expect(adapter.channels).toEqual(['sms', 'voice', 'rcs', 'whatsapp']);
    const { rcsSenderId: _r, ...plain } = TWILIO_SANDBOX_CREDENTIALS;
    const without = createTwilioAdapter(twilioConfigSchema.parse(plain), { baseUrl: emulator.baseUrl, timeoutMs: 2_000 });
    expect(without.channels).toEqual(['sms', 'voice', 'whatsapp']);
    expect(await sendError(without, request('+14155550100'))).toMatchObject({ kind: 'permanent', scope: 'channel' });
  });

  it('sends To=rcs:+… From=rcs:<sender>, never the Messaging Service, and logs an rcs send', async () => {
    emulator.control.set('twilio', { dlr: 'none' });
    const withService = createTwilioAdapter(
      { ...config, messagingServiceSid: 'MG' + 'a'.repeat(32) },
      { baseUrl: emulator.baseUrl, timeoutMs: 2_000 },
    );
    const req = request(fresh({ rcs: true }), { validitySeconds: 300 });
    const result = await withService.send(req);
    expect(result).toMatchObject({ providerMessageId: expect.stringMatching(/^SM[0-9a-f]{32}$/), status: 'queued', segments: 1 });
    expect(wire.at(-1)?.body).toEqual({
      To: `rcs:${req.to}`,
      From: 'rcs:sandbox_rcs_agent',
      Body: req.body,
      StatusCallback: req.statusCallbackUrl,
      ValidityPeriod: '300',
    });
    expect(emulator.control.entries.at(-1)).toMatchObject({
      provider: 'twilio',
      channel: 'rcs',
      to: req.to,
      reference: req.messageId,
      body: req.body,
      status: 201,
    });
  });

  it('reports an RCS-capable number through signed sent → delivered callbacks from rcs:<sender> with ChannelPrefix=rcs', async () => {
    emulator.control.set('twilio', { dlrDelayMs: 60 });
    const req = request(fresh({ rcs: true }));
    const result = await adapter.send(req);
    const callbacks = byTime(await receiver.waitFor(2, { ref: req.messageId }));
    for (const callback of callbacks) {
      expect(await adapter.verifyWebhook(callback)).toBe(true);
      expect(form(callback)).toMatchObject({ From: 'rcs:sandbox_rcs_agent', To: `rcs:${req.to}`, ChannelPrefix: 'rcs' });
    }
    expect(callbacks.flatMap((c) => adapter.parseWebhook(c)).map((e) => [e.status, e.providerMessageId, e.messageId])).toEqual([
      ['sent', result.providerMessageId, req.messageId],
      ['delivered', result.providerMessageId, req.messageId],
    ]);
  });

  it.each([
    ['a number without RCS', { rcs: false }],
    ['a landline', { rcs: false, lineType: 'landline' as const }],
  ])('accepts %s, then reports it failed with 63106 as not RCS-capable', async (_name, patch) => {
    emulator.control.set('twilio', { dlrDelayMs: 40 });
    const req = request(fresh(patch));
    await adapter.send(req);
    const [callback] = await receiver.waitFor(1, { ref: req.messageId });
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(receiver.forRef(req.messageId)).toHaveLength(1);
    expect(form(callback!)).toMatchObject({ MessageStatus: 'failed', ErrorCode: '63106', ChannelPrefix: 'rcs' });
    expect(await adapter.verifyWebhook(callback!)).toBe(true);
    expect(adapter.parseWebhook(callback!)).toEqual([
      expect.objectContaining({
        status: 'failed',
        rawStatus: 'failed',
        errorCode: '63106',
        recipientNotCapable: true,
        transient: false,
        messageId: req.messageId,
      }),
    ]);
  });

  it('reports an undelivered RCS message with the scenario error code', async () => {
    emulator.control.set('twilio', { dlr: 'undelivered', dlrDelayMs: 40 });
    const req = request(fresh({ rcs: true }));
    await adapter.send(req);
    const callbacks = byTime(await receiver.waitFor(2, { ref: req.messageId }));
    expect(callbacks.flatMap((c) => adapter.parseWebhook(c)).at(-1)).toMatchObject({
      status: 'undelivered',
      errorCode: '30003',
      transient: true,
    });
  });

  it('still refuses the invalid magic number synchronously (21211)', async () => {
    expect(await sendError(adapter, request('+15005550001'))).toMatchObject({
      kind: 'permanent',
      scope: 'recipient',
      providerCode: '21211',
    });
  });

  it('refuses an rcs: recipient with an SMS sender (21910), as Twilio does for a mixed pair', async () => {
    const auth =
      'Basic ' + Buffer.from(`${TWILIO_SANDBOX_CREDENTIALS.accountSid}:${TWILIO_SANDBOX_CREDENTIALS.authToken}`).toString('base64');
    const res = await fetch(`${emulator.baseUrl}/2010-04-01/Accounts/${TWILIO_SANDBOX_CREDENTIALS.accountSid}/Messages.json`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ To: 'rcs:+14155550100', From: '+15005550006', Body: 'hi' }).toString(),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: 21910 });
  });

  it('classifies a synchronous 63106 as permanent/channel (next channel, not another RCS provider)', () => {
    expect(classifyTwilioError({ status: 400, code: 63106, message: 'not RCS-capable' })).toMatchObject({
      kind: 'permanent',
      scope: 'channel',
      providerCode: '63106',
    });
  });
});

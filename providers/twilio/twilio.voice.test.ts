import twilio from 'twilio';
import { defaultProviderScenario } from '../provider.ts';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isProviderError } from '../errors.ts';
import type { ProviderError } from '../errors.ts';
import type { ProviderAdapter, SendRequest } from '../provider.ts';
import { startCallbackReceiver, startEmulator, recordRequests } from '../sandbox-kit/loopback-fixtures.ts';
import type { CallbackReceiver, ReceivedCallback, RunningEmulator, RecordedRequest } from '../sandbox-kit/loopback-fixtures.ts';
import { createTwilioAdapter } from './twilio.adapter.ts';
import { twilioConfigSchema } from './twilio.config.ts';
import { registerTwilioEmulator } from './sandbox/twilio.emulator.ts';
import { BaseUrlRequestClient } from './twilio.request-client.ts';
import { TWILIO_SANDBOX_CREDENTIALS } from './sandbox/twilio.sandbox.ts';
import { TWILIO_VOICE_MAGIC_NUMBERS } from './sandbox/twilio.voice-emulator.ts';
import { VOICE_PROMPTS, buildVoiceTwiml, readCodeFromTwiml, spokenDigits, voicePromptFor } from './twilio.voice.ts';

const config = twilioConfigSchema.parse({ ...TWILIO_SANDBOX_CREDENTIALS });

/** The text of every `<Say>`, XML entities decoded, in order. */
function sayTexts(twiml: string): string[] {
  return [...twiml.matchAll(/<Say\b[^>]*>([^<]*)<\/Say>/g)].map((m) =>
    (m[1] ?? '')
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&apos;/g, "'")
      .replace(/&amp;/g, '&'),
  );
}

function languages(twiml: string): string[] {
  return [...twiml.matchAll(/<Say language="([^"]+)"/g)].map((m) => m[1] ?? '');
}

describe('buildVoiceTwiml', () => {
  it('says each digit of the code, one by one, twice', () => {
    const twiml = buildVoiceTwiml({ code: '482913', locale: 'en' });
    const readings = sayTexts(twiml).filter((t) => t === '4, 8, 2, 9, 1, 3.');
    expect(readings).toHaveLength(2);
    for (const digit of '482913') {
      expect(sayTexts(twiml).join(' ').split(digit).length - 1, `digit ${digit}`).toBe(2);
    }
    expect(twiml).not.toContain('482913');
  });

  it('is a TwiML document: intro, digits, a pause, the repeat phrase, digits', () => {
    expect(buildVoiceTwiml({ code: '1234', locale: 'en' })).toBe(
      '<?xml version="1.0" encoding="UTF-8"?><Response>' +
        '<Say language="en-US">Your verification code is</Say><Say language="en-US">1, 2, 3, 4.</Say>' +
        '<Pause length="1"/>' +
        '<Say language="en-US">Again, your code is</Say><Say language="en-US">1, 2, 3, 4.</Say>' +
        '</Response>',
    );
  });

  it.each([
    ['en', 'en-US', VOICE_PROMPTS.en.intro],
    ['es', 'es-ES', VOICE_PROMPTS.es.intro],
    ['fr', 'fr-FR', VOICE_PROMPTS.fr.intro],
    ['de', 'de-DE', VOICE_PROMPTS.de.intro],
    ['pt', 'pt-BR', VOICE_PROMPTS.pt.intro],
    ['fr-CA', 'fr-CA', VOICE_PROMPTS.fr.intro],
    ['en-GB', 'en-GB', VOICE_PROMPTS.en.intro],
    ['pt_pt', 'pt-PT', VOICE_PROMPTS.pt.intro],
    ['es-AR', 'es-ES', VOICE_PROMPTS.es.intro],
    ['ja', 'en-US', VOICE_PROMPTS.en.intro],
    [undefined, 'en-US', VOICE_PROMPTS.en.intro],
  ])('speaks locale %s with language %s and its own intro', (locale, language, intro) => {
    const twiml = buildVoiceTwiml({ code: '123456', locale });
    expect(new Set(languages(twiml))).toEqual(new Set([language]));
    expect(sayTexts(twiml)[0]).toBe(intro);
    expect(voicePromptFor(locale).language).toBe(language);
  });

  it('escapes XML in the code and in free text', () => {
    const withCode = buildVoiceTwiml({ code: '1<2&3', locale: 'en' });
    expect(withCode).toContain('1, &lt;, 2, &amp;, 3.');
    const text = buildVoiceTwiml({ text: 'Call <us> & "smile"', locale: 'en' });
    expect(text).not.toMatch(/<us>/);
    expect(sayTexts(text)).toEqual(['Call <us> & "smile"', 'Call <us> & "smile"']);
    // Every `<` left in the document opens a TwiML element.
    for (const m of text.matchAll(/<(\/?)([A-Za-z?]+)/g)) expect(['?xml', 'Response', 'Say', 'Pause']).toContain(m[2]);
  });

  it('says a message without a code twice, spelling out long digit runs', () => {
    expect(sayTexts(buildVoiceTwiml({ text: 'Your code is 98765', locale: 'en' }))).toEqual([
      'Your code is 9, 8, 7, 6, 5',
      'Your code is 9, 8, 7, 6, 5',
    ]);
  });

  it('reads the code back as a listener hears it', () => {
    expect(readCodeFromTwiml(buildVoiceTwiml({ code: '007411', locale: 'de' }))).toBe('007411');
    expect(readCodeFromTwiml('<Response><Say>hello</Say></Response>')).toBeUndefined();
    expect(spokenDigits('12 34')).toBe('1, 2, 3, 4.');
  });
});

describe('Twilio voice calls through the SDK against the emulator', () => {
  let emulator: RunningEmulator;
  let receiver: CallbackReceiver;
  let adapter: ProviderAdapter;
  const wire: RecordedRequest[] = [];
  let n = 0;

  const request = (to: string, overrides: Partial<SendRequest> = {}): SendRequest => {
    n += 1;
    const messageId = `msg_voice${n}`;
    return {
      messageId,
      attempt: 1,
      channel: 'voice',
      to,
      body: 'Your code is 246810',
      spokenCode: '246810',
      locale: 'fr',
      statusCallbackUrl: `${receiver.origin}/webhooks/twilio?sb=${messageId}`,
      ...overrides,
    };
  };

  async function sendError(req: SendRequest): Promise<ProviderError> {
    try {
      await adapter.send(req);
    } catch (err) {
      if (isProviderError(err)) return err;
      throw new Error(`send rejected with something other than a ProviderError: ${String(err)}`);
    }
    throw new Error('expected the call to fail');
  }

  const ordered = (callbacks: ReceivedCallback[]): ReceivedCallback[] =>
    callbacks.sort(
      (a, b) =>
        Number(new URLSearchParams(a.rawBody.toString()).get('SequenceNumber')) -
        Number(new URLSearchParams(b.rawBody.toString()).get('SequenceNumber')),
    );

  beforeAll(async () => {
    emulator = await startEmulator((app, control) => {
      recordRequests(app, wire);
      registerTwilioEmulator(app, control);
    });
    receiver = await startCallbackReceiver();
    adapter = createTwilioAdapter(config, { baseUrl: emulator.baseUrl, timeoutMs: 1_000 });
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

  it('offers voice besides SMS', () => {
    expect(adapter.channels).toEqual(expect.arrayContaining(['sms', 'voice']));
  });

  it('places a call with inline TwiML and call-progress callbacks, answering a queued CA sid', async () => {
    emulator.control.set('twilio', { dlr: 'none' });
    const req = request('+14155550130');
    const result = await adapter.send(req);
    expect(result.providerMessageId).toMatch(/^CA[0-9a-f]{32}$/);
    expect(result.status).toBe('queued');
    const sent = wire.find((w) => w.path.endsWith('/Calls.json'));
    expect(sent?.body).toMatchObject({
      To: '+14155550130',
      From: '+15005550006',
      StatusCallback: req.statusCallbackUrl,
      StatusCallbackEvent: ['initiated', 'ringing', 'answered', 'completed'],
      StatusCallbackMethod: 'POST',
      Timeout: '30',
    });
    expect(sent?.body).not.toHaveProperty('Url');
    expect(readCodeFromTwiml(String(sent?.body['Twiml']))).toBe('246810');
    expect(languages(String(sent?.body['Twiml']))).toContain('fr-FR');
  });

  it('logs the TwiML and the words it speaks as what the handset gets, so a sandbox test can read the code', async () => {
    emulator.control.set('twilio', { dlr: 'none' });
    const req = request('+14155550131');
    await adapter.send(req);
    const entry = emulator.control.entries.find((e) => e.reference === req.messageId);
    expect(entry).toMatchObject({ provider: 'twilio', method: 'POST', to: '+14155550131', channel: 'voice', status: 201 });
    expect(entry?.body).toContain('2, 4, 6, 8, 1, 0.');
    expect(entry?.body).not.toContain('<');
    expect(readCodeFromTwiml(entry?.content ?? '')).toBe('246810');
    expect(emulator.control.counters('twilio').accepted).toBeGreaterThanOrEqual(1);
  });

  it("reads a call's status through the SDK, normalised like its status callback", async () => {
    emulator.control.set('twilio', { dlr: 'none' });
    const req = request('+14155550133');
    const result = await adapter.send(req);
    const read = await adapter.readStatus?.({
      providerMessageId: result.providerMessageId,
      channel: 'voice',
      to: req.to,
      messageId: req.messageId,
    });
    expect(read).toMatchObject({
      provider: 'twilio',
      providerMessageId: result.providerMessageId,
      messageId: req.messageId,
      status: 'queued',
      rawStatus: 'queued',
    });
    expect(
      await adapter.readStatus?.({ providerMessageId: 'CA' + '0'.repeat(32), channel: 'voice', to: req.to, messageId: req.messageId }),
    ).toBe('not_found');
  });

  it('calls from voiceFrom when set, and fetches the call back through the SDK', async () => {
    emulator.control.set('twilio', { dlr: 'none' });
    const custom = createTwilioAdapter(
      twilioConfigSchema.parse({ ...TWILIO_SANDBOX_CREDENTIALS, voiceFrom: '+15017122661', voiceRingTimeoutSeconds: 20 }),
      {
        baseUrl: emulator.baseUrl,
        timeoutMs: 1_000,
      },
    );
    const result = await custom.send(request('+14155550132'));
    const client = twilio(TWILIO_SANDBOX_CREDENTIALS.accountSid, TWILIO_SANDBOX_CREDENTIALS.authToken, {
      httpClient: new BaseUrlRequestClient({ baseUrl: emulator.baseUrl, timeoutMs: 1_000 }),
    });
    const call = await client.calls(result.providerMessageId).fetch();
    expect(call).toMatchObject({ from: '+15017122661', to: '+14155550132', status: 'queued', direction: 'outbound-api' });
    expect(wire.find((w) => w.path.endsWith('/Calls.json'))?.body).toMatchObject({ Timeout: '20' });
  });

  it('posts signed callbacks initiated → ringing → in-progress → completed that parse to queued, queued, sent, delivered', async () => {
    emulator.control.set('twilio', { dlrDelayMs: 80 });
    const req = request('+14155550133');
    const result = await adapter.send(req);
    const callbacks = ordered(await receiver.waitFor(4, { ref: req.messageId }));
    for (const callback of callbacks) expect(await adapter.verifyWebhook(callback)).toBe(true);
    const events = callbacks.flatMap((c) => adapter.parseWebhook(c));
    expect(events.map((e) => [e.rawStatus, e.status])).toEqual([
      ['initiated', 'queued'],
      ['ringing', 'queued'],
      ['in-progress', 'sent'],
      ['completed', 'delivered'],
    ]);
    for (const event of events)
      expect(event).toMatchObject({ provider: 'twilio', providerMessageId: result.providerMessageId, messageId: req.messageId });
    const last = new URLSearchParams(callbacks.at(-1)?.rawBody.toString());
    expect(last.get('CallDuration')).not.toBeNull();
    expect(last.get('CallSid')).toBe(result.providerMessageId);
  });

  it('calls a landline normally: voice is its channel', async () => {
    emulator.control.setNumber('+14155550134', { lineType: 'landline' });
    emulator.control.set('twilio', { dlr: 'none' });
    expect((await adapter.send(request('+14155550134'))).providerMessageId).toMatch(/^CA/);
  });

  it.each([
    [undefined, 'no-answer'],
    ['busy', 'busy'],
    ['failed', 'failed'],
  ])('ends an unanswered call (dlrErrorCode %s) as %s → undelivered', async (code, status) => {
    emulator.control.set('twilio', { dlr: 'undelivered', dlrDelayMs: 60, dlrErrorCode: code });
    const req = request('+14155550135');
    await adapter.send(req);
    const callbacks = ordered(await receiver.waitFor(3, { ref: req.messageId }));
    const events = callbacks.flatMap((c) => adapter.parseWebhook(c));
    expect(events.map((e) => e.rawStatus)).toEqual(['initiated', 'ringing', status]);
    expect(events.at(-1)).toMatchObject({ status: 'undelivered', transient: status !== 'failed' });
  });

  it('posts only the requested events (completed alone by default), as Twilio does', async () => {
    emulator.control.set('twilio', { dlrDelayMs: 40 });
    const res = await fetch(`${emulator.baseUrl}/2010-04-01/Accounts/${TWILIO_SANDBOX_CREDENTIALS.accountSid}/Calls.json`, {
      method: 'POST',
      headers: {
        authorization:
          'Basic ' + Buffer.from(`${TWILIO_SANDBOX_CREDENTIALS.accountSid}:${TWILIO_SANDBOX_CREDENTIALS.authToken}`).toString('base64'),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({
        To: '+14155550136',
        From: '+15005550006',
        Twiml: '<Response><Say>hi</Say></Response>',
        StatusCallback: `${receiver.origin}/webhooks/twilio?sb=plain`,
      }),
    });
    expect(res.status).toBe(201);
    const [only] = await receiver.waitFor(1, { ref: 'plain' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(receiver.forRef('plain')).toHaveLength(1);
    expect(new URLSearchParams(only?.rawBody.toString()).get('CallStatus')).toBe('completed');
  });

  it.each([
    [TWILIO_VOICE_MAGIC_NUMBERS.invalid, 'permanent', 'recipient', '21217'],
    [TWILIO_VOICE_MAGIC_NUMBERS.unroutable, 'permanent', 'provider', '21214'],
    [TWILIO_VOICE_MAGIC_NUMBERS.noGeoPermission, 'permanent', 'provider', '21215'],
    [TWILIO_VOICE_MAGIC_NUMBERS.blocked, 'permanent', 'provider', '21216'],
  ])('refuses the magic number %s as %s/%s (%s)', async (to, kind, scope, code) => {
    expect(await sendError(request(to))).toMatchObject({ kind, scope, providerCode: code, httpStatus: 400 });
  });

  it('refuses a number the sandbox table marks invalid like the invalid magic number', async () => {
    emulator.control.setNumber('+14155550137', { valid: false });
    expect(await sendError(request('+14155550137'))).toMatchObject({ kind: 'permanent', scope: 'recipient', providerCode: '21217' });
  });

  it('classifies an outage as retryable', async () => {
    emulator.control.set('twilio', { outage: true });
    expect(await sendError(request('+14155550138'))).toMatchObject({ kind: 'retryable', httpStatus: 503 });
  });

  it('says the body twice when no spoken code is given', async () => {
    emulator.control.set('twilio', { dlr: 'none' });
    const req = request('+14155550139', { spokenCode: undefined, body: 'Your login was approved', locale: 'en' });
    await adapter.send(req);
    const twiml = String(wire.find((w) => w.path.endsWith('/Calls.json'))?.body['Twiml']);
    expect(sayTexts(twiml)).toEqual(['Your login was approved', 'Your login was approved']);
  });
});

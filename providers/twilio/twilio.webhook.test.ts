import twilio from 'twilio';
import { describe, expect, it } from 'vitest';
import type { CarrierStatus, WebhookRequest } from '../provider.ts';
import { TWILIO_SANDBOX_CREDENTIALS } from './sandbox/twilio.sandbox.ts';
import { mapTwilioCallStatus, mapTwilioStatus, parseTwilioWebhook, verifyTwilioWebhook } from './twilio.webhook.ts';

const TOKEN = TWILIO_SANDBOX_CREDENTIALS.authToken;
const URL_WITH_REF = 'http://127.0.0.1:3000/webhooks/twilio?sb=msg_01HZX5V4J8Q2W3E4R5T6Y7U8I9';
const SID = 'SM1342fe1b2c904d1ab04f0fc7a58abca9';

function callbackParams(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    AccountSid: TWILIO_SANDBOX_CREDENTIALS.accountSid,
    ApiVersion: '2010-04-01',
    From: '+15005550006',
    To: '+14155550100',
    MessageSid: SID,
    SmsSid: SID,
    MessageStatus: 'delivered',
    SmsStatus: 'delivered',
    ...overrides,
  };
}

/** A callback as Twilio would send it: form body, signed over URL + params. */
function signedRequest(params: Record<string, string>, url = URL_WITH_REF, token: string = TOKEN): WebhookRequest {
  return {
    method: 'POST',
    publicUrl: url,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-twilio-signature': twilio.getExpectedTwilioSignature(token, url, params),
    },
    query: Object.fromEntries(new URL(url).searchParams),
    rawBody: Buffer.from(new URLSearchParams(params).toString()),
  };
}

describe('verifyTwilioWebhook', () => {
  it('accepts a correctly signed callback', () => {
    expect(verifyTwilioWebhook(TOKEN, signedRequest(callbackParams()))).toBe(true);
  });

  it('accepts a callback with extra fields Twilio added without notice', () => {
    const params = callbackParams({ RawDlrDoneDate: '2406060922', ChannelPrefix: 'sms', SomethingNew: 'x y+z' });
    expect(verifyTwilioWebhook(TOKEN, signedRequest(params))).toBe(true);
  });

  it('accepts repeated keys signed the way the SDK signs them', () => {
    const url = 'http://127.0.0.1:3000/webhooks/twilio';
    const signature = twilio.getExpectedTwilioSignature(TOKEN, url, { MessageSid: SID, MediaUrl: ['b', 'a'] });
    const raw: WebhookRequest = {
      method: 'POST',
      publicUrl: url,
      headers: { 'x-twilio-signature': signature },
      query: {},
      rawBody: Buffer.from(`MessageSid=${SID}&MediaUrl=b&MediaUrl=a`),
    };
    expect(verifyTwilioWebhook(TOKEN, raw)).toBe(true);
  });

  it('rejects a tampered parameter', () => {
    const raw = signedRequest(callbackParams());
    raw.rawBody = Buffer.from(new URLSearchParams(callbackParams({ MessageStatus: 'undelivered' })).toString());
    expect(verifyTwilioWebhook(TOKEN, raw)).toBe(false);
  });

  it('rejects a callback checked against another URL', () => {
    const raw = signedRequest(callbackParams());
    expect(verifyTwilioWebhook(TOKEN, { ...raw, publicUrl: 'http://127.0.0.1:3000/webhooks/twilio?sb=msg_other' })).toBe(false);
  });

  it('rejects a callback without a signature header', () => {
    const raw = signedRequest(callbackParams());
    const headers = { ...raw.headers };
    delete headers['x-twilio-signature'];
    expect(verifyTwilioWebhook(TOKEN, { ...raw, headers })).toBe(false);
  });

  it('rejects a callback signed with another token', () => {
    expect(verifyTwilioWebhook(TOKEN, signedRequest(callbackParams(), URL_WITH_REF, 'another-token'))).toBe(false);
  });

  it('rejects rather than throws on a malformed URL', () => {
    const raw = signedRequest(callbackParams());
    expect(verifyTwilioWebhook(TOKEN, { ...raw, publicUrl: 'not a url' })).toBe(false);
  });

  it('checks JSON-bodied webhooks through bodySHA256', () => {
    const body = JSON.stringify({ hello: 'world' });
    const url = `http://127.0.0.1:3000/webhooks/twilio?bodySHA256=${twilio.getExpectedBodyHash(body)}`;
    const signature = twilio.getExpectedTwilioSignature(TOKEN, url, {});
    const raw: WebhookRequest = {
      method: 'POST',
      publicUrl: url,
      headers: { 'x-twilio-signature': signature },
      query: {},
      rawBody: Buffer.from(body),
    };
    expect(verifyTwilioWebhook(TOKEN, raw)).toBe(true);
    expect(verifyTwilioWebhook(TOKEN, { ...raw, rawBody: Buffer.from('{"hello":"there"}') })).toBe(false);
  });
});

describe('parseTwilioWebhook', () => {
  const mapping: [string, CarrierStatus][] = [
    ['accepted', 'queued'],
    ['scheduled', 'queued'],
    ['queued', 'queued'],
    ['sending', 'queued'],
    ['sent', 'sent'],
    ['delivered', 'delivered'],
    ['read', 'delivered'],
    ['partially_delivered', 'delivered'],
    ['undelivered', 'undelivered'],
    ['failed', 'failed'],
    ['canceled', 'failed'],
    ['exploded', 'unknown'],
    ['', 'unknown'],
  ];

  it.each(mapping)('maps MessageStatus %j to %s', (rawStatus, status) => {
    const events = parseTwilioWebhook(signedRequest(callbackParams({ MessageStatus: rawStatus, SmsStatus: rawStatus })));
    expect(events).toHaveLength(1);
    expect(events[0]?.status).toBe(status);
    expect(events[0]?.rawStatus).toBe(rawStatus);
  });

  it('does not treat Object.prototype names as statuses', () => {
    expect(mapTwilioStatus('constructor')).toBe('unknown');
    expect(mapTwilioStatus('toString')).toBe('unknown');
  });

  it.each(['receiving', 'received'])('ignores inbound status %s', (rawStatus) => {
    expect(parseTwilioWebhook(signedRequest(callbackParams({ MessageStatus: rawStatus, SmsStatus: rawStatus })))).toEqual([]);
  });

  it('returns the provider id, our message id from the sb parameter and the receive time', () => {
    const now = new Date('2024-06-06T09:22:31.123Z');
    const [event] = parseTwilioWebhook(signedRequest(callbackParams({ RawDlrDoneDate: '2406060922' })), now);
    expect(event).toEqual({
      provider: 'twilio',
      providerMessageId: SID,
      messageId: 'msg_01HZX5V4J8Q2W3E4R5T6Y7U8I9',
      status: 'delivered',
      rawStatus: 'delivered',
      occurredAt: now,
    });
  });

  it('reads the message id from the public URL when the query map lacks it', () => {
    const raw = signedRequest(callbackParams());
    const [event] = parseTwilioWebhook({ ...raw, query: {} });
    expect(event?.messageId).toBe('msg_01HZX5V4J8Q2W3E4R5T6Y7U8I9');
  });

  it('leaves the message id out when the URL has none', () => {
    const [event] = parseTwilioWebhook(signedRequest(callbackParams(), 'http://127.0.0.1:3000/webhooks/twilio'));
    expect(event).toBeDefined();
    expect(event?.messageId).toBeUndefined();
  });

  it('carries the error code and marks 30003 transient', () => {
    const [event] = parseTwilioWebhook(
      signedRequest(callbackParams({ MessageStatus: 'undelivered', SmsStatus: 'undelivered', ErrorCode: '30003' })),
    );
    expect(event?.status).toBe('undelivered');
    expect(event?.errorCode).toBe('30003');
    expect(event?.transient).toBe(true);
  });

  it('marks 30005 as not transient', () => {
    const [event] = parseTwilioWebhook(
      signedRequest(callbackParams({ MessageStatus: 'undelivered', SmsStatus: 'undelivered', ErrorCode: '30005' })),
    );
    expect(event?.transient).toBe(false);
  });

  it('falls back to SmsSid and SmsStatus', () => {
    const [event] = parseTwilioWebhook({ ...signedRequest({}), rawBody: Buffer.from(`SmsSid=${SID}&SmsStatus=sent`) });
    expect(event?.providerMessageId).toBe(SID);
    expect(event?.status).toBe('sent');
  });

  it('returns nothing without a MessageSid', () => {
    const params = callbackParams();
    delete params['MessageSid'];
    delete params['SmsSid'];
    expect(parseTwilioWebhook(signedRequest(params))).toEqual([]);
  });

  it('never throws on garbage', () => {
    const raw: WebhookRequest = {
      method: 'POST',
      publicUrl: '::',
      headers: {},
      query: {},
      rawBody: Buffer.from([0xff, 0xfe, 0x25, 0x25, 0x3d]),
    };
    expect(() => parseTwilioWebhook(raw)).not.toThrow();
    expect(parseTwilioWebhook(raw)).toEqual([]);
  });
});

describe('parseTwilioWebhook on voice call status callbacks', () => {
  const CALL_SID = 'CA5ef8732a3c49700934481addd5ce1659';

  function callParams(overrides: Record<string, string> = {}): Record<string, string> {
    return {
      AccountSid: TWILIO_SANDBOX_CREDENTIALS.accountSid,
      ApiVersion: '2010-04-01',
      CallSid: CALL_SID,
      CallStatus: 'completed',
      CallbackSource: 'call-progress-events',
      Called: '+14155550100',
      Caller: '+15005550006',
      Direction: 'outbound-api',
      From: '+15005550006',
      SequenceNumber: '3',
      Timestamp: 'Thu, 06 Jun 2024 09:22:31 +0000',
      To: '+14155550100',
      CallDuration: '12',
      ...overrides,
    };
  }

  const mapping: [string, CarrierStatus][] = [
    ['queued', 'queued'],
    ['initiated', 'queued'],
    ['ringing', 'queued'],
    ['in-progress', 'sent'],
    ['completed', 'delivered'],
    ['busy', 'undelivered'],
    ['no-answer', 'undelivered'],
    ['failed', 'undelivered'],
    ['canceled', 'undelivered'],
    ['answered-by-robot', 'unknown'],
  ];

  it.each(mapping)('maps CallStatus %j to %s', (rawStatus, status) => {
    const events = parseTwilioWebhook(signedRequest(callParams({ CallStatus: rawStatus })));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ provider: 'twilio', providerMessageId: CALL_SID, status, rawStatus });
  });

  it('verifies a call callback signed exactly like a message callback', () => {
    expect(verifyTwilioWebhook(TOKEN, signedRequest(callParams()))).toBe(true);
    const raw = signedRequest(callParams());
    raw.rawBody = Buffer.from(new URLSearchParams(callParams({ CallStatus: 'busy' })).toString());
    expect(verifyTwilioWebhook(TOKEN, raw)).toBe(false);
  });

  it('takes the call SID, our message id and the callback Timestamp', () => {
    const [event] = parseTwilioWebhook(signedRequest(callParams()), new Date('2030-01-01T00:00:00Z'));
    expect(event).toEqual({
      provider: 'twilio',
      providerMessageId: CALL_SID,
      messageId: 'msg_01HZX5V4J8Q2W3E4R5T6Y7U8I9',
      status: 'delivered',
      rawStatus: 'completed',
      occurredAt: new Date('2024-06-06T09:22:31Z'),
    });
  });

  it('falls back to the receive time without a usable Timestamp', () => {
    const now = new Date('2024-06-06T10:00:00Z');
    const [event] = parseTwilioWebhook(signedRequest(callParams({ Timestamp: 'yesterday-ish' })), now);
    expect(event?.occurredAt).toEqual(now);
  });

  it.each([
    ['busy', true],
    ['no-answer', true],
    ['failed', false],
    ['canceled', false],
  ])('marks an unanswered %s call transient: %s', (rawStatus, transient) => {
    const [event] = parseTwilioWebhook(signedRequest(callParams({ CallStatus: rawStatus, CallDuration: '0' })));
    expect(event?.transient).toBe(transient);
  });

  it('carries an ErrorCode when Twilio sends one', () => {
    const [event] = parseTwilioWebhook(signedRequest(callParams({ CallStatus: 'failed', ErrorCode: '32009' })));
    expect(event).toMatchObject({ status: 'undelivered', errorCode: '32009' });
  });

  it('returns nothing for a CallSid without a CallStatus', () => {
    const params = callParams();
    delete params['CallStatus'];
    expect(parseTwilioWebhook(signedRequest(params))).toEqual([]);
  });

  it('does not treat Object.prototype names as call statuses', () => {
    expect(mapTwilioCallStatus('constructor')).toBe('unknown');
    expect(mapTwilioCallStatus('__proto__')).toBe('unknown');
  });
});

import twilio from 'twilio';
import { describe, expect, it } from 'vitest';
import type { CarrierStatus, WebhookRequest } from '../provider.ts';
import { TWILIO_SANDBOX_CREDENTIALS } from './twilio.sandbox.ts';
import { mapTwilioStatus, parseTwilioWebhook, verifyTwilioWebhook } from './twilio.webhook.ts';

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
    const raw: WebhookRequest = { method: 'POST', publicUrl: url, headers: { 'x-twilio-signature': signature }, query: {}, rawBody: Buffer.from(body) };
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
    const [event] = parseTwilioWebhook(signedRequest(callbackParams({ MessageStatus: 'undelivered', SmsStatus: 'undelivered', ErrorCode: '30003' })));
    expect(event?.status).toBe('undelivered');
    expect(event?.errorCode).toBe('30003');
    expect(event?.transient).toBe(true);
  });

  it('marks 30005 as not transient', () => {
    const [event] = parseTwilioWebhook(signedRequest(callbackParams({ MessageStatus: 'undelivered', SmsStatus: 'undelivered', ErrorCode: '30005' })));
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
    const raw: WebhookRequest = { method: 'POST', publicUrl: '::', headers: {}, query: {}, rawBody: Buffer.from([0xff, 0xfe, 0x25, 0x25, 0x3d]) };
    expect(() => parseTwilioWebhook(raw)).not.toThrow();
    expect(parseTwilioWebhook(raw)).toEqual([]);
  });
});

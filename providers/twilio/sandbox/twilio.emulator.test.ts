import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { countSegments, rfc2822 } from './twilio.emulator.ts';
import { startCallbackReceiver, startTwilioEmulator } from './twilio.fixtures.ts';
import type { CallbackReceiver, RunningEmulator } from './twilio.fixtures.ts';
import { TWILIO_SANDBOX_CREDENTIALS } from './twilio.sandbox.ts';

const SID = TWILIO_SANDBOX_CREDENTIALS.accountSid;
const PATH = `/2010-04-01/Accounts/${SID}/Messages.json`;
const AUTH = 'Basic ' + Buffer.from(`${SID}:${TWILIO_SANDBOX_CREDENTIALS.authToken}`).toString('base64');

describe('countSegments', () => {
  it.each([
    ['an empty body', 1, ''],
    ['160 GSM characters', 1, 'a'.repeat(160)],
    ['161 GSM characters', 2, 'a'.repeat(161)],
    ['306 GSM characters', 2, 'a'.repeat(306)],
    ['307 GSM characters', 3, 'a'.repeat(307)],
    ['80 euro signs (two septets each)', 1, '€'.repeat(80)],
    ['81 euro signs', 2, '€'.repeat(81)],
    ['70 UCS-2 characters', 1, 'ж'.repeat(70)],
    ['71 UCS-2 characters', 2, 'ж'.repeat(71)],
    ['134 UCS-2 characters', 2, 'ж'.repeat(134)],
    ['one emoji in a short text', 1, 'Your code 123456 🔐'],
    ['35 emoji (70 UTF-16 units)', 1, '🔐'.repeat(35)],
    ['36 emoji', 2, '🔐'.repeat(36)],
  ])('counts %s as %i segment(s)', (_name, segments, body) => {
    expect(countSegments(body)).toBe(segments);
  });
});

describe('registerTwilioEmulator', () => {
  let emulator: RunningEmulator;
  let receiver: CallbackReceiver;

  const form = (fields: Record<string, string>): string => new URLSearchParams(fields).toString();
  const post = (fields: Record<string, string>, authorization = AUTH, path = PATH) =>
    emulator.app.inject({
      method: 'POST',
      url: path,
      headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' },
      payload: form(fields),
    });

  beforeAll(async () => {
    emulator = await startTwilioEmulator();
    receiver = await startCallbackReceiver();
  });
  afterEach(() => {
    emulator.control.set('twilio', { outage: false, errorRate: 0, errorStatus: 503, latencyMs: 0, dlr: 'delivered', dlrDelayMs: 200 });
    receiver.status = 204;
  });
  afterAll(async () => {
    await emulator.close();
    await receiver.close();
  });

  it("answers 201 with Twilio's snake_case Message resource", async () => {
    emulator.control.set('twilio', { dlr: 'none' });
    const res = await post({ To: '+14155550100', From: '+15005550006', Body: 'Your code is 123456' });
    expect(res.statusCode).toBe(201);
    const body = res.json<Record<string, unknown>>();
    expect(body).toMatchObject({
      account_sid: SID,
      api_version: '2010-04-01',
      body: 'Your code is 123456',
      date_sent: null,
      direction: 'outbound-api',
      error_code: null,
      error_message: null,
      from: '+15005550006',
      messaging_service_sid: null,
      num_media: '0',
      num_segments: '1',
      price: null,
      price_unit: 'USD',
      status: 'queued',
      to: '+14155550100',
    });
    expect(body['sid']).toMatch(/^SM[0-9a-f]{32}$/);
    expect(body['date_created']).toMatch(/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} \+0000$/);
    expect(body['uri']).toBe(`/2010-04-01/Accounts/${SID}/Messages/${String(body['sid'])}.json`);
  });

  it('answers accepted when sent through a Messaging Service', async () => {
    emulator.control.set('twilio', { dlr: 'none' });
    const res = await post({ To: '+14155550100', MessagingServiceSid: 'MG' + '1'.repeat(32), Body: 'hi' });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ status: 'accepted', messaging_service_sid: 'MG' + '1'.repeat(32) });
  });

  it("answers 401 with Twilio's 20003 body for wrong credentials", async () => {
    const res = await post(
      { To: '+14155550100', From: '+15005550006', Body: 'hi' },
      'Basic ' + Buffer.from(`${SID}:nope`).toString('base64'),
    );
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toContain('Basic');
    expect(res.json()).toEqual({
      code: 20003,
      message: 'Authenticate',
      more_info: 'https://www.twilio.com/docs/errors/20003',
      status: 401,
    });
  });

  it('answers 401 when the path names another account', async () => {
    const res = await post(
      { To: '+14155550100', From: '+15005550006', Body: 'hi' },
      AUTH,
      `/2010-04-01/Accounts/AC${'1'.repeat(32)}/Messages.json`,
    );
    expect(res.statusCode).toBe(401);
  });

  it.each([
    ['To', { From: '+15005550006', Body: 'hi' }, 21604],
    ['From', { To: '+14155550100', Body: 'hi' }, 21603],
    ['Body', { To: '+14155550100', From: '+15005550006' }, 21602],
  ])('answers 400 when %s is missing', async (_field, fields, code) => {
    const res = await post(fields);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code, status: 400, more_info: `https://www.twilio.com/docs/errors/${code}` });
  });

  it('answers 21606 for the magic From number that the account does not own', async () => {
    const res = await post({ To: '+14155550100', From: '+15005550007', Body: 'hi' });
    expect(res.json()).toMatchObject({ code: 21606, status: 400 });
  });

  it('refuses numbers the sandbox table marks invalid or landline', async () => {
    emulator.control.setNumber('+14155550110', { valid: false });
    emulator.control.setNumber('+14155550111', { lineType: 'landline' });
    expect((await post({ To: '+14155550110', From: '+15005550006', Body: 'hi' })).json()).toMatchObject({ code: 21211 });
    expect((await post({ To: '+14155550111', From: '+15005550006', Body: 'hi' })).json()).toMatchObject({ code: 21614 });
  });

  it('answers an outage with 503 at once, ignoring latency', async () => {
    emulator.control.set('twilio', { outage: true, latencyMs: 5_000 });
    const started = Date.now();
    const res = await post({ To: '+14155550100', From: '+15005550006', Body: 'hi' });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ code: 20503, status: 503 });
  });

  it('adds Retry-After to an injected 429 when the scenario sets it', async () => {
    emulator.control.set('twilio', { errorRate: 1, errorStatus: 429, retryAfterSec: 9 });
    const res = await post({ To: '+14155550100', From: '+15005550006', Body: 'hi' });
    expect(res.statusCode).toBe(429);
    expect(res.headers['retry-after']).toBe('9');
    expect(res.json()).toEqual({
      code: 20429,
      message: 'Too Many Requests',
      more_info: 'https://www.twilio.com/docs/errors/20429',
      status: 429,
    });
  });

  it('records every request with its recipient and our reference, accepting only written 201s', async () => {
    emulator.control.set('twilio', { dlr: 'none' });
    const before = { ...emulator.control.counters('twilio'), byStatus: { ...emulator.control.counters('twilio').byStatus } };
    await post({ To: '+14155550120', From: '+15005550006', Body: 'hi', StatusCallback: 'http://127.0.0.1:1/webhooks/twilio?sb=msg_ref1' });
    await post({ To: '+15005550001', From: '+15005550006', Body: 'hi', StatusCallback: 'http://127.0.0.1:1/webhooks/twilio?sb=msg_ref2' });
    const after = emulator.control.counters('twilio');
    expect(after.requests - before.requests).toBe(2);
    expect(after.accepted - before.accepted).toBe(1);
    expect((after.byStatus['201'] ?? 0) - (before.byStatus['201'] ?? 0)).toBe(1);
    expect((after.byStatus['400'] ?? 0) - (before.byStatus['400'] ?? 0)).toBe(1);
    const [second, first] = emulator.control.entries.slice(-2).reverse();
    expect(first).toMatchObject({ provider: 'twilio', method: 'POST', path: PATH, to: '+14155550120', reference: 'msg_ref1', status: 201 });
    expect(second).toMatchObject({ to: '+15005550001', reference: 'msg_ref2', status: 400 });
  });

  it('posts no callbacks when the scenario says none', async () => {
    emulator.control.set('twilio', { dlr: 'none' });
    await post({ To: '+14155550100', From: '+15005550006', Body: 'hi', StatusCallback: `${receiver.origin}/cb?sb=msg_none` });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(receiver.forRef('msg_none')).toHaveLength(0);
  });

  it('serves the message and its latest status by sid', async () => {
    emulator.control.set('twilio', { dlrDelayMs: 30 });
    const res = await post({ To: '+14155550100', From: '+15005550006', Body: 'hi', StatusCallback: `${receiver.origin}/cb?sb=msg_fetch` });
    const sid = res.json<{ sid: string }>().sid;
    await receiver.waitFor(2, { ref: 'msg_fetch' });
    const fetched = await emulator.app.inject({
      method: 'GET',
      url: `/2010-04-01/Accounts/${SID}/Messages/${sid}.json`,
      headers: { authorization: AUTH },
    });
    expect(fetched.statusCode).toBe(200);
    expect(fetched.json()).toMatchObject({ sid, status: 'delivered' });
    const missing = await emulator.app.inject({
      method: 'GET',
      url: `/2010-04-01/Accounts/${SID}/Messages/SM${'0'.repeat(32)}.json`,
      headers: { authorization: AUTH },
    });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ code: 20404, status: 404 });
  });

  it('retries a failed callback on the callbackRetry schedule with the same idempotency token and counts each try', async () => {
    // A fresh emulator, so callbacks of earlier tests cannot land in these counters.
    const own = await startTwilioEmulator();
    own.control.set('twilio', { dlrDelayMs: 20, callbackRetry: [100] });
    receiver.status = 500;
    await own.app.inject({
      method: 'POST',
      url: PATH,
      headers: { authorization: AUTH, 'content-type': 'application/x-www-form-urlencoded' },
      payload: form({ To: '+14155550100', From: '+15005550006', Body: 'hi', StatusCallback: `${receiver.origin}/cb?sb=msg_retry` }),
    });
    await receiver.waitFor(2, { ref: 'msg_retry' });
    receiver.status = 204;
    const all = await receiver.waitFor(4, { ref: 'msg_retry', timeoutMs: 5_000 });
    const tokens = all.map(
      (c) => `${new URLSearchParams(c.rawBody.toString()).get('MessageStatus')}:${c.headers['i-twilio-idempotency-token']}`,
    );
    expect(new Set(tokens).size).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const counters = own.control.counters('twilio');
    await own.close();
    expect(counters.callbacksFailed).toBe(2);
    expect(counters.callbacksSent).toBe(2);
  });

  it("does not retry a callback answered with a 5xx under Twilio's own policy (retry on connection failure only)", async () => {
    const own = await startTwilioEmulator();
    own.control.set('twilio', { dlrDelayMs: 20 });
    receiver.status = 503;
    try {
      await own.app.inject({
        method: 'POST',
        url: PATH,
        headers: { authorization: AUTH, 'content-type': 'application/x-www-form-urlencoded' },
        payload: form({
          To: '+14155550100',
          From: '+15005550006',
          Body: 'hi',
          StatusCallback: `${receiver.origin}/cb?sb=msg_twilio_policy`,
        }),
      });
      await receiver.waitFor(2, { ref: 'msg_twilio_policy' });
      await new Promise((resolve) => setTimeout(resolve, 1_300));
      expect(receiver.forRef('msg_twilio_policy')).toHaveLength(2);
      expect(own.control.counters('twilio')).toMatchObject({ callbacksFailed: 2, callbacksSent: 0 });
    } finally {
      receiver.status = 204;
      await own.close();
    }
  });

  it('drops callbacks while the message resource still advances to its final status', async () => {
    const own = await startTwilioEmulator();
    own.control.set('twilio', { dlrDelayMs: 20, callbacks: 'drop' });
    try {
      const res = await own.app.inject({
        method: 'POST',
        url: PATH,
        headers: { authorization: AUTH, 'content-type': 'application/x-www-form-urlencoded' },
        payload: form({ To: '+14155550100', From: '+15005550006', Body: 'hi', StatusCallback: `${receiver.origin}/cb?sb=msg_dropped` }),
      });
      const sid = (JSON.parse(res.body) as { sid: string }).sid;
      await new Promise((resolve) => setTimeout(resolve, 150));
      const read = await own.app.inject({
        method: 'GET',
        url: `${PATH.replace('Messages.json', `Messages/${sid}.json`)}`,
        headers: { authorization: AUTH },
      });
      expect((JSON.parse(read.body) as { status: string }).status).toBe('delivered');
      expect(receiver.forRef('msg_dropped')).toHaveLength(0);
      expect(own.control.counters('twilio')).toMatchObject({ callbacksFailed: 0, callbacksSent: 0 });
    } finally {
      await own.close();
    }
  });

  it('writes RFC 2822 dates with a +0000 zone', () => {
    expect(rfc2822(new Date('2023-08-24T05:01:45Z'))).toBe('Thu, 24 Aug 2023 05:01:45 +0000');
  });
});

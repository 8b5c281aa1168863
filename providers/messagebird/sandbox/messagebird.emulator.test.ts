import { createHash } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { messagebirdDatetime, signMessageBirdRequest } from './messagebird.emulator.ts';
import { startCallbackReceiver, startMessageBirdEmulator } from './messagebird.fixtures.ts';
import type { CallbackReceiver, RunningEmulator } from './messagebird.fixtures.ts';
import { MESSAGEBIRD_SANDBOX_CREDENTIALS } from './messagebird.sandbox.ts';
import { verifyMessageBirdWebhook } from '../messagebird.webhook.ts';

const AUTH = `AccessKey ${MESSAGEBIRD_SANDBOX_CREDENTIALS.accessKey}`;

describe('signMessageBirdRequest', () => {
  it('mints HS256 with iss, nbf, exp = nbf + 60, jti and url_hash, and no payload_hash without a body', async () => {
    const now = new Date('2024-06-06T09:00:00Z');
    const url = 'https://gw.example.com/webhooks/messagebird?sb=msg_1&id=abc';
    const token = await signMessageBirdRequest('k', url, undefined, now);
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'HS256', typ: 'JWT' });
    const claims = decodeJwt(token);
    expect(claims).toEqual({
      iss: 'MessageBird',
      nbf: 1_717_664_400,
      exp: 1_717_664_460,
      jti: expect.stringMatching(/^[0-9a-f-]{36}$/),
      url_hash: createHash('sha256').update(url).digest('hex'),
    });
  });

  it('adds payload_hash for a body', async () => {
    const claims = decodeJwt(await signMessageBirdRequest('k', 'https://x/', Buffer.from('Hello, World!')));
    expect(claims['payload_hash']).toBe(createHash('sha256').update('Hello, World!').digest('hex'));
  });

  it('gives every token its own jti', async () => {
    const a = decodeJwt(await signMessageBirdRequest('k', 'https://x/'));
    const b = decodeJwt(await signMessageBirdRequest('k', 'https://x/'));
    expect(a.jti).not.toBe(b.jti);
  });
});

describe('messagebirdDatetime', () => {
  it('writes RFC 3339 with a +00:00 offset', () => {
    expect(messagebirdDatetime(new Date('2024-06-06T09:22:14.123Z'))).toBe('2024-06-06T09:22:14+00:00');
  });
});

describe('registerMessageBirdEmulator', () => {
  let emulator: RunningEmulator;
  let receiver: CallbackReceiver;

  const post = (payload: unknown, authorization = AUTH, contentType = 'application/json') =>
    emulator.app.inject({
      method: 'POST',
      url: '/messages',
      headers: { authorization, 'content-type': contentType },
      payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
    });
  const message = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
    recipients: ['14155550100'],
    originator: '+15005550006',
    body: 'Your code is 123456',
    ...overrides,
  });

  beforeAll(async () => {
    emulator = await startMessageBirdEmulator();
    receiver = await startCallbackReceiver();
  });
  afterEach(() => {
    emulator.control.set('messagebird', { outage: false, errorRate: 0, errorStatus: 503, latencyMs: 0, dlr: 'delivered', dlrDelayMs: 200 });
    receiver.status = 204;
  });
  afterAll(async () => {
    await emulator.close();
    await receiver.close();
  });

  it("answers 201 with MessageBird's message resource", async () => {
    emulator.control.set('messagebird', { dlr: 'none' });
    const res = await post(message({ reference: 'msg-42', reportUrl: 'http://127.0.0.1:9/dlr', validity: 300 }));
    expect(res.statusCode).toBe(201);
    const body = res.json<Record<string, unknown>>();
    expect(body).toMatchObject({
      direction: 'mt',
      type: 'sms',
      originator: '+15005550006',
      body: 'Your code is 123456',
      reference: 'msg-42',
      reportUrl: 'http://127.0.0.1:9/dlr',
      validity: 300,
      gateway: 10,
      typeDetails: {},
      datacoding: 'plain',
      mclass: 1,
      scheduledDatetime: null,
      recipients: {
        totalCount: 1,
        totalSentCount: 1,
        totalDeliveredCount: 0,
        totalDeliveryFailedCount: 0,
        items: [{ recipient: 14155550100, status: 'sent', messagePartCount: 1 }],
      },
    });
    expect(body['id']).toMatch(/^[0-9a-f]{32}$/);
    expect(body['href']).toBe(`https://rest.messagebird.com/messages/${String(body['id'])}`);
    expect(body['createdDatetime']).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00$/);
  });

  it('takes recipients as the SDK sends them: one comma-separated string', async () => {
    emulator.control.set('messagebird', { dlr: 'none' });
    const res = await post(message({ recipients: '14155550100,14155550101' }));
    expect(res.statusCode).toBe(201);
    expect(res.json<{ recipients: { totalCount: number } }>().recipients.totalCount).toBe(2);
  });

  it('takes a form-encoded body', async () => {
    emulator.control.set('messagebird', { dlr: 'none' });
    const res = await post(
      new URLSearchParams({ recipients: '14155550100', originator: 'Switchboard', body: 'hi' }).toString(),
      AUTH,
      'application/x-www-form-urlencoded',
    );
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ originator: 'Switchboard' });
  });

  it('counts unicode parts with datacoding auto', async () => {
    emulator.control.set('messagebird', { dlr: 'none' });
    const res = await post(message({ body: 'ж'.repeat(71), datacoding: 'auto' }));
    expect(res.json<{ recipients: { items: { messagePartCount: number }[] } }>().recipients.items[0]?.messagePartCount).toBe(2);
  });

  it('serves a message by id with its latest status', async () => {
    emulator.control.set('messagebird', { dlrDelayMs: 20 });
    const res = await post(message({ reference: 'msg_fetch', reportUrl: `${receiver.origin}/dlr?sb=msg_fetch` }));
    const id = res.json<{ id: string }>().id;
    await receiver.waitFor(2, { ref: 'msg_fetch' });
    const got = await emulator.app.inject({ method: 'GET', url: `/messages/${id}`, headers: { authorization: AUTH } });
    expect(got.statusCode).toBe(200);
    expect(got.json()).toMatchObject({ id, recipients: { totalDeliveredCount: 1, items: [{ status: 'delivered' }] } });
    const missing = await emulator.app.inject({ method: 'GET', url: `/messages/${'0'.repeat(32)}`, headers: { authorization: AUTH } });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ errors: [{ code: 20, description: 'message not found', parameter: null }] });
  });

  it.each([
    ['a wrong access key', 'AccessKey nope'],
    ['a Bearer token', `Bearer ${MESSAGEBIRD_SANDBOX_CREDENTIALS.accessKey}`],
  ])("answers 401 with MessageBird's code 2 for %s", async (_name, authorization) => {
    const res = await post(message(), authorization);
    expect(res.statusCode).toBe(401);
    expect(res.json()).toEqual({
      errors: [{ code: 2, description: 'Request not allowed (incorrect access_key)', parameter: 'access_key' }],
    });
  });

  it.each([
    ['the invalid magic number', message({ recipients: ['15005550001'] }), 10, 'recipient'],
    ['the invalid magic number with its plus', message({ recipients: ['+15005550001'] }), 10, 'recipient'],
    ['a malformed recipient', message({ recipients: ['abc'] }), 10, 'recipient'],
    ['no recipients', message({ recipients: [] }), 9, 'recipient'],
    ['no originator', message({ originator: undefined }), 9, 'originator'],
    ['a long alphanumeric originator', message({ originator: 'SwitchboardX' }), 10, 'originator'],
    ['no body', message({ body: '' }), 9, 'body'],
    ['a malformed reportUrl', message({ reportUrl: 'nope' }), 10, 'reportUrl'],
  ])('answers 422 for %s', async (_name, payload, code, parameter) => {
    const res = await post(payload);
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({ errors: [{ code, parameter }] });
  });

  it('answers 400 code 21 for invalid JSON', async () => {
    const res = await post('{"recipients":');
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ errors: [{ code: 21 }] });
  });

  it('refuses numbers the sandbox table marks invalid', async () => {
    emulator.control.setNumber('+14155550110', { valid: false });
    expect((await post(message({ recipients: ['14155550110'] }))).json()).toMatchObject({ errors: [{ code: 10, parameter: 'recipient' }] });
  });

  it('answers an outage with 503 at once, ignoring latency', async () => {
    emulator.control.set('messagebird', { outage: true, latencyMs: 5_000 });
    const started = Date.now();
    const res = await post(message());
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ errors: [{ code: 99, description: 'Service Unavailable', parameter: null }] });
  });

  it('adds Retry-After to an injected 429 when the scenario sets it', async () => {
    emulator.control.set('messagebird', { errorRate: 1, errorStatus: 429, retryAfterSec: 9 });
    const res = await post(message());
    expect(res.statusCode).toBe(429);
    expect(res.headers['retry-after']).toBe('9');
  });

  it('records every request with its recipient and reference, accepting only written 201s', async () => {
    emulator.control.set('messagebird', { dlr: 'none' });
    const before = { ...emulator.control.counters('messagebird'), byStatus: { ...emulator.control.counters('messagebird').byStatus } };
    await post(message({ recipients: ['14155550120'], reference: 'msg_ref1' }));
    await post(message({ recipients: ['15005550001'], reference: 'msg_ref2' }));
    const after = emulator.control.counters('messagebird');
    expect(after.requests - before.requests).toBe(2);
    expect(after.accepted - before.accepted).toBe(1);
    expect((after.byStatus['422'] ?? 0) - (before.byStatus['422'] ?? 0)).toBe(1);
    const [second, first] = emulator.control.entries.slice(-2).reverse();
    expect(first).toMatchObject({
      provider: 'messagebird',
      method: 'POST',
      path: '/messages',
      to: '+14155550120',
      reference: 'msg_ref1',
      status: 201,
    });
    // The text the handset shows, on accepted sends only.
    expect(first?.body).toBe(String(message({})['body']));
    expect(second).toMatchObject({ to: '+15005550001', reference: 'msg_ref2', status: 422 });
    expect(second?.body).toBeUndefined();
  });

  it('GETs signed reports sent then delivered, with the report in the query string', async () => {
    emulator.control.set('messagebird', { dlrDelayMs: 40 });
    const res = await post(message({ reference: 'msg_dlr', reportUrl: `${receiver.origin}/webhooks/messagebird?sb=msg_dlr` }));
    const id = res.json<{ id: string }>().id;
    const callbacks = await receiver.waitFor(2, { ref: 'msg_dlr' });
    for (const c of callbacks) {
      expect(c.method).toBe('GET');
      expect(c.rawBody).toHaveLength(0);
      expect(
        c.publicUrl.startsWith(
          `${receiver.origin}/webhooks/messagebird?sb=msg_dlr&id=${id}&reference=msg_dlr&recipient=14155550100&status=`,
        ),
      ).toBe(true);
      expect(await verifyMessageBirdWebhook(MESSAGEBIRD_SANDBOX_CREDENTIALS.signingKey, c)).toBe(true);
      expect(decodeJwt(c.headers['messagebird-signature-jwt'] ?? '')).not.toHaveProperty('payload_hash');
    }
    expect(callbacks.map((c) => [c.query['status'], c.query['statusReason'], c.query['statusErrorCode']])).toEqual([
      ['sent', 'pending DLR', ''],
      ['delivered', 'successfully delivered', ''],
    ]);
    expect(callbacks[1]?.query['statusDatetime']).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+00:00$/);
    expect(callbacks[1]?.publicUrl).toContain(
      'statusDatetime=' + encodeURIComponent(callbacks[1]?.query['statusDatetime'] ?? '').replaceAll('%20', '+'),
    );
  });

  it('reports delivery_failed with the scenario error code and its reason', async () => {
    emulator.control.set('messagebird', { dlr: 'undelivered', dlrErrorCode: '1', dlrDelayMs: 20 });
    await post(message({ reference: 'msg_fail', reportUrl: `${receiver.origin}/dlr?sb=msg_fail` }));
    const callbacks = await receiver.waitFor(2, { ref: 'msg_fail' });
    expect(callbacks[1]?.query).toMatchObject({ status: 'delivery_failed', statusReason: 'unknown subscriber', statusErrorCode: '1' });
  });

  it('carries the sandbox number’s mccmnc and ported flag', async () => {
    emulator.control.setNumber('+14155550130', { mccmnc: '310260', ported: true });
    emulator.control.set('messagebird', { dlrDelayMs: 20 });
    await post(message({ recipients: ['14155550130'], reference: 'msg_net', reportUrl: `${receiver.origin}/dlr?sb=msg_net` }));
    const [callback] = await receiver.waitFor(1, { ref: 'msg_net' });
    expect(callback?.query).toMatchObject({ mccmnc: '310260', ported: '1' });
  });

  it('sends no reports without a reference or without the scenario', async () => {
    emulator.control.set('messagebird', { dlrDelayMs: 10 });
    await post(message({ reportUrl: `${receiver.origin}/dlr?sb=msg_noref` }));
    emulator.control.set('messagebird', { dlr: 'none' });
    await post(message({ reference: 'msg_none', reportUrl: `${receiver.origin}/dlr?sb=msg_none` }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(receiver.forRef('msg_noref')).toHaveLength(0);
    expect(receiver.forRef('msg_none')).toHaveLength(0);
  });

  it('retries a failed report, re-signed, and counts each try', async () => {
    // A fresh emulator, so reports of earlier tests cannot land in these counters.
    const own = await startMessageBirdEmulator();
    own.control.set('messagebird', { dlrDelayMs: 20 });
    try {
      receiver.status = 500;
      await own.app.inject({
        method: 'POST',
        url: '/messages',
        headers: { authorization: AUTH, 'content-type': 'application/json' },
        payload: JSON.stringify(message({ reference: 'msg_retry', reportUrl: `${receiver.origin}/dlr?sb=msg_retry` })),
      });
      await receiver.waitFor(2, { ref: 'msg_retry' });
      receiver.status = 204;
      const all = await receiver.waitFor(4, { ref: 'msg_retry', timeoutMs: 5_000 });
      const jtis = new Set(all.map((c) => decodeJwt(c.headers['messagebird-signature-jwt'] ?? '').jti));
      expect(jtis.size).toBe(all.length);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(own.control.counters('messagebird')).toMatchObject({ callbacksFailed: 2, callbacksSent: 2 });
    } finally {
      await own.close();
    }
  });
});

import Fastify from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createFakeSandboxControl } from '../../sandbox-kit/sandbox-control.fake.ts';
import { FCM_ERROR_DETAIL_TYPE, fcmErrorForStatus, registerFcmEmulator } from './fcm.emulator.ts';
import { startCallbackReceiver, startFcmEmulator } from './fcm.fixtures.ts';
import type { CallbackReceiver, RunningFcmEmulator } from './fcm.fixtures.ts';

const PATH = '/v1/projects/demo-project/messages:send';
const HEADERS = {
  host: 'fcm.googleapis.com',
  authorization: 'Bearer sandbox-fcm-access-token',
  'content-type': 'application/json;charset=utf-8',
};
const DEFAULT_SCENARIO = { outage: false, errorRate: 0, errorStatus: 503, latencyMs: 0, dlr: 'delivered', dlrDelayMs: 200 } as const;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('fcmErrorForStatus', () => {
  it("writes Google's error envelope with the FcmError code firebase-admin maps", () => {
    expect(fcmErrorForStatus(404)).toEqual({
      error: {
        code: 404,
        message: 'Requested entity was not found.',
        status: 'NOT_FOUND',
        details: [{ '@type': FCM_ERROR_DETAIL_TYPE, errorCode: 'UNREGISTERED' }],
      },
    });
    expect(fcmErrorForStatus(429).error).toMatchObject({ status: 'RESOURCE_EXHAUSTED', details: [{ errorCode: 'QUOTA_EXCEEDED' }] });
    expect(fcmErrorForStatus(500).error).toMatchObject({ status: 'INTERNAL', details: [{ errorCode: 'INTERNAL' }] });
    expect(fcmErrorForStatus(503).error).toMatchObject({ status: 'UNAVAILABLE', details: [{ errorCode: 'UNAVAILABLE' }] });
    // An OAuth failure is Google's, not FCM's: no FcmError detail.
    expect(fcmErrorForStatus(401).error).not.toHaveProperty('details');
    expect(fcmErrorForStatus(502).error).toMatchObject({ code: 502, details: [{ errorCode: 'UNSPECIFIED_ERROR' }] });
  });
});

describe('registerFcmEmulator', () => {
  let emulator: RunningFcmEmulator;
  let receiver: CallbackReceiver;
  let n = 0;

  const message = (token: string, extra: Record<string, unknown> = {}): Record<string, unknown> => {
    n += 1;
    return {
      token,
      data: { sb_message_id: `msg_em${n}`, sb_ack_token: `ack${n}`, sb_ack_url: `${receiver.origin}/v1/push/ack` },
      notification: { body: 'Your code is 123456' },
      ...extra,
    };
  };
  const post = (payload: unknown, headers: Record<string, string> = HEADERS, url = PATH) =>
    emulator.app.inject({ method: 'POST', url, headers, payload: typeof payload === 'string' ? payload : JSON.stringify(payload) });

  beforeAll(async () => {
    emulator = await startFcmEmulator();
    receiver = await startCallbackReceiver();
  });
  afterEach(() => {
    emulator.control.set('fcm', { ...DEFAULT_SCENARIO, retryAfterSec: undefined });
    receiver.received.length = 0;
  });
  afterAll(async () => {
    await emulator.close();
    await receiver.close();
  });

  it('accepts a token message with FCM message name, recording token, reference and the text shown', async () => {
    const msg = message('tok-ok');
    const res = await post({ message: msg });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.json()).toEqual({ name: expect.stringMatching(/^projects\/demo-project\/messages\/0:\d+%[0-9a-f]{16}$/) });
    expect(emulator.control.entries.at(-1)).toMatchObject({
      provider: 'fcm',
      method: 'POST',
      path: PATH,
      to: 'tok-ok',
      reference: (msg['data'] as Record<string, string>)['sb_message_id'],
      body: 'Your code is 123456',
      status: 200,
    });
  });

  it('serves only requests for Host fcm.googleapis.com (Sinch Conversation shares the path)', async () => {
    const before = emulator.control.counters('fcm').requests;
    expect((await post({ message: message('tok-ok') }, { ...HEADERS, host: '127.0.0.1:3100' })).statusCode).toBe(404);
    expect(emulator.control.counters('fcm').requests).toBe(before);
    expect((await post({ message: message('tok-ok') }, { ...HEADERS, host: 'fcm.googleapis.com:443' })).statusCode).toBe(200);
  });

  it('lets an unconstrained route on the same path serve every other host', async () => {
    const app = Fastify();
    app.post('/v1/projects/:projectId/messages::send', async () => ({ served: 'sinch-conversation' }));
    registerFcmEmulator(app, createFakeSandboxControl());
    const payload = JSON.stringify({ message: { token: 't' } });
    const fcm = await app.inject({ method: 'POST', url: PATH, headers: HEADERS, payload });
    const other = await app.inject({ method: 'POST', url: PATH, headers: { ...HEADERS, host: 'us.conversation.api.sinch.com' }, payload });
    expect(fcm.json()).toHaveProperty('name');
    expect(other.json()).toEqual({ served: 'sinch-conversation' });
    await app.close();
  });

  it('requires the Bearer access token (401 UNAUTHENTICATED)', async () => {
    const { authorization: _a, ...noAuth } = HEADERS;
    for (const headers of [noAuth, { ...HEADERS, authorization: 'Bearer guessed' }, { ...HEADERS, authorization: 'Basic c2FuZGJveA==' }]) {
      const res = await post({ message: message('tok-ok') }, headers);
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({ error: { code: 401, status: 'UNAUTHENTICATED' } });
    }
  });

  it('refuses a project the credential may not use (403 PERMISSION_DENIED)', async () => {
    const res = await post({ message: message('tok-ok') }, HEADERS, '/v1/projects/someone-else/messages:send');
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ error: { status: 'PERMISSION_DENIED' } });
  });

  it.each([
    ['no message', {}],
    ['two targets', { message: { token: 't', topic: 'news' } }],
    ['no target', { message: { data: {} } }],
    ['a non-string data value', { message: { token: 't', data: { n: 1 } } }],
    ['a TTL that is not a duration', { message: { token: 't', android: { ttl: 300 } } }],
    ['an empty token', { message: { token: '' } }],
  ])('answers 400 INVALID_ARGUMENT for %s', async (_name, body) => {
    const res = await post(body);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({
      error: {
        code: 400,
        status: 'INVALID_ARGUMENT',
        details: expect.arrayContaining([{ '@type': FCM_ERROR_DETAIL_TYPE, errorCode: 'INVALID_ARGUMENT' }]),
      },
    });
  });

  it('answers malformed JSON in FCM shape and records it', async () => {
    const before = emulator.control.counters('fcm').requests;
    const res = await post('{"message":');
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: { status: 'INVALID_ARGUMENT' } });
    expect(emulator.control.counters('fcm').requests).toBe(before + 1);
  });

  it.each([
    ['unregistered', 404, 'NOT_FOUND', 'UNREGISTERED'],
    ['invalid', 400, 'INVALID_ARGUMENT', 'INVALID_ARGUMENT'],
    ['unavailable', 503, 'UNAVAILABLE', 'UNAVAILABLE'],
  ] as const)('answers a %s token with %i %s', async (result, status, grpcStatus, errorCode) => {
    emulator.setPushToken(`tok-${result}`, { result, autoAckMs: 10 });
    const res = await post({ message: message(`tok-${result}`) });
    expect(res.statusCode).toBe(status);
    expect(res.json()).toMatchObject({
      error: { code: status, status: grpcStatus, details: [{ '@type': FCM_ERROR_DETAIL_TYPE, errorCode }] },
    });
    const entry = emulator.control.entries.at(-1);
    expect(entry).toMatchObject({ to: `tok-${result}`, status });
    expect(entry).not.toHaveProperty('body');
    await sleep(60);
    expect(receiver.received).toHaveLength(0);
  });

  it('answers an outage with 503 UNAVAILABLE at once, with Retry-After only when the scenario sets it', async () => {
    emulator.control.set('fcm', { outage: true, latencyMs: 5_000 });
    const plain = await post({ message: message('tok-ok') });
    expect(plain.statusCode).toBe(503);
    expect(plain.headers['retry-after']).toBeUndefined();
    expect(plain.json()).toMatchObject({ error: { status: 'UNAVAILABLE' } });
    emulator.control.set('fcm', { retryAfterSec: 1 });
    expect((await post({ message: message('tok-ok') })).headers['retry-after']).toBe('1');
  });

  it('injects the scenario error status in FCM dialect (429 QUOTA_EXCEEDED with Retry-After)', async () => {
    emulator.control.set('fcm', { errorRate: 1, errorStatus: 429, retryAfterSec: 7 });
    const res = await post({ message: message('tok-ok') });
    expect(res.statusCode).toBe(429);
    expect(res.headers['retry-after']).toBe('7');
    expect(res.json()).toMatchObject({ error: { status: 'RESOURCE_EXHAUSTED', details: [{ errorCode: 'QUOTA_EXCEEDED' }] } });
  });

  it('waits the scenario latency', async () => {
    emulator.control.set('fcm', { latencyMs: 120 });
    const started = Date.now();
    expect((await post({ message: message('tok-ok') })).statusCode).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(110);
  });

  it('answers validate_only like FCM (fake_message_id) without reaching the device', async () => {
    emulator.setPushToken('tok-dry', { result: 'ok', autoAckMs: 10 });
    const res = await post({ message: message('tok-dry'), validate_only: true });
    expect(res.json()).toEqual({ name: 'projects/demo-project/messages/fake_message_id' });
    await sleep(60);
    expect(receiver.received).toHaveLength(0);
  });

  it('accepts topic messages (no device behind them)', async () => {
    const res = await post({ message: { topic: 'news', notification: { body: 'hi' } } });
    expect(res.statusCode).toBe(200);
    expect(emulator.control.entries.at(-1)).toMatchObject({ to: 'news', status: 200 });
  });

  it('counts a fully written 200 as an accepted send', async () => {
    const before = { ...emulator.control.counters('fcm') };
    await post({ message: message('tok-ok') });
    await emulator.app.inject({ method: 'POST', url: PATH, headers: { ...HEADERS, authorization: 'Bearer x' }, payload: '{}' });
    const after = emulator.control.counters('fcm');
    expect(after.requests - before.requests).toBe(2);
    expect(after.accepted - before.accepted).toBe(1);
  });

  it('has the device post its ack after autoAckMs to sb_ack_url, counted as a callback', async () => {
    emulator.setPushToken('tok-acks', { result: 'ok', autoAckMs: 50 });
    const msg = message('tok-acks');
    const data = msg['data'] as Record<string, string>;
    const before = emulator.control.counters('fcm').callbacksSent;
    await post({ message: msg });
    const [ack] = await receiver.waitFor(1);
    expect(ack?.method).toBe('POST');
    expect(JSON.parse(ack?.rawBody.toString('utf8') ?? '')).toEqual({ messageId: data['sb_message_id'], ackToken: data['sb_ack_token'] });
    await expect.poll(() => emulator.control.counters('fcm').callbacksSent).toBe(before + 1);
  });

  it('does not ack without an http(s) sb_ack_url', async () => {
    emulator.setPushToken('tok-acks2', { result: 'ok', autoAckMs: 10 });
    await post({ message: { token: 'tok-acks2', data: { sb_message_id: 'm', sb_ack_token: 'a' } } });
    await post({ message: { token: 'tok-acks2', data: { sb_message_id: 'm', sb_ack_token: 'a', sb_ack_url: 'file:///etc/passwd' } } });
    await sleep(60);
    expect(receiver.received).toHaveLength(0);
  });
});

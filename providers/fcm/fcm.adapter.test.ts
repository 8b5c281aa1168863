import { generateKeyPairSync } from 'node:crypto';
import { getApps } from 'firebase-admin/app';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isProviderError } from '../errors.ts';
import type { ProviderError } from '../errors.ts';
import type { ProviderAdapter, SendRequest } from '../provider.ts';
import { buildFcmMessage, createFcmAdapter, fcmConnectTarget } from './fcm.adapter.ts';
import { fcmConfigSchema } from './fcm.config.ts';
import { isUnregisteredToken } from './fcm.errors.ts';
import { startCallbackReceiver, startFcmEmulator } from './sandbox/fcm.fixtures.ts';
import type { CallbackReceiver, RunningFcmEmulator } from './sandbox/fcm.fixtures.ts';
import { FCM_SANDBOX_CREDENTIALS } from './sandbox/fcm.sandbox.ts';

const config = fcmConfigSchema.parse({ ...FCM_SANDBOX_CREDENTIALS });
const DEFAULT_SCENARIO = { outage: false, errorRate: 0, errorStatus: 503, latencyMs: 0, dlr: 'delivered', dlrDelayMs: 200 } as const;

async function sendError(adapter: ProviderAdapter, req: SendRequest): Promise<ProviderError> {
  try {
    await adapter.send(req);
  } catch (err) {
    if (isProviderError(err)) return err;
    throw new Error(`send rejected with something other than a ProviderError: ${String(err)}`);
  }
  throw new Error('expected the send to fail');
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('buildFcmMessage', () => {
  const base: SendRequest & { push: NonNullable<SendRequest['push']> } = {
    messageId: 'msg_1',
    attempt: 1,
    channel: 'push',
    to: '+14155550100',
    body: 'Your code is 123456',
    statusCallbackUrl: 'http://127.0.0.1/unused',
    push: { token: 'tok', data: { sb_message_id: 'msg_1' } },
  };

  it('sends the text as the notification body, data as given, high priority on Android and APNs', () => {
    expect(buildFcmMessage(base)).toEqual({
      token: 'tok',
      data: { sb_message_id: 'msg_1' },
      notification: { body: 'Your code is 123456' },
      android: { priority: 'high' },
      apns: { headers: { 'apns-priority': '10' } },
    });
  });

  it('adds the title and makes the validity the Android TTL and the APNs expiration', () => {
    const now = new Date('2030-01-01T00:00:00Z');
    expect(buildFcmMessage({ ...base, validitySeconds: 300, push: { ...base.push, title: 'Sign in' } }, now)).toMatchObject({
      notification: { title: 'Sign in', body: 'Your code is 123456' },
      android: { priority: 'high', ttl: 300_000 },
      apns: { headers: { 'apns-priority': '10', 'apns-expiration': String(now.getTime() / 1000 + 300) } },
    });
  });
});

describe('fcmConnectTarget', () => {
  it('takes host and port from the sandbox URL, defaulting to 80', () => {
    expect(fcmConnectTarget('http://127.0.0.1:3100')).toEqual({ host: '127.0.0.1', port: 3100 });
    expect(fcmConnectTarget('http://sandbox')).toEqual({ host: 'sandbox', port: 80 });
    expect(fcmConnectTarget('http://[::1]:3100/')).toEqual({ host: '::1', port: 3100 });
    expect(() => fcmConnectTarget('https://sandbox')).toThrow(/http:/);
  });
});

describe('createFcmAdapter against the emulator (real firebase-admin over loopback)', () => {
  let emulator: RunningFcmEmulator;
  let receiver: CallbackReceiver;
  let adapter: ProviderAdapter;
  let n = 0;

  const request = (token: string, overrides: Partial<SendRequest> = {}): SendRequest => {
    n += 1;
    const messageId = `msg_fcm${n}`;
    return {
      messageId,
      attempt: 1,
      channel: 'push',
      to: '+14155550100',
      body: 'Your code is 123456',
      statusCallbackUrl: 'http://127.0.0.1:1/unused',
      push: {
        token,
        title: 'Sign-in code',
        data: { sb_message_id: messageId, sb_ack_token: `ack-${messageId}`, sb_ack_url: `${receiver.origin}/v1/push/ack` },
      },
      ...overrides,
    };
  };

  beforeAll(async () => {
    emulator = await startFcmEmulator();
    receiver = await startCallbackReceiver();
    adapter = createFcmAdapter(config, { baseUrl: emulator.baseUrl, timeoutMs: 10_000 });
  });
  afterEach(() => {
    emulator.control.set('fcm', { ...DEFAULT_SCENARIO, retryAfterSec: undefined });
    receiver.received.length = 0;
    receiver.status = 204;
  });
  afterAll(async () => {
    await adapter.close?.();
    await emulator.close();
    await receiver.close();
  });

  it('returns FCM message name, sent, on our clock', async () => {
    const before = Date.now();
    const result = await adapter.send(request('device-ok'));
    expect(result.providerMessageId).toMatch(/^projects\/demo-project\/messages\/0:\d+%[0-9a-f]{16}$/);
    expect(result.status).toBe('sent');
    expect(result.acceptedAt.getTime()).toBeGreaterThanOrEqual(before);
  });

  it('sends the documented request: path, Host, Bearer, JSON message with token, data, notification, TTL', async () => {
    const req = request('device-wire', { validitySeconds: 120 });
    await adapter.send(req);
    const wire = emulator.captured.at(-1);
    expect(wire).toMatchObject({ method: 'POST', path: '/v1/projects/demo-project/messages:send' });
    expect(wire?.headers).toMatchObject({
      host: 'fcm.googleapis.com',
      authorization: 'Bearer sandbox-fcm-access-token',
      'content-type': 'application/json;charset=utf-8',
    });
    expect(wire?.body).toEqual({
      message: {
        token: 'device-wire',
        data: req.push?.data,
        notification: { title: 'Sign-in code', body: req.body },
        android: { priority: 'high', ttl: '120s' },
        apns: { headers: { 'apns-priority': '10', 'apns-expiration': expect.stringMatching(/^\d{10}$/) } },
      },
    });
    expect(emulator.control.entries.at(-1)).toMatchObject({
      provider: 'fcm',
      method: 'POST',
      to: 'device-wire',
      reference: req.messageId,
      body: req.body,
      status: 200,
    });
    expect(emulator.control.counters('fcm').accepted).toBeGreaterThanOrEqual(1);
  });

  it('classifies an unregistered token as permanent/channel UNREGISTERED, a token to drop', async () => {
    emulator.setPushToken('device-gone', { result: 'unregistered' });
    const err = await sendError(adapter, request('device-gone'));
    expect(err).toMatchObject({
      kind: 'permanent',
      scope: 'channel',
      providerCode: 'UNREGISTERED',
      httpStatus: 404,
      ambiguous: false,
      countsAgainstBreaker: false,
    });
    expect(isUnregisteredToken(err)).toBe(true);
  });

  it('classifies an invalid token as permanent/channel INVALID_ARGUMENT, not a token to drop', async () => {
    emulator.setPushToken('device-bad', { result: 'invalid' });
    const err = await sendError(adapter, request('device-bad'));
    expect(err).toMatchObject({ kind: 'permanent', scope: 'channel', providerCode: 'INVALID_ARGUMENT', httpStatus: 400 });
    expect(isUnregisteredToken(err)).toBe(false);
  });

  it('classifies 500 INTERNAL as retryable, with one request (the SDK retries only 503)', async () => {
    emulator.control.set('fcm', { errorRate: 1, errorStatus: 500 });
    const before = emulator.control.counters('fcm').requests;
    const err = await sendError(adapter, request('device-ok'));
    expect(err).toMatchObject({
      kind: 'retryable',
      providerCode: 'INTERNAL',
      httpStatus: 500,
      ambiguous: false,
      countsAgainstBreaker: true,
    });
    expect(emulator.control.counters('fcm').requests - before).toBe(1);
  });

  it('classifies 429 QUOTA_EXCEEDED as rate_limited with Retry-After, with one request', async () => {
    emulator.control.set('fcm', { errorRate: 1, errorStatus: 429, retryAfterSec: 2 });
    const before = emulator.control.counters('fcm').requests;
    const err = await sendError(adapter, request('device-ok'));
    expect(err).toMatchObject({
      kind: 'rate_limited',
      providerCode: 'QUOTA_EXCEEDED',
      httpStatus: 429,
      retryAfterMs: 2_000,
      countsAgainstBreaker: false,
    });
    expect(emulator.control.counters('fcm').requests - before).toBe(1);
  });

  it('lets firebase-admin retry 503 itself, honouring Retry-After, before classifying it retryable', async () => {
    emulator.setPushToken('device-busy', { result: 'unavailable' });
    emulator.control.set('fcm', { retryAfterSec: 1 });
    const before = emulator.control.counters('fcm').requests;
    const started = Date.now();
    const err = await sendError(adapter, request('device-busy'));
    // 1 + 4 retries, each after the 1 s Retry-After (reference §4.2).
    expect(emulator.control.counters('fcm').requests - before).toBe(5);
    expect(Date.now() - started).toBeGreaterThanOrEqual(3_900);
    expect(err).toMatchObject({ kind: 'retryable', providerCode: 'UNAVAILABLE', httpStatus: 503, ambiguous: false });
  });

  it('stops the SDK retrying an outage at the adapter timeout, as a non-ambiguous 503', async () => {
    emulator.control.set('fcm', { outage: true });
    const short = createFcmAdapter(config, { baseUrl: emulator.baseUrl, timeoutMs: 1_500 });
    try {
      const before = emulator.control.counters('fcm').requests;
      const started = Date.now();
      const err = await sendError(short, request('device-ok'));
      expect(Date.now() - started).toBeLessThan(2_500);
      expect(err).toMatchObject({ kind: 'retryable', httpStatus: 503, providerCode: 'UNAVAILABLE', ambiguous: false });
      const made = emulator.control.counters('fcm').requests - before;
      // Back-off 0 s then 1 s: three tries by 1.5 s; the retry due at 3 s never leaves.
      expect(made).toBe(3);
      await sleep(2_000);
      expect(emulator.control.counters('fcm').requests - before).toBe(made);
    } finally {
      await short.close?.();
    }
  });

  it('classifies a timeout as retryable and ambiguous, gives up within it and cancels the request', async () => {
    emulator.control.set('fcm', { latencyMs: 1_000 });
    const slow = createFcmAdapter(config, { baseUrl: emulator.baseUrl, timeoutMs: 100 });
    try {
      const { requests, accepted } = emulator.control.counters('fcm');
      const started = Date.now();
      const err = await sendError(slow, request('device-ok'));
      expect(Date.now() - started).toBeLessThan(900);
      expect(err).toMatchObject({ kind: 'retryable', ambiguous: true });
      await sleep(1_300);
      // The one request was cut (its answer never written, so not accepted) and not retried.
      expect(emulator.control.counters('fcm')).toMatchObject({ requests: requests + 1, accepted });
    } finally {
      await slow.close?.();
    }
  });

  it('aborts through the request signal as retryable and ambiguous', async () => {
    emulator.control.set('fcm', { latencyMs: 1_000 });
    const err = await sendError(adapter, request('device-ok', { signal: AbortSignal.timeout(50) }));
    expect(err).toMatchObject({ kind: 'retryable', ambiguous: true });
  });

  it('refuses an already aborted signal without a request', async () => {
    const before = emulator.control.counters('fcm').requests;
    const err = await sendError(adapter, request('device-ok', { signal: AbortSignal.abort() }));
    expect(err).toMatchObject({ kind: 'retryable', ambiguous: false });
    expect(emulator.control.counters('fcm').requests).toBe(before);
  });

  it('classifies a refused access token as auth (401 UNAUTHENTICATED)', async () => {
    const other = await startFcmEmulator({ accessToken: 'another-token' });
    const a = createFcmAdapter(config, { baseUrl: other.baseUrl, timeoutMs: 5_000 });
    try {
      expect(await sendError(a, request('device-ok'))).toMatchObject({ kind: 'auth', providerCode: 'UNAUTHENTICATED', httpStatus: 401 });
    } finally {
      await a.close?.();
      await other.close();
    }
  });

  it('classifies a project the credential may not use as auth (403 PERMISSION_DENIED)', async () => {
    const a = createFcmAdapter(fcmConfigSchema.parse({ projectId: 'someone-else' }), { baseUrl: emulator.baseUrl, timeoutMs: 5_000 });
    try {
      expect(await sendError(a, request('device-ok'))).toMatchObject({ kind: 'auth', providerCode: 'PERMISSION_DENIED', httpStatus: 403 });
    } finally {
      await a.close?.();
    }
  });

  it('refuses a send without a push token, or on another channel, as permanent/channel', async () => {
    const { push: _push, ...noPush } = request('x');
    expect(await sendError(adapter, noPush)).toMatchObject({ kind: 'permanent', scope: 'channel', providerCode: 'NO_TOKEN' });
    expect(await sendError(adapter, request(''))).toMatchObject({ kind: 'permanent', scope: 'channel', providerCode: 'NO_TOKEN' });
    expect(await sendError(adapter, request('x', { channel: 'sms' }))).toMatchObject({ kind: 'permanent', scope: 'channel' });
  });

  it('acks through the device: POSTs {messageId, ackToken} as JSON to sb_ack_url after autoAckMs', async () => {
    emulator.setPushToken('device-acks', { result: 'ok', autoAckMs: 80 });
    const req = request('device-acks');
    const sentAt = Date.now();
    await adapter.send(req);
    const [ack] = await receiver.waitFor(1);
    expect(ack?.receivedAt ?? 0).toBeGreaterThanOrEqual(sentAt + 70);
    expect(ack).toMatchObject({ method: 'POST', publicUrl: `${receiver.origin}/v1/push/ack` });
    expect(ack?.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(ack?.rawBody.toString('utf8') ?? '')).toEqual({ messageId: req.messageId, ackToken: `ack-${req.messageId}` });
    await expect.poll(() => emulator.control.counters('fcm').callbacksSent).toBeGreaterThanOrEqual(1);
  });

  it('counts a refused ack as a failed callback', async () => {
    emulator.setPushToken('device-acks-refused', { result: 'ok', autoAckMs: 10 });
    receiver.status = 401;
    const before = emulator.control.counters('fcm').callbacksFailed;
    await adapter.send(request('device-acks-refused'));
    await receiver.waitFor(1);
    await expect.poll(() => emulator.control.counters('fcm').callbacksFailed).toBe(before + 1);
  });

  it('does not ack when the token has no autoAckMs', async () => {
    await adapter.send(request('device-silent'));
    await sleep(300);
    expect(receiver.received).toHaveLength(0);
  });

  it('has no carrier callbacks: verifyWebhook is false and parseWebhook empty', async () => {
    const raw = { method: 'POST', publicUrl: 'http://127.0.0.1/webhooks/fcm', headers: {}, query: {}, rawBody: Buffer.from('{}') };
    expect(await adapter.verifyWebhook(raw)).toBe(false);
    expect(adapter.parseWebhook(raw)).toEqual([]);
    expect(adapter.channels).toEqual(['push']);
  });

  it('owns a uniquely named firebase-admin app per adapter and deletes it on close', async () => {
    const names = (): string[] => getApps().map((a) => a.name);
    const a = createFcmAdapter(config, { baseUrl: emulator.baseUrl, timeoutMs: 5_000 });
    const b = createFcmAdapter(config, { baseUrl: emulator.baseUrl, timeoutMs: 5_000 });
    const added = names().filter((name) => name.startsWith('switchboard-fcm-'));
    expect(new Set(added).size).toBe(added.length);
    expect((await a.send(request('device-ok'))).status).toBe('sent');
    const count = names().length;
    await a.close?.();
    await a.close?.();
    expect(names()).toHaveLength(count - 1);
    expect(await sendError(a, request('device-ok'))).toMatchObject({ kind: 'retryable' });
    expect((await b.send(request('device-ok'))).status).toBe('sent');
    await b.close?.();
  });
});

describe('createFcmAdapter in live mode', () => {
  const serviceAccount = (): string => {
    const { privateKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    return JSON.stringify({
      type: 'service_account',
      project_id: 'acme-auth-prod',
      client_email: 'fcm@acme-auth-prod.iam.gserviceaccount.com',
      private_key: privateKey,
    });
  };

  it('refuses to be built without a service account', () => {
    expect(() => createFcmAdapter(config, { timeoutMs: 1_000 })).toThrow(/serviceAccount/);
  });

  it('builds from a service-account key for its project, and closes', async () => {
    const live = fcmConfigSchema.parse({ serviceAccount: serviceAccount() });
    expect(live.projectId).toBe('acme-auth-prod');
    const adapter = createFcmAdapter(live, { timeoutMs: 1_000 });
    expect(getApps().some((a) => a.options.projectId === 'acme-auth-prod')).toBe(true);
    await adapter.close?.();
    expect(getApps().some((a) => a.options.projectId === 'acme-auth-prod')).toBe(false);
  });
});

import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TWILIO_SANDBOX_CREDENTIALS, isProviderError, providerModules, twilioProvider } from '../../providers/index.ts';
import type { SandboxLogEntry } from '../../providers/index.ts';
import { createSandboxControl, defaultScenario } from './sandbox-control.ts';
import { createSandboxServer } from './sandbox.server.ts';
import type { SandboxServer } from './sandbox.server.ts';

const TWILIO_PATH = `/2010-04-01/Accounts/${TWILIO_SANDBOX_CREDENTIALS.accountSid}/Messages.json`;
const TWILIO_AUTH =
  'Basic ' + Buffer.from(`${TWILIO_SANDBOX_CREDENTIALS.accountSid}:${TWILIO_SANDBOX_CREDENTIALS.authToken}`).toString('base64');

describe('sandbox scenario API', () => {
  let sandbox: SandboxServer;

  beforeEach(() => {
    sandbox = createSandboxServer({ providers: Object.values(providerModules) });
  });
  afterEach(async () => {
    await sandbox.app.close();
  });

  const twilioSend = (to: string, reference = 'msg_x') =>
    sandbox.app.inject({
      method: 'POST',
      url: TWILIO_PATH,
      headers: { authorization: TWILIO_AUTH, 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({
        To: to,
        From: '+15005550006',
        Body: 'hi',
        StatusCallback: `http://127.0.0.1:9/cb?sb=${reference}`,
      }).toString(),
    });

  describe('providers', () => {
    it('answers defaults and zeroed counters for an untouched provider', async () => {
      const res = await sandbox.app.inject({ method: 'GET', url: '/_sandbox/providers/sinch' });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({
        id: 'sinch',
        settings: {
          outage: false,
          errorRate: 0,
          errorStatus: 503,
          latencyMs: 0,
          dlr: 'delivered',
          dlrDelayMs: 200,
          callbacks: 'post',
          callbackRetry: 'carrier',
        },
        counters: { requests: 0, accepted: 0, rejected: 0, byStatus: {}, callbacksSent: 0, callbacksFailed: 0 },
      });
    });

    it('merges settings and answers the full settings', async () => {
      const first = await sandbox.app.inject({
        method: 'PUT',
        url: '/_sandbox/providers/twilio',
        payload: { latencyMs: 25, retryAfterSec: 3 },
      });
      expect(first.statusCode).toBe(200);
      expect(first.json()).toEqual({ ...defaultScenario(), latencyMs: 25, retryAfterSec: 3 });
      const second = await sandbox.app.inject({
        method: 'PUT',
        url: '/_sandbox/providers/twilio',
        payload: { dlr: 'undelivered', dlrErrorCode: 30005 },
      });
      expect(second.json()).toEqual({ ...defaultScenario(), latencyMs: 25, retryAfterSec: 3, dlr: 'undelivered', dlrErrorCode: '30005' });
      const got = await sandbox.app.inject({ method: 'GET', url: '/_sandbox/providers/twilio' });
      expect(got.json<{ settings: unknown }>().settings).toEqual(second.json());
    });

    it('sets lost callbacks and a retry schedule, and restores the carrier schedule with null', async () => {
      const set = await sandbox.app.inject({
        method: 'PUT',
        url: '/_sandbox/providers/sinch',
        payload: { callbacks: 'drop', callbackRetry: [100, 1_000] },
      });
      expect(set.json()).toEqual({ ...defaultScenario(), callbacks: 'drop', callbackRetry: [100, 1_000] });
      const back = await sandbox.app.inject({
        method: 'PUT',
        url: '/_sandbox/providers/sinch',
        payload: { callbacks: 'post', callbackRetry: null },
      });
      expect(back.json()).toEqual(defaultScenario());
    });

    it('clears an optional setting with null', async () => {
      await sandbox.app.inject({ method: 'PUT', url: '/_sandbox/providers/twilio', payload: { retryAfterSec: 3 } });
      const res = await sandbox.app.inject({ method: 'PUT', url: '/_sandbox/providers/twilio', payload: { retryAfterSec: null } });
      expect(res.json()).toEqual(defaultScenario());
    });

    it('accepts an empty PUT as a no-op', async () => {
      const res = await sandbox.app.inject({ method: 'PUT', url: '/_sandbox/providers/twilio' });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual(defaultScenario());
    });

    it.each([
      ['an error rate above 1', { errorRate: 1.5 }],
      ['a negative latency', { latencyMs: -1 }],
      ['an unknown dlr outcome', { dlr: 'maybe' }],
      ['a non-error status', { errorStatus: 200 }],
      ['an unknown field', { latency: 10 }],
      ['a wrongly typed outage', { outage: 'yes' }],
      ['an unknown callbacks mode', { callbacks: 'lose' }],
      ['a negative callback retry delay', { callbackRetry: [-1] }],
    ])('refuses %s with 400 SB_VALIDATION_FAILED', async (_name, payload) => {
      const res = await sandbox.app.inject({ method: 'PUT', url: '/_sandbox/providers/twilio', payload });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ error: { code: 'SB_VALIDATION_FAILED' } });
      expect(typeof res.json<{ error: { message: unknown } }>().error.message).toBe('string');
      // Nothing changed.
      expect(sandbox.control.getSettings('twilio')).toEqual(defaultScenario());
    });

    it('refuses malformed JSON with 400 SB_VALIDATION_FAILED', async () => {
      const res = await sandbox.app.inject({
        method: 'PUT',
        url: '/_sandbox/providers/twilio',
        headers: { 'content-type': 'application/json' },
        payload: '{"outage": tru',
      });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ error: { code: 'SB_VALIDATION_FAILED' } });
    });

    it('answers 404 for an unknown provider', async () => {
      for (const method of ['GET', 'PUT'] as const) {
        const res = await sandbox.app.inject({
          method,
          url: '/_sandbox/providers/carrier-pigeon',
          ...(method === 'PUT' ? { payload: {} } : {}),
        });
        expect(res.statusCode).toBe(404);
        expect(res.json()).toMatchObject({ error: { code: 'SB_SANDBOX_UNKNOWN_PROVIDER' } });
      }
    });

    it('answers every emulator request with 503 during an outage', async () => {
      await sandbox.app.inject({ method: 'PUT', url: '/_sandbox/providers/twilio', payload: { outage: true } });
      const res = await twilioSend('+14155550100');
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ code: 20503, status: 503 });
      expect(sandbox.control.counters('twilio')).toMatchObject({ requests: 1, accepted: 0, rejected: 1, byStatus: { '503': 1 } });
    });
  });

  describe('numbers', () => {
    it('treats + and %2B as the same number and merges', async () => {
      const first = await sandbox.app.inject({ method: 'PUT', url: '/_sandbox/numbers/%2B14155550100', payload: { lineType: 'landline' } });
      expect(first.statusCode).toBe(200);
      expect(first.json()).toEqual({ e164: '+14155550100', valid: true, lineType: 'landline', rcs: false });
      const second = await sandbox.app.inject({
        method: 'PUT',
        url: '/_sandbox/numbers/+14155550100',
        payload: { rcs: true, simSwap: { swappedWithinSeconds: 3600 }, mccmnc: '310260', ported: true },
      });
      expect(second.json()).toEqual({
        e164: '+14155550100',
        valid: true,
        lineType: 'landline',
        rcs: true,
        simSwap: { swappedWithinSeconds: 3600 },
        mccmnc: '310260',
        ported: true,
      });
      expect(sandbox.control.number('+14155550100')).toMatchObject({ lineType: 'landline', rcs: true });
      const got = await sandbox.app.inject({ method: 'GET', url: '/_sandbox/numbers/%2B14155550100' });
      expect(got.json()).toEqual(second.json());
    });

    it('marks a number not on WhatsApp, and clears the mark with null', async () => {
      const marked = await sandbox.app.inject({ method: 'PUT', url: '/_sandbox/numbers/%2B14155550120', payload: { whatsapp: false } });
      expect(marked.json()).toEqual({ e164: '+14155550120', valid: true, lineType: 'mobile', rcs: false, whatsapp: false });
      const cleared = await sandbox.app.inject({ method: 'PUT', url: '/_sandbox/numbers/%2B14155550120', payload: { whatsapp: null } });
      expect(cleared.json()).toEqual({ e164: '+14155550120', valid: true, lineType: 'mobile', rcs: false });
      expect(
        (await sandbox.app.inject({ method: 'PUT', url: '/_sandbox/numbers/%2B14155550120', payload: { whatsapp: 'no' } })).statusCode,
      ).toBe(400);
    });

    it('answers the default entry for an unset number', async () => {
      expect(sandbox.control.number('+14155550199')).toEqual({ valid: true, lineType: 'mobile', rcs: false });
    });

    it.each([
      ['a number without +', '/_sandbox/numbers/14155550100', { valid: false }],
      ['an unknown line type', '/_sandbox/numbers/%2B14155550100', { lineType: 'fax' }],
      ['an unknown field', '/_sandbox/numbers/%2B14155550100', { carrierName: 'x' }],
      ['a bad SIM swap date', '/_sandbox/numbers/%2B14155550100', { simSwap: { lastSwapAt: 'yesterday' } }],
    ])('refuses %s with 400', async (_name, url, payload) => {
      const res = await sandbox.app.inject({ method: 'PUT', url, payload });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ error: { code: 'SB_VALIDATION_FAILED' } });
    });

    it('makes the Twilio emulator refuse a number marked invalid', async () => {
      await sandbox.app.inject({ method: 'PUT', url: '/_sandbox/numbers/%2B14155550123', payload: { valid: false } });
      const res = await twilioSend('+14155550123');
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ code: 21211 });
    });
  });

  describe('push tokens', () => {
    it('stores a token behaviour', async () => {
      const res = await sandbox.app.inject({
        method: 'PUT',
        url: '/_sandbox/push/tok-1',
        payload: { result: 'unregistered', autoAckMs: 50 },
      });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ token: 'tok-1', result: 'unregistered', autoAckMs: 50 });
      expect(sandbox.control.pushToken('tok-1')).toEqual({ result: 'unregistered', autoAckMs: 50 });
      expect(sandbox.control.pushToken('tok-unset')).toEqual({ result: 'ok' });
    });

    it('refuses an unknown result', async () => {
      const res = await sandbox.app.inject({ method: 'PUT', url: '/_sandbox/push/tok-1', payload: { result: 'exploded' } });
      expect(res.statusCode).toBe(400);
    });

    it('stores a real-looking FCM registration token (163 characters, with a colon)', async () => {
      const token = `fGx2${'a'.repeat(18)}:APA91b${'H'.repeat(134)}`;
      const res = await sandbox.app.inject({ method: 'PUT', url: `/_sandbox/push/${token}`, payload: { result: 'unavailable' } });
      expect(res.statusCode).toBe(200);
      expect(sandbox.control.pushToken(token)).toEqual({ result: 'unavailable' });
    });

    it('lets the FCM emulator answer by the token table, next to the SMS emulators', async () => {
      await sandbox.app.inject({ method: 'PUT', url: '/_sandbox/push/tok-gone', payload: { result: 'unregistered' } });
      const send = (token: string, host = 'fcm.googleapis.com') =>
        sandbox.app.inject({
          method: 'POST',
          url: '/v1/projects/demo-project/messages:send',
          headers: { host, authorization: 'Bearer sandbox-fcm-access-token', 'content-type': 'application/json' },
          payload: { message: { token, data: { sb_message_id: 'msg_push' } } },
        });
      expect((await send('tok-gone')).json()).toMatchObject({ error: { code: 404, details: [{ errorCode: 'UNREGISTERED' }] } });
      expect((await send('tok-fine')).statusCode).toBe(200);
      // Any other host is Sinch Conversation's (same path, reference §0): it wants a Sinch OAuth token.
      const conversation = await send('tok-fine', '127.0.0.1');
      expect(conversation.statusCode).toBe(401);
      expect(conversation.json()).toMatchObject({ error: { code: 401, status: 'UNAUTHENTICATED' } });
      expect(sandbox.control.log({ provider: 'sinch' })[0]).toMatchObject({
        path: '/v1/projects/demo-project/messages:send',
        channel: 'rcs',
        status: 401,
      });
      expect(sandbox.control.counters('fcm')).toMatchObject({ requests: 2, accepted: 1, rejected: 1 });
      expect(sandbox.control.log({ provider: 'fcm' }).map((e) => [e.to, e.reference, e.status])).toEqual([
        ['tok-fine', 'msg_push', 200],
        ['tok-gone', 'msg_push', 404],
      ]);
      expect((await twilioSend('+14155550101')).statusCode).toBe(201);
    });
  });

  describe('log', () => {
    it('lists requests newest first with the echoed reference', async () => {
      await twilioSend('+14155550101', 'msg_a');
      await twilioSend('+14155550102', 'msg_b');
      const res = await sandbox.app.inject({ method: 'GET', url: '/_sandbox/log' });
      const entries = res.json<SandboxLogEntry[]>();
      expect(entries.map((e) => e.reference)).toEqual(['msg_b', 'msg_a']);
      expect(entries[0]).toMatchObject({ provider: 'twilio', method: 'POST', path: TWILIO_PATH, to: '+14155550102', status: 201 });
      expect(Number.isNaN(Date.parse(entries[0]?.at ?? ''))).toBe(false);
    });

    it('filters by provider, recipient (+ or %2B), since and limit', async () => {
      await twilioSend('+14155550101', 'msg_a');
      await twilioSend('+14155550102', 'msg_b');
      await twilioSend('+14155550101', 'msg_c');
      const get = async (qs: string): Promise<SandboxLogEntry[]> =>
        (await sandbox.app.inject({ method: 'GET', url: `/_sandbox/log?${qs}` })).json();

      expect((await get('to=%2B14155550101')).map((e) => e.reference)).toEqual(['msg_c', 'msg_a']);
      expect((await get('to=+14155550101')).map((e) => e.reference)).toEqual(['msg_c', 'msg_a']);
      expect(await get('provider=sinch')).toEqual([]);
      expect((await get('provider=twilio&limit=1')).map((e) => e.reference)).toEqual(['msg_c']);

      const cut = new Date(Date.now() + 5);
      await new Promise((resolve) => setTimeout(resolve, 20));
      await twilioSend('+14155550103', 'msg_d');
      expect((await get(`since=${encodeURIComponent(cut.toISOString())}`)).map((e) => e.reference)).toEqual(['msg_d']);
      expect((await get(`since=${cut.getTime()}`)).map((e) => e.reference)).toEqual(['msg_d']);
    });

    it('refuses a bad limit or since', async () => {
      expect((await sandbox.app.inject({ method: 'GET', url: '/_sandbox/log?limit=0' })).statusCode).toBe(400);
      expect((await sandbox.app.inject({ method: 'GET', url: '/_sandbox/log?since=someday' })).statusCode).toBe(400);
    });

    it('keeps only the newest entries when full', () => {
      const control = createSandboxControl({ logCapacity: 3 });
      for (let i = 1; i <= 5; i++) control.record({ provider: 'twilio', method: 'POST', path: '/x', reference: `r${i}`, status: 201 });
      expect(control.log().map((e) => e.reference)).toEqual(['r5', 'r4', 'r3']);
      expect(control.counters('twilio').requests).toBe(5);
    });
  });

  describe('reset', () => {
    it('restores defaults and clears counters, log, numbers and tokens', async () => {
      await sandbox.app.inject({ method: 'PUT', url: '/_sandbox/providers/twilio', payload: { latencyMs: 5, dlr: 'none' } });
      await sandbox.app.inject({ method: 'PUT', url: '/_sandbox/numbers/%2B14155550100', payload: { valid: false } });
      await sandbox.app.inject({ method: 'PUT', url: '/_sandbox/push/tok-1', payload: { result: 'invalid' } });
      await twilioSend('+14155550101');
      expect(sandbox.control.counters('twilio').requests).toBe(1);

      const res = await sandbox.app.inject({ method: 'POST', url: '/_sandbox/reset' });
      expect(res.statusCode).toBe(200);

      const got = await sandbox.app.inject({ method: 'GET', url: '/_sandbox/providers/twilio' });
      expect(got.json()).toEqual({
        id: 'twilio',
        settings: defaultScenario(),
        counters: { requests: 0, accepted: 0, rejected: 0, byStatus: {}, callbacksSent: 0, callbacksFailed: 0 },
      });
      expect((await sandbox.app.inject({ method: 'GET', url: '/_sandbox/log' })).json()).toEqual([]);
      expect(sandbox.control.number('+14155550100')).toEqual({ valid: true, lineType: 'mobile', rcs: false });
      expect(sandbox.control.pushToken('tok-1')).toEqual({ result: 'ok' });
    });

    it('cancels scheduled work', async () => {
      let ran = false;
      sandbox.control.schedule(20, async () => {
        ran = true;
      });
      sandbox.control.reset();
      await new Promise((resolve) => setTimeout(resolve, 60));
      expect(ran).toBe(false);
    });
  });

  it('injects failures at the configured rate', () => {
    const values = [0.1, 0.9];
    const control = createSandboxControl({ random: () => values.shift() ?? 0 });
    control.putSettings('twilio', { errorRate: 0.5, errorStatus: 500 });
    expect(control.injectedFailure('twilio')).toBe(500);
    expect(control.injectedFailure('twilio')).toBeUndefined();
  });
});

describe('sandbox over real loopback', () => {
  it('counts sends made by the real Twilio SDK', async () => {
    const { app, control } = createSandboxServer({ providers: [twilioProvider] });
    await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const { port } = app.server.address() as AddressInfo;
      control.putSettings('twilio', { dlr: 'none' });
      const adapter = twilioProvider.create(twilioProvider.configSchema.parse({ ...TWILIO_SANDBOX_CREDENTIALS }), {
        baseUrl: `http://127.0.0.1:${port}`,
        timeoutMs: 2_000,
      });
      const send = (to: string, n: number) =>
        adapter.send({
          messageId: `msg_${n}`,
          attempt: 1,
          channel: 'sms',
          to,
          body: 'Your code is 123456',
          statusCallbackUrl: `http://127.0.0.1:${port}/cb?sb=msg_${n}`,
        });

      const first = await send('+14155550100', 1);
      expect(first.providerMessageId).toMatch(/^SM[0-9a-f]{32}$/);
      await send('+14155550101', 2);
      const refused = await send('+15005550001', 3).catch((err: unknown) => err);
      expect(isProviderError(refused) && refused.providerCode).toBe('21211');

      const res = await fetch(`http://127.0.0.1:${port}/_sandbox/providers/twilio`);
      const body = (await res.json()) as { counters: Record<string, unknown> };
      expect(body.counters).toEqual({
        requests: 3,
        accepted: 2,
        rejected: 1,
        byStatus: { '201': 2, '400': 1 },
        callbacksSent: 0,
        callbacksFailed: 0,
      });
      const log = (await (await fetch(`http://127.0.0.1:${port}/_sandbox/log?provider=twilio`)).json()) as SandboxLogEntry[];
      expect(log.map((e) => e.reference)).toEqual(['msg_3', 'msg_2', 'msg_1']);
    } finally {
      await app.close();
    }
  });
});

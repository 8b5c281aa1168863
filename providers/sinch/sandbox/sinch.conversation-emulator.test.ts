import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { registerFcmEmulator } from '../../fcm/sandbox/fcm.emulator.ts';
import { FCM_SANDBOX_ACCESS_TOKEN } from '../../fcm/sandbox/fcm.sandbox.ts';
import { MAGIC_NUMBERS } from '../../provider.ts';
import type { SandboxNumber } from '../../provider.ts';
import { createFakeSandboxControl } from '../../sandbox-kit/sandbox-control.fake.ts';
import type { FakeSandboxControl } from '../../sandbox-kit/sandbox-control.fake.ts';
import { planSinchReceipts } from './sinch.conversation-emulator.ts';
import { registerSinchEmulator } from './sinch.emulator.ts';
import { SINCH_SANDBOX_CREDENTIALS as C } from './sinch.sandbox.ts';

const SEND_URL = `/v1/projects/${C.projectId}/messages:send`;
const mobile = (patch: Partial<SandboxNumber> = {}): SandboxNumber => ({ valid: true, lineType: 'mobile', rcs: false, ...patch });
const scenario = (patch: Partial<{ dlr: 'delivered' | 'undelivered' | 'none'; dlrErrorCode: string; dlrDelayMs: number }> = {}) => ({
  dlr: 'delivered' as const,
  dlrDelayMs: 200,
  ...patch,
});

describe('planSinchReceipts', () => {
  it('queues then delivers on RCS for an RCS-capable number', () => {
    expect(planSinchReceipts(['RCS'], '+14155550100', mobile({ rcs: true }), scenario())).toEqual([
      { status: 'QUEUED_ON_CHANNEL', channel: 'RCS', atMs: 100 },
      { status: 'DELIVERED', channel: 'RCS', atMs: 200 },
    ]);
  });

  it('fails an RCS-only message to a number without RCS with RECIPIENT_NOT_REACHABLE', () => {
    expect(planSinchReceipts(['RCS'], '+14155550100', mobile(), scenario())).toEqual([
      { status: 'FAILED', channel: 'RCS', reason: 'RECIPIENT_NOT_REACHABLE', atMs: 100 },
    ]);
  });

  it('switches to SMS when it comes next in the priority order', () => {
    expect(planSinchReceipts(['RCS', 'SMS'], '+14155550100', mobile(), scenario()).map((r) => [r.status, r.channel])).toEqual([
      ['SWITCHING_CHANNEL', 'RCS'],
      ['QUEUED_ON_CHANNEL', 'SMS'],
      ['DELIVERED', 'SMS'],
    ]);
  });

  it('fails with the scenario code, else CHANNEL_FAILURE, when the scenario says undelivered', () => {
    expect(planSinchReceipts(['RCS'], '+1', mobile({ rcs: true }), scenario({ dlr: 'undelivered' })).at(-1)).toMatchObject({
      status: 'FAILED',
      reason: 'CHANNEL_FAILURE',
    });
    expect(
      planSinchReceipts(['RCS'], '+1', mobile({ rcs: true }), scenario({ dlr: 'undelivered', dlrErrorCode: 'DELIVERY_TIMED_OUT' })).at(-1),
    ).toMatchObject({ reason: 'DELIVERY_TIMED_OUT' });
  });

  it('fails an invalid number with RECIPIENT_INVALID_CHANNEL_IDENTITY', () => {
    expect(planSinchReceipts(['RCS'], '+14155550100', mobile({ valid: false, rcs: true }), scenario())).toEqual([
      { status: 'FAILED', channel: 'RCS', reason: 'RECIPIENT_INVALID_CHANNEL_IDENTITY', atMs: 100 },
    ]);
    expect(planSinchReceipts(['RCS'], MAGIC_NUMBERS.invalid, mobile({ rcs: true }), scenario())[0]).toMatchObject({
      reason: 'RECIPIENT_INVALID_CHANNEL_IDENTITY',
    });
  });

  it('plans nothing when the scenario says none', () => {
    expect(planSinchReceipts(['RCS'], '+14155550100', mobile({ rcs: true }), scenario({ dlr: 'none' }))).toEqual([]);
  });
});

describe('registerSinchConversationEmulator (through registerSinchEmulator), beside FCM', () => {
  let app: FastifyInstance;
  let control: FakeSandboxControl;
  let token: string;

  const body = (patch: Record<string, unknown> = {}): Record<string, unknown> => ({
    app_id: C.appId,
    recipient: { identified_by: { channel_identities: [{ channel: 'RCS', identity: '+14155550100' }] } },
    message: { text_message: { text: 'Your code is 123456' } },
    channel_priority_order: ['RCS'],
    message_metadata: 'msg_1',
    ...patch,
  });
  const send = (payload: unknown, headers: Record<string, string> = {}) =>
    app.inject({
      method: 'POST',
      url: SEND_URL,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
      payload: JSON.stringify(payload),
    });

  beforeAll(async () => {
    control = createFakeSandboxControl();
    app = Fastify({ logger: false });
    registerSinchEmulator(app, control);
    registerFcmEmulator(app, control);
    await app.ready();
    const res = await app.inject({
      method: 'POST',
      url: '/oauth2/token',
      headers: {
        authorization: 'Basic ' + Buffer.from(`${C.keyId}:${C.keySecret}`).toString('base64'),
        'content-type': 'application/x-www-form-urlencoded',
      },
      payload: 'grant_type=client_credentials',
    });
    token = String((res.json() as { access_token: string }).access_token);
  });
  beforeEach(() => {
    control.set('sinch', { outage: false, errorRate: 0, dlr: 'none' });
  });
  afterAll(async () => {
    control.close();
    await app.close();
  });

  it('answers 200 {accepted_time, message_id} and records the send with channel rcs and its text', async () => {
    const res = await send(body());
    expect(res.statusCode).toBe(200);
    const answer = res.json() as { message_id: string; accepted_time: string };
    expect(answer.message_id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(Number.isNaN(Date.parse(answer.accepted_time))).toBe(false);
    expect(control.entries.at(-1)).toMatchObject({
      provider: 'sinch',
      channel: 'rcs',
      to: '+14155550100',
      reference: 'msg_1',
      body: 'Your code is 123456',
      status: 200,
    });
  });

  it('leaves FCM its own requests: Host fcm.googleapis.com reaches the FCM emulator', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/projects/demo-project/messages:send',
      headers: { host: 'fcm.googleapis.com', authorization: `Bearer ${FCM_SANDBOX_ACCESS_TOKEN}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ message: { token: 'device-1', data: { a: 'b' } } }),
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ name: expect.stringMatching(/^projects\/demo-project\/messages\//) });
    expect(control.entries.at(-1)).toMatchObject({ provider: 'fcm' });
  });

  it('answers 401 with an expiry challenge for a token it no longer knows', async () => {
    const res = await send(body(), { authorization: 'Bearer sbx-sinch-forgotten' });
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toContain('expired');
    expect(res.json()).toMatchObject({ error: { code: 401, status: 'UNAUTHENTICATED' } });
  });

  it('answers 403 for another project', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/projects/other/messages:send',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      payload: JSON.stringify(body()),
    });
    expect(res.statusCode).toBe(403);
  });

  it.each([
    ['an unknown app', { app_id: 'other' }, 404],
    ['no channel identity', { recipient: { identified_by: { channel_identities: [] } } }, 400],
    [
      'an identity that is not a number',
      { recipient: { identified_by: { channel_identities: [{ channel: 'RCS', identity: 'alice' }] } } },
      400,
    ],
    ['a channel the app does not have', { channel_priority_order: ['MESSENGER'] }, 400],
    ['a message that is not text', { message: { card_message: {} } }, 400],
    ['an empty text', { message: { text_message: { text: '' } } }, 400],
    ['a bad callback_url', { callback_url: 'not a url' }, 400],
    ['a ttl under 3 s', { ttl: '1s' }, 400],
  ])('refuses %s', async (_name, patch, status) => {
    const res = await send(body(patch));
    expect(res.statusCode).toBe(status);
    expect(res.json()).toMatchObject({ error: { code: status } });
  });

  it("answers a malformed body in Conversation's error shape", async () => {
    const res = await app.inject({
      method: 'POST',
      url: SEND_URL,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      payload: '{"app_id":',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: { status: 'INVALID_ARGUMENT' } });
  });

  it('answers an outage with 503 UNAVAILABLE before checking anything', async () => {
    control.set('sinch', { outage: true });
    const res = await send(body(), { authorization: 'Bearer nothing' });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toMatchObject({ error: { status: 'UNAVAILABLE' } });
  });
});

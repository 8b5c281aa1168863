import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SINCH_CALLBACK_RETRY_DELAYS_MS, SINCH_DLR_CODES } from './sinch.emulator.ts';
import { startCallbackReceiver, startSinchEmulator } from './sinch.fixtures.ts';
import type { CallbackReceiver, RunningEmulator } from './sinch.fixtures.ts';
import { SINCH_SANDBOX_CREDENTIALS } from './sinch.sandbox.ts';

const PLAN = SINCH_SANDBOX_CREDENTIALS.servicePlanId;
const PATH = `/xms/v1/${PLAN}/batches`;
const AUTH = `Bearer ${SINCH_SANDBOX_CREDENTIALS.apiToken}`;
const CALLBACK_AUTH =
  'Basic ' + Buffer.from(`${SINCH_SANDBOX_CREDENTIALS.callbackUsername}:${SINCH_SANDBOX_CREDENTIALS.callbackPassword}`).toString('base64');

describe('registerSinchEmulator', () => {
  let emulator: RunningEmulator;
  let receiver: CallbackReceiver;

  const post = (payload: unknown, authorization = AUTH, path = PATH) =>
    emulator.app.inject({
      method: 'POST',
      url: path,
      headers: { authorization, 'content-type': 'application/json' },
      payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
    });
  const batch = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
    to: ['+14155550100'],
    from: '+15005550006',
    body: 'Your code is 123456',
    ...overrides,
  });

  beforeAll(async () => {
    emulator = await startSinchEmulator();
    receiver = await startCallbackReceiver();
  });
  afterEach(() => {
    emulator.control.set('sinch', { outage: false, errorRate: 0, errorStatus: 503, latencyMs: 0, dlr: 'delivered', dlrDelayMs: 200 });
    receiver.status = 204;
  });
  afterAll(async () => {
    await emulator.close();
    await receiver.close();
  });

  it("answers 201 with Sinch's snake_case batch", async () => {
    emulator.control.set('sinch', { dlr: 'none' });
    const res = await post(batch({ delivery_report: 'per_recipient', callback_url: 'http://127.0.0.1:9/cb', client_reference: 'msg-42' }));
    expect(res.statusCode).toBe(201);
    const body = res.json<Record<string, unknown>>();
    expect(body).toMatchObject({
      to: ['+14155550100'],
      from: '+15005550006',
      canceled: false,
      body: 'Your code is 123456',
      type: 'mt_text',
      delivery_report: 'per_recipient',
      callback_url: 'http://127.0.0.1:9/cb',
      client_reference: 'msg-42',
      flash_message: false,
      feedback_enabled: false,
    });
    expect(body['id']).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(body['created_at']).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    // Default validity: 3 days.
    expect(Date.parse(String(body['expire_at'])) - Date.parse(String(body['created_at']))).toBe(3 * 86_400_000);
  });

  it('applies the default originator and no delivery reports when neither is given', async () => {
    const res = await post({ to: ['14155550100'], body: 'hi' });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ from: '+15005550006', delivery_report: 'none', to: ['14155550100'] });
  });

  it('serves a batch by id', async () => {
    emulator.control.set('sinch', { dlr: 'none' });
    const id = (await post(batch())).json<{ id: string }>().id;
    const got = await emulator.app.inject({ method: 'GET', url: `${PATH}/${id}`, headers: { authorization: AUTH } });
    expect(got.statusCode).toBe(200);
    expect(got.json()).toMatchObject({ id, to: ['+14155550100'] });
    const missing = await emulator.app.inject({
      method: 'GET',
      url: `${PATH}/01FC66621XXXXX119Z8PMV1QPQ`,
      headers: { authorization: AUTH },
    });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ code: 'not_found' });
  });

  it.each([
    ['a wrong token', { authorization: 'Bearer nope', path: PATH }],
    [
      'Basic credentials',
      { authorization: 'Basic ' + Buffer.from(`${PLAN}:${SINCH_SANDBOX_CREDENTIALS.apiToken}`).toString('base64'), path: PATH },
    ],
    ['another service plan', { authorization: AUTH, path: '/xms/v1/other-plan/batches' }],
  ])("answers 401 in Sinch's shape for %s", async (_name, { authorization, path }) => {
    const res = await post(batch(), authorization, path);
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toContain('Bearer');
    expect(res.headers['www-authenticate']).not.toContain('expired');
    expect(res.json()).toEqual({ code: 'unauthorized', text: 'Unauthorized' });
  });

  it.each([
    ['+15005550001', 400, 'syntax_invalid_parameter_format', 'Invalid parameter format: to'],
    ['15005550001', 400, 'syntax_invalid_parameter_format', 'Invalid parameter format: to'],
    ['not-a-number', 400, 'syntax_invalid_parameter_format', 'Invalid parameter format: to'],
    ['+15005550009', 403, 'illegal_number_type', undefined],
    ['+15005550003', 403, 'unprovisioned_region', undefined],
  ])('refuses %s with %i %s', async (to, status, code, text) => {
    const res = await post(batch({ to: [to] }));
    expect(res.statusCode).toBe(status);
    expect(res.json()).toMatchObject({ code, ...(text === undefined ? {} : { text }) });
  });

  it.each([
    ['an empty to', batch({ to: [] }), 'syntax_constraint_violation'],
    ['a missing body', { to: ['+14155550100'] }, 'syntax_constraint_violation'],
    ['a malformed callback_url', batch({ callback_url: 'not a url' }), 'syntax_invalid_parameter_format'],
    ['invalid JSON', '{"to":', 'syntax_invalid_json'],
    ['a JSON array', '[1,2]', 'syntax_invalid_json'],
  ])('answers 400 for %s', async (_name, payload, code) => {
    const res = await post(payload);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code });
  });

  it('refuses numbers the sandbox table marks invalid or landline', async () => {
    emulator.control.setNumber('+14155550110', { valid: false });
    emulator.control.setNumber('+14155550111', { lineType: 'landline' });
    expect((await post(batch({ to: ['+14155550110'] }))).json()).toMatchObject({ code: 'syntax_invalid_parameter_format' });
    expect((await post(batch({ to: ['+14155550111'] }))).json()).toMatchObject({ code: 'illegal_number_type' });
  });

  it('answers an outage with 503 at once, ignoring latency', async () => {
    emulator.control.set('sinch', { outage: true, latencyMs: 5_000 });
    const started = Date.now();
    const res = await post(batch());
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ code: 'service_unavailable', text: 'Service unavailable' });
  });

  it('adds Retry-After to an injected 429 when the scenario sets it', async () => {
    emulator.control.set('sinch', { errorRate: 1, errorStatus: 429, retryAfterSec: 9 });
    const res = await post(batch());
    expect(res.statusCode).toBe(429);
    expect(res.headers['retry-after']).toBe('9');
    expect(res.json()).toEqual({ code: 'too_many_requests', text: 'Too many requests' });
  });

  it('records every request with its recipient and client reference, accepting only written 201s', async () => {
    emulator.control.set('sinch', { dlr: 'none' });
    const before = { ...emulator.control.counters('sinch'), byStatus: { ...emulator.control.counters('sinch').byStatus } };
    await post(batch({ to: ['14155550120'], client_reference: 'msg_ref1' }));
    await post(batch({ to: ['+15005550001'], client_reference: 'msg_ref2' }));
    const after = emulator.control.counters('sinch');
    expect(after.requests - before.requests).toBe(2);
    expect(after.accepted - before.accepted).toBe(1);
    expect((after.byStatus['201'] ?? 0) - (before.byStatus['201'] ?? 0)).toBe(1);
    expect((after.byStatus['400'] ?? 0) - (before.byStatus['400'] ?? 0)).toBe(1);
    const [second, first] = emulator.control.entries.slice(-2).reverse();
    expect(first).toMatchObject({ provider: 'sinch', method: 'POST', path: PATH, to: '+14155550120', reference: 'msg_ref1', status: 201 });
    expect(second).toMatchObject({ to: '+15005550001', reference: 'msg_ref2', status: 400 });
  });

  it('records body-parsing failures too', async () => {
    const before = emulator.control.counters('sinch').requests;
    await post('{"broken"');
    expect(emulator.control.counters('sinch').requests - before).toBe(1);
    expect(emulator.control.entries.at(-1)).toMatchObject({ provider: 'sinch', status: 400 });
  });

  it('posts Dispatched then Delivered as JSON with the sandbox Basic credentials', async () => {
    emulator.control.set('sinch', { dlrDelayMs: 40 });
    const res = await post(
      batch({ delivery_report: 'per_recipient', callback_url: `${receiver.origin}/cb?sb=msg_dlr`, client_reference: 'msg_dlr' }),
    );
    const id = res.json<{ id: string }>().id;
    const callbacks = await receiver.waitFor(2, { ref: 'msg_dlr' });
    const bodies = callbacks.map((c) => JSON.parse(c.rawBody.toString()) as Record<string, unknown>);
    for (const c of callbacks) {
      expect(c.method).toBe('POST');
      expect(c.headers['authorization']).toBe(CALLBACK_AUTH);
      expect(c.headers['content-type']).toBe('application/json');
    }
    expect(bodies[0]).toMatchObject({
      type: 'recipient_delivery_report_sms',
      batch_id: id,
      recipient: '14155550100',
      status: 'Dispatched',
      code: SINCH_DLR_CODES.dispatched,
      client_reference: 'msg_dlr',
    });
    expect(bodies[1]).toMatchObject({
      type: 'recipient_delivery_report_sms',
      batch_id: id,
      recipient: '14155550100',
      status: 'Delivered',
      code: 0,
      client_reference: 'msg_dlr',
    });
    expect(typeof bodies[1]?.['operator_status_at']).toBe('string');
  });

  it('posts only the final report for per_recipient_final', async () => {
    emulator.control.set('sinch', { dlrDelayMs: 20 });
    await post(
      batch({ delivery_report: 'per_recipient_final', callback_url: `${receiver.origin}/cb?sb=msg_final`, client_reference: 'msg_final' }),
    );
    await receiver.waitFor(1, { ref: 'msg_final' });
    await new Promise((resolve) => setTimeout(resolve, 80));
    const bodies = receiver.forRef('msg_final').map((c) => JSON.parse(c.rawBody.toString()) as Record<string, unknown>);
    expect(bodies.map((b) => b['status'])).toEqual(['Delivered']);
  });

  it('posts one batch report for full, listing recipients', async () => {
    emulator.control.set('sinch', { dlr: 'undelivered', dlrDelayMs: 20 });
    await post(
      batch({
        to: ['+14155550100', '+14155550101'],
        delivery_report: 'full',
        callback_url: `${receiver.origin}/cb?sb=msg_full`,
        client_reference: 'msg_full',
      }),
    );
    const [callback] = await receiver.waitFor(1, { ref: 'msg_full' });
    expect(JSON.parse(callback!.rawBody.toString())).toMatchObject({
      type: 'delivery_report_sms',
      client_reference: 'msg_full',
      total_message_count: 2,
      statuses: [{ code: 404, status: 'Failed', count: 2, recipients: ['14155550100', '14155550101'] }],
    });
  });

  it('reports the opted-out number as Rejected with code 408 and no Dispatched', async () => {
    emulator.control.set('sinch', { dlrDelayMs: 40 });
    const res = await post(
      batch({
        to: ['+15005550004'],
        delivery_report: 'per_recipient',
        callback_url: `${receiver.origin}/cb?sb=msg_stop`,
        client_reference: 'msg_stop',
      }),
    );
    expect(res.statusCode).toBe(201);
    await receiver.waitFor(1, { ref: 'msg_stop' });
    await new Promise((resolve) => setTimeout(resolve, 80));
    const bodies = receiver.forRef('msg_stop').map((c) => JSON.parse(c.rawBody.toString()) as Record<string, unknown>);
    expect(bodies).toHaveLength(1);
    expect(bodies[0]).toMatchObject({ status: 'Rejected', code: 408 });
  });

  it('posts nothing when the scenario says none', async () => {
    emulator.control.set('sinch', { dlr: 'none', dlrDelayMs: 10 });
    await post(batch({ delivery_report: 'per_recipient', callback_url: `${receiver.origin}/cb?sb=msg_none` }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(receiver.forRef('msg_none')).toHaveLength(0);
  });

  it("retries callbacks on Sinch's documented schedule by default: 5 s, doubling, the last 81 920 s after the first failure", () => {
    expect(SINCH_CALLBACK_RETRY_DELAYS_MS[0]).toBe(5_000);
    expect(SINCH_CALLBACK_RETRY_DELAYS_MS.at(-1)).toBe(81_920_000);
    expect(SINCH_CALLBACK_RETRY_DELAYS_MS.every((d, i) => i === 0 || d === 2 * (SINCH_CALLBACK_RETRY_DELAYS_MS[i - 1] ?? 0))).toBe(true);
  });

  it('answers the recipient delivery report read from the state its reports come from, also when they are dropped', async () => {
    const own = await startSinchEmulator();
    own.control.set('sinch', { dlrDelayMs: 20, callbacks: 'drop' });
    try {
      const res = await own.app.inject({
        method: 'POST',
        url: PATH,
        headers: { authorization: AUTH, 'content-type': 'application/json' },
        payload: JSON.stringify(
          batch({
            delivery_report: 'per_recipient',
            callback_url: `${receiver.origin}/cb?sb=msg_sinch_drop`,
            client_reference: 'msg_sinch_drop',
          }),
        ),
      });
      const id = (JSON.parse(res.body) as { id: string }).id;
      const recipient = (JSON.parse(res.body) as { to: string[] }).to[0]?.replace(/^\+/, '') ?? '';
      const first = await own.app.inject({
        method: 'GET',
        url: `${PATH}/${id}/delivery_report/${recipient}`,
        headers: { authorization: AUTH },
      });
      expect(first.statusCode).toBe(200);
      expect(JSON.parse(first.body)).toMatchObject({
        type: 'recipient_delivery_report_sms',
        batch_id: id,
        status: 'Queued',
        client_reference: 'msg_sinch_drop',
      });
      await new Promise((resolve) => setTimeout(resolve, 150));
      const later = await own.app.inject({
        method: 'GET',
        url: `${PATH}/${id}/delivery_report/${recipient}`,
        headers: { authorization: AUTH },
      });
      expect(JSON.parse(later.body)).toMatchObject({ status: 'Delivered', code: 0 });
      expect(receiver.forRef('msg_sinch_drop')).toHaveLength(0);
      const unknown = await own.app.inject({
        method: 'GET',
        url: `${PATH}/${id}/delivery_report/15550000000`,
        headers: { authorization: AUTH },
      });
      expect(unknown.statusCode).toBe(404);
    } finally {
      await own.close();
    }
  });

  it('retries a 5xx callback but never a 401, counting each try', async () => {
    // A fresh emulator, so callbacks of earlier tests cannot land in these counters.
    const own = await startSinchEmulator();
    own.control.set('sinch', { dlrDelayMs: 20, callbackRetry: [100, 200] });
    const send = (ref: string) =>
      own.app.inject({
        method: 'POST',
        url: PATH,
        headers: { authorization: AUTH, 'content-type': 'application/json' },
        payload: JSON.stringify(
          batch({ delivery_report: 'per_recipient_final', callback_url: `${receiver.origin}/cb?sb=${ref}`, client_reference: ref }),
        ),
      });
    try {
      receiver.status = 500;
      await send('msg_retry');
      await receiver.waitFor(1, { ref: 'msg_retry' });
      receiver.status = 204;
      await receiver.waitFor(2, { ref: 'msg_retry', timeoutMs: 5_000 });
      receiver.status = 401;
      await send('msg_noretry');
      await receiver.waitFor(1, { ref: 'msg_noretry' });
      await new Promise((resolve) => setTimeout(resolve, 800));
      expect(receiver.forRef('msg_noretry')).toHaveLength(1);
      expect(own.control.counters('sinch')).toMatchObject({ callbacksFailed: 2, callbacksSent: 1 });
    } finally {
      await own.close();
    }
  });
});

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { redisKeys } from '../../src/store/redis-keys.ts';
import { WatchSchedule } from '../../src/store/watch-schedule.store.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';

interface TimelineItem {
  type: string;
  provider?: string;
  detail?: string;
}
interface LogEntry {
  path?: string;
  to?: string;
  reference?: string;
  status: number;
}

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway({ label: 'sms', smsProviders: ['twilio'] });
});
afterAll(async () => {
  await gw?.stop();
});
beforeEach(async () => {
  await gw.sandbox('/_sandbox/reset', { method: 'POST' });
});

async function send(body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await gw.api('/v1/messages', { method: 'POST', json: body, headers });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** Message sends only (they carry our reference); number lookups to the same number are logged too. */
async function sandboxLog(to: string): Promise<LogEntry[]> {
  const res = await gw.sandbox(`/_sandbox/log?provider=twilio&to=${encodeURIComponent(to)}`);
  const body = (await res.json()) as { items?: LogEntry[] } | LogEntry[];
  return (Array.isArray(body) ? body : (body.items ?? [])).filter((e) => e.path?.endsWith('/Messages.json'));
}

describe('an SMS through Twilio and the carrier sandbox', () => {
  it('delivers a message and records the attempt and both callbacks in the timeline', async () => {
    const { status, json } = await send({ to: '+14155550100', body: 'Your code is {{code}}', otp: { length: 6 } });
    expect(status).toBe(202);
    expect(json).toEqual({ id: expect.stringMatching(/^msg_[0-9A-Z]{26}$/), status: 'accepted' });
    const msg = await gw.waitForStatus(String(json['id']), ['delivered', 'failed', 'undelivered']);
    expect(msg['status']).toBe('delivered');
    expect(msg['channel']).toBe('sms');
    expect(msg['provider']).toBe('twilio');
    expect(msg['to']).toBe('+1415***0100');
    const attempts = msg['attempts'] as Array<Record<string, unknown>>;
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({
      n: 1,
      channel: 'sms',
      provider: 'twilio',
      status: 'delivered',
      providerMessageId: expect.stringMatching(/^SM[0-9a-f]{32}$/),
    });
    const types = (msg['timeline'] as TimelineItem[]).map((t) => `${t.type}${t.type === 'callback' ? `:${t.detail}` : ''}`);
    expect(types).toEqual(['accepted', 'lookup', 'attempt', 'carrier_accepted', 'callback:sent', 'callback:delivered']);
    expect(JSON.stringify(msg)).not.toMatch(/Your code is \d{6}/);
  });

  it('drops the watch of a message once a callback settles it, and keeps it while the message is open', async () => {
    const watches = new WatchSchedule(gw.redis, redisKeys(gw.prefix));
    await gw.sandbox('/_sandbox/providers/twilio', { method: 'PUT', json: { dlrDelayMs: 1_500 } });
    const { json } = await send({ to: '+14155550177', body: 'Your code is {{code}}', otp: {} });
    const id = String(json['id']);
    await gw.waitForStatus(id, ['sent']);
    expect(await watches.dueAt(id)).toBeGreaterThan(Date.now());
    const metrics = await (await fetch(`${gw.apiUrl}/metrics`)).text();
    expect(Number(/^switchboard_watches\{state="scheduled"\} (\d+)/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);
    expect(metrics).toMatch(/^switchboard_watches\{state="overdue"\} 0$/m);
    await gw.waitForStatus(id, ['delivered']);
    const deadline = Date.now() + 5_000;
    while ((await watches.dueAt(id)) !== undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(await watches.dueAt(id)).toBeUndefined();
  });

  it('sends the code in the text the carrier receives, never in the API', async () => {
    const { json } = await send({ to: '+14155550111', otp: { length: 8 } });
    const msg = await gw.waitForStatus(String(json['id']), ['delivered']);
    expect(JSON.stringify(msg)).not.toMatch(/code is \d/);
    const log = await sandboxLog('+14155550111');
    expect(log).toHaveLength(1);
    expect(log[0]?.reference).toBe(json['id']);
  });

  it('answers a replayed Idempotency-Key with the first id and sends once', async () => {
    const body = { to: '+14155550122', body: 'hello' };
    const first = await send(body, { 'idempotency-key': 'order-42' });
    const second = await send(body, { 'idempotency-key': 'order-42' });
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    expect(second.json).toEqual(first.json);
    await gw.waitForStatus(String(first.json['id']), ['delivered']);
    const third = await send(body, { 'idempotency-key': 'order-42' });
    expect(third.json['id']).toBe(first.json['id']);
    expect(await sandboxLog('+14155550122')).toHaveLength(1);
  });

  it('refuses the same Idempotency-Key with a different body', async () => {
    await send({ to: '+14155550133', body: 'a' }, { 'idempotency-key': 'k-conflict' });
    const res = await send({ to: '+14155550133', body: 'b' }, { 'idempotency-key': 'k-conflict' });
    expect(res.status).toBe(409);
    expect(res.json).toMatchObject({ error: { code: 'SB_IDEMPOTENCY_CONFLICT' } });
  });

  it('fails an invalid number with the carrier reason after one attempt', async () => {
    const { json } = await send({ to: '+15005550001', body: 'hi' });
    const msg = await gw.waitForStatus(String(json['id']), ['failed', 'delivered', 'undelivered']);
    expect(msg['status']).toBe('failed');
    expect(msg['error']).toMatchObject({
      code: 'SB_CARRIER_REJECTED',
      providerCode: '21211',
      message: expect.stringMatching(/not a valid phone number/),
    });
    expect(msg['attempts']).toHaveLength(1);
    expect((await sandboxLog('+15005550001')).map((e) => e.status)).toEqual([400]);
  });

  it('ends undelivered with the carrier error code when the handset is unreachable', async () => {
    await gw.sandbox('/_sandbox/providers/twilio', { method: 'PUT', json: { dlr: 'undelivered', dlrErrorCode: '30005', dlrDelayMs: 50 } });
    const { json } = await send({ to: '+14155550144', body: 'hi' });
    const msg = await gw.waitForStatus(String(json['id']), ['undelivered', 'delivered', 'failed']);
    expect(msg['status']).toBe('undelivered');
    expect(msg['error']).toMatchObject({ code: 'SB_DELIVERY_FAILED', providerCode: '30005' });
  });

  it('retries a carrier outage and delivers once the carrier recovers', async () => {
    await gw.sandbox('/_sandbox/providers/twilio', { method: 'PUT', json: { outage: true } });
    const { json } = await send({ to: '+14155550155', body: 'hi' });
    const id = String(json['id']);
    await new Promise((r) => setTimeout(r, 300));
    await gw.sandbox('/_sandbox/providers/twilio', { method: 'PUT', json: { outage: false } });
    const msg = await gw.waitForStatus(id, ['delivered', 'failed'], 20_000);
    expect(msg['status']).toBe('delivered');
    const attempts = msg['attempts'] as Array<Record<string, unknown>>;
    expect(attempts.length).toBeGreaterThan(1);
    expect(attempts[0]).toMatchObject({ status: 'failed', error: { code: 'SB_ROUTE_UNAVAILABLE' } });
  });

  it('lists messages newest first with a working cursor', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(String((await send({ to: `+1415555017${i}`, body: 'x' })).json['id']));
    const page1 = (await (await gw.api('/v1/messages?limit=2')).json()) as { items: Array<{ id: string }>; nextCursor: string | null };
    expect(page1.items.map((m) => m.id)).toEqual([ids[2], ids[1]]);
    expect(page1.nextCursor).toBe(ids[1]);
    const page2 = (await (await gw.api(`/v1/messages?limit=2&cursor=${page1.nextCursor}`)).json()) as { items: Array<{ id: string }> };
    expect(page2.items[0]?.id).toBe(ids[0]);
  });
});

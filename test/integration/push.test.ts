/**
 * Push first, SMS fallback: FCM through the official firebase-admin SDK to the
 * sandbox, the sandbox device acking through `sb_ack_url`, and the ack/fallback race.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.ts';

interface Msg {
  status: string;
  channel: string;
  provider: string;
  attempts: Array<{ n: number; channel: string; provider: string; status: string; startedAt: string; error?: { code: string } }>;
  timeline: Array<{ at: string; type: string; detail?: string }>;
}
interface LogEntry {
  provider: string;
  to?: string;
  reference?: string;
  status: number;
  at: string;
  body?: string;
  content?: string;
}

let gw: TestGateway;
let receiver: WebhookReceiver;

beforeAll(async () => {
  gw = await startTestGateway({ label: 'push', smsProviders: ['twilio'] });
  receiver = await startWebhookReceiver();
});
afterAll(async () => {
  await receiver?.close();
  await gw?.stop();
});
beforeEach(async () => {
  await gw.sandbox('/_sandbox/reset', { method: 'POST' });
});

let numberSeq = 0;
/** Fresh numbers: the OTP limits (5 per number per hour) are enforced and lookups are cached per number. */
const freshNumber = (): string => `+1415555${String(8200 + numberSeq++).padStart(4, '0')}`;

async function send(body: Record<string, unknown>): Promise<string> {
  const res = await gw.api('/v1/messages', { method: 'POST', json: { to: freshNumber(), otp: {}, callbackUrl: receiver.url, ...body } });
  expect(res.status, await res.clone().text()).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

async function log(reference: string): Promise<LogEntry[]> {
  const all = (await (await gw.sandbox('/_sandbox/log?limit=1000')).json()) as LogEntry[];
  return all.filter((e) => e.reference === reference).reverse();
}

async function token(name: string, settings: Record<string, unknown>): Promise<string> {
  const res = await gw.sandbox(`/_sandbox/push/${name}`, { method: 'PUT', json: settings });
  expect(res.status).toBe(200);
  return name;
}

function fallbackEvents(id: string): Array<{ data: { reason?: string; fromChannel?: string; toChannel?: string } }> {
  return receiver.received
    .map(
      (r) => JSON.parse(r.body) as { type: string; data: { messageId: string; reason?: string; fromChannel?: string; toChannel?: string } },
    )
    .filter((e) => e.type === 'message.fallback' && e.data.messageId === id);
}

describe('push first, SMS fallback', () => {
  it('delivers by push when the device acks in time, and sends no SMS', async () => {
    const t = await token('tok-acks', { result: 'ok', autoAckMs: 100 });
    const id = await send({ channels: ['push', 'sms'], push: { token: t, ackTimeoutMs: 3_000 } });
    const msg = (await gw.waitForStatus(id, ['delivered', 'failed'])) as unknown as Msg;
    expect(msg).toMatchObject({ status: 'delivered', channel: 'push', provider: 'fcm' });
    expect(msg.attempts).toEqual([expect.objectContaining({ channel: 'push', status: 'delivered' })]);
    expect(msg.timeline.some((t) => t.type === 'ack')).toBe(true);
    await new Promise((r) => setTimeout(r, 3_300));
    expect((await log(id)).map((e) => e.provider)).toEqual(['fcm']);
  });

  it('falls back to SMS with the same code after ackTimeoutMs without an ack, and not before', async () => {
    const t = await token('tok-silent', { result: 'ok' });
    const ackTimeoutMs = 1_000;
    const id = await send({ channels: ['push', 'sms'], push: { token: t, ackTimeoutMs } });
    const msg = (await gw.waitForStatus(id, ['delivered', 'failed'], 10_000)) as unknown as Msg;
    expect(msg).toMatchObject({ status: 'delivered', channel: 'sms', provider: 'twilio' });
    const [push, sms] = msg.attempts;
    expect(push).toMatchObject({ channel: 'push', status: 'undelivered', error: { code: 'SB_PUSH_ACK_TIMEOUT' } });
    const gap = Date.parse(sms?.startedAt ?? '') - Date.parse(push?.startedAt ?? '');
    expect(gap).toBeGreaterThanOrEqual(ackTimeoutMs);
    expect(gap).toBeLessThanOrEqual(ackTimeoutMs + 2_000);
    const entries = await log(id);
    expect(entries.map((e) => e.provider)).toEqual(['fcm', 'twilio']);
    const pushCode = /\d{6}/.exec(entries[0]?.body ?? '')?.[0];
    const smsCode = /\d{6}/.exec(entries[1]?.body ?? '')?.[0];
    expect(pushCode).toMatch(/^\d{6}$/);
    expect(smsCode).toBe(pushCode);
    await receiver.waitFor(() => fallbackEvents(id).length > 0);
    expect(fallbackEvents(id)[0]?.data).toMatchObject({ reason: 'ack_timeout', fromChannel: 'push', toChannel: 'sms' });
  });

  it('falls back at once on an unregistered token', async () => {
    const t = await token('tok-dead', { result: 'unregistered' });
    const id = await send({ channels: ['push', 'sms'], push: { token: t, ackTimeoutMs: 10_000 } });
    const msg = (await gw.waitForStatus(id, ['delivered', 'failed'], 5_000)) as unknown as Msg;
    expect(msg.channel).toBe('sms');
    expect(msg.attempts[0]).toMatchObject({ channel: 'push', status: 'failed', error: { code: 'SB_PUSH_UNREGISTERED' } });
    await receiver.waitFor(() => fallbackEvents(id).length > 0);
    expect(fallbackEvents(id)[0]?.data.reason).toBe('push_unregistered');
  });

  it('goes straight to SMS without an FCM call when push is disabled or has no token', async () => {
    const disabled = await send({ channels: ['push', 'sms'], push: { token: 'tok-x', enabled: false } });
    const noToken = await send({ channels: ['push', 'sms'] });
    for (const [id, reason] of [
      [disabled, 'push_disabled'],
      [noToken, 'push_no_token'],
    ] as const) {
      const msg = (await gw.waitForStatus(id, ['delivered', 'failed'], 5_000)) as unknown as Msg;
      expect(msg.attempts.map((a) => a.channel)).toEqual(['sms']);
      expect((await log(id)).map((e) => e.provider)).toEqual(['twilio']);
      await receiver.waitFor(() => fallbackEvents(id).length > 0);
      expect(fallbackEvents(id)[0]?.data).toMatchObject({ reason, fromChannel: 'push', toChannel: 'sms' });
    }
  });

  it('lets exactly one side win when the ack races the fallback-check', async () => {
    const outcomes: string[] = [];
    for (let i = 0; i < 6; i++) {
      const t = await token(`tok-race-${i}`, { result: 'ok', autoAckMs: 500 });
      const id = await send({ to: `+1415555081${i}`, channels: ['push', 'sms'], push: { token: t, ackTimeoutMs: 500 } });
      const msg = (await gw.waitForStatus(id, ['delivered', 'failed'], 10_000)) as unknown as Msg;
      await new Promise((r) => setTimeout(r, 400));
      const final = (await (await gw.api(`/v1/messages/${id}`)).json()) as Msg;
      const push = final.attempts[0];
      const smsAttempts = final.attempts.filter((a) => a.channel === 'sms');
      if (push?.status === 'delivered') {
        expect(smsAttempts).toEqual([]);
        expect(final.channel).toBe('push');
        outcomes.push('push');
      } else {
        expect(push?.status).toBe('undelivered');
        expect(smsAttempts).toHaveLength(1);
        expect(final.timeline.filter((t) => t.type === 'late_ack')).toHaveLength(1);
        outcomes.push('sms');
      }
      expect(msg.status).toBe('delivered');
    }
    expect(outcomes).toHaveLength(6);
  });

  it('refuses bad and expired ack tokens with 401 and changes nothing', async () => {
    const t = await token('tok-forge', { result: 'ok' });
    const id = await send({ channels: ['push', 'sms'], push: { token: t, ackTimeoutMs: 5_000 } });
    const deadline = Date.now() + 5_000;
    let before = (await (await gw.api(`/v1/messages/${id}`)).json()) as Msg;
    while (before.attempts[0]?.status !== 'sent' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      before = (await (await gw.api(`/v1/messages/${id}`)).json()) as Msg;
    }
    for (const ackToken of ['garbage', `${'A'.repeat(43)}.9999999999999`, `${'A'.repeat(43)}.1000000000000`]) {
      const res = await fetch(`${gw.apiUrl}/v1/push/ack`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ messageId: id, ackToken }),
      });
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ error: { code: 'SB_PUSH_ACK_INVALID' } });
    }
    const after = (await (await gw.api(`/v1/messages/${id}`)).json()) as Msg;
    expect(after.attempts[0]?.status).toBe('sent');
    expect(after.timeline).toEqual(before.timeline);
  });
});

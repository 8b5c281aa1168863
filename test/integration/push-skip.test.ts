/**
 * Predicted push skip end to end: FCM through firebase-admin to the sandbox, a sandbox device
 * that never acks (then recovers), and the token's ack posterior deciding whether push is worth
 * its ack timeout. The thresholds are set by config so a never-acking token is skipped after
 * K = 3 messages (Beta(1, 4): P(ack rate ≥ 0.5) = 0.5⁴ < 0.1) and explored every 3rd message.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { keysUnder } from '../helpers/redis.ts';
import { parsePrometheusText, sumOf } from '../helpers/prometheus-text.ts';

interface Msg {
  status: string;
  channel: string;
  createdAt: string;
  attempts: Array<{ n: number; channel: string; status: string; startedAt: string; error?: { code: string } }>;
  timeline: Array<{ type: string; detail?: string }>;
}

/** Misses after which a never-acking token is skipped with the settings below. */
const K = 3;
const EXPLORE_EVERY = 3;

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway({
    label: 'pushskip',
    smsProviders: ['twilio'],
    overrides: { push: { prediction: { minAckProbability: 0.5, confidence: 0.9, exploreEvery: EXPLORE_EVERY } } },
  });
  await gw.sandbox('/_sandbox/reset', { method: 'POST' });
});
afterAll(async () => {
  await gw?.stop();
});

let seq = 0;
async function send(token: string): Promise<{ id: string; msg: Msg }> {
  const res = await gw.api('/v1/messages', {
    method: 'POST',
    json: { to: `+1415557${String(1000 + seq++)}`, otp: {}, channels: ['push', 'sms'], push: { token, ackTimeoutMs: 500 } },
  });
  expect(res.status, await res.clone().text()).toBe(202);
  const { id } = (await res.json()) as { id: string };
  return { id, msg: (await gw.waitForStatus(id, ['delivered', 'failed', 'undelivered'], 10_000)) as unknown as Msg };
}

async function fcmCalls(id: string): Promise<number> {
  const all = (await (await gw.sandbox('/_sandbox/log?provider=fcm&limit=1000')).json()) as Array<{ reference?: string }>;
  return all.filter((e) => e.reference === id).length;
}

describe('predicted push skip', () => {
  it(`sends SMS without waiting for an ack after ${K} unacked pushes, and pushes again once the device acks`, async () => {
    const token = 'tok-quiet-device-0001';
    await gw.sandbox(`/_sandbox/push/${token}`, { method: 'PUT', json: { result: 'ok' } });

    // K pushes time out: each falls back to SMS after the ack timeout.
    for (let i = 0; i < K; i++) {
      const { msg } = await send(token);
      expect(msg.attempts.map((a) => [a.channel, a.status])).toEqual([
        ['push', 'undelivered'],
        ['sms', 'delivered'],
      ]);
    }

    // Then push is skipped: SMS first, no FCM call, the fallback says why.
    for (let i = 0; i < EXPLORE_EVERY - 1; i++) {
      const { id, msg } = await send(token);
      expect(msg).toMatchObject({ status: 'delivered', channel: 'sms' });
      expect(msg.attempts.map((a) => a.channel)).toEqual(['sms']);
      expect(msg.timeline.find((t) => t.type === 'fallback')?.detail).toMatch(/^push_predicted_unacked: push skipped/);
      expect(await fcmCalls(id)).toBe(0);
    }
    const metrics = parsePrometheusText(
      (await (await fetch(`${gw.apiUrl}/metrics`)).text())
        .split('\n')
        .filter((l) => l.includes('switchboard_fallbacks_total'))
        .join('\n'),
    );
    expect(sumOf(metrics, 'switchboard_fallbacks_total', { from: 'push', to: 'sms', reason: 'push_predicted_unacked' })).toBe(
      EXPLORE_EVERY - 1,
    );

    // The device recovers. The exploration push (every 3rd skipped message) is acked...
    await gw.sandbox(`/_sandbox/push/${token}`, { method: 'PUT', json: { result: 'ok', autoAckMs: 50 } });
    const explored = await send(token);
    expect(explored.msg).toMatchObject({ status: 'delivered', channel: 'push' });
    expect(explored.msg.attempts.map((a) => a.channel)).toEqual(['push']);

    // ...and push is back for the messages after it.
    const next = await send(token);
    expect(next.msg).toMatchObject({ status: 'delivered', channel: 'push' });
    expect(await fcmCalls(next.id)).toBe(1);

    // The posterior is stored under an HMAC of the token, never the token itself.
    const keys = await keysUnder(gw.redis, gw.prefix);
    expect(keys.some((k) => k.startsWith(`${gw.prefix}:pushack:`))).toBe(true);
    expect(keys.filter((k) => k.includes(token))).toEqual([]);
  });

  it('keeps pushing a token whose device acks', async () => {
    const token = 'tok-lively-device-0002';
    await gw.sandbox(`/_sandbox/push/${token}`, { method: 'PUT', json: { result: 'ok', autoAckMs: 50 } });
    for (let i = 0; i < K + 2; i++) {
      const { msg } = await send(token);
      expect(msg).toMatchObject({ status: 'delivered', channel: 'push' });
    }
  });

  it('never skips push when it is the only channel', async () => {
    const token = 'tok-only-push-0003';
    await gw.sandbox(`/_sandbox/push/${token}`, { method: 'PUT', json: { result: 'ok' } });
    for (let i = 0; i < K + 1; i++) {
      const res = await gw.api('/v1/messages', {
        method: 'POST',
        json: { to: `+1415557${String(1000 + seq++)}`, otp: {}, channels: ['push'], push: { token, ackTimeoutMs: 500 } },
      });
      const { id } = (await res.json()) as { id: string };
      const msg = (await gw.waitForStatus(id, ['delivered', 'failed', 'undelivered'], 10_000)) as unknown as Msg;
      expect(msg.attempts.map((a) => a.channel)).toEqual(['push']);
    }
  });
});

/**
 * RCS upgrade with Switchboard-owned fallback to SMS: RBM capability (cached),
 * RCS through Sinch's Conversation API, failure → the same code by SMS exactly once.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { parsePrometheusText, sumOf } from '../helpers/prometheus-text.ts';

interface LogEntry {
  provider: string;
  path: string;
  to?: string;
  reference?: string;
  status: number;
  body?: string;
  channel?: string;
}
interface Msg {
  status: string;
  channel: string;
  provider: string;
  attempts: Array<{ channel: string; provider: string; status: string; error?: { code: string } }>;
  timeline: Array<{ type: string; detail?: string }>;
}

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway({ label: 'rcs', smsProviders: ['twilio'] });
});
afterAll(async () => {
  await gw?.stop();
});
beforeEach(async () => {
  await gw.sandbox('/_sandbox/reset', { method: 'POST' });
});

async function send(to: string, channels: string[] = ['rcs', 'sms']): Promise<string> {
  const res = await gw.api('/v1/messages', { method: 'POST', json: { to, otp: {}, channels } });
  expect(res.status, await res.clone().text()).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

async function log(): Promise<LogEntry[]> {
  return (await (await gw.sandbox('/_sandbox/log?limit=1000')).json()) as LogEntry[];
}

const rbmChecks = (entries: LogEntry[], to: string): LogEntry[] =>
  entries.filter((e) => e.provider === 'rbm' && (e.to === to || e.path.includes(encodeURIComponent(to)) || e.path.includes(to)));
const sends = (entries: LogEntry[], id: string): LogEntry[] => entries.filter((e) => e.reference === id && e.status < 300);

describe('RCS with SMS fallback', () => {
  it('delivers over RCS to a capable number and answers the next message from the capability cache', async () => {
    const to = '+14155551001';
    await gw.sandbox(`/_sandbox/numbers/${encodeURIComponent(to)}`, { method: 'PUT', json: { rcs: true } });
    const msg = (await gw.waitForStatus(await send(to), ['delivered', 'failed'])) as unknown as Msg;
    expect(msg).toMatchObject({ status: 'delivered', channel: 'rcs', provider: 'sinch' });
    await gw.waitForStatus(await send(to), ['delivered', 'failed']);
    expect(rbmChecks(await log(), to)).toHaveLength(1);
  });

  it('sends the same code by SMS exactly once when the RCS delivery fails', async () => {
    const to = '+14155551002';
    await gw.sandbox(`/_sandbox/numbers/${encodeURIComponent(to)}`, { method: 'PUT', json: { rcs: true } });
    await gw.sandbox('/_sandbox/providers/sinch', { method: 'PUT', json: { dlr: 'undelivered', dlrDelayMs: 50 } });
    const id = await send(to);
    const msg = (await gw.waitForStatus(id, ['delivered', 'failed', 'undelivered'])) as unknown as Msg;
    expect(msg).toMatchObject({ status: 'delivered', channel: 'sms' });
    expect(msg.attempts.map((a) => [a.channel, a.status])).toEqual([
      ['rcs', expect.stringMatching(/^(undelivered|failed)$/)],
      ['sms', 'delivered'],
    ]);
    expect(msg.attempts[0]?.error?.code).toBe('SB_RCS_FAILED');
    expect(msg.timeline.some((t) => t.type === 'fallback' && t.detail?.startsWith('rcs_failed'))).toBe(true);
    await new Promise((r) => setTimeout(r, 500));
    const out = sends(await log(), id);
    const sms = out.filter((e) => e.provider === 'twilio');
    const rcs = out.filter((e) => e.provider === 'sinch');
    expect(sms).toHaveLength(1);
    expect(rcs).toHaveLength(1);
    const code = (e: LogEntry | undefined): string | undefined => /\d{6}/.exec(e?.body ?? '')?.[0];
    expect(code(sms[0])).toMatch(/^\d{6}$/);
    expect(code(sms[0])).toBe(code(rcs[0]));
  });

  it('goes straight to SMS for a number RBM says is not capable, without an RCS send', async () => {
    const to = '+14155551003';
    const id = await send(to);
    const msg = (await gw.waitForStatus(id, ['delivered', 'failed'])) as unknown as Msg;
    expect(msg).toMatchObject({ status: 'delivered', channel: 'sms' });
    expect(msg.attempts.map((a) => a.channel)).toEqual(['sms']);
    expect(msg.timeline.some((t) => t.type === 'fallback' && t.detail?.startsWith('rcs_not_capable'))).toBe(true);
    expect(sends(await log(), id).map((e) => e.provider)).toEqual(['twilio']);
  });

  it('sends SMS and raises an ops signal when RBM says the agent is not launched (403)', async () => {
    const to = '+14155551004';
    await gw.sandbox(`/_sandbox/numbers/${encodeURIComponent(to)}`, { method: 'PUT', json: { rcs: true } });
    await gw.sandbox('/_sandbox/providers/rbm', { method: 'PUT', json: { errorRate: 1, errorStatus: 403 } });
    const msg = (await gw.waitForStatus(await send(to), ['delivered', 'failed'])) as unknown as Msg;
    expect(msg).toMatchObject({ status: 'delivered', channel: 'sms' });
    const metrics = parsePrometheusText(await (await fetch(`${gw.apiUrl}/metrics`)).text());
    expect(sumOf(metrics, 'switchboard_rcs_capability_checks_total', { result: 'agent_not_launched' })).toBeGreaterThanOrEqual(1);
  });

  it('refuses forged Conversation callbacks with 401', async () => {
    const body = JSON.stringify({ message_delivery_report: { message_id: 'x', status: 'DELIVERED' }, message_metadata: 'msg_x' });
    const unsigned = await fetch(`${gw.apiUrl}/webhooks/sinch/conversation`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(unsigned.status).toBe(401);
    const forged = await fetch(`${gw.apiUrl}/webhooks/sinch/conversation`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-sinch-webhook-signature': 'Zm9yZ2Vk',
        'x-sinch-webhook-signature-nonce': 'n',
        'x-sinch-webhook-signature-timestamp': String(Math.floor(Date.now() / 1000)),
        'x-sinch-webhook-signature-algorithm': 'HmacSHA256',
      },
      body,
    });
    expect(forged.status).toBe(401);
    expect(await forged.json()).toMatchObject({ error: { code: 'SB_WEBHOOK_SIGNATURE_INVALID' } });
  });
});

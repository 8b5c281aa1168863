/**
 * WhatsApp as a rung (CONTRACTS §1 channels, §4 reasons): authentication-template OTPs through Twilio (`whatsapp:+…`,
 * ContentSid) and Sinch Conversation (WHATSAPP), routed by the price book and health with failover
 * between the two, and Switchboard-owned fallback to SMS — at once for a number not on WhatsApp
 * (`whatsapp_not_registered`), after every other WhatsApp failure (`whatsapp_failed`). Everything
 * runs through the real SDKs against the sandbox emulators, on the real Redis.
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
  cost: { amount: number; currency: string };
  routing: { provider: string; reason: string; candidates: Array<{ provider: string; price?: number }> };
  attempts: Array<{
    n: number;
    channel: string;
    provider: string;
    status: string;
    startedAt: string;
    error?: { code: string; providerCode?: string };
  }>;
  timeline: Array<{ type: string; channel?: string; provider?: string; detail?: string }>;
}

let gw: TestGateway;
let seq = 0;

beforeAll(async () => {
  gw = await startTestGateway({
    label: 'whatsapp',
    // SMS by MessageBird, so a WhatsApp scenario on Twilio or Sinch never touches the SMS rung.
    smsProviders: ['messagebird'],
    // US WhatsApp: Twilio cheaper than Sinch in this test's price book (GB keeps pricing.yaml's: Sinch cheaper).
    overrides: { pricing: { channels: { whatsapp: { twilio: { na: 0.011 }, sinch: { na: 0.012 } } } } },
  });
});
afterAll(async () => {
  await gw?.stop();
});
beforeEach(async () => {
  await gw.sandbox('/_sandbox/reset', { method: 'POST' });
});

/** A number nobody used yet (lookups and the not-on-WhatsApp memory are per number). */
function fresh(prefix = '+1415556'): string {
  seq += 1;
  return `${prefix}${String(process.pid % 100).padStart(2, '0')}${String(seq).padStart(2, '0')}`;
}

async function send(to: string, channels: string[] = ['whatsapp', 'sms']): Promise<string> {
  const res = await gw.api('/v1/messages', { method: 'POST', json: { to, otp: {}, channels } });
  expect(res.status, await res.clone().text()).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

async function log(): Promise<LogEntry[]> {
  return (await (await gw.sandbox('/_sandbox/log?limit=1000')).json()) as LogEntry[];
}
const sends = (entries: LogEntry[], id: string): LogEntry[] =>
  entries.filter((e) => e.reference === id && e.status < 300 && !e.path.includes('oauth2'));
const codeOf = (e: LogEntry | undefined): string | undefined => /\d{6}/.exec(e?.body ?? '')?.[0];
const get = async (id: string): Promise<Msg> => (await (await gw.api(`/v1/messages/${id}`)).json()) as Msg;

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function fallbacks(reason: string): Promise<number> {
  const metrics = parsePrometheusText(await (await fetch(`${gw.apiUrl}/metrics`)).text());
  return sumOf(metrics, 'switchboard_fallbacks_total', { from: 'whatsapp', to: 'sms', reason });
}

describe('WhatsApp with SMS fallback', () => {
  it('delivers an OTP over WhatsApp through the cheaper provider, priced per message, and notes the read receipt', async () => {
    const to = fresh();
    const id = await send(to);
    const msg = (await gw.waitForStatus(id, ['delivered', 'failed', 'undelivered'])) as unknown as Msg;
    expect(msg).toMatchObject({ status: 'delivered', channel: 'whatsapp', provider: 'twilio', cost: { amount: 0.011, currency: 'USD' } });
    expect(msg.routing).toMatchObject({ provider: 'twilio', reason: 'cheapest' });
    expect(msg.attempts.map((a) => [a.channel, a.provider, a.status])).toEqual([['whatsapp', 'twilio', 'delivered']]);
    const read = await waitFor('the read receipt', async () => {
      const m = await get(id);
      return m.timeline.some((t) => t.type === 'callback' && t.detail === 'read' && t.channel === 'whatsapp') ? m : undefined;
    });
    expect(read.status).toBe('delivered');
    // The template carried the message's own code: the handset shows it, and it verifies.
    const [wa] = sends(await log(), id);
    expect(wa).toMatchObject({ provider: 'twilio', channel: 'whatsapp', to });
    const code = codeOf(wa);
    expect(code).toMatch(/^\d{6}$/);
    const verify = await gw.api(`/v1/messages/${id}/verify`, { method: 'POST', json: { code } });
    expect(await verify.json()).toEqual({ valid: true });
  });

  it('delivers over Sinch Conversation where the price book makes it the cheaper WhatsApp provider, read receipt included', async () => {
    const to = fresh('+44740012');
    const id = await send(to);
    const msg = (await gw.waitForStatus(id, ['delivered', 'failed', 'undelivered'])) as unknown as Msg;
    expect(msg).toMatchObject({ status: 'delivered', channel: 'whatsapp', provider: 'sinch', cost: { amount: 0.04, currency: 'USD' } });
    await waitFor('the READ receipt', async () =>
      (await get(id)).timeline.some((t) => t.detail === 'read' && t.provider === 'sinch') ? true : undefined,
    );
    expect(sends(await log(), id).map((e) => [e.provider, e.channel])).toEqual([['sinch', 'whatsapp']]);
  });

  it('sends the code by SMS at once to a number not on WhatsApp, and skips WhatsApp for its next message', async () => {
    const to = fresh();
    await gw.sandbox(`/_sandbox/numbers/${encodeURIComponent(to)}`, { method: 'PUT', json: { whatsapp: false } });
    const before = await fallbacks('whatsapp_not_registered');
    const id = await send(to);
    const msg = (await gw.waitForStatus(id, ['delivered', 'failed', 'undelivered'])) as unknown as Msg;
    expect(msg).toMatchObject({ status: 'delivered', channel: 'sms', provider: 'messagebird' });
    expect(msg.attempts.map((a) => [a.channel, a.provider, a.status, a.error?.code, a.error?.providerCode])).toEqual([
      ['whatsapp', 'twilio', 'failed', 'SB_WHATSAPP_NOT_REGISTERED', '63024'],
      ['sms', 'messagebird', 'delivered', undefined, undefined],
    ]);
    // At once: on the carrier's answer, long before the 20 s delivery timeout.
    const [wa, sms] = msg.attempts;
    expect(Date.parse(sms?.startedAt ?? '') - Date.parse(wa?.startedAt ?? '')).toBeLessThan(5_000);
    expect(msg.timeline.some((t) => t.type === 'fallback' && t.detail?.startsWith('whatsapp_not_registered'))).toBe(true);
    expect(await fallbacks('whatsapp_not_registered')).toBe(before + 1);
    const out = sends(await log(), id);
    expect(out.map((e) => e.provider)).toEqual(['messagebird', 'twilio']);
    expect(codeOf(out[0])).toBe(codeOf(out[1]));

    const second = await send(to);
    const next = (await gw.waitForStatus(second, ['delivered', 'failed', 'undelivered'])) as unknown as Msg;
    expect(next.attempts.map((a) => a.channel)).toEqual(['sms']);
    expect(next.timeline.some((t) => t.type === 'fallback' && t.detail?.startsWith('whatsapp_not_registered'))).toBe(true);
    expect(sends(await log(), second).map((e) => e.provider)).toEqual(['messagebird']);
  });

  it('sends the code by SMS after WhatsApp reports the message undelivered (whatsapp_failed)', async () => {
    await gw.sandbox('/_sandbox/providers/twilio', { method: 'PUT', json: { dlr: 'undelivered', dlrDelayMs: 60 } });
    const before = await fallbacks('whatsapp_failed');
    const id = await send(fresh());
    const msg = (await gw.waitForStatus(id, ['delivered', 'failed', 'undelivered'])) as unknown as Msg;
    expect(msg).toMatchObject({ status: 'delivered', channel: 'sms' });
    expect(msg.attempts.map((a) => [a.channel, a.provider, a.status, a.error?.code])).toEqual([
      ['whatsapp', 'twilio', 'undelivered', 'SB_WHATSAPP_FAILED'],
      ['sms', 'messagebird', 'delivered', undefined],
    ]);
    expect(msg.timeline.some((t) => t.type === 'fallback' && t.detail?.startsWith('whatsapp_failed'))).toBe(true);
    expect(await fallbacks('whatsapp_failed')).toBe(before + 1);
  });

  it('fails WhatsApp over from Twilio to Sinch on a 5xx, and delivers there', async () => {
    await gw.sandbox('/_sandbox/providers/twilio', { method: 'PUT', json: { errorRate: 1, errorStatus: 500 } });
    const id = await send(fresh());
    const msg = (await gw.waitForStatus(id, ['delivered', 'failed', 'undelivered'])) as unknown as Msg;
    expect(msg).toMatchObject({ status: 'delivered', channel: 'whatsapp', provider: 'sinch' });
    expect(msg.attempts.map((a) => [a.channel, a.provider, a.status, a.error?.code])).toEqual([
      ['whatsapp', 'twilio', 'failed', 'SB_ROUTE_UNAVAILABLE'],
      ['whatsapp', 'sinch', 'delivered', undefined],
    ]);
    expect(sends(await log(), id).map((e) => [e.provider, e.channel])).toEqual([['sinch', 'whatsapp']]);
  });

  it('goes to SMS at once with whatsapp_failed when both WhatsApp providers are down', async () => {
    await gw.sandbox('/_sandbox/providers/twilio', { method: 'PUT', json: { outage: true } });
    await gw.sandbox('/_sandbox/providers/sinch', { method: 'PUT', json: { outage: true } });
    const id = await send(fresh());
    const msg = (await gw.waitForStatus(id, ['delivered', 'failed', 'undelivered'])) as unknown as Msg;
    expect(msg).toMatchObject({ status: 'delivered', channel: 'sms', provider: 'messagebird' });
    expect(msg.attempts.map((a) => [a.channel, a.provider, a.status])).toEqual([
      ['whatsapp', 'twilio', 'failed'],
      ['whatsapp', 'sinch', 'failed'],
      ['sms', 'messagebird', 'delivered'],
    ]);
    expect(msg.attempts[1]?.error?.code).toBe('SB_WHATSAPP_FAILED');
    expect(msg.timeline.some((t) => t.type === 'fallback' && t.detail?.startsWith('whatsapp_failed'))).toBe(true);
  });

  it('skips WhatsApp for a message without an OTP (only an authentication template may open the conversation)', async () => {
    const res = await gw.api('/v1/messages', {
      method: 'POST',
      json: { to: fresh(), body: 'Your parcel is on its way', channels: ['whatsapp', 'sms'] },
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    const msg = (await gw.waitForStatus(id, ['delivered', 'failed', 'undelivered'])) as unknown as Msg;
    expect(msg.attempts.map((a) => a.channel)).toEqual(['sms']);
    expect(msg.timeline.some((t) => t.type === 'fallback' && t.detail?.startsWith('whatsapp_failed'))).toBe(true);
  });
});

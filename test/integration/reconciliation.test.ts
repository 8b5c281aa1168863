/**
 * Never stuck in `sent` (CONTRACTS §4): a carrier callback that never arrives is recovered by
 * reading the carrier's status API through its official client, and an OTP whose delivery report
 * does not come in time is sent once more elsewhere with the same code. Real Redis, the real
 * gateway, the official SDKs against the sandbox emulators; small deadlines keep it fast.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { startWebhookReceiver, type ReceivedRequest, type WebhookReceiver } from '../helpers/webhook-receiver.ts';

const RECONCILE_AFTER_MS = 1_000;
const DELIVERY_TIMEOUT_MS = 1_500;

interface View {
  id: string;
  status: string;
  error?: { code: string; providerCode?: string };
  attempts: Array<{ n: number; provider: string; channel: string; status: string; error?: { providerCode?: string } }>;
  timeline: Array<{ type: string; provider?: string; detail?: string }>;
  verifiedAt?: string;
}
interface LogEntry {
  provider: string;
  method: string;
  path: string;
  reference?: string;
  body?: string;
  status: number;
}
interface EventBody {
  type: string;
  data: { messageId: string; reason?: string };
}

let gw: TestGateway;
let receiver: WebhookReceiver;
let numberSeq = 0;
/** A fresh number whose country routes to `provider` first (US: Twilio, the cheapest; GB: Sinch only; NL: MessageBird only). */
function freshNumber(provider: 'twilio' | 'sinch' | 'messagebird' = 'twilio'): string {
  const n = String(numberSeq++ % 100).padStart(2, '0');
  if (provider === 'sinch') return `+4474001234${n}`;
  if (provider === 'messagebird') return `+316123450${n}`;
  return `+14155561${String(numberSeq % 1000).padStart(3, '0')}`;
}

const scenario = (provider: string, settings: Record<string, unknown>): Promise<Response> =>
  gw.sandbox(`/_sandbox/providers/${provider}`, { method: 'PUT', json: settings });
const events = (all: ReceivedRequest[], id: string): EventBody[] =>
  all.map((r) => JSON.parse(r.body) as EventBody).filter((e) => e.data.messageId === id);

async function send(json: Record<string, unknown>): Promise<string> {
  const res = await gw.api('/v1/messages', { method: 'POST', json: { callbackUrl: receiver.url, ...json } });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

async function view(id: string): Promise<View> {
  return (await (await gw.api(`/v1/messages/${id}`)).json()) as View;
}

async function sendsTo(id: string): Promise<LogEntry[]> {
  const all = (await (await gw.sandbox('/_sandbox/log?limit=1000')).json()) as LogEntry[];
  return all
    .filter((e) => e.reference === id && e.method === 'POST' && e.status >= 200 && e.status < 300 && e.body !== undefined)
    .reverse();
}

beforeAll(async () => {
  gw = await startTestGateway({
    label: 'reconcile',
    smsProviders: ['twilio', 'sinch', 'messagebird'],
    overrides: {
      keyDefaults: { lookup: 'never' },
      dlr: { reconcileAfterMs: RECONCILE_AFTER_MS },
      otp: { deliveryTimeoutMs: DELIVERY_TIMEOUT_MS },
      // US: Twilio, then Sinch, then MessageBird, so the first carrier of a message is known; GB and NL pin one carrier each.
      pricing: { prices: { twilio: { na: 0.001, eu: 0.01 }, sinch: { na: 0.002, eu: 0.01 }, messagebird: { na: 0.003, eu: 0.01 } } },
      routing: { channels: { sms: { providers: ['twilio', 'sinch', 'messagebird'], countries: { GB: ['sinch'], NL: ['messagebird'] } } } },
    },
  });
  receiver = await startWebhookReceiver();
}, 60_000);

afterAll(async () => {
  await receiver?.close();
  await gw?.stop();
});

afterEach(async () => {
  await gw.sandbox('/_sandbox/reset', { method: 'POST' });
});

describe('reconciliation of lost carrier callbacks', () => {
  for (const provider of ['twilio', 'sinch', 'messagebird'] as const) {
    it(`reconciles a dropped ${provider} delivery callback through the carrier's status read`, async () => {
      await scenario(provider, { callbacks: 'drop', dlrDelayMs: 100 });
      const started = Date.now();
      const id = await send({ to: freshNumber(provider), body: 'transactional text' });
      const done = (await gw.waitForStatus(id, ['delivered', 'undelivered', 'failed'], RECONCILE_AFTER_MS + 10_000)) as unknown as View;
      expect(done.status).toBe('delivered');
      expect(Date.now() - started).toBeLessThan(RECONCILE_AFTER_MS + 10_000);
      const delivered = done.attempts.find((a) => a.status === 'delivered');
      expect(delivered?.provider).toBe(provider);
      expect(done.timeline.filter((t) => t.type === 'reconciled' && t.provider === provider)).toHaveLength(1);
      expect(done.timeline.filter((t) => t.type === 'callback')).toEqual([]);
      await receiver.waitFor((all) => events(all, id).some((e) => e.type === 'message.delivered'));
      // Later firings of the watch (none, once terminal) or late callbacks never add a second one.
      await new Promise((r) => setTimeout(r, RECONCILE_AFTER_MS * 2));
      expect(events(receiver.received, id).filter((e) => e.type === 'message.delivered')).toHaveLength(1);
      const metrics = await (await fetch(`${gw.apiUrl}/metrics`)).text();
      expect(metrics).toMatch(new RegExp(`switchboard_reconciliations_total\\{provider="${provider}",result="delivered"\\} [1-9]`));
    });
  }

  it('ends undelivered with the carrier code when the lost callback was a failure', async () => {
    await scenario('twilio', { callbacks: 'drop', dlr: 'undelivered', dlrErrorCode: '30005', dlrDelayMs: 100 });
    const id = await send({ to: freshNumber(), body: 'transactional text' });
    const done = (await gw.waitForStatus(id, ['delivered', 'undelivered', 'failed'], RECONCILE_AFTER_MS + 10_000)) as unknown as View;
    expect(done.status).toBe('undelivered');
    expect(done.error?.providerCode).toBe('30005');
    expect(done.timeline.some((t) => t.type === 'reconciled' && t.detail === 'undelivered (30005)')).toBe(true);
    await receiver.waitFor((all) => events(all, id).some((e) => e.type === 'message.undelivered'));
  });

  it('keeps reading on a back-off while the carrier has no final status, and applies it once it has', async () => {
    // The carrier reports nothing and its state stays `queued` for now.
    await scenario('twilio', { callbacks: 'drop', dlr: 'none' });
    const id = await send({ to: freshNumber(), body: 'transactional text' });
    await gw.waitForStatus(id, ['sent', 'queued']);
    await new Promise((r) => setTimeout(r, RECONCILE_AFTER_MS + 1_500));
    expect((await view(id)).status).not.toBe('delivered');
    const metrics = await (await fetch(`${gw.apiUrl}/metrics`)).text();
    expect(metrics).toMatch(/switchboard_reconciliations_total\{provider="twilio",result="pending"\} [1-9]/);
  });
});

describe('DLR-timeout failover of OTPs', () => {
  it('sends the same code through the next provider when the first never reports delivery, and that code verifies', async () => {
    await scenario('twilio', { dlr: 'none' });
    const id = await send({ to: freshNumber(), otp: {} });
    const done = (await gw.waitForStatus(id, ['delivered'], DELIVERY_TIMEOUT_MS + 10_000)) as unknown as View;
    expect(done.attempts.map((a) => [a.provider, a.status])).toEqual([
      ['twilio', 'queued'],
      ['sinch', 'delivered'],
    ]);
    const sends = await sendsTo(id);
    expect(sends.map((s) => s.provider)).toEqual(['twilio', 'sinch']);
    const codes = sends.map((s) => /\d{6}/.exec(s.body ?? '')?.[0]);
    expect(codes[0]).toBeDefined();
    expect(codes[1]).toBe(codes[0]);
    await receiver.waitFor((all) => events(all, id).some((e) => e.type === 'message.fallback' && e.data.reason === 'dlr_timeout'));
    const verified = await gw.api(`/v1/messages/${id}/verify`, { method: 'POST', json: { code: codes[1] } });
    expect(await verified.json()).toEqual({ valid: true });
    const metrics = await (await fetch(`${gw.apiUrl}/metrics`)).text();
    expect(metrics).toMatch(/switchboard_fallbacks_total\{from="sms",to="sms",reason="dlr_timeout"\} [1-9]/);
  });

  it('never resends an OTP verified before its delivery timeout', async () => {
    await scenario('twilio', { dlr: 'none' });
    const id = await send({ to: freshNumber(), otp: {} });
    await gw.waitForStatus(id, ['sent', 'queued']);
    let sends: LogEntry[] = [];
    for (let i = 0; i < 50 && sends.length === 0; i++) {
      sends = await sendsTo(id);
      if (sends.length === 0) await new Promise((r) => setTimeout(r, 50));
    }
    const code = /\d{6}/.exec(sends[0]?.body ?? '')?.[0];
    expect(code).toBeDefined();
    expect(await (await gw.api(`/v1/messages/${id}/verify`, { method: 'POST', json: { code } })).json()).toEqual({ valid: true });
    await new Promise((r) => setTimeout(r, DELIVERY_TIMEOUT_MS * 3));
    const after = await view(id);
    expect(after.attempts).toHaveLength(1);
    expect(after.timeline.filter((t) => t.type === 'fallback')).toEqual([]);
    expect((await sendsTo(id)).map((s) => s.provider)).toEqual(['twilio']);
  });

  it('does not fail over when the carrier status read finds the lost report was a delivery', async () => {
    await scenario('twilio', { callbacks: 'drop', dlrDelayMs: 100 });
    const id = await send({ to: freshNumber(), otp: {} });
    const done = (await gw.waitForStatus(id, ['delivered'], DELIVERY_TIMEOUT_MS + 10_000)) as unknown as View;
    expect(done.attempts.map((a) => a.provider)).toEqual(['twilio']);
    expect(done.timeline.some((t) => t.type === 'reconciled')).toBe(true);
    expect((await sendsTo(id)).map((s) => s.provider)).toEqual(['twilio']);
  });

  it("takes the request's own delivery timeout over the deployment's", async () => {
    await scenario('twilio', { dlr: 'none' });
    const id = await send({ to: freshNumber(), otp: { deliveryTimeoutMs: 5_000 } });
    await gw.waitForStatus(id, ['sent', 'queued']);
    await new Promise((r) => setTimeout(r, DELIVERY_TIMEOUT_MS + 1_500));
    expect((await view(id)).attempts).toHaveLength(1);
    const done = (await gw.waitForStatus(id, ['delivered'], 15_000)) as unknown as View;
    expect(done.attempts.map((a) => a.provider)).toEqual(['twilio', 'sinch']);
  });
});

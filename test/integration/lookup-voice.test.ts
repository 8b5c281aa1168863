/**
 * Number lookups and voice: caching, landline → voice, invalid → nothing sent,
 * SIM-swap policies, each lookup provider as the default, and a lookup outage that degrades.
 */
import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { readCodeFromTwiml } from '../../providers/index.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { parsePrometheusText, sumOf } from '../helpers/prometheus-text.ts';

/** `switchboard_messages_total` summed for one outcome. */
async function outcomes(gw: TestGateway, outcome: string): Promise<number> {
  return sumOf(parsePrometheusText(await (await fetch(`${gw.apiUrl}/metrics`)).text()), 'switchboard_messages_total', { outcome });
}

interface LogEntry {
  provider: string;
  path: string;
  to?: string;
  reference?: string;
  status: number;
  content?: string;
  channel?: string;
}
interface Msg {
  status: string;
  channel: string;
  error?: { code: string };
  attempts: Array<{ channel: string; status: string }>;
  timeline: Array<{ type: string; detail?: string }>;
}

const gateways: TestGateway[] = [];
afterAll(async () => {
  for (const g of gateways) await g.stop();
});

async function gateway(label: string, overrides: Record<string, unknown> = {}, sms: 'twilio' | 'sinch' = 'twilio'): Promise<TestGateway> {
  const gw = await startTestGateway({ label, smsProviders: [sms], overrides });
  gateways.push(gw);
  return gw;
}

async function send(gw: TestGateway, body: Record<string, unknown>): Promise<string> {
  const res = await gw.api('/v1/messages', { method: 'POST', json: { otp: {}, ...body } });
  expect(res.status, await res.clone().text()).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

async function log(gw: TestGateway, to: string): Promise<LogEntry[]> {
  return (await (await gw.sandbox(`/_sandbox/log?to=${encodeURIComponent(to)}&limit=1000`)).json()) as LogEntry[];
}

const isLookup = (e: LogEntry): boolean => /PhoneNumbers|lookups|\/hlr/.test(e.path);
const isSend = (e: LogEntry): boolean => e.reference !== undefined && !isLookup(e);

describe('number lookups', () => {
  it('looks a number up once and answers the second message from the cache', async () => {
    const gw = await gateway('lk-cache');
    const to = '+14155550901';
    await gw.waitForStatus(await send(gw, { to }), ['delivered']);
    const second = (await gw.waitForStatus(await send(gw, { to }), ['delivered'])) as unknown as Msg;
    expect((await log(gw, to)).filter(isLookup)).toHaveLength(1);
    expect(second.timeline.find((t) => t.type === 'lookup')?.detail).toMatch(/twilio hit: mobile/);
  });

  it('calls a landline with the code read digit by digit when voice is listed', async () => {
    const gw = await gateway('lk-voice');
    const to = '+14155550902';
    await gw.sandbox(`/_sandbox/numbers/${encodeURIComponent(to)}`, { method: 'PUT', json: { lineType: 'landline' } });
    const id = await send(gw, { to, channels: ['sms', 'voice'], otp: { length: 6 } });
    const msg = (await gw.waitForStatus(id, ['delivered', 'failed', 'undelivered'])) as unknown as Msg;
    expect(msg).toMatchObject({ status: 'delivered', channel: 'voice' });
    expect(msg.attempts.map((a) => a.channel)).toEqual(['voice']);
    expect(msg.timeline.some((t) => t.type === 'fallback' && t.detail?.startsWith('landline'))).toBe(true);
    const call = (await log(gw, to)).find((e) => e.channel === 'voice' || e.path.endsWith('/Calls.json'));
    const code = readCodeFromTwiml(call?.content ?? '');
    expect(code).toMatch(/^\d{6}$/);
    expect((call?.content ?? '').split(code?.split('').join(', ') ?? 'x').length - 1).toBe(2);
  });

  it('fails a landline without voice, and an invalid number, with zero carrier sends', async () => {
    const gw = await gateway('lk-invalid');
    const landline = '+14155550903';
    const invalid = '+14155550904';
    await gw.sandbox(`/_sandbox/numbers/${encodeURIComponent(landline)}`, { method: 'PUT', json: { lineType: 'landline' } });
    await gw.sandbox(`/_sandbox/numbers/${encodeURIComponent(invalid)}`, { method: 'PUT', json: { valid: false } });
    const a = (await gw.waitForStatus(await send(gw, { to: landline }), ['failed', 'delivered'])) as unknown as Msg;
    const b = (await gw.waitForStatus(await send(gw, { to: invalid }), ['failed', 'delivered'])) as unknown as Msg;
    expect(a.status).toBe('failed');
    expect(b).toMatchObject({ status: 'failed', error: { code: 'SB_RECIPIENT_INVALID' } });
    expect(a.attempts).toEqual([]);
    expect(b.attempts).toEqual([]);
    expect([...(await log(gw, landline)), ...(await log(gw, invalid))].filter(isSend)).toEqual([]);
  });

  it('counts an invalid number stopped by the lookup as outcome="refused", not failed', async () => {
    const gw = await gateway('lk-refused');
    const invalid = '+14155550906';
    await gw.sandbox(`/_sandbox/numbers/${encodeURIComponent(invalid)}`, { method: 'PUT', json: { valid: false } });
    const msg = (await gw.waitForStatus(await send(gw, { to: invalid }), ['failed', 'delivered'])) as unknown as Msg;
    expect(msg.error?.code).toBe('SB_RECIPIENT_INVALID');
    expect(await outcomes(gw, 'refused')).toBe(1);
    expect(await outcomes(gw, 'failed')).toBe(0);
  });

  it('applies the key SIM-swap policy: block refuses, push-only sends by push alone', async () => {
    const sha = (s: string): string => createHash('sha256').update(s).digest('hex');
    const gw = await gateway('lk-swap', {
      apiKeys: [
        { name: 'sandbox', sha256: sha('sandbox-key'), scopes: ['send', 'read', 'verify', 'admin'], simSwap: 'block' },
        { name: 'pushy', sha256: sha('pushy-key'), scopes: ['send', 'read'], simSwap: 'push-only' },
      ],
    });
    const swapped = '+14155550905';
    await gw.sandbox(`/_sandbox/numbers/${encodeURIComponent(swapped)}`, {
      method: 'PUT',
      json: { simSwap: { lastSwapAt: new Date(Date.now() - 3_600_000).toISOString() } },
    });
    const blocked = (await gw.waitForStatus(await send(gw, { to: swapped }), ['failed', 'delivered'])) as unknown as Msg;
    expect(blocked).toMatchObject({ status: 'failed', error: { code: 'SB_POLICY_SIM_SWAP' } });
    // A policy stop in the worker is a refusal, like the API's (CONTRACTS §7).
    expect(await outcomes(gw, 'refused')).toBe(1);
    expect(await outcomes(gw, 'failed')).toBe(0);

    await gw.sandbox('/_sandbox/push/tok-swap', { method: 'PUT', json: { result: 'ok', autoAckMs: 50 } });
    const res = await gw.api('/v1/messages', {
      method: 'POST',
      headers: { authorization: 'Bearer pushy-key' },
      json: { to: swapped, otp: {}, channels: ['push', 'sms'], push: { token: 'tok-swap', ackTimeoutMs: 2_000 } },
    });
    const { id } = (await res.json()) as { id: string };
    const deadline = Date.now() + 10_000;
    let msg: Msg | undefined;
    while (Date.now() < deadline) {
      msg = (await (await gw.api(`/v1/messages/${id}`, { headers: { authorization: 'Bearer pushy-key' } })).json()) as Msg;
      if (msg.status === 'delivered' || msg.status === 'failed') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(msg).toMatchObject({ status: 'delivered', channel: 'push' });
    expect((await log(gw, swapped)).filter((e) => isSend(e) && e.provider === 'twilio')).toEqual([]);
  });
});

describe.each(['twilio', 'sinch', 'messagebird'] as const)('with %s as the lookup provider', (provider) => {
  it('looks numbers up through it, and sends anyway when it is down', async () => {
    // SMS through another carrier, so the lookup outage is the only thing that breaks.
    const gw = await gateway(`lk-${provider.slice(0, 4)}`, { lookup: { provider } }, provider === 'twilio' ? 'sinch' : 'twilio');
    const to = '+14155550910';
    const ok = (await gw.waitForStatus(await send(gw, { to }), ['delivered'])) as unknown as Msg;
    expect(ok.timeline.find((t) => t.type === 'lookup')?.detail).toMatch(new RegExp(`^${provider} miss: (mobile|unknown)`));
    expect((await log(gw, to)).filter((e) => isLookup(e) && e.provider === provider).length).toBeGreaterThanOrEqual(1);

    await gw.sandbox(`/_sandbox/providers/${provider}`, { method: 'PUT', json: { outage: true } });
    try {
      const down = (await gw.waitForStatus(await send(gw, { to: '+14155550911' }), ['delivered', 'failed'], 15_000)) as unknown as Msg;
      expect(down.status).toBe('delivered');
      expect(down.timeline.find((t) => t.type === 'lookup')?.detail).toMatch(/unknown \(lookup failed\)/);
    } finally {
      await gw.sandbox(`/_sandbox/providers/${provider}`, { method: 'PUT', json: { outage: false } });
    }
  });
});

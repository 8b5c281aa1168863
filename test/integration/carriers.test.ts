/**
 * Each carrier end to end: with routing pinned to it, a message is
 * delivered through its official SDK/client and the sandbox, its callbacks verified; forged
 * callbacks are refused; the invalid magic number is refused in the carrier's own dialect.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';

const CARRIERS = ['twilio', 'sinch', 'messagebird'] as const;

interface LogEntry {
  provider: string;
  status: number;
  reference?: string;
}

describe.each(CARRIERS)('through %s', (provider) => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ label: `car-${provider.slice(0, 4)}`, smsProviders: [provider] });
  });
  afterAll(async () => {
    await gw?.stop();
  });

  async function send(to: string): Promise<string> {
    const res = await gw.api('/v1/messages', { method: 'POST', json: { to, body: 'Code {{code}}', otp: {} } });
    expect(res.status).toBe(202);
    return ((await res.json()) as { id: string }).id;
  }

  async function log(reference: string): Promise<LogEntry[]> {
    const all = (await (await gw.sandbox('/_sandbox/log?limit=1000')).json()) as LogEntry[];
    return all.filter((e) => e.reference === reference);
  }

  it('delivers a message with the carrier callbacks verified', async () => {
    const id = await send('+14155550601');
    const msg = (await gw.waitForStatus(id, ['delivered', 'failed', 'undelivered'])) as {
      status: string;
      provider: string;
      attempts: Array<{ provider: string; providerMessageId?: string }>;
      timeline: Array<{ type: string; detail?: string }>;
    };
    expect(msg.status).toBe('delivered');
    expect(msg.provider).toBe(provider);
    expect(msg.attempts).toHaveLength(1);
    expect(msg.attempts[0]?.providerMessageId).toBeTruthy();
    expect(msg.timeline.some((t) => t.type === 'callback')).toBe(true);
    expect((await log(id)).map((e) => [e.provider, e.status])).toEqual([[provider, expect.any(Number)]]);
    const metrics = await (await fetch(`${gw.apiUrl}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`^switchboard_carrier_callbacks_total\\{provider="${provider}",result="accepted"\\} [1-9]`, 'm'));
  });

  it('fails +15005550001 after one attempt, refused in the carrier dialect, without a retry', async () => {
    const id = await send('+15005550001');
    const msg = (await gw.waitForStatus(id, ['failed', 'delivered', 'undelivered'])) as {
      status: string;
      error: { code: string; providerCode?: string };
      attempts: unknown[];
    };
    expect(msg.status).toBe('failed');
    expect(msg.error.code).toBe('SB_CARRIER_REJECTED');
    expect(msg.error.providerCode).toBeTruthy();
    expect(msg.attempts).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 300));
    const entries = await log(id);
    expect(entries).toHaveLength(1);
    expect(entries[0]?.status).toBeGreaterThanOrEqual(400);
    expect(entries[0]?.status).toBeLessThan(500);
  });

  it('refuses a forged callback with 401 and changes nothing', async () => {
    const id = await send('+14155550602');
    const delivered = await gw.waitForStatus(id, ['delivered']);
    const before = JSON.stringify(delivered);
    const headers: Record<string, string> = {};
    let res: Response;
    if (provider === 'messagebird') {
      res = await fetch(`${gw.apiUrl}/webhooks/messagebird?sb=${id}&id=x&reference=${id}&status=delivery_failed`, {
        headers: { 'messagebird-signature-jwt': 'eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJNZXNzYWdlQmlyZCJ9.forged' },
      });
    } else if (provider === 'sinch') {
      headers['content-type'] = 'application/json';
      headers['authorization'] = `Basic ${Buffer.from('sinch-callback:wrong').toString('base64')}`;
      res = await fetch(`${gw.apiUrl}/webhooks/sinch`, {
        method: 'POST',
        headers,
        body: JSON.stringify({
          type: 'recipient_delivery_report_sms',
          batch_id: 'x',
          recipient: '+14155550602',
          status: 'Failed',
          code: 404,
          client_reference: id,
        }),
      });
    } else {
      res = await fetch(`${gw.apiUrl}/webhooks/twilio?sb=${id}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': 'forged' },
        body: 'MessageSid=SMx&MessageStatus=failed',
      });
    }
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: { code: 'SB_WEBHOOK_SIGNATURE_INVALID' } });
    await new Promise((r) => setTimeout(r, 200));
    expect(JSON.stringify((await (await gw.api(`/v1/messages/${id}`)).json()) as unknown)).toBe(before);
  });
});

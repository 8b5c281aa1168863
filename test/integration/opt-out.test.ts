/**
 * Opt-out on a whole gateway against the real Redis and carrier sandbox:
 * each carrier's emulator texts STOP to the gateway's `/webhooks/<provider>/inbound`, signed as
 * that carrier signs; the next message to the number is refused (`422 SB_POLICY_OPTED_OUT`,
 * nothing created, counted as refused); START lifts it; an unsigned STOP changes nothing. A send
 * the carrier refuses as unsubscribed (Twilio 21610) suppresses the number too.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { parsePrometheusText, sumOf } from '../helpers/prometheus-text.ts';
import { keysUnder } from '../helpers/redis.ts';

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway({ label: 'optout', smsProviders: ['twilio'] });
});
afterAll(async () => {
  await gw?.stop();
});

let seq = 0;
/** A fresh valid US mobile number per case (lookups are cached per number). */
const freshNumber = (): string => `+1415555${String(2000 + seq++).padStart(4, '0')}`;

async function send(
  to: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: { id?: string; error?: { code: string; message: string } } }> {
  const res = await gw.api('/v1/messages', { method: 'POST', json: { to, body: 'Your code is {{code}}', otp: {} }, headers });
  return { status: res.status, body: (await res.json()) as { id?: string; error?: { code: string; message: string } } };
}

async function inbound(provider: string, from: string, text: string): Promise<number> {
  const res = await gw.sandbox('/_sandbox/inbound', { method: 'POST', json: { provider, from, text } });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { status: number; url: string };
  expect(body.url).toBe(`${gw.apiUrl}/webhooks/${provider}/inbound`);
  return body.status;
}

async function metric(name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${gw.apiUrl}/metrics`)).text();
  return sumOf(parsePrometheusText(text), name, labels);
}

/** Raw bodies as each carrier would send them, but without a signature. */
function unsignedStop(provider: string, from: string): { body: string; contentType: string } {
  if (provider === 'twilio')
    return {
      body: new URLSearchParams({ MessageSid: 'SM' + '1'.repeat(32), From: from, To: '+15005550006', Body: 'STOP' }).toString(),
      contentType: 'application/x-www-form-urlencoded',
    };
  if (provider === 'sinch')
    return {
      body: JSON.stringify({ type: 'mo_text', id: '01HX', from: from.slice(1), to: '15005550006', body: 'STOP' }),
      contentType: 'application/json',
    };
  return {
    body: JSON.stringify({ id: 'f'.repeat(32), originator: from.slice(1), recipient: '15005550006', body: 'STOP' }),
    contentType: 'application/json',
  };
}

describe.each(['twilio', 'sinch', 'messagebird'])('a STOP through %s', (provider) => {
  it('refuses the next message with 422 SB_POLICY_OPTED_OUT, creating nothing, until START', async () => {
    const to = freshNumber();
    expect((await send(to)).status).toBe(202);

    expect(await inbound(provider, to, 'Stop')).toBe(204);
    const refusedBefore = await metric('switchboard_messages_total', { outcome: 'refused' });
    const blocksBefore = await metric('switchboard_policy_blocks_total', { reason: 'opted_out' });
    const idemKey = `optout-${provider}-${to}`;
    const refused = await send(to, { 'idempotency-key': idemKey });
    expect(refused.status).toBe(422);
    expect(refused.body.error).toMatchObject({ code: 'SB_POLICY_OPTED_OUT' });
    expect(refused.body.id).toBeUndefined();
    expect(await metric('switchboard_messages_total', { outcome: 'refused' })).toBe(refusedBefore + 1);
    expect(await metric('switchboard_policy_blocks_total', { reason: 'opted_out' })).toBe(blocksBefore + 1);
    // Nothing was created: no idempotency record for the refused request, no message in the index.
    expect(await gw.redis.exists(`${gw.prefix}:idem:sandbox:${createHash('sha256').update(idemKey).digest('hex')}`)).toBe(0);
    const listed = (await (await gw.api('/v1/messages?limit=100')).json()) as { items: Array<{ to: string }> };
    expect(listed.items.filter((m) => m.to === `${to.slice(0, 5)}***${to.slice(-4)}`)).toHaveLength(1);

    // Ordinary text from the number is acknowledged and changes nothing.
    expect(await inbound(provider, to, 'who is this?')).toBe(204);
    expect((await send(to)).status).toBe(422);

    expect(await inbound(provider, to, 'START')).toBe(204);
    expect((await send(to)).status).toBe(202);
  });

  it('ignores an unsigned STOP (401) and keeps sending', async () => {
    const to = freshNumber();
    const { body, contentType } = unsignedStop(provider, to);
    const res = await fetch(`${gw.apiUrl}/webhooks/${provider}/inbound`, {
      method: 'POST',
      headers: { 'content-type': contentType },
      body,
    });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('SB_WEBHOOK_SIGNATURE_INVALID');
    expect((await send(to)).status).toBe(202);
  });
});

describe('an opt-out reported by the carrier at send time', () => {
  it('suppresses a number Twilio refuses with 21610, and START lifts it', async () => {
    const optedOut = '+15005550004';
    const first = await send(optedOut);
    expect(first.status).toBe(202);
    const msg = await gw.waitForStatus(String(first.body.id), ['failed']);
    expect(msg['error']).toMatchObject({ code: 'SB_CARRIER_REJECTED', providerCode: '21610' });
    const again = await send(optedOut);
    expect(again.status).toBe(422);
    expect(again.body.error?.code).toBe('SB_POLICY_OPTED_OUT');
    expect(await inbound('twilio', optedOut, 'unstop')).toBe(204);
    expect((await send(optedOut)).status).toBe(202);
  });
});

describe('the opt-out list at rest', () => {
  it('holds phone tokens, never numbers, and the audit stream records the opt-out and the refusal', async () => {
    const to = freshNumber();
    expect(await inbound('sinch', to, 'STOP')).toBe(204);
    expect((await send(to)).status).toBe(422);
    const keys = (await keysUnder(gw.redis, gw.prefix)).filter((k) => k.includes(':optout:'));
    expect(keys.length).toBeGreaterThan(0);
    for (const k of keys) {
      expect(k).not.toContain(to.slice(1));
      expect(await gw.redis.get(k)).not.toContain(to.slice(1));
    }
    const audit = (await (await gw.api(`/v1/audit?to=${encodeURIComponent(to)}&limit=10`)).json()) as {
      items: Array<Record<string, string>>;
    };
    expect(audit.items.map((e) => `${e['decision']}:${e['code'] ?? e['provider'] ?? ''}`)).toEqual([
      'refused:SB_POLICY_OPTED_OUT',
      'opted_out:sinch',
    ]);
    expect(audit.items[0]).toMatchObject({ key: 'sandbox', phone: audit.items[1]?.['phone'] });
  });
});

import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TWILIO_SANDBOX_CREDENTIALS } from '../../providers/index.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway({ label: 'cb', smsProviders: ['twilio'] });
  await gw.sandbox('/_sandbox/providers/twilio', { method: 'PUT', json: { dlr: 'none' } });
});
afterAll(async () => {
  await gw?.stop();
});

async function acceptedMessage(to: string): Promise<{ id: string; sid: string }> {
  const res = await gw.api('/v1/messages', { method: 'POST', json: { to, body: 'hi' } });
  const { id } = (await res.json()) as { id: string };
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const msg = (await (await gw.api(`/v1/messages/${id}`)).json()) as { attempts: Array<{ providerMessageId?: string }> };
    const sid = msg.attempts[0]?.providerMessageId;
    if (sid) return { id, sid };
    await new Promise((r) => setTimeout(r, 30));
  }
  throw new Error('no carrier id');
}

function form(params: Record<string, string>): string {
  return new URLSearchParams(params).toString();
}

function callbackParams(sid: string, status: string): Record<string, string> {
  return {
    MessageSid: sid,
    SmsSid: sid,
    MessageStatus: status,
    SmsStatus: status,
    AccountSid: TWILIO_SANDBOX_CREDENTIALS.accountSid,
    From: '+15005550006',
    To: '+14155550166',
    ApiVersion: '2010-04-01',
  };
}

async function postCallback(id: string, params: Record<string, string>, signature?: string): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (signature !== undefined) headers['x-twilio-signature'] = signature;
  return fetch(`${gw.apiUrl}/webhooks/twilio?sb=${id}`, { method: 'POST', headers, body: form(params) });
}

async function snapshot(id: string): Promise<unknown> {
  return (await gw.api(`/v1/messages/${id}`)).json();
}

describe('Twilio status callbacks', () => {
  it('refuses unsigned, forged and tampered callbacks with 401 and changes nothing', async () => {
    const { id, sid } = await acceptedMessage('+14155550166');
    const before = await snapshot(id);
    const params = callbackParams(sid, 'delivered');
    const url = `${gw.config.api.publicUrl}/webhooks/twilio?sb=${id}`;
    const good = twilio.getExpectedTwilioSignature(TWILIO_SANDBOX_CREDENTIALS.authToken, url, params);
    const forged = twilio.getExpectedTwilioSignature('not-the-token', url, params);
    const tampered = { ...params, MessageStatus: 'failed', SmsStatus: 'failed' };
    const otherMessage = twilio.getExpectedTwilioSignature(
      TWILIO_SANDBOX_CREDENTIALS.authToken,
      `${gw.config.api.publicUrl}/webhooks/twilio?sb=msg_other`,
      params,
    );
    for (const res of [
      await postCallback(id, params),
      await postCallback(id, params, forged),
      await postCallback(id, tampered, good),
      await postCallback(id, params, otherMessage),
    ]) {
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ error: { code: 'SB_WEBHOOK_SIGNATURE_INVALID' } });
    }
    await new Promise((r) => setTimeout(r, 200));
    expect(await snapshot(id)).toEqual(before);
  });

  it('applies a validly signed callback posted three times exactly once', async () => {
    const { id, sid } = await acceptedMessage('+14155550177');
    const params = callbackParams(sid, 'delivered');
    const url = `${gw.config.api.publicUrl}/webhooks/twilio?sb=${id}`;
    const sig = twilio.getExpectedTwilioSignature(TWILIO_SANDBOX_CREDENTIALS.authToken, url, params);
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await postCallback(id, params, sig)).status);
    expect(statuses).toEqual([204, 204, 204]);
    const msg = (await gw.waitForStatus(id, ['delivered'])) as { timeline: Array<{ type: string; detail?: string }> };
    await new Promise((r) => setTimeout(r, 300));
    const after = (await snapshot(id)) as { timeline: Array<{ type: string; detail?: string }> };
    expect(after.timeline.filter((t) => t.type === 'callback')).toEqual([
      expect.objectContaining({ type: 'callback', detail: 'delivered' }),
    ]);
    expect(after.timeline).toEqual(msg.timeline);
  });

  it('absorbs a late sent callback after delivered', async () => {
    const { id, sid } = await acceptedMessage('+14155550188');
    const url = `${gw.config.api.publicUrl}/webhooks/twilio?sb=${id}`;
    for (const status of ['delivered', 'sent']) {
      const params = callbackParams(sid, status);
      const res = await postCallback(id, params, twilio.getExpectedTwilioSignature(TWILIO_SANDBOX_CREDENTIALS.authToken, url, params));
      expect(res.status).toBe(204);
    }
    await gw.waitForStatus(id, ['delivered']);
    await new Promise((r) => setTimeout(r, 300));
    const msg = (await snapshot(id)) as { status: string; attempts: Array<{ status: string }> };
    expect(msg.status).toBe('delivered');
    expect(msg.attempts[0]?.status).toBe('delivered');
  });
});

/**
 * OTP verification end to end (CONTRACTS §3): a real gateway, the code read from what the carrier
 * sandbox received (as the user's handset would show it), verify and conversion over HTTP.
 */
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { keysUnder } from '../helpers/redis.ts';
import { parsePrometheusText, sumOf } from '../helpers/prometheus-text.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.ts';

let gw: TestGateway;
let receiver: WebhookReceiver | undefined;
/** Added to the gateway's clock: moves it past a code's TTL without waiting. */
let clockOffsetMs = 0;
const logLines: string[] = [];

beforeAll(async () => {
  const log = createLogger('trace', {}, { write: (line: string) => void logLines.push(line) });
  gw = await startTestGateway({
    label: 'otp',
    log,
    now: () => Date.now() + clockOffsetMs,
    // Twilio only: its sandbox log records the text the handset got (the code, as a user reads it).
    overrides: { webhooks: { relayIntervalMs: 20 }, providers: { sinch: { enabled: false }, messagebird: { enabled: false } } },
  });
});
afterAll(async () => {
  await gw?.stop();
});
afterEach(async () => {
  clockOffsetMs = 0;
  await receiver?.close();
  receiver = undefined;
});

let numberSeq = 0;
/** Fresh numbers per test: the OTP limits and lookups are per number. */
const freshNumber = (): string => `+1415555${String(6000 + numberSeq++).padStart(4, '0')}`;

async function sendOtp(extra: Record<string, unknown> = {}, to = freshNumber()): Promise<{ id: string; to: string }> {
  const res = await gw.api('/v1/messages', { method: 'POST', json: { to, otp: { length: 6 }, ...extra } });
  expect(res.status).toBe(202);
  return { id: ((await res.json()) as { id: string }).id, to };
}

/** The code as the handset got it: the text the carrier sandbox received for this message. */
async function codeSentTo(id: string, to: string, length: number): Promise<string> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const entries = (await (await gw.sandbox(`/_sandbox/log?to=${encodeURIComponent(to)}`)).json()) as Array<{
      reference?: string;
      body?: string;
      status: number;
    }>;
    const sent = entries.find((e) => e.reference === id && e.status === 201 && e.body !== undefined);
    const code = sent?.body !== undefined ? new RegExp(`\\b(\\d{${length}})\\b`).exec(sent.body)?.[1] : undefined;
    if (code !== undefined) return code;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no sandbox send with a ${length}-digit code for ${id}`);
}

async function verify(id: string, code: unknown): Promise<{ status: number; body: Record<string, unknown>; text: string }> {
  const res = await gw.api(`/v1/messages/${id}/verify`, { method: 'POST', json: { code } });
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) as Record<string, unknown>, text };
}

async function otpMetric(result: string): Promise<number> {
  // Only this family: prom-client prints the event-loop lag of a fresh process as "Nan", which the strict parser refuses.
  const text = (await (await fetch(`${gw.apiUrl}/metrics`)).text())
    .split('\n')
    .filter((l) => l.includes('switchboard_otp_verifications_total'))
    .join('\n');
  return sumOf(parsePrometheusText(text), 'switchboard_otp_verifications_total', { result });
}

/** A code different from `code` of the same length. */
const wrong = (code: string, n = 1): string => code.slice(0, -1) + String((Number(code.at(-1)) + n) % 10);

/** Every value stored under the prefix, whatever its type: strings, hashes, lists, sets, sorted sets, streams. */
async function allValues(redis: Redis, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for (const key of await keysUnder(redis, prefix)) {
    out.push(key);
    const type = await redis.type(key);
    if (type === 'string') out.push((await redis.get(key)) ?? '');
    else if (type === 'hash') out.push(...Object.entries(await redis.hgetall(key)).flat());
    else if (type === 'list') out.push(...(await redis.lrange(key, 0, -1)));
    else if (type === 'set') out.push(...(await redis.smembers(key)));
    else if (type === 'zset') out.push(...(await redis.zrange(key, 0, -1, 'WITHSCORES')));
    else if (type === 'stream') for (const [id, fields] of await redis.xrange(key, '-', '+')) out.push(id, ...fields);
    else if (type !== 'none') throw new Error(`unexpected Redis type ${type} at ${key}`);
  }
  return out;
}

describe('POST /v1/messages/:id/verify', () => {
  it('accepts the right code once, sets verifiedAt and fires message.verified; a second verify is refused', async () => {
    receiver = await startWebhookReceiver();
    const validBefore = await otpMetric('valid');
    const { id, to } = await sendOtp({ callbackUrl: receiver.url });
    const code = await codeSentTo(id, to, 6);

    const first = await verify(id, code);
    expect(first).toMatchObject({ status: 200, body: { valid: true } });
    expect(first.text).not.toContain(code);
    const again = await verify(id, code);
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ error: { code: 'SB_OTP_ALREADY_VERIFIED' } });

    const msg = (await (await gw.api(`/v1/messages/${id}`)).json()) as { verifiedAt?: string; timeline: Array<{ type: string }> };
    expect(Date.parse(msg.verifiedAt ?? '')).not.toBeNaN();
    expect(msg.timeline.map((t) => t.type)).toContain('verified');
    await receiver.waitFor((all) => all.some((r) => r.body.includes('"message.verified"') && r.body.includes(id)));
    expect(receiver.received.filter((r) => r.body.includes('"message.verified"'))).toHaveLength(1);
    expect(await otpMetric('valid')).toBe(validBefore + 1);
  });

  it('counts wrong codes down, then locks after the 5th: even the right code gets 429 SB_OTP_LOCKED', async () => {
    const [invalidBefore, lockedBefore] = [await otpMetric('invalid'), await otpMetric('locked')];
    const { id, to } = await sendOtp();
    const code = await codeSentTo(id, to, 6);
    const answers: unknown[] = [];
    for (let i = 1; i <= 5; i++) {
      const r = await verify(id, wrong(code, i));
      expect(r.status).toBe(200);
      answers.push(r.body);
    }
    expect(answers).toEqual([4, 3, 2, 1, 0].map((attemptsLeft) => ({ valid: false, attemptsLeft })));
    const locked = await verify(id, code);
    expect(locked.status).toBe(429);
    expect(locked.body).toMatchObject({ error: { code: 'SB_OTP_LOCKED' } });
    expect(locked.text).not.toContain(code);
    expect(await otpMetric('invalid')).toBe(invalidBefore + 5);
    expect(await otpMetric('locked')).toBe(lockedBefore + 1);
    const msg = (await (await gw.api(`/v1/messages/${id}`)).json()) as { verifiedAt?: string };
    expect(msg.verifiedAt).toBeUndefined();
  });

  it('answers 410 SB_OTP_EXPIRED once the OTP TTL has passed, for the right code too', async () => {
    const expiredBefore = await otpMetric('expired');
    const { id, to } = await sendOtp({ otp: { length: 6, ttlSeconds: 30 } });
    const code = await codeSentTo(id, to, 6);
    expect(await verify(id, wrong(code))).toMatchObject({ status: 200, body: { valid: false, attemptsLeft: 4 } });
    clockOffsetMs = 31_000;
    const late = await verify(id, code);
    expect(late.status).toBe(410);
    expect(late.body).toMatchObject({ error: { code: 'SB_OTP_EXPIRED' } });
    expect(await otpMetric('expired')).toBe(expiredBefore + 1);
  });

  it('answers 410 once an earlier expiresAt has passed', async () => {
    const { id, to } = await sendOtp({ expiresAt: new Date(Date.now() + 60_000).toISOString() });
    const code = await codeSentTo(id, to, 6);
    clockOffsetMs = 61_000;
    expect((await verify(id, code)).status).toBe(410);
  });

  it('never stores, queues, logs or returns a 10-digit code', async () => {
    logLines.length = 0;
    receiver = await startWebhookReceiver();
    const { id, to } = await sendOtp({ otp: { length: 10 }, userId: 'user-10', callbackUrl: receiver.url, metadata: { flow: 'login' } });
    const code = await codeSentTo(id, to, 10);
    expect((await verify(id, wrong(code))).text).not.toContain(code);
    expect((await verify(id, code)).body).toEqual({ valid: true });
    await gw.waitForStatus(id, ['delivered']);
    await receiver.waitFor((all) => all.some((r) => r.body.includes('"message.verified"')));

    const values = await allValues(gw.redis, gw.prefix);
    expect(values.length).toBeGreaterThan(10);
    expect(values.some((v) => v.includes(`:msg:${id}`))).toBe(true);
    expect(values.filter((v) => v.includes(code))).toEqual([]);
    const view = await gw.running.api?.inject({
      method: 'GET',
      url: `/v1/messages/${id}`,
      headers: { authorization: 'Bearer sandbox-key' },
    });
    expect(view?.body).not.toContain(code);
    expect(receiver.received.map((r) => r.body).join('\n')).not.toContain(code);
    expect(logLines.length).toBeGreaterThan(0);
    expect(logLines.filter((l) => l.includes(code))).toEqual([]);
  });

  it('refuses a message without a Switchboard code with 409 SB_OTP_NONE, and malformed codes with 400 without counting them', async () => {
    const plain = await gw.api('/v1/messages', { method: 'POST', json: { to: freshNumber(), body: 'your parcel is here' } });
    const plainId = ((await plain.json()) as { id: string }).id;
    expect((await verify(plainId, '123456')).body).toMatchObject({ error: { code: 'SB_OTP_NONE' } });

    const { id } = await sendOtp();
    for (const bad of [123456, '12a456', '', '1'.repeat(11), null]) {
      const r = await verify(id, bad);
      expect(r.status, String(bad)).toBe(400);
      expect(r.body).toMatchObject({ error: { code: 'SB_VALIDATION_FAILED' } });
    }
    const extra = await gw.api(`/v1/messages/${id}/verify`, { method: 'POST', json: { code: '123456', attempt: 1 } });
    expect(extra.status).toBe(400);
    expect(await gw.redis.exists(`${gw.prefix}:otp:${id}`)).toBe(0);
  });
});

describe('POST /v1/messages/:id/conversion', () => {
  it('records the report with its time, sets verifiedAt once, counts per country and prefix, and ignores a repeat', async () => {
    receiver = await startWebhookReceiver();
    const to = freshNumber();
    const res = await gw.api('/v1/messages', {
      method: 'POST',
      json: { to, body: 'Your code is 4711', purpose: 'otp', callbackUrl: receiver.url },
    });
    const { id } = (await res.json()) as { id: string };

    const no = await gw.api(`/v1/messages/${id}/conversion`, { method: 'POST', json: { verified: false } });
    expect(no.status).toBe(204);
    expect(await no.text()).toBe('');
    let doc = JSON.parse((await gw.redis.hget(`${gw.prefix}:msg:${id}`, 'doc')) ?? '{}') as {
      conversion?: { verified: boolean; at: string };
      verifiedAt?: string;
    };
    expect(doc.conversion).toEqual({ verified: false, at: expect.any(String) });
    expect(doc.verifiedAt).toBeUndefined();

    for (let i = 0; i < 2; i++)
      expect((await gw.api(`/v1/messages/${id}/conversion`, { method: 'POST', json: { verified: true } })).status).toBe(204);
    doc = JSON.parse((await gw.redis.hget(`${gw.prefix}:msg:${id}`, 'doc')) ?? '{}') as typeof doc;
    expect(doc.conversion?.verified).toBe(true);
    expect(Date.parse(doc.verifiedAt ?? '')).not.toBeNaN();
    await receiver.waitFor((all) => all.some((r) => r.body.includes('"message.verified"')));

    const counters: Record<string, number> = {};
    for (const key of (await keysUnder(gw.redis, gw.prefix)).filter((k) => k.includes(':conv:'))) {
      for (const [f, v] of Object.entries(await gw.redis.hgetall(key))) counters[f] = (counters[f] ?? 0) + Number(v);
    }
    expect(counters[`prefix:${to.slice(0, 6)}:converted`]).toBeGreaterThanOrEqual(1);
    expect(counters['country:US:unconverted']).toBe(0);
    expect(counters['country:US:converted']).toBeGreaterThanOrEqual(1);
  });

  it('refuses a body without a boolean verified', async () => {
    const { id } = await sendOtp();
    for (const body of [{}, { verified: 'yes' }, { verified: true, extra: 1 }]) {
      const res = await gw.api(`/v1/messages/${id}/conversion`, { method: 'POST', json: body });
      expect(res.status).toBe(400);
    }
  });
});

/**
 * PII at rest and the audit stream, on a whole gateway against the real
 * Redis and carrier sandbox, with the message retention shrunk to seconds: once a message's
 * retention has passed, no key or value under the gateway's prefix — message records, ledgers,
 * idempotency, OTP attempts, queues and their jobs, lookup cache, rate limits, opt-out list,
 * pumping counters, outbox, audit stream — holds the recipient's number in clear; the logs never
 * did. The audit stream still tells who sent what to that number (by its token) and what happened.
 */
import { Writable } from 'node:stream';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { keysUnder } from '../helpers/redis.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.ts';

const RETENTION_SECONDS = 3;
const NUMBER = '+14155559876';
/** The digits a leak would contain: the national number (with or without the country code). */
const DIGITS = '4155559876';

let gw: TestGateway;
let receiver: WebhookReceiver;
const logLines: string[] = [];

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logLines.push(chunk.toString('utf8'));
      done();
    },
  });
  gw = await startTestGateway({
    label: 'pii',
    smsProviders: ['twilio'],
    overrides: { messages: { retentionSeconds: RETENTION_SECONDS } },
    log: createLogger('debug', {}, sink),
  });
});
afterAll(async () => {
  await gw?.stop();
  await receiver?.close();
});

/** Every value stored under the prefix, as text, whatever the key's type. */
async function dump(redis: Redis, keys: readonly string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const key of keys) {
    const type = await redis.type(key);
    let value: unknown;
    if (type === 'string') value = await redis.get(key);
    else if (type === 'hash') value = await redis.hgetall(key);
    else if (type === 'list') value = await redis.lrange(key, 0, -1);
    else if (type === 'set') value = await redis.smembers(key);
    else if (type === 'zset') value = await redis.zrange(key, 0, -1, 'WITHSCORES');
    else if (type === 'stream') value = await redis.xrange(key, '-', '+');
    else value = `(${type})`;
    out.set(key, JSON.stringify(value));
  }
  return out;
}

describe('PII at rest', () => {
  it('leaves no number in clear in Redis once the retention has passed, and the audit stream still says who sent what', async () => {
    // A message with everything that writes state: idempotency, OTP, a webhook, a verify attempt.
    const res = await gw.api('/v1/messages', {
      method: 'POST',
      json: { to: NUMBER, otp: {}, callbackUrl: receiver.url, userId: 'user-pii' },
      headers: { 'idempotency-key': 'pii-1' },
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    await gw.waitForStatus(id, ['delivered'], 10_000);
    expect((await gw.api(`/v1/messages/${id}/verify`, { method: 'POST', json: { code: '000000' } })).status).toBe(200);
    // The number opts out and back in: the suppression list is written and cleared by token.
    for (const text of ['STOP', 'START']) {
      expect(
        await (await gw.sandbox('/_sandbox/inbound', { method: 'POST', json: { provider: 'twilio', from: NUMBER, text } })).json(),
      ).toMatchObject({ status: 204 });
    }
    await receiver.waitFor((all) => all.some((r) => r.body.includes('"message.delivered"')));

    // While the message lives, its record holds the number (the API needs it)…
    const during = await dump(gw.redis, await keysUnder(gw.redis, gw.prefix));
    expect([...during.values()].some((v) => v.includes(DIGITS))).toBe(true);

    // …and once its retention has passed, nothing does.
    const deadline = Date.now() + RETENTION_SECONDS * 1000 + 10_000;
    while ((await gw.redis.exists(`${gw.prefix}:msg:${id}`)) === 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    await new Promise((r) => setTimeout(r, 1_100));
    expect(await gw.redis.exists(`${gw.prefix}:msg:${id}`)).toBe(0);
    const keys = await keysUnder(gw.redis, gw.prefix);
    const after = await dump(gw.redis, keys);
    const leaks = [...after.entries()].filter(([k, v]) => k.includes(DIGITS) || v.includes(DIGITS)).map(([k]) => k);
    expect(leaks).toEqual([]);
    // The scan saw the long-lived state, not an empty database.
    for (const part of [':audit', ':lookup:', ':pump:', ':idem:', ':otp:', ':rl:'])
      expect(
        keys.some((k) => k.includes(part)),
        part,
      ).toBe(true);

    // Logs never held the number (the worker and API ran at debug level).
    expect(logLines.length).toBeGreaterThan(0);
    expect(logLines.filter((l) => l.includes(DIGITS))).toEqual([]);

    // The audit stream: who (key), to which number (token), how (channel, provider), what happened.
    const audit = (await (await gw.api(`/v1/audit?to=${encodeURIComponent(NUMBER)}&limit=50`)).json()) as {
      items: Array<Record<string, string>>;
    };
    const mine = audit.items.filter((e) => e['messageId'] === id).reverse();
    expect(mine.map((e) => e['decision'])).toEqual(['accepted', 'sent', 'delivered']);
    expect(mine[0]).toMatchObject({ key: 'sandbox', country: 'US', phone: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/) });
    expect(mine.find((e) => e['decision'] === 'sent')).toMatchObject({ channel: 'sms', provider: 'twilio' });
    expect(audit.items.filter((e) => !e['messageId']).map((e) => e['decision'])).toEqual(['opted_in', 'opted_out']);
    expect(JSON.stringify(audit)).not.toContain(DIGITS);
  });
});

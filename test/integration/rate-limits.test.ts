/**
 * Admission rate limits (CONTRACTS §3) on a real API against the real Redis: OTPs per userId and
 * per number per hour, messages per key per second, per-key overrides; refusals are 429 with
 * `Retry-After`, create nothing and count as `messages_total{outcome="refused"}`.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { keysUnder } from '../helpers/redis.ts';

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');
let gw: TestGateway;

beforeAll(async () => {
  // API only: admission is all this suite exercises, and nothing sends. No `otpMode` here: the
  // OTP limits are enforced by default, sandbox mode included (what `npm start` runs).
  gw = await startTestGateway({
    label: 'rl',
    role: 'api',
    overrides: {
      apiKeys: [
        { name: 'sandbox', sha256: sha('sandbox-key'), scopes: ['send', 'read', 'verify', 'admin'] },
        { name: 'slow', sha256: sha('slow-key'), scopes: ['send', 'read'], rateLimits: { requestsPerSecond: 3 } },
        { name: 'generous', sha256: sha('generous-key'), scopes: ['send', 'read'], rateLimits: { otpPerUserPerHour: 5 } },
      ],
    },
  });
});
afterAll(async () => {
  await gw?.stop();
});

let seq = 0;
const freshNumber = (): string => `+1415555${String(7000 + seq++).padStart(4, '0')}`;

async function send(
  body: Record<string, unknown>,
  opts: { key?: string; idempotencyKey?: string } = {},
): Promise<{ status: number; body: Record<string, unknown>; retryAfter: string | null }> {
  const headers: Record<string, string> = { authorization: `Bearer ${opts.key ?? 'sandbox-key'}`, 'content-type': 'application/json' };
  if (opts.idempotencyKey !== undefined) headers['idempotency-key'] = opts.idempotencyKey;
  const res = await fetch(`${gw.apiUrl}/v1/messages`, { method: 'POST', headers, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, retryAfter: res.headers.get('retry-after') };
}

/** State keys: what a refusal must not add to (locks come and go on their own). */
async function stateKeys(): Promise<string[]> {
  return (await keysUnder(gw.redis, gw.prefix)).filter((k) => !k.includes(':lock:')).sort();
}

async function refusedCount(): Promise<number> {
  const text = await (await fetch(`${gw.apiUrl}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith('switchboard_messages_total{') && l.includes('outcome="refused"'))
    .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
}

describe('OTP limits', () => {
  it('refuses the 4th OTP for one userId within an hour with 429 and Retry-After, creating nothing', async () => {
    for (let i = 0; i < 3; i++) expect((await send({ to: freshNumber(), otp: {}, userId: 'user-a' })).status).toBe(202);
    const refusedBefore = await refusedCount();
    const before = await stateKeys();
    const fourth = await send({ to: freshNumber(), otp: {}, userId: 'user-a' }, { idempotencyKey: 'fourth' });
    expect(fourth.status).toBe(429);
    expect(fourth.body).toMatchObject({ error: { code: 'SB_RATE_LIMITED', details: [{ limit: 'otp_per_user' }] } });
    expect(Number(fourth.retryAfter)).toBeGreaterThan(3_500);
    expect(Number(fourth.retryAfter)).toBeLessThanOrEqual(3_600);
    expect(await stateKeys()).toEqual(before);
    expect(await refusedCount()).toBe(refusedBefore + 1);
    // Another user of the same key is not affected.
    expect((await send({ to: freshNumber(), otp: {}, userId: 'user-b' })).status).toBe(202);
  });

  it('refuses the 6th OTP to one number within an hour, but never limits transactional messages to it', async () => {
    const to = freshNumber();
    for (let i = 0; i < 5; i++) expect((await send({ to, otp: {}, userId: `user-n${i}` })).status).toBe(202);
    const sixth = await send({ to, otp: {} });
    expect(sixth.status).toBe(429);
    expect(sixth.body).toMatchObject({ error: { code: 'SB_RATE_LIMITED', details: [{ limit: 'otp_per_number' }] } });
    expect(Number(sixth.retryAfter)).toBeGreaterThan(3_500);
    for (let i = 0; i < 4; i++) expect((await send({ to, body: `parcel ${i} is out for delivery`, userId: 'user-n0' })).status).toBe(202);
    expect((await send({ to, body: 'explicitly transactional', purpose: 'transactional' })).status).toBe(202);
  });

  it('counts an OTP once however often its request is replayed', async () => {
    const body = { to: freshNumber(), otp: {}, userId: 'user-replay' };
    const original = await send(body, { idempotencyKey: 'login-2' });
    expect(original.status).toBe(202);
    for (let i = 0; i < 5; i++) {
      const replay = await send(body, { idempotencyKey: 'login-2' });
      expect(replay.status).toBe(202);
      expect(replay.body['id']).toBe(original.body['id']);
    }
    expect((await send({ to: freshNumber(), otp: {}, userId: 'user-replay' })).status).toBe(202);
    expect((await send({ to: freshNumber(), otp: {}, userId: 'user-replay' })).status).toBe(202);
    expect((await send({ to: freshNumber(), otp: {}, userId: 'user-replay' })).status).toBe(429);
  });

  it('applies a key override of the per-user limit', async () => {
    for (let i = 0; i < 5; i++)
      expect((await send({ to: freshNumber(), otp: {}, userId: 'user-g' }, { key: 'generous-key' })).status).toBe(202);
    expect((await send({ to: freshNumber(), otp: {}, userId: 'user-g' }, { key: 'generous-key' })).status).toBe(429);
  });

  it('scopes the limits per API key and keeps numbers and user ids out of Redis key names', async () => {
    const keys = (await keysUnder(gw.redis, gw.prefix)).filter((k) => k.includes(':rl:'));
    expect(keys.some((k) => k.includes(':rl:otp-user:sandbox:'))).toBe(true);
    expect(keys.some((k) => k.includes(':rl:otp-number:generous:'))).toBe(true);
    expect(keys.filter((k) => /user-|4155|\+1/.test(k))).toEqual([]);
  });
});

describe('the per-key request limit', () => {
  it('refuses past the key’s messages per second with Retry-After: 1, and admits again a second later', async () => {
    const results = await Promise.all(Array.from({ length: 5 }, (_, i) => send({ to: freshNumber(), body: `m${i}` }, { key: 'slow-key' })));
    expect(results.map((r) => r.status).sort()).toEqual([202, 202, 202, 429, 429]);
    const refused = results.find((r) => r.status === 429);
    expect(refused?.body).toMatchObject({ error: { code: 'SB_RATE_LIMITED', details: [{ limit: 'requests_per_second' }] } });
    expect(refused?.retryAfter).toBe('1');
    // Other keys have their own window.
    expect((await send({ to: freshNumber(), body: 'other key' })).status).toBe(202);
    await new Promise((r) => setTimeout(r, 1_100));
    expect((await send({ to: freshNumber(), body: 'later' }, { key: 'slow-key' })).status).toBe(202);
  });
});

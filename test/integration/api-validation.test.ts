import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { keysUnder as allKeysUnder } from '../helpers/redis.ts';
import type { Redis } from 'ioredis';

/** State keys only: short-lived coordination locks (outbox relay, sweeper) come and go on their own. */
async function keysUnder(redis: Redis, prefix: string): Promise<string[]> {
  return (await allKeysUnder(redis, prefix)).filter((k) => !k.startsWith(`${prefix}:lock:`));
}

let gw: TestGateway;

beforeAll(async () => {
  // API only: nothing consumes the queue, so every key a request creates stays visible.
  gw = await startTestGateway({ label: 'val', role: 'api' });
});
afterAll(async () => {
  await gw?.stop();
});

interface Case {
  name: string;
  status: number;
  code: string;
  init: RequestInit;
}

const auth = { authorization: 'Bearer sandbox-key' };
const json = { ...auth, 'content-type': 'application/json', 'idempotency-key': 'never-stored' };
const ok = { to: '+14155550100', body: 'hello' };

const cases: Case[] = [
  { name: 'bad JSON', status: 400, code: 'SB_VALIDATION_JSON', init: { method: 'POST', headers: json, body: '{"to": "+1415' } },
  { name: 'an empty body', status: 400, code: 'SB_VALIDATION_JSON', init: { method: 'POST', headers: json, body: '' } },
  { name: 'a JSON array', status: 400, code: 'SB_VALIDATION_FAILED', init: { method: 'POST', headers: json, body: '[1,2]' } },
  {
    name: 'a missing to',
    status: 400,
    code: 'SB_VALIDATION_FAILED',
    init: { method: 'POST', headers: json, body: JSON.stringify({ body: 'x' }) },
  },
  {
    name: 'a bad number',
    status: 400,
    code: 'SB_VALIDATION_PHONE_NUMBER',
    init: { method: 'POST', headers: json, body: JSON.stringify({ ...ok, to: '+1234' }) },
  },
  {
    name: 'a national number without country',
    status: 400,
    code: 'SB_VALIDATION_PHONE_NUMBER',
    init: { method: 'POST', headers: json, body: JSON.stringify({ ...ok, to: '4155550100' }) },
  },
  {
    name: 'a 1 MB body',
    status: 413,
    code: 'SB_PAYLOAD_TOO_LARGE',
    init: { method: 'POST', headers: json, body: JSON.stringify({ ...ok, body: 'x'.repeat(1_000_000) }) },
  },
  {
    name: 'unknown fields',
    status: 400,
    code: 'SB_VALIDATION_FAILED',
    init: { method: 'POST', headers: json, body: JSON.stringify({ ...ok, priority: 'high' }) },
  },
  {
    name: 'wrong types',
    status: 400,
    code: 'SB_VALIDATION_FAILED',
    init: { method: 'POST', headers: json, body: JSON.stringify({ to: 14155550100, body: ['x'], channels: 'sms' }) },
  },
  {
    name: 'a body over 1,600 characters',
    status: 400,
    code: 'SB_VALIDATION_FAILED',
    init: { method: 'POST', headers: json, body: JSON.stringify({ ...ok, body: 'x'.repeat(1601) }) },
  },
  {
    name: 'otp without {{code}}',
    status: 400,
    code: 'SB_VALIDATION_CODE_PLACEHOLDER',
    init: { method: 'POST', headers: json, body: JSON.stringify({ ...ok, otp: {} }) },
  },
  {
    name: 'an otp length out of range',
    status: 400,
    code: 'SB_VALIDATION_FAILED',
    init: { method: 'POST', headers: json, body: JSON.stringify({ to: ok.to, otp: { length: 3 } }) },
  },
  {
    name: 'metadata over 2 KB',
    status: 400,
    code: 'SB_VALIDATION_FAILED',
    init: { method: 'POST', headers: json, body: JSON.stringify({ ...ok, metadata: { a: 'x'.repeat(2100) } }) },
  },
  {
    name: 'a past expiresAt',
    status: 400,
    code: 'SB_VALIDATION_FAILED',
    init: { method: 'POST', headers: json, body: JSON.stringify({ ...ok, expiresAt: '2001-01-01T00:00:00Z' }) },
  },
  {
    name: 'an unknown template',
    status: 400,
    code: 'SB_VALIDATION_TEMPLATE',
    init: { method: 'POST', headers: json, body: JSON.stringify({ to: ok.to, template: 'welcome' }) },
  },
  {
    name: 'no API key',
    status: 401,
    code: 'SB_AUTH_UNAUTHORIZED',
    init: { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ok) },
  },
  {
    name: 'a wrong API key',
    status: 401,
    code: 'SB_AUTH_UNAUTHORIZED',
    init: { method: 'POST', headers: { ...json, authorization: 'Bearer nope' }, body: JSON.stringify(ok) },
  },
  {
    name: 'a form body',
    status: 415,
    code: 'SB_UNSUPPORTED_MEDIA_TYPE',
    init: { method: 'POST', headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' }, body: 'to=%2B14155550100&body=x' },
  },
  {
    name: 'text/plain',
    status: 415,
    code: 'SB_UNSUPPORTED_MEDIA_TYPE',
    init: { method: 'POST', headers: { ...auth, 'content-type': 'text/plain' }, body: 'hello' },
  },
  {
    name: 'differing idempotency header and field',
    status: 400,
    code: 'SB_VALIDATION_FAILED',
    init: { method: 'POST', headers: json, body: JSON.stringify({ ...ok, idempotencyKey: 'other' }) },
  },
];

describe('POST /v1/messages refuses malformed requests', () => {
  for (const c of cases) {
    it(`answers ${c.status} ${c.code} to ${c.name} and creates nothing`, async () => {
      const before = (await keysUnder(gw.redis, gw.prefix)).sort();
      const res = await fetch(`${gw.apiUrl}/v1/messages`, c.init);
      expect(res.status).toBe(c.status);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe(c.code);
      expect(body.error.message.length).toBeGreaterThan(0);
      expect((await keysUnder(gw.redis, gw.prefix)).sort()).toEqual(before);
    });
  }

  it('creates a message, a job and an idempotency key for a valid request (the control case)', async () => {
    const before = (await keysUnder(gw.redis, gw.prefix)).length;
    const res = await fetch(`${gw.apiUrl}/v1/messages`, { method: 'POST', headers: json, body: JSON.stringify(ok) });
    expect(res.status).toBe(202);
    const after = await keysUnder(gw.redis, gw.prefix);
    expect(after.length).toBeGreaterThan(before);
    expect(after.some((k) => k.includes(':idem:'))).toBe(true);
    expect(after.some((k) => k.includes(':msg:'))).toBe(true);
  });
});

describe('the read API', () => {
  it('answers 404 SB_MESSAGE_NOT_FOUND for an unknown id and 400 for a malformed one', async () => {
    const unknown = await gw.api('/v1/messages/msg_01JAAAAAAAAAAAAAAAAAAAAAAA');
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { code: 'SB_MESSAGE_NOT_FOUND' } });
    const bad = await gw.api('/v1/messages/not-an-id');
    expect(bad.status).toBe(400);
  });

  it('refuses list queries with bad filters', async () => {
    for (const q of ['limit=0', 'limit=101', 'status=bogus', 'cursor=x', 'since=yesterday', 'extra=1']) {
      const res = await gw.api(`/v1/messages?${q}`);
      expect(res.status, q).toBe(400);
    }
  });

  it('answers 404 SB_NOT_FOUND for unknown routes', async () => {
    const res = await fetch(`${gw.apiUrl}/nope`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: 'SB_NOT_FOUND' } });
  });

  it('reports ready while Redis answers', async () => {
    expect((await fetch(`${gw.apiUrl}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${gw.apiUrl}/readyz`)).json()).toEqual({ status: 'ready', redis: 'up' });
  });
});

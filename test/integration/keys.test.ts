/**
 * API keys (CONTRACTS §3, §5): ownership of messages across read, verify and conversion; scopes;
 * a key's allowed countries; a key's own webhook secrets.
 */
import { createHash } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateWebhookSecret } from '../../src/webhooks/webhook-signer.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { keysUnder } from '../helpers/redis.ts';
import { startWebhookReceiver, type ReceivedRequest, type WebhookReceiver } from '../helpers/webhook-receiver.ts';

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');
const GLOBAL_SECRET = generateWebhookSecret();
const ALPHA_SECRET = generateWebhookSecret();
const ALPHA_OLD_SECRET = generateWebhookSecret();

let gw: TestGateway;
let receiver: WebhookReceiver | undefined;

beforeAll(async () => {
  gw = await startTestGateway({
    label: 'keys',
    env: { SWITCHBOARD_WEBHOOK_SECRET: GLOBAL_SECRET },
    overrides: {
      webhooks: { relayIntervalMs: 20 },
      apiKeys: [
        { name: 'sandbox', sha256: sha('sandbox-key'), scopes: ['send', 'read', 'verify', 'admin'] },
        {
          name: 'alpha',
          sha256: sha('alpha-key'),
          scopes: ['send', 'read', 'verify'],
          allowedCountries: ['US', 'CA'],
          webhookSecrets: [ALPHA_SECRET, ALPHA_OLD_SECRET],
        },
        { name: 'beta', sha256: sha('beta-key'), scopes: ['send', 'read', 'verify'] },
        { name: 'reader', sha256: sha('reader-key'), scopes: ['read'] },
      ],
    },
  });
});
afterAll(async () => {
  await gw?.stop();
});
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
});

async function as(key: string, method: string, path: string, json?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const headers: Record<string, string> = { authorization: `Bearer ${key}` };
  if (json !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${gw.apiUrl}${path}`, { method, headers, ...(json !== undefined ? { body: JSON.stringify(json) } : {}) });
  const text = await res.text();
  return { status: res.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

async function create(key: string, body: Record<string, unknown>): Promise<string> {
  const res = await as(key, 'POST', '/v1/messages', body);
  expect(res.status).toBe(202);
  return res.body['id'] as string;
}

describe('message ownership', () => {
  it('hides a message from other keys on read, verify and conversion (404), and changes nothing', async () => {
    const id = await create('alpha-key', { to: '+14155550901', otp: {} });
    const docBefore = await gw.redis.hget(`${gw.prefix}:msg:${id}`, 'doc');
    for (const [method, path, json] of [
      ['GET', `/v1/messages/${id}`, undefined],
      ['POST', `/v1/messages/${id}/verify`, { code: '123456' }],
      ['POST', `/v1/messages/${id}/conversion`, { verified: true }],
    ] as const) {
      const res = await as('beta-key', method, path, json);
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.body).toMatchObject({ error: { code: 'SB_MESSAGE_NOT_FOUND' } });
    }
    expect(await gw.redis.exists(`${gw.prefix}:otp:${id}`)).toBe(0);
    const docAfter = JSON.parse((await gw.redis.hget(`${gw.prefix}:msg:${id}`, 'doc')) ?? '{}') as {
      conversion?: unknown;
      verifiedAt?: unknown;
    };
    expect(docAfter.conversion).toBeUndefined();
    expect(docAfter.verifiedAt).toBeUndefined();
    expect(docBefore).not.toBeNull();

    // The owner and an admin key see it; the owner can verify it.
    expect((await as('alpha-key', 'GET', `/v1/messages/${id}`)).status).toBe(200);
    expect((await as('sandbox-key', 'GET', `/v1/messages/${id}`)).status).toBe(200);
    expect((await as('alpha-key', 'POST', `/v1/messages/${id}/verify`, { code: '000000' })).body).toMatchObject({ valid: false });
    expect((await as('alpha-key', 'POST', `/v1/messages/${id}/conversion`, { verified: false })).status).toBe(204);
  });

  it('lists only the key’s own messages, and every message for admin', async () => {
    const mine = await create('beta-key', { to: '+14155550902', body: 'hello' });
    const theirs = await create('alpha-key', { to: '+14155550903', body: 'hello' });
    const ids = async (key: string): Promise<string[]> =>
      ((await as(key, 'GET', '/v1/messages?limit=100')).body['items'] as Array<{ id: string }>).map((m) => m.id);
    expect(await ids('beta-key')).toContain(mine);
    expect(await ids('beta-key')).not.toContain(theirs);
    expect(await ids('sandbox-key')).toEqual(expect.arrayContaining([mine, theirs]));
  });

  it('refuses routes outside a key’s scopes with 403 SB_AUTH_FORBIDDEN', async () => {
    const id = await create('sandbox-key', { to: '+14155550904', otp: {} });
    for (const [method, path, json] of [
      ['POST', '/v1/messages', { to: '+14155550905', body: 'x' }],
      ['POST', `/v1/messages/${id}/verify`, { code: '123456' }],
      ['POST', `/v1/messages/${id}/conversion`, { verified: true }],
      ['GET', '/v1/webhooks/dead-letters', undefined],
    ] as const) {
      const res = await as('reader-key', method, path, json);
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.body).toMatchObject({ error: { code: 'SB_AUTH_FORBIDDEN' } });
    }
  });
});

describe('allowed countries', () => {
  it('refuses a recipient outside the key’s countries with 422 SB_POLICY_COUNTRY_NOT_ALLOWED and creates nothing', async () => {
    const metric = async (): Promise<number> =>
      (await (await fetch(`${gw.apiUrl}/metrics`)).text())
        .split('\n')
        .filter(
          (l) =>
            (l.startsWith('switchboard_messages_total{') && l.includes('country="GB"') && l.includes('outcome="refused"')) ||
            l.startsWith('switchboard_policy_blocks_total{reason="country_not_allowed"}'),
        )
        .reduce((s, l) => s + Number(l.split(' ').at(-1)), 0);
    const refusedBefore = await metric();
    // Workers keep writing their own keys (ledgers, health); a refusal must add no message, job, idempotency or limit key.
    const before = new Set(await keysUnder(gw.redis, gw.prefix));
    const allIndexBefore = await gw.redis.zcard(`${gw.prefix}:idx:all`);
    const res = await as('alpha-key', 'POST', '/v1/messages', { to: '+442071838750', otp: {} });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ error: { code: 'SB_POLICY_COUNTRY_NOT_ALLOWED' } });
    const added = (await keysUnder(gw.redis, gw.prefix)).filter((k) => !before.has(k));
    expect(added.filter((k) => /:(msg|idem|rl|otp|send):/.test(k))).toEqual([]);
    expect(await gw.redis.zcard(`${gw.prefix}:idx:all`)).toBe(allIndexBefore);
    expect(await metric()).toBe(refusedBefore + 2);

    expect((await as('alpha-key', 'POST', '/v1/messages', { to: '+16135550123', body: 'Canada is allowed' })).status).toBe(202);
    expect((await as('beta-key', 'POST', '/v1/messages', { to: '+442071838750', body: 'beta has no country list' })).status).toBe(202);
  });
});

describe('per-key webhook secrets', () => {
  const verifies = (secret: string, r: ReceivedRequest): boolean => {
    const headers: Record<string, string> = {};
    for (const h of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) headers[h] = String(r.headers[h]);
    try {
      new Webhook(secret).verify(r.body, headers);
      return true;
    } catch {
      return false;
    }
  };

  it('signs a key’s events with its own secrets (all of them during a rotation), others with the global secret', async () => {
    receiver = await startWebhookReceiver();
    const alphaId = await create('alpha-key', { to: '+14155550906', body: 'a', callbackUrl: receiver.url });
    const sandboxId = await create('sandbox-key', { to: '+14155550907', body: 'b', callbackUrl: receiver.url });
    await receiver.waitFor((all) => [alphaId, sandboxId].every((id) => all.some((r) => r.body.includes(id))));
    const alpha = receiver.received.filter((r) => r.body.includes(alphaId));
    const sandbox = receiver.received.filter((r) => r.body.includes(sandboxId));
    for (const r of alpha) {
      expect(verifies(ALPHA_SECRET, r)).toBe(true);
      expect(verifies(ALPHA_OLD_SECRET, r)).toBe(true);
      expect(verifies(GLOBAL_SECRET, r)).toBe(false);
    }
    for (const r of sandbox) {
      expect(verifies(GLOBAL_SECRET, r)).toBe(true);
      expect(verifies(ALPHA_SECRET, r)).toBe(false);
    }
  });
});

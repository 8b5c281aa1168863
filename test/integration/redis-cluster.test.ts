/**
 * Switchboard on a real three-master Redis Cluster (CONTRACTS §5 `redis-cluster://`), started
 * the way `npm start` starts it (`node src/cli.ts all`): the SMS lifecycle with carrier callbacks,
 * signed webhooks and OTP verification, every key and queue in the one slot of the hash tag
 * `{prefix}` (so BullMQ's and Switchboard's multi-key scripts never meet CROSSSLOT).
 */
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis, type RedisClient } from '../../src/queues/redis-connection.ts';
import { generateWebhookSecret } from '../../src/webhooks/webhook-signer.ts';
import { API_KEY, freshNumber, type MessageView } from '../helpers/cluster.ts';
import { writeConfigDir, type ConfigDir } from '../helpers/config-dir.ts';
import { freePort } from '../helpers/free-port.ts';
import { spawnRole, waitForOk, type RoleProcess } from '../helpers/processes.ts';
import { createOwnRedisCluster, type OwnRedisCluster } from '../helpers/redis-cluster.ts';
import { findRedisServer } from '../helpers/redis-server.ts';
import { testPrefix } from '../helpers/redis.ts';
import { startWebhookReceiver, type ReceivedRequest, type WebhookReceiver } from '../helpers/webhook-receiver.ts';

const binary = findRedisServer();
const underCi = process.env['CI'] === 'true';
if (binary === undefined && !underCi) {
  console.log('[integration] SKIPPED redis cluster: no redis-server on PATH (install redis-server; under CI=true this fails instead)');
}

const SECRET = generateWebhookSecret();
const prefix = testPrefix('cluster');
let redisCluster: OwnRedisCluster | undefined;
let gateway: RoleProcess | undefined;
let configDir: ConfigDir | undefined;
let receiver: WebhookReceiver | undefined;
let reader: RedisClient | undefined;
let apiUrl = '';
let sandboxUrl = '';

async function api(path: string, init: RequestInit & { json?: unknown } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${API_KEY}`);
  const { json, ...rest } = init;
  if (json !== undefined) headers.set('content-type', 'application/json');
  return fetch(`${apiUrl}${path}`, {
    signal: AbortSignal.timeout(10_000),
    ...rest,
    headers,
    ...(json !== undefined ? { body: JSON.stringify(json) } : {}),
  });
}

async function send(body: Record<string, unknown>): Promise<string> {
  const res = await api('/v1/messages', { method: 'POST', json: body });
  const text = await res.text();
  expect(res.status, text).toBe(202);
  return (JSON.parse(text) as { id: string }).id;
}

async function waitForStatus(id: string, statuses: readonly string[], timeoutMs = 20_000): Promise<MessageView> {
  const deadline = Date.now() + timeoutMs;
  let last: MessageView | undefined;
  while (Date.now() < deadline) {
    const res = await api(`/v1/messages/${id}`);
    if (res.status === 200) {
      last = (await res.json()) as MessageView;
      if (statuses.includes(last.status)) return last;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(
    `message ${id} not ${statuses.join('|')} within ${timeoutMs} ms; last: ${JSON.stringify(last)}\n${gateway?.output() ?? ''}`,
  );
}

/** The code as the handset got it: the text the carrier sandbox received for this message. */
async function codeSentTo(id: string, to: string): Promise<string> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const res = await fetch(`${sandboxUrl}/_sandbox/log?to=${encodeURIComponent(to)}`);
    const entries = (await res.json()) as Array<{ reference?: string; body?: string; status: number }>;
    const sent = entries.find((e) => e.reference === id && e.status >= 200 && e.status < 300 && e.body !== undefined);
    const code = sent?.body !== undefined ? /\b(\d{6})\b/.exec(sent.body)?.[1] : undefined;
    if (code !== undefined) return code;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no sandbox send with a code for ${id}`);
}

/** Every key of the deployment on every master, as `[node port, key]`. */
async function keysByNode(): Promise<Array<[number, string]>> {
  const out: Array<[number, string]> = [];
  for (const port of (redisCluster as OwnRedisCluster).ports) {
    const node = createRedis(`redis://127.0.0.1:${port}`, 'worker', { maxRetriesPerRequest: 2 });
    try {
      let cursor = '0';
      do {
        const [next, batch] = await node.scan(cursor, 'MATCH', `*${prefix}*`, 'COUNT', 1000);
        cursor = next;
        for (const key of batch) out.push([port, key]);
      } while (cursor !== '0');
    } finally {
      node.disconnect();
    }
  }
  return out;
}

describe.skipIf(binary === undefined && !underCi)('Switchboard on a three-master Redis Cluster', () => {
  beforeAll(async () => {
    if (binary === undefined)
      throw new Error('CI=true: redis-server must be installed (.ci/run installs it); this suite does not skip under CI');
    redisCluster = await createOwnRedisCluster(binary);
    receiver = await startWebhookReceiver();
    configDir = writeConfigDir({
      routing: { channels: { sms: { providers: ['twilio'] } } },
      webhooks: { relayIntervalMs: 50 },
    });
    const [apiPort, sandboxPort] = [await freePort(), await freePort()];
    apiUrl = `http://127.0.0.1:${apiPort}`;
    sandboxUrl = `http://127.0.0.1:${sandboxPort}`;
    gateway = spawnRole('all', {
      REDIS_URL: redisCluster.url,
      SWITCHBOARD_REDIS_PREFIX: prefix,
      PORT: String(apiPort),
      SANDBOX_PORT: String(sandboxPort),
      SWITCHBOARD_CONFIG_DIR: configDir.dir,
      SWITCHBOARD_WEBHOOK_SECRET: SECRET,
      LOG_LEVEL: 'warn',
    });
    await waitForOk(`${apiUrl}/readyz`, gateway, 45_000);
    reader = createRedis(redisCluster.url, 'worker', { maxRetriesPerRequest: 2 });
  }, 90_000);

  afterAll(async () => {
    if (gateway) {
      const timer = setTimeout(() => gateway?.child.kill('SIGKILL'), 15_000);
      await gateway.stop('SIGTERM');
      clearTimeout(timer);
    }
    reader?.disconnect();
    await receiver?.close();
    configDir?.remove();
    await redisCluster?.destroy();
  }, 30_000);

  it('delivers an SMS through a three-master cluster and records both carrier callbacks', async () => {
    const id = await send({ to: freshNumber(), body: 'Your code is {{code}}', otp: {} });
    const msg = await waitForStatus(id, ['delivered', 'failed', 'undelivered']);
    expect(msg.status).toBe('delivered');
    expect(msg.provider).toBe('twilio');
    expect(msg.attempts).toMatchObject([
      { n: 1, provider: 'twilio', status: 'delivered', providerMessageId: expect.stringMatching(/^SM[0-9a-f]{32}$/) },
    ]);
    const types = msg.timeline.map((t) => `${t.type}${t.type === 'callback' ? `:${t.detail ?? ''}` : ''}`);
    expect(types).toEqual(expect.arrayContaining(['accepted', 'attempt', 'carrier_accepted', 'callback:sent', 'callback:delivered']));
    expect((await (reader as RedisClient).get(`{${prefix}}:ledger:${id}:1`)) ?? '').toMatch(/^sent/);
  });

  it('posts every status change as a Standard Webhooks signed event', async () => {
    const r = receiver as WebhookReceiver;
    const id = await send({ to: freshNumber(), body: 'code {{code}}', otp: {}, callbackUrl: `${r.url}/hooks` });
    const parse = (req: ReceivedRequest): { id: string; type: string; data: { messageId: string } } =>
      JSON.parse(req.body) as { id: string; type: string; data: { messageId: string } };
    await r.waitFor((all) => all.some((req) => parse(req).data.messageId === id && parse(req).type === 'message.delivered'), 20_000);
    const mine = r.received.filter((req) => parse(req).data.messageId === id);
    expect(mine.map((req) => parse(req).type)).toEqual(['message.accepted', 'message.queued', 'message.sent', 'message.delivered']);
    for (const req of mine) {
      const headers: Record<string, string> = {};
      for (const h of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) headers[h] = String(req.headers[h]);
      expect(new Webhook(SECRET).verify(req.body, headers)).toEqual(JSON.parse(req.body));
    }
  });

  it('verifies the OTP code the handset received, once', async () => {
    const to = freshNumber();
    const id = await send({ to, body: 'Your code is {{code}}', otp: { length: 6 } });
    await waitForStatus(id, ['sent', 'delivered']);
    const code = await codeSentTo(id, to);
    const wrong = code.slice(0, -1) + String((Number(code.at(-1)) + 1) % 10);
    const bad = await api(`/v1/messages/${id}/verify`, { method: 'POST', json: { code: wrong } });
    expect(await bad.json()).toMatchObject({ valid: false });
    const good = await api(`/v1/messages/${id}/verify`, { method: 'POST', json: { code } });
    expect(good.status).toBe(200);
    expect(await good.json()).toMatchObject({ valid: true });
    const again = await api(`/v1/messages/${id}/verify`, { method: 'POST', json: { code } });
    expect(await again.json()).toMatchObject({ error: { code: 'SB_OTP_ALREADY_VERIFIED' } });
  });

  it('keeps every key and queue under the hash tag {prefix}, in one slot on one master', async () => {
    const keys = await keysByNode();
    expect(keys.length).toBeGreaterThan(10);
    expect(keys.filter(([, k]) => !k.startsWith(`{${prefix}}:`))).toEqual([]);
    expect(new Set(keys.map(([port]) => port)).size).toBe(1);
    const names = keys.map(([, k]) => k);
    for (const part of [':send:', ':dlr:', ':events:', ':msg:', ':ledger:', ':idx:'])
      expect(
        names.some((k) => k.includes(part)),
        part,
      ).toBe(true);
    const slots = new Set(
      await Promise.all(names.slice(0, 50).map(async (k) => String(await (reader as RedisClient).call('CLUSTER', 'KEYSLOT', k)))),
    );
    expect(slots.size).toBe(1);
  });
});

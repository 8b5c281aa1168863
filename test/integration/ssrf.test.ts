/**
 * The SSRF guard of outbound webhooks, in a live-like configuration
 * (`webhooks.allowPrivateTargets: false`) on whole gateways against the real Redis and sandbox.
 *
 * Admission refuses literal loopback/private/link-local/metadata callback URLs (no DNS). Delivery
 * resolves names through an injected resolver — the guard's real seam — and refuses a name that
 * maps to a forbidden address (dead letter at once, never retried). The "public" receiver is a
 * local one the operator allow-lists (`webhooks.allowedTargets: [127.0.0.1]`), reached under a
 * name the system DNS does not know: a delivery that arrives proves the request connected to the
 * address the guard vetted, not to whatever DNS would say. A redirect from it is never followed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResolveHost } from '../../src/security/ssrf-guard.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { parsePrometheusText, sumOf } from '../helpers/prometheus-text.ts';
import { keysUnder } from '../helpers/redis.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.ts';

const LIVE_WEBHOOKS = { allowPrivateTargets: false, requireHttps: false };

async function send(
  gw: TestGateway,
  callbackUrl: string,
  to = '+14155550401',
): Promise<{ status: number; body: { id?: string; error?: { code: string; message: string } } }> {
  const res = await gw.api('/v1/messages', { method: 'POST', json: { to, body: 'Your code is {{code}}', otp: {}, callbackUrl } });
  return { status: res.status, body: (await res.json()) as { id?: string; error?: { code: string; message: string } } };
}

describe('callbackUrl at admission', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    // API only: admission is what is checked, and nothing is sent.
    gw = await startTestGateway({ label: 'ssrf-adm', role: 'api', overrides: { webhooks: LIVE_WEBHOOKS } });
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it('refuses loopback, private, link-local, metadata and internal-name targets with 422, creating nothing', async () => {
    const metricsBefore = sumOf(
      parsePrometheusText(await (await fetch(`${gw.apiUrl}/metrics`)).text()),
      'switchboard_policy_blocks_total',
      { reason: 'callback_url' },
    );
    const before = (await keysUnder(gw.redis, gw.prefix)).filter((k) => /:(msg|idem|rl):/.test(k));
    for (const url of [
      'http://127.0.0.1:8080/hooks',
      'http://10.0.0.1/hooks',
      'http://169.254.169.254/latest/meta-data/',
      'http://[::1]:8080/hooks',
      'http://[::ffff:10.0.0.1]/hooks',
      'http://2130706433/hooks',
      'http://localhost:8080/hooks',
      'http://metadata.google.internal/computeMetadata/v1/',
    ]) {
      const res = await send(gw, url);
      expect(res.status, url).toBe(422);
      expect(res.body.error?.code, url).toBe('SB_POLICY_CALLBACK_URL');
    }
    expect((await keysUnder(gw.redis, gw.prefix)).filter((k) => /:(msg|idem|rl):/.test(k))).toEqual(before);
    const after = sumOf(parsePrometheusText(await (await fetch(`${gw.apiUrl}/metrics`)).text()), 'switchboard_policy_blocks_total', {
      reason: 'callback_url',
    });
    expect(after).toBe(metricsBefore + 8);
  });

  it('accepts a public name without resolving it (delivery checks it again)', async () => {
    expect((await send(gw, 'http://hooks.example.com/switchboard')).status).toBe(202);
  });

  it('requires https when configured for live', async () => {
    const https = await startTestGateway({
      label: 'ssrf-https',
      role: 'api',
      overrides: { webhooks: { allowPrivateTargets: false, requireHttps: true } },
    });
    try {
      const res = await send(https, 'http://hooks.example.com/switchboard');
      expect(res.status).toBe(422);
      expect(res.body.error?.message).toContain('https');
      expect((await send(https, 'https://hooks.example.com/switchboard')).status).toBe(202);
    } finally {
      await https.stop();
    }
  });
});

describe('webhook delivery', () => {
  let gw: TestGateway;
  let receiver: WebhookReceiver;
  let port = '';
  /** Names the injected resolver knows; nothing here is in the system DNS. */
  const dns: Record<string, string[]> = {
    'receiver.test': ['127.0.0.1'],
    'metadata.test': ['169.254.169.254'],
    'private.test': ['10.0.0.1'],
    'loopback6.test': ['::1'],
    'mixed.test': ['127.0.0.1', '10.0.0.1'],
  };
  const resolveHost: ResolveHost = async (host) => {
    const addrs = dns[host];
    if (addrs === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return addrs.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    port = new URL(receiver.url).port;
    gw = await startTestGateway({
      label: 'ssrf-dlv',
      smsProviders: ['twilio'],
      resolveHost,
      overrides: { webhooks: { ...LIVE_WEBHOOKS, allowedTargets: ['127.0.0.1'], retrySchedule: [200, 200] } },
    });
  });
  afterAll(async () => {
    await gw?.stop();
    await receiver?.close();
  });

  async function deadLetters(): Promise<Array<{ messageId: string; lastError: string; attempts: number }>> {
    return (
      (await (await gw.api('/v1/webhooks/dead-letters')).json()) as {
        items: Array<{ messageId: string; lastError: string; attempts: number }>;
      }
    ).items;
  }

  async function waitForDeadLetter(messageId: string): Promise<{ lastError: string; attempts: number }> {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const found = (await deadLetters()).find((d) => d.messageId === messageId);
      if (found) return found;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`no dead letter for ${messageId}`);
  }

  it('delivers to an allowed receiver through the address the guard vetted', async () => {
    const { status, body } = await send(gw, `http://receiver.test:${port}/hooks`, '+14155550402');
    expect(status).toBe(202);
    await receiver.waitFor((all) => all.some((r) => r.body.includes(String(body.id)) && r.body.includes('"message.delivered"')));
    // The Host header keeps the name; only the connection was pinned.
    expect(receiver.received.find((r) => r.body.includes(String(body.id)))?.headers.host).toBe(`receiver.test:${port}`);
  });

  it('refuses a name that resolves to a forbidden address: dead letter at the first try, nothing posted', async () => {
    for (const [host, to] of [
      ['metadata.test', '+14155550403'],
      ['private.test', '+14155550404'],
      ['loopback6.test', '+14155550405'],
      ['mixed.test', '+14155550406'],
    ] as const) {
      const { status, body } = await send(gw, `http://${host}:${port}/hooks`, to);
      expect(status, host).toBe(202);
      const dead = await waitForDeadLetter(String(body.id));
      expect(dead.lastError, host).toContain('callback target refused');
      expect(dead.attempts, host).toBe(1);
      expect(
        receiver.received.some((r) => r.body.includes(String(body.id))),
        host,
      ).toBe(false);
    }
  });

  it('never follows a redirect from an allowed host', async () => {
    receiver.respond = (req) =>
      req.path === '/redirecting' ? { status: 302, headers: { location: `http://receiver.test:${port}/followed` } } : { status: 204 };
    try {
      const { body } = await send(gw, `http://receiver.test:${port}/redirecting`, '+14155550407');
      const dead = await waitForDeadLetter(String(body.id));
      expect(dead.lastError).toBe('redirect 302 not followed');
      expect(receiver.received.filter((r) => r.path === '/followed')).toEqual([]);
      expect(receiver.received.filter((r) => r.path === '/redirecting' && r.body.includes(String(body.id))).length).toBeGreaterThanOrEqual(
        3,
      );
    } finally {
      receiver.respond = () => ({ status: 204 });
    }
  });
});

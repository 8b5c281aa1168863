/**
 * The SMS-pumping guard on whole gateways against the real Redis and
 * carrier sandbox. History is seeded the way an operator would (`PumpingStore.seedBaseline`): the
 * US has carried 1,000 sends per window for a month, so a burst to one fresh prefix stands out
 * while the country as a whole does not. Thresholds are shrunk by config (minSends 10, no warm-up).
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisKeys } from '../../src/store/redis-keys.ts';
import { PumpingStore } from '../../src/store/pumping.store.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { parsePrometheusText, sumOf } from '../helpers/prometheus-text.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.ts';

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');
const KEYS = [
  { name: 'sandbox', sha256: sha('sandbox-key'), scopes: ['send', 'read', 'verify', 'admin'] },
  { name: 'quiet', sha256: sha('quiet-key'), scopes: ['send', 'read'] },
];
const BURST = 15;
const MIN_SENDS = 10;
const PUMPING = { windowMs: 60_000, minSends: MIN_SENDS, warmupMs: 0, conversion: { enabled: false } };

interface View {
  status: string;
  error?: { code: string };
  timeline: Array<{ type: string; detail?: string }>;
}

async function seedUsHistory(gw: TestGateway): Promise<void> {
  const now = Date.now();
  await new PumpingStore(gw.redis, redisKeys(gw.prefix)).seedBaseline(
    { label: 'country:US', token: 'country:US' },
    1_000,
    now - 30 * 86_400_000,
    now,
    {
      windowMs: PUMPING.windowMs,
      baselineHalfLifeMs: gw.config.pumping.baselineHalfLifeMs,
    },
  );
}

async function sendAll(
  gw: TestGateway,
  numbers: readonly string[],
  extra: Record<string, unknown> = {},
  key = 'sandbox-key',
): Promise<string[]> {
  const ids = await Promise.all(
    numbers.map(async (to) => {
      const res = await fetch(`${gw.apiUrl}/v1/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ to, body: 'Your code is {{code}}', otp: {}, ...extra }),
      });
      expect(res.status).toBe(202);
      return ((await res.json()) as { id: string }).id;
    }),
  );
  return ids;
}

async function finalViews(gw: TestGateway, ids: readonly string[]): Promise<View[]> {
  return Promise.all(
    ids.map(async (id) => (await gw.waitForStatus(id, ['delivered', 'failed', 'undelivered'], 20_000)) as unknown as View),
  );
}

async function pumpingBlocks(gw: TestGateway): Promise<number> {
  return sumOf(parsePrometheusText(await (await fetch(`${gw.apiUrl}/metrics`)).text()), 'switchboard_policy_blocks_total', {
    reason: 'pumping',
  });
}

const burstTo = (prefix: string): string[] => Array.from({ length: BURST }, (_, i) => `${prefix}${String(100 + i).padStart(4, '0')}`);
/** One number in each of several other prefixes (other area codes). */
const OTHER_PREFIXES = ['+1212555', '+1312555', '+1415555', '+1617555', '+1702555'];

describe('block mode', () => {
  let gw: TestGateway;
  let receiver: WebhookReceiver;
  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    gw = await startTestGateway({
      label: 'pump-block',
      smsProviders: ['twilio'],
      overrides: { pumping: { ...PUMPING, mode: 'block' }, apiKeys: KEYS },
    });
    await seedUsHistory(gw);
  });
  afterAll(async () => {
    await gw?.stop();
    await receiver?.close();
  });

  it('blocks a burst to one prefix past the threshold while other prefixes flow', async () => {
    const before = await pumpingBlocks(gw);
    const burst = await sendAll(gw, burstTo('+1650555'), { callbackUrl: receiver.url });
    const others = await sendAll(
      gw,
      OTHER_PREFIXES.map((p) => `${p}0100`),
    );
    const burstViews = await finalViews(gw, burst);
    const blocked = burstViews.filter((v) => v.status === 'failed');
    expect(burstViews.filter((v) => v.status === 'delivered')).toHaveLength(MIN_SENDS);
    expect(blocked).toHaveLength(BURST - MIN_SENDS);
    for (const v of blocked) {
      expect(v.error?.code).toBe('SB_POLICY_PUMPING');
      expect(v.timeline.find((t) => t.type === 'pumping')?.detail).toMatch(/^blocked: prefix: \d+ sends in 60 s over the threshold 10/);
      // Nothing was sent: no attempt, no lookup-after-block carrier call.
      expect(v.timeline.some((t) => t.type === 'attempt')).toBe(false);
    }
    expect((await finalViews(gw, others)).map((v) => v.status)).toEqual(OTHER_PREFIXES.map(() => 'delivered'));
    expect(await pumpingBlocks(gw)).toBe(before + BURST - MIN_SENDS);
    // Blocked messages are refusals (CONTRACTS §7), not carrier failures.
    const messages = parsePrometheusText(await (await fetch(`${gw.apiUrl}/metrics`)).text());
    expect(sumOf(messages, 'switchboard_messages_total', { outcome: 'refused' })).toBeGreaterThanOrEqual(BURST - MIN_SENDS);
    expect(sumOf(messages, 'switchboard_messages_total', { outcome: 'failed' })).toBe(0);

    // The failed event names the reason; the audit stream has the failures with their code.
    const failedEvents = await receiver.waitFor(
      (all) => all.filter((r) => r.body.includes('"message.failed"')).length >= BURST - MIN_SENDS,
    );
    const event = JSON.parse(failedEvents.find((r) => r.body.includes('"message.failed"'))?.body ?? '{}') as {
      data: { reason?: string; error?: { code: string } };
    };
    expect(event.data).toMatchObject({ reason: 'pumping_suspected', error: { code: 'SB_POLICY_PUMPING' } });
    const audit = (await (await gw.api('/v1/audit?decision=failed&limit=100')).json()) as { items: Array<{ code?: string }> };
    expect(audit.items.filter((e) => e.code === 'SB_POLICY_PUMPING')).toHaveLength(BURST - MIN_SENDS);
  });

  it('never blocks a safe-listed prefix', async () => {
    const safe = await startTestGateway({
      label: 'pump-safe',
      role: 'all',
      smsProviders: ['twilio'],
      overrides: { pumping: { ...PUMPING, mode: 'block', safeList: { prefixes: ['+1650'] } }, apiKeys: KEYS },
    });
    try {
      await seedUsHistory(safe);
      const views = await finalViews(safe, await sendAll(safe, burstTo('+1650556')));
      expect(views.map((v) => v.status)).toEqual(burstTo('+1650556').map(() => 'delivered'));
    } finally {
      await safe.stop();
    }
  });
});

describe('shadow mode', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({
      label: 'pump-shadow',
      smsProviders: ['twilio'],
      overrides: { pumping: { ...PUMPING, mode: 'shadow' }, apiKeys: KEYS },
    });
    await seedUsHistory(gw);
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it('delivers the same burst but flags what block mode would stop (timeline, metric, audit)', async () => {
    const before = await pumpingBlocks(gw);
    const views = await finalViews(gw, await sendAll(gw, burstTo('+1650555')));
    expect(views.map((v) => v.status)).toEqual(burstTo('+1650555').map(() => 'delivered'));
    const flagged = views.filter((v) => v.timeline.some((t) => t.type === 'pumping'));
    expect(flagged).toHaveLength(BURST - MIN_SENDS);
    for (const v of flagged) expect(v.timeline.find((t) => t.type === 'pumping')?.detail).toMatch(/^shadow \(delivered\): prefix: /);
    expect(await pumpingBlocks(gw)).toBe(before + BURST - MIN_SENDS);
    const audit = (await (await gw.api('/v1/audit?decision=flagged&limit=100')).json()) as {
      items: Array<{ code?: string; key?: string }>;
    };
    expect(audit.items).toHaveLength(BURST - MIN_SENDS);
    expect(audit.items[0]).toMatchObject({ code: 'SB_POLICY_PUMPING', key: 'sandbox' });
  });
});

describe('the conversion tripwire', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({
      label: 'pump-conv',
      smsProviders: ['twilio'],
      overrides: {
        pumping: { mode: 'block', minSends: 1_000, warmupMs: 0, conversion: { enabled: true, minSends: 4, minRate: 0.5 } },
        apiKeys: KEYS,
      },
    });
  });
  afterAll(async () => {
    await gw?.stop();
  });

  async function sendOne(to: string, key: string): Promise<View> {
    const [id] = await sendAll(gw, [to], {}, key);
    return (await finalViews(gw, [id as string]))[0] as View;
  }

  it('counts only keys that report conversions, and blocks a prefix whose codes are never verified', async () => {
    // `quiet` never reports: its traffic never trips the wire, however unconverted.
    for (let i = 0; i < 5; i++) expect((await sendOne(`+1650557010${i}`, 'quiet-key')).status).toBe('delivered');
    // `sandbox` reports a conversion (a login in another range), which makes it a reporting key.
    const [gbId] = await sendAll(gw, ['+12125550188']);
    await finalViews(gw, [gbId as string]);
    expect((await gw.api(`/v1/messages/${gbId}/conversion`, { method: 'POST', json: { verified: true } })).status).toBe(204);
    // Its US sends never convert: the 4th reaches minSends with 0 % verified and is blocked.
    const statuses: string[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await sendOne(`+1650558010${i}`, 'sandbox-key')).status);
    expect(statuses).toEqual(['delivered', 'delivered', 'delivered', 'failed']);
    const last = await sendOne('+16505580199', 'sandbox-key');
    expect(last.error?.code).toBe('SB_POLICY_PUMPING');
    expect(last.timeline.find((t) => t.type === 'pumping')?.detail).toMatch(/0 of \d+ codes verified in 24 h/);
  });
});

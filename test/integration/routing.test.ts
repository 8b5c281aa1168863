/**
 * Routing by price, tier and health across the three carriers, and failover through a carrier
 * outage with breakers. Breaker delays are shortened by config so the suite stays fast.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tierMonth } from '../../src/routing/price-book.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { parsePrometheusText, sumOf } from '../helpers/prometheus-text.ts';

interface Msg {
  id: string;
  status: string;
  provider: string;
  attempts: Array<{ provider: string; status: string }>;
  routing: {
    provider: string;
    reason: string;
    candidates: Array<{ provider: string; price?: number; effectivePrice?: number; score?: number; excluded?: string }>;
  };
}

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway({
    label: 'route',
    overrides: {
      breaker: { halfOpenAfterMs: 1_000, maxHalfOpenAfterMs: 2_000, minimumRps: 1, sharedRefreshMs: 100 },
      send: { backoffMs: 200 },
      // Health scoring neutral for the whole file: otherwise a carrier that fails a few sends is
      // ranked out by its error rate before its breaker has seen enough calls to open, and the
      // outage case below would test health routing instead of the breaker.
      health: { minSamples: 100_000 },
    },
  });
});
afterAll(async () => {
  await gw?.stop();
});

async function send(to: string): Promise<string> {
  const res = await gw.api('/v1/messages', { method: 'POST', json: { to, body: 'hi' } });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

async function deliveredVia(to: string): Promise<Msg> {
  return (await gw.waitForStatus(await send(to), ['delivered', 'failed', 'undelivered'], 20_000)) as unknown as Msg;
}

describe('routing across carriers', () => {
  it.each([
    ['+14155550701', 'messagebird', 0.007],
    ['+4915112345678', 'messagebird', 0.0088],
    ['+61412345678', 'sinch', 0.0058],
  ])('sends %s through %s, the cheapest, and records the decision', async (to, provider, price) => {
    const msg = await deliveredVia(to);
    expect(msg.status).toBe('delivered');
    expect(msg.provider).toBe(provider);
    expect(msg.routing.reason).toBe('cheapest');
    expect(msg.routing.candidates).toHaveLength(3);
    expect(msg.routing.candidates.find((c) => c.provider === provider)).toMatchObject({ price, effectivePrice: price, score: price });
  });

  it('switches US traffic to Twilio once its volume tier discount applies', async () => {
    const key = `${gw.prefix}:tier:twilio:${tierMonth(Date.now())}`;
    await gw.redis.set(key, '1000000');
    await new Promise((r) => setTimeout(r, 1_100));
    try {
      const msg = await deliveredVia('+14155550702');
      expect(msg.provider).toBe('twilio');
      expect(msg.routing.candidates.find((c) => c.provider === 'twilio')).toMatchObject({ price: 0.0075, effectivePrice: 0.00375 });
    } finally {
      await gw.redis.del(key);
      await new Promise((r) => setTimeout(r, 1_100));
    }
  });

  it('delivers every message through another carrier when the cheapest goes down mid-stream, then returns after a probe', async () => {
    await gw.sandbox('/_sandbox/providers/messagebird', { method: 'PUT', json: { latencyMs: 30 } });
    // Watch the breaker from the first send until the stream drains: it must be seen open (2) at
    // some point (a fast pipeline can open and probe it before the last message is even posted).
    let maxState = 0;
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const m = parsePrometheusText(await (await fetch(`${gw.apiUrl}/metrics`)).text());
        maxState = Math.max(maxState, sumOf(m, 'switchboard_breaker_state', { provider: 'messagebird', channel: 'sms' }));
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const ids: string[] = [];
    for (let i = 0; i < 60; i++) {
      ids.push(await send(`+1415555${String(1000 + i)}`));
      if (i === 15) await gw.sandbox('/_sandbox/providers/messagebird', { method: 'PUT', json: { outage: true } });
    }
    const results = await Promise.all(
      ids.map(async (id) => (await gw.waitForStatus(id, ['delivered', 'failed', 'undelivered'], 30_000)) as unknown as Msg),
    );
    watching = false;
    await watcher;
    expect(results.filter((m) => m.status !== 'delivered')).toEqual([]);
    expect(results.filter((m) => m.provider !== 'messagebird').length).toBeGreaterThan(20);

    // Seen open by the scrape watcher, or in a message's routing decision (a scrape can miss a short
    // open window on a loaded machine; a decision that excluded the carrier cannot).
    const openInDecisions = results.some((m) =>
      m.routing.candidates.some((c) => c.provider === 'messagebird' && c.excluded === 'breaker_open'),
    );
    expect(maxState === 2 || openInDecisions, `breaker state peaked at ${maxState}; no decision excluded messagebird`).toBe(true);
    const metrics = parsePrometheusText(await (await fetch(`${gw.apiUrl}/metrics`)).text());
    expect(sumOf(metrics, 'switchboard_provider_errors_total', { provider: 'messagebird', kind: 'retryable' })).toBeGreaterThan(0);

    const log = (await (await gw.sandbox('/_sandbox/log?limit=10000')).json()) as Array<{ reference?: string; status: number }>;
    const accepted = new Map<string, number>();
    for (const e of log)
      if (e.reference && e.status >= 200 && e.status < 300) accepted.set(e.reference, (accepted.get(e.reference) ?? 0) + 1);
    expect(ids.filter((id) => (accepted.get(id) ?? 0) !== 1)).toEqual([]);

    await gw.sandbox('/_sandbox/providers/messagebird', { method: 'PUT', json: { outage: false, latencyMs: 0 } });
    const recoveredBy = Date.now() + 60_000;
    let back = false;
    while (!back && Date.now() < recoveredBy) {
      const msg = await deliveredVia(`+1415555${String(2000 + Math.floor(Math.random() * 7000))}`);
      back = msg.provider === 'messagebird';
      if (!back) await new Promise((r) => setTimeout(r, 200));
    }
    expect(back).toBe(true);
    const after = parsePrometheusText(await (await fetch(`${gw.apiUrl}/metrics`)).text());
    expect(sumOf(after, 'switchboard_breaker_state', { provider: 'messagebird', channel: 'sms' })).toBe(0);
  });

  it('fails over to another carrier on a transient undelivered code, once', async () => {
    // Start from a closed messagebird breaker (the outage test above may leave a probe pending).
    const closedBy = Date.now() + 15_000;
    while (Date.now() < closedBy) {
      const m = parsePrometheusText(await (await fetch(`${gw.apiUrl}/metrics`)).text());
      if (sumOf(m, 'switchboard_breaker_state', { provider: 'messagebird', channel: 'sms' }) === 0) break;
      await deliveredVia(`+1415555${String(5000 + Math.floor(Math.random() * 4000))}`);
    }
    await gw.sandbox('/_sandbox/providers/messagebird', { method: 'PUT', json: { dlr: 'undelivered', dlrDelayMs: 50 } });
    try {
      const msg = (await gw.waitForStatus(await send('+14155550703'), ['delivered', 'undelivered', 'failed'], 20_000)) as unknown as Msg & {
        timeline: Array<{ type: string; detail?: string }>;
      };
      expect(msg.status).toBe('delivered');
      expect(msg.attempts.map((a) => [a.provider, a.status])).toEqual([
        ['messagebird', 'undelivered'],
        [expect.not.stringMatching(/^messagebird$/), 'delivered'],
      ]);
      expect(msg.timeline.some((t) => t.type === 'fallback' && t.detail?.startsWith('undelivered'))).toBe(true);
    } finally {
      await gw.sandbox('/_sandbox/providers/messagebird', { method: 'PUT', json: { dlr: 'delivered', dlrDelayMs: 200 } });
    }
  });
});

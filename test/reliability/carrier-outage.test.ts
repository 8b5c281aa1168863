/**
 * The cheapest carrier goes down and comes back (CONTRACTS §6 scenario API) while two worker
 * processes send: every message is delivered through another carrier meanwhile (an outage's 503 is
 * a definite refusal, so nothing is sent twice), the shared breaker stops the fleet from calling the
 * dead carrier, and after recovery a half-open probe brings the traffic back to it. Breaker delays
 * are shortened by config.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePrometheusText } from '../helpers/prometheus-text.ts';
import { duplicatesOf, freshNumber, printCounts, startCluster, type Cluster } from '../helpers/cluster.ts';

let cluster: Cluster;

beforeAll(async () => {
  cluster = await startCluster({
    label: 'rel-outage',
    workers: 2,
    config: {
      keyDefaults: { lookup: 'never' },
      breaker: { samplingMs: 5_000, minimumRps: 1, halfOpenAfterMs: 1_000, maxHalfOpenAfterMs: 2_000, sharedRefreshMs: 100 },
      send: { backoffMs: 200 },
    },
  });
}, 90_000);

afterAll(async () => {
  await cluster?.stop();
});

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Each worker's `switchboard_breaker_state{provider,channel="sms"}` (0 closed, 1 half-open, 2 open). */
async function breakerStates(provider: string): Promise<number[]> {
  return Promise.all(
    cluster.workers.map(async (w) => {
      const samples = parsePrometheusText(await (await fetch(`${w.opsUrl}/metrics`, { signal: AbortSignal.timeout(10_000) })).text());
      return (
        samples.find((m) => m.name === 'switchboard_breaker_state' && m.labels['provider'] === provider && m.labels['channel'] === 'sms')
          ?.value ?? -1
      );
    }),
  );
}

describe('a carrier outage and its recovery', () => {
  it('loses nothing during the outage and routes back to the carrier once it recovers', async () => {
    const healthy: string[] = [];
    for (let i = 0; i < 5; i++) healthy.push(await cluster.send({ to: freshNumber(), body: 'healthy' }));
    const healthyViews = await cluster.waitForAll(healthy, ['delivered'], 30_000);
    // The cheapest carrier for US numbers (config/pricing.yaml) takes all the traffic while healthy.
    const CHEAPEST = healthyViews.get(healthy[0] ?? '')?.provider ?? 'none';
    expect([...healthyViews.values()].map((v) => v.provider)).toEqual(healthy.map(() => CHEAPEST));
    expect(['twilio', 'sinch', 'messagebird']).toContain(CHEAPEST);

    await cluster.scenario(CHEAPEST, { outage: true });
    const outageStartedAt = new Date().toISOString();
    const duringOutage: string[] = [];
    for (let i = 0; i < 40; i++) {
      duringOutage.push(await cluster.send({ to: freshNumber(), body: 'during the outage' }));
      await pause(150);
    }
    const outageViews = await cluster.waitForAll(duringOutage, ['delivered', 'failed', 'undelivered'], 60_000);
    const outageEndedAt = new Date().toISOString();
    await cluster.scenario(CHEAPEST, { outage: false });

    // Back to the recovered carrier: sequential messages until three in a row go through it.
    const recovery: string[] = [];
    const recoveryStarted = Date.now();
    let inARow = 0;
    while (inARow < 3 && recovery.length < 60 && Date.now() - recoveryStarted < 45_000) {
      const id = await cluster.send({ to: freshNumber(), body: 'after the outage' });
      recovery.push(id);
      const view = (await cluster.waitForAll([id], ['delivered', 'failed', 'undelivered'], 30_000)).get(id);
      inARow = view?.provider === CHEAPEST ? inARow + 1 : 0;
      if (inARow === 0) await pause(250);
    }
    const recoveredAfterMs = Date.now() - recoveryStarted;
    expect(inARow, `traffic did not return to ${CHEAPEST} within ${recovery.length} messages`).toBe(3);
    // Closed in every worker, not only the one whose probe succeeded: none keeps avoiding the carrier.
    const closedBy = Date.now() + 10_000;
    let states = await breakerStates(CHEAPEST);
    while (states.some((v) => v !== 0) && Date.now() < closedBy) {
      await pause(200);
      states = await breakerStates(CHEAPEST);
    }
    expect(states, `switchboard_breaker_state of ${CHEAPEST} per worker`).toEqual(cluster.workers.map(() => 0));

    const ids = [...healthy, ...duringOutage, ...recovery];
    const views = await cluster.waitForAll(ids, ['delivered'], 30_000);
    const accepted = await cluster.acceptedSends();
    expect(
      ids.filter((id) => accepted.get(id) !== 1),
      'messages not accepted exactly once by the carriers',
    ).toEqual([]);
    expect(duringOutage.filter((id) => outageViews.get(id)?.provider === CHEAPEST)).toEqual([]);

    // The breaker opened: later messages did not even try the dead carrier.
    const refused = (await cluster.sandboxLog()).filter(
      (e) => e.provider === CHEAPEST && e.status === 503 && e.at >= outageStartedAt && e.at <= outageEndedAt && e.reference !== undefined,
    );
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.length, 'calls to the dead carrier').toBeLessThan(duringOutage.length);
    expect(
      duringOutage.some((id) =>
        outageViews.get(id)?.routing?.candidates.some((c) => c.provider === CHEAPEST && c.excluded === 'breaker_open'),
      ),
    ).toBe(true);

    const delivered = [...views.values()].filter((v) => v.status === 'delivered').length;
    printCounts('carrier outage and recovery', {
      sent: ids.length,
      delivered,
      duplicates: duplicatesOf(ids, accepted),
      lost: ids.length - delivered,
      duringOutage: duringOutage.length,
      callsToDeadCarrier: refused.length,
      recoveredAfterMs,
    });
  }, 150_000);
});

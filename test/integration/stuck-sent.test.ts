/**
 * The "stuck in sent" signal (gauge, panel, alert): a message whose carrier took it minutes ago
 * and that is still not final is counted by `switchboard_messages_stuck_sent` until it settles.
 * The gateway's clock is moved forward so "minutes ago" takes seconds; BullMQ keeps wall time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STUCK_AFTER_MS } from '../../src/domain/watch-plan.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';

let gw: TestGateway;
let shiftMs = 0;

async function stuckGauge(): Promise<number> {
  const text = await (await fetch(`${gw.apiUrl}/metrics`)).text();
  const m = /^switchboard_messages_stuck_sent (\d+)/m.exec(text);
  return m ? Number(m[1]) : Number.NaN;
}

async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} within ${timeoutMs} ms`);
}

beforeAll(async () => {
  gw = await startTestGateway({
    label: 'stuck',
    smsProviders: ['twilio'],
    now: () => Date.now() + shiftMs,
    overrides: { keyDefaults: { lookup: 'never' }, dlr: { reconcileAfterMs: 1_000 } },
  });
}, 60_000);

afterAll(async () => {
  await gw?.stop();
});

describe('messages stuck in sent', () => {
  it('counts a message still open long after the carrier took it, until a status read settles it', async () => {
    expect(await stuckGauge()).toBe(0);
    // No callback will come, and the carrier's own status turns final only after a while.
    await gw.sandbox('/_sandbox/providers/twilio', { method: 'PUT', json: { callbacks: 'drop', dlrDelayMs: 4_000 } });
    const res = await gw.api('/v1/messages', { method: 'POST', json: { to: '+14155557001', body: 'transactional text' } });
    const { id } = (await res.json()) as { id: string };
    await gw.waitForStatus(id, ['queued', 'sent']);
    // Minutes pass for the gateway.
    shiftMs = STUCK_AFTER_MS + 60_000;
    await until(async () => (await stuckGauge()) === 1, 10_000, 'the gauge did not count the stuck message');
    const done = await gw.waitForStatus(id, ['delivered'], 20_000);
    expect((done['timeline'] as Array<{ type: string }>).some((t) => t.type === 'reconciled')).toBe(true);
    await until(async () => (await stuckGauge()) === 0, 10_000, 'the gauge did not drop once the message settled');
  });
});

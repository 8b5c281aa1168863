/**
 * The upstream's webhook receiver goes down while messages change status, then comes back
 * (CONTRACTS §4): the worker retries on its schedule (shortened by config), and once the receiver
 * de-duplicates on `webhook-id` it holds every event of every message exactly once, in
 * `data.sequence` order, with nothing dead-lettered.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshNumber, printCounts, startCluster, type Cluster } from '../helpers/cluster.ts';
import { startSwitchableReceiver, type ReceivedWebhook, type SwitchableReceiver } from '../helpers/switchable-receiver.ts';

interface EventBody {
  id: string;
  type: string;
  data: { messageId: string; sequence: number; status: string };
}

const LIFECYCLE = ['message.accepted', 'message.queued', 'message.sent', 'message.delivered'];

let cluster: Cluster;
let receiver: SwitchableReceiver;

beforeAll(async () => {
  receiver = await startSwitchableReceiver();
  cluster = await startCluster({
    label: 'rel-hooks',
    workers: 1,
    config: {
      routing: { channels: { sms: { providers: ['twilio'] } } },
      keyDefaults: { lookup: 'never' },
      webhooks: { retrySchedule: [500, 1_000, 2_000, 3_000, 3_000, 3_000, 3_000, 3_000, 3_000, 3_000], jitter: 0.2, relayIntervalMs: 50 },
    },
  });
}, 90_000);

afterAll(async () => {
  await cluster?.stop();
  await receiver?.down();
});

const parse = (r: ReceivedWebhook): EventBody => JSON.parse(r.body) as EventBody;
const deliveredEventFor = (all: readonly ReceivedWebhook[], id: string): boolean =>
  all.some((r) => r.body.includes(id) && parse(r).type === 'message.delivered');

async function webhookFailures(): Promise<number> {
  let sum = 0;
  for (const w of cluster.workers) {
    const text = await (await fetch(`${w.opsUrl}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
    for (const m of text.matchAll(/^switchboard_webhook_deliveries_total\{[^}]*result="failure"[^}]*\} (\d+(?:\.\d+)?)$/gm))
      sum += Number(m[1]);
  }
  return sum;
}

describe('a webhook receiver that goes down and comes back', () => {
  it('ends up with every event of every message exactly once, in sequence order', async () => {
    const body = { body: 'code {{code}}', otp: {}, callbackUrl: receiver.url };
    const whileUp: string[] = [];
    for (let i = 0; i < 5; i++) whileUp.push(await cluster.send({ to: freshNumber(), ...body }));
    await receiver.waitFor((all) => whileUp.every((id) => deliveredEventFor(all, id)), 30_000);

    await receiver.down();
    const whileDown: string[] = [];
    for (let i = 0; i < 5; i++) whileDown.push(await cluster.send({ to: freshNumber(), ...body }));
    await cluster.waitForAll(whileDown, ['delivered'], 30_000);
    // Down long enough for about two failed tries of each of their events.
    const expectedFailures = 2 * whileDown.length * LIFECYCLE.length;
    const failuresBy = Date.now() + 30_000;
    while ((await webhookFailures()) < expectedFailures && Date.now() < failuresBy) await new Promise((r) => setTimeout(r, 200));
    const failedTries = await webhookFailures();
    expect(failedTries).toBeGreaterThanOrEqual(expectedFailures);
    expect(whileDown.filter((id) => deliveredEventFor(receiver.received, id))).toEqual([]);

    await receiver.up();
    const ids = [...whileUp, ...whileDown];
    await receiver.waitFor((all) => ids.every((id) => deliveredEventFor(all, id)), 45_000);
    // Late retries of anything already received would show up as duplicates here.
    await new Promise((r) => setTimeout(r, 1_000));

    const unique = new Map<string, EventBody>();
    for (const r of receiver.received) {
      const event = parse(r);
      expect(r.headers['webhook-id']).toBe(event.id);
      unique.set(event.id, event);
    }
    for (const id of ids) {
      const events = [...unique.values()].filter((e) => e.data.messageId === id).sort((a, b) => a.data.sequence - b.data.sequence);
      expect(
        events.map((e) => e.type),
        id,
      ).toEqual(LIFECYCLE);
      expect(
        events.map((e) => e.data.sequence),
        id,
      ).toEqual([1, 2, 3, 4]);
    }
    const deadLetters = (await (await cluster.api('/v1/webhooks/dead-letters')).json()) as { items: unknown[] };
    expect(deadLetters.items).toEqual([]);

    const received = [...unique.values()].filter((e) => ids.includes(e.data.messageId));
    printCounts('webhook receiver down, then up', {
      sent: ids.length * LIFECYCLE.length,
      delivered: received.length,
      duplicates: receiver.received.length - unique.size,
      lost: ids.length * LIFECYCLE.length - received.length,
      messages: ids.length,
      failedTriesWhileDown: failedTries,
    });
  }, 150_000);
});

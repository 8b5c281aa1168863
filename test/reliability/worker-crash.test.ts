/**
 * A worker SIGKILLed in the middle of carrier calls (DESIGN §7): another worker takes its jobs
 * over once their short locks lapse, within lockDuration + stalledInterval (+ 2 s of slack). The
 * send ledger decides what may be sent again: an attempt whose ledger said `sent` is never resent;
 * one left at `sending` (the carrier may or may not have it) is resent and marked
 * `ambiguous_resend`. Nothing is lost.
 *
 * The in-flight messages die between the send job's two commits (send-context.ts): the first
 * (attempt started + ledger `sending`) has landed, the second (carrier id + ledger `sent`) has not.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { duplicatesOf, freshNumber, printCounts, startCluster, type Cluster, type WorkerProcess } from '../helpers/cluster.ts';

const LOCK_MS = 10_000;
const STALLED_MS = 5_000;
/**
 * Long enough that the killed worker's calls still wait on the carrier when it dies, however slowly
 * the rescuing worker starts on a loaded machine (the carrier timeout is raised above it).
 */
const SLOW_CARRIER_MS = 20_000;

let cluster: Cluster;

beforeAll(async () => {
  cluster = await startCluster({
    label: 'rel-kill',
    workers: 1,
    config: {
      routing: { channels: { sms: { providers: ['twilio'] } } },
      keyDefaults: { lookup: 'never' },
      send: { lockDurationMs: LOCK_MS, stalledIntervalMs: STALLED_MS, carrierTimeoutMs: 45_000 },
    },
  });
}, 90_000);

afterAll(async () => {
  await cluster?.stop();
});

describe('a worker killed mid-send', () => {
  it('has its in-flight messages delivered by another worker, resending only what the ledger left at sending', async () => {
    const victim = cluster.workers[0] as WorkerProcess;

    // Delivered before the crash: their ledgers say `sent`.
    const before: string[] = [];
    for (let i = 0; i < 4; i++) before.push(await cluster.send({ to: freshNumber(), body: 'before the crash' }));
    await cluster.waitForAll(before, ['delivered'], 30_000);

    // In flight in the only worker: the carrier holds every call for SLOW_CARRIER_MS.
    await cluster.scenario('twilio', { latencyMs: SLOW_CARRIER_MS });
    const inFlight: string[] = [];
    for (let i = 0; i < 6; i++) inFlight.push(await cluster.send({ to: freshNumber(), body: 'during the crash' }));
    const sendingBy = Date.now() + 10_000;
    while ((await Promise.all(inFlight.map((id) => cluster.ledger(id)))).some((l) => l !== 'sending') && Date.now() < sendingBy) {
      await new Promise((r) => setTimeout(r, 50));
    }

    const rescuer = await cluster.startWorker();
    const ids = [...before, ...inFlight];
    const ledgerAtKill = new Map(await Promise.all(ids.map(async (id) => [id, await cluster.ledger(id)] as const)));
    // Between the two commits: the attempt is saved without a carrier id.
    const atKill = await Promise.all(inFlight.map((id) => cluster.message(id)));
    victim.child.kill('SIGKILL');
    const killedAt = Date.now();
    expect(await victim.exited).toBeNull();
    // The rescue need not wait on the slow carrier: the bound below is about taking the job over.
    await cluster.scenario('twilio', { latencyMs: 0, dlrDelayMs: 50 });

    expect(before.map((id) => ledgerAtKill.get(id))).toEqual(before.map(() => expect.stringMatching(/^sent:SM/)));
    expect(
      inFlight.map((id) => ledgerAtKill.get(id)),
      'every in-flight message is still waiting on the carrier at the kill',
    ).toEqual(inFlight.map(() => 'sending'));
    for (const view of atKill) {
      expect(
        view.attempts.map((a) => [a.n, a.status, a.providerMessageId]),
        'the first commit landed, the second did not',
      ).toEqual([[1, 'queued', undefined]]);
    }

    // Each in-flight message is delivered within lockDuration + stalledInterval + 2 s of the kill
    // (when the worker applied the carrier's delivery callback, from the message's own timeline).
    const bound = LOCK_MS + STALLED_MS + 2_000;
    const views = await cluster.waitForAll(ids, ['delivered'], bound + 20_000);
    const deliveredAt = new Map(
      inFlight.map(
        (id) =>
          [
            id,
            Date.parse(views.get(id)?.timeline.findLast((t) => t.type === 'callback' && t.detail === 'delivered')?.at ?? '') || Infinity,
          ] as const,
      ),
    );
    const late = inFlight.map((id) => (deliveredAt.get(id) ?? Infinity) - killedAt).filter((ms) => ms > bound);
    expect(late, `delivered more than ${bound} ms after the kill`).toEqual([]);

    // What the carrier saw, once the killed worker's orphaned calls have run out their latency too.
    await new Promise((r) => setTimeout(r, Math.max(0, killedAt + SLOW_CARRIER_MS + 500 - Date.now())));
    const accepted = await cluster.acceptedSends();
    for (const id of before) {
      expect(accepted.get(id), `${id} had a sent ledger before the kill`).toBe(1);
      expect(views.get(id)?.timeline.filter((t) => t.type === 'ambiguous_resend')).toEqual([]);
    }
    for (const id of inFlight) {
      const view = views.get(id);
      const resends = view?.timeline.filter((t) => t.type === 'ambiguous_resend').length ?? 0;
      expect(view?.attempts).toHaveLength(1);
      expect(resends, `${id} was resent after the kill`).toBe(1);
      expect(accepted.get(id) ?? 0).toBeGreaterThanOrEqual(1);
      expect(accepted.get(id) ?? 0).toBeLessThanOrEqual(1 + resends);
    }

    const delivered = [...views.values()].filter((v) => v.status === 'delivered').length;
    printCounts('worker SIGKILL mid-send', {
      sent: ids.length,
      delivered,
      duplicates: duplicatesOf(ids, accepted),
      lost: ids.length - delivered,
      inFlightAtKill: inFlight.length,
      slowestRecoveryMs: Math.max(...inFlight.map((id) => (deliveredAt.get(id) ?? Infinity) - killedAt)),
    });
    expect(rescuer.child.exitCode).toBeNull();
  }, 120_000);

  it('has the members of a send batch killed between its commits delivered by another worker, each sent at most once more', async () => {
    const victim = cluster.workers.find((w) => w.child.exitCode === null && w.child.signalCode === null) as WorkerProcess;
    await cluster.scenario('twilio', { latencyMs: SLOW_CARRIER_MS });
    // Posted together: the API queues them in shared send-batch jobs.
    const inFlight = await Promise.all(Array.from({ length: 8 }, async () => cluster.send({ to: freshNumber(), body: 'batched crash' })));
    const batchOf = await Promise.all(
      inFlight.map(
        async (id) =>
          (JSON.parse((await cluster.redis.hget(`${cluster.prefix}:msg:${id}`, 'doc')) ?? '{}') as { sendJob?: string }).sendJob,
      ),
    );
    const batched = inFlight.filter((_, i) => batchOf.filter((b) => b === batchOf[i]).length > 1);
    expect(batched.length, 'messages posted together share a batch job').toBeGreaterThan(1);
    const sendingBy = Date.now() + 10_000;
    while ((await Promise.all(inFlight.map((id) => cluster.ledger(id)))).some((l) => l !== 'sending') && Date.now() < sendingBy) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const rescuer = await cluster.startWorker();
    expect(await Promise.all(inFlight.map((id) => cluster.ledger(id)))).toEqual(inFlight.map(() => 'sending'));
    victim.child.kill('SIGKILL');
    const killedAt = Date.now();
    expect(await victim.exited).toBeNull();
    await cluster.scenario('twilio', { latencyMs: 0, dlrDelayMs: 50 });

    const views = await cluster.waitForAll(inFlight, ['delivered'], LOCK_MS + STALLED_MS + 30_000);
    await new Promise((r) => setTimeout(r, Math.max(0, killedAt + SLOW_CARRIER_MS + 500 - Date.now())));
    const accepted = await cluster.acceptedSends();
    for (const id of inFlight) {
      const view = views.get(id);
      const resends = view?.timeline.filter((t) => t.type === 'ambiguous_resend').length ?? 0;
      expect(view?.status).toBe('delivered');
      expect(view?.attempts).toHaveLength(1);
      expect(resends, `${id} was resent once after the kill`).toBe(1);
      expect(accepted.get(id) ?? 0).toBeLessThanOrEqual(1 + resends);
    }
    printCounts('worker SIGKILL mid-batch', {
      sent: inFlight.length,
      batched: batched.length,
      delivered: [...views.values()].filter((v) => v.status === 'delivered').length,
      duplicates: duplicatesOf(inFlight, accepted),
      lost: inFlight.length - [...views.values()].filter((v) => v.status === 'delivered').length,
    });
    expect(rescuer.child.exitCode).toBeNull();
  }, 120_000);
});

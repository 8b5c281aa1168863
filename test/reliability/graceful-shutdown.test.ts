/**
 * SIGTERM to a worker in the middle of carrier calls (DESIGN §7 "SIGTERM drains"): it stops
 * taking jobs, finishes the ones it holds, and exits 0 — no job left to the stalled-job check, no
 * resend, nothing lost — while traffic keeps arriving and a second worker, started as the first
 * drains, carries it.
 */
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUE_NAMES } from '../../src/queues/queue-names.ts';
import { duplicatesOf, freshNumber, printCounts, startCluster, type Cluster, type WorkerProcess } from '../helpers/cluster.ts';
import { TEST_REDIS_URL } from '../helpers/redis.ts';

const CARRIER_LATENCY_MS = 3_000;

let cluster: Cluster;
let events: QueueEvents | undefined;
let queue: Queue | undefined;
let eventsConn: Redis | undefined;
const stalled: string[] = [];

beforeAll(async () => {
  cluster = await startCluster({
    label: 'rel-drain',
    workers: 1,
    // The worker logs each carrier acceptance at debug: the draining worker's own account of its drain.
    logLevel: 'debug',
    config: {
      routing: { channels: { sms: { providers: ['twilio'] } } },
      keyDefaults: { lookup: 'never' },
    },
  });
  eventsConn = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  events = new QueueEvents(QUEUE_NAMES.send, { connection: eventsConn, prefix: cluster.prefix });
  events.on('stalled', ({ jobId }) => stalled.push(jobId));
  await events.waitUntilReady();
  queue = new Queue(QUEUE_NAMES.send, { connection: cluster.redis, prefix: cluster.prefix });
}, 90_000);

afterAll(async () => {
  await events?.close();
  await queue?.close();
  eventsConn?.disconnect();
  await cluster?.stop();
});

interface LogLine {
  msg?: string;
  messageId?: string;
}

/** The whole output of an exited role: 'exit' can come before its pipes are drained. */
async function finalOutput(proc: WorkerProcess): Promise<string> {
  const open = [proc.child.stdout, proc.child.stderr].filter((s): s is Readable => s !== null && !s.closed);
  await Promise.race([Promise.all(open.map((s) => once(s, 'close'))), new Promise((r) => setTimeout(r, 5_000))]);
  return proc.output();
}

/** The JSON log lines of a role's output (pino, one object per line). */
function logLines(output: string): LogLine[] {
  const lines: LogLine[] = [];
  for (const l of output.split('\n')) {
    if (!l.startsWith('{')) continue;
    try {
      lines.push(JSON.parse(l) as LogLine);
    } catch {
      // not a log line
    }
  }
  return lines;
}

describe('a worker stopped with SIGTERM under load', () => {
  it('finishes its in-flight sends, exits 0 and leaves nothing stalled, resent or lost', async () => {
    const draining = cluster.workers[0] as WorkerProcess;
    await cluster.scenario('twilio', { latencyMs: CARRIER_LATENCY_MS });

    const held: string[] = [];
    for (let i = 0; i < 6; i++) held.push(await cluster.send({ to: freshNumber(), body: 'held by the draining worker' }));
    const sendingBy = Date.now() + 10_000;
    while ((await Promise.all(held.map((id) => cluster.ledger(id)))).some((l) => l !== 'sending') && Date.now() < sendingBy) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(await Promise.all(held.map((id) => cluster.ledger(id))), 'the draining worker waits on the carrier at SIGTERM').toEqual(
      held.map(() => 'sending'),
    );

    draining.child.kill('SIGTERM');
    const termAt = Date.now();
    // Another worker comes up and traffic keeps coming while the first one drains.
    const starting = cluster.startWorker();
    const arriving: string[] = [];
    for (let i = 0; i < 6; i++) {
      arriving.push(await cluster.send({ to: freshNumber(), body: 'arriving during the drain' }));
      await new Promise((r) => setTimeout(r, 100));
    }
    const code = await draining.exited;
    const drainedInMs = Date.now() - termAt;
    expect(code, draining.output()).toBe(0);
    const other = await starting;

    const ids = [...held, ...arriving];
    const views = await cluster.waitForAll(ids, ['delivered'], 60_000);

    // The draining worker itself finished what it held: the carrier accepted them after SIGTERM.
    const lines = logLines(await finalOutput(draining));
    const drainStart = lines.findIndex((l) => l.msg === 'draining');
    expect(drainStart).toBeGreaterThanOrEqual(0);
    const finishedWhileDraining = new Set(
      lines
        .slice(drainStart)
        .filter((l) => l.msg === 'carrier accepted')
        .map((l) => l.messageId),
    );
    expect(held.filter((id) => !finishedWhileDraining.has(id))).toEqual([]);
    expect(lines.at(-1)?.msg).toBe('stopped');

    const accepted = await cluster.acceptedSends();
    expect(
      ids.filter((id) => accepted.get(id) !== 1),
      'messages not accepted exactly once',
    ).toEqual([]);
    expect(ids.filter((id) => (views.get(id)?.timeline ?? []).some((t) => t.type === 'ambiguous_resend'))).toEqual([]);
    const jobs = await Promise.all(ids.map(async (id) => (queue as Queue).getJob(id)));
    expect(jobs.map((j) => j?.stalledCounter ?? -1)).toEqual(ids.map(() => 0));
    expect(await Promise.all(jobs.map(async (j) => j?.getState()))).toEqual(ids.map(() => 'completed'));
    expect(stalled).toEqual([]);
    expect(other.child.exitCode).toBeNull();

    const delivered = [...views.values()].filter((v) => v.status === 'delivered').length;
    printCounts('graceful shutdown under load', {
      sent: ids.length,
      delivered,
      duplicates: duplicatesOf(ids, accepted),
      lost: ids.length - delivered,
      inFlightAtSigterm: held.length,
      stalledJobs: stalled.length,
      drainedInMs,
    });
  }, 120_000);
});

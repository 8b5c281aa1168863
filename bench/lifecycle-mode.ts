/**
 * Lifecycle mode: every message carries a callbackUrl (a local sink answering 204), the sandbox's
 * Twilio reports `sent` then `delivered` 200 ms after each send, so each message costs the send,
 * two carrier callbacks (API verify → `dlr` queue → worker) and its webhooks (`events` queue →
 * signed POST). The figure is the highest open-loop rate the gateway sustains.
 *
 * A step at rate R for S seconds PASSES when
 * (a) every POST is answered 202;
 * (b) the backlog stays bounded: backlog = jobs waiting, active or prioritized in `send`, `dlr` and
 *     `events` + the outbox list + POSTs not answered yet, sampled every 250 ms; it FAILS as
 *     growing when, over the second half of the step, its least-squares slope exceeds 5 % of R per
 *     second AND its mean over the last quarter exceeds that over the second quarter by more than
 *     max(50, R / 5) (a message makes about six jobs, so both bars are loose);
 * (c) within `drainSeconds` (10) of the last request, every queue is empty and the sink holds
 *     `message.delivered` for every message of the step.
 *
 * Procedure: an unjudged warm-up step (50 msg/s, 2 s); then per run a search with S =
 * `stepSeconds` (5): run 1 ramps from 100 msg/s ×1.6 until a step fails, later runs ramp from 80 %
 * of the previous result ×1.15; then bisection until the bracket is within 10 % (at most 12 steps
 * per run; rates rounded to 10). After the runs the median is held for `holdSeconds` (60) under the
 * same rules; if that fails the rate drops 10 % and is held again (at most three holds). The held
 * rate is the reported throughput. Latency (POST due → `message.delivered` at the sink) comes from
 * the held step, and from one burst of at most 2 s at each of the fixed rates (500/1,000/2,000),
 * which above the sustainable rate measure queueing. The baseline (no callbacks) is the send-mode
 * one when both modes run, else measured per run with DLRs off.
 */
import { Queue } from 'bullmq';
import type { Harness, ThroughputResult } from './lib/harness.ts';
import { HttpClient, nowMs, openLoop } from './lib/load.ts';
import { freePort, sleep, waitForOk } from './lib/processes.ts';
import { machine, table, type BenchResult, type Cell } from './lib/report.ts';
import { median, percentiles, round, slope, type Percentiles } from './lib/stats.ts';
import { GATEWAY_HEADERS } from './send-mode.ts';

export interface StepOutcome {
  rate: number;
  seconds: number;
  pass: boolean;
  why: string;
  failedPosts: number;
  maxBacklog: number;
  slopePerSec: number;
  drainMs: number | undefined;
  /** POST due → `message.delivered` at the sink, for the step's messages that arrived. */
  latency: Percentiles;
}

export interface LifecycleOutcome {
  result: BenchResult;
}

/** `message.delivered` arrival times at the sink, by message id. */
class SinkReader {
  private readonly url: string;
  private cursor = 0;
  readonly deliveredAt = new Map<string, number>();

  constructor(url: string) {
    this.url = url;
  }

  async pull(): Promise<void> {
    for (let page = 0; page < 100; page++) {
      const res = await fetch(`${this.url}/_sink/delivered?from=${this.cursor}`, { signal: AbortSignal.timeout(10_000) });
      const body = (await res.json()) as { next: number; entries: Array<[string, number]> };
      for (const [id, at] of body.entries) if (!this.deliveredAt.has(id)) this.deliveredAt.set(id, at);
      const moved = body.next !== this.cursor;
      this.cursor = body.next;
      if (!moved || body.entries.length < 50_000) return;
    }
  }
}

class Backlog {
  private readonly queues: Queue[];
  private readonly redis: Harness['redis'];
  private readonly outbox: string;

  constructor(h: Harness) {
    this.redis = h.redis;
    this.outbox = h.keys.outbox;
    this.queues = ['send', 'dlr', 'events'].map((name) => new Queue(name, { connection: h.redis, prefix: h.prefix }));
  }

  /** Jobs waiting/active/prioritized in every queue plus the outbox list. */
  async size(): Promise<number> {
    const counts = await Promise.all(this.queues.map((q) => q.getJobCounts('waiting', 'active', 'prioritized')));
    const jobs = counts.reduce((n, c) => n + (c['waiting'] ?? 0) + (c['active'] ?? 0) + (c['prioritized'] ?? 0), 0);
    return jobs + (await this.redis.llen(this.outbox));
  }

  async waitEmpty(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if ((await this.size()) === 0) return true;
      await sleep(250);
    }
    return false;
  }

  async close(): Promise<void> {
    await Promise.all(this.queues.map((q) => q.close()));
  }
}

const roundRate = (r: number): number => Math.max(10, Math.round(r / 10) * 10);

/**
 * `sendBaselines`: the baseline runs of a send-mode run just made (same Redis, same client load),
 * reused instead of measuring the baseline again.
 */
export async function lifecycleMode(h: Harness, sendBaselines: readonly ThroughputResult[] = []): Promise<LifecycleOutcome> {
  const gw = h.gateway;
  if (!gw) throw new Error('gateway not running');
  const { opts, progress } = h;
  const sinkPort = await freePort();
  const sinkProc = h.spawnHelper('webhook-sink', 'bench/webhook-sink.ts', { PORT: String(sinkPort) });
  const sinkUrl = `http://127.0.0.1:${sinkPort}`;
  await waitForOk(`${sinkUrl}/healthz`, sinkProc);
  const sink = new SinkReader(sinkUrl);
  const backlog = new Backlog(h);
  const body = h.gatewayBody({ callbackUrl: `${sinkUrl}/events` });

  async function step(rate: number, seconds: number, label: string, judged = true): Promise<StepOutcome> {
    if (!(await backlog.waitEmpty(120_000))) progress.note('warning: queues did not empty within 120 s before the step');
    const count = Math.max(1, Math.round(rate * seconds));
    const client = new HttpClient(gw?.apiUrl ?? '', opts.clients, GATEWAY_HEADERS);
    const samples: Array<[number, number]> = [];
    let sampling = true;
    let inSample = false;
    const t0 = nowMs();
    const sampler = setInterval(() => {
      if (!sampling || inSample) return;
      inSample = true;
      const inFlight = client.inFlight;
      backlog
        .size()
        .then((b) => {
          if (sampling) samples.push([(nowMs() - t0) / 1000, b + inFlight]);
        })
        .catch(() => undefined)
        .finally(() => (inSample = false));
    }, 250);
    progress.start(label, count);
    let res;
    try {
      res = await openLoop({
        client,
        path: '/v1/messages',
        rate,
        count,
        body: () => body(),
        onProgress: (n) => {
          if (n >= count) sampling = false;
          progress.update(n, `backlog ${samples.at(-1)?.[1] ?? 0}`);
        },
      });
    } finally {
      sampling = false;
      clearInterval(sampler);
      client.close();
    }
    const loadEnd = res.lastIssuedMs;
    const ids = res.sends.flatMap((s) => (s.status === 202 && s.id !== undefined ? [s.id] : []));
    const failedPosts = count - ids.length;
    let drainMs: number | undefined;
    const deadline = loadEnd + opts.drainSeconds * 1000;
    for (let i = 0; i < 10_000; i++) {
      await sink.pull();
      const missing = ids.reduce((n, id) => n + (sink.deliveredAt.has(id) ? 0 : 1), 0);
      if (missing === 0 && (await backlog.size()) === 0) {
        drainMs = nowMs() - loadEnd;
        break;
      }
      if (nowMs() > deadline) break;
      await sleep(200);
    }
    const duration = (loadEnd - t0) / 1000;
    const tail = samples.filter(([t]) => t >= duration * 0.5 && t <= duration);
    const s = slope(tail);
    const q = (from: number, to: number): number => {
      const xs = samples.filter(([t]) => t >= duration * from && t < duration * to).map(([, b]) => b);
      return xs.length > 0 ? xs.reduce((a, b) => a + b, 0) / xs.length : 0;
    };
    const rise = q(0.75, 1.01) - q(0.25, 0.5);
    // Backlog counts jobs (a message makes ~6: send, 2 dlr, 2–3 events), so the bars are loose:
    // growth of 5 % of the offered rate per second, and a rise of more than max(50, rate / 5).
    const growing = s > 0.05 * rate && rise > Math.max(50, 0.2 * rate);
    const why =
      failedPosts > 0
        ? `${failedPosts} POSTs failed`
        : growing
          ? `backlog grew ${Math.round(s)}/s`
          : drainMs === undefined
            ? `not drained within ${opts.drainSeconds} s`
            : 'ok';
    const lat: number[] = [];
    for (const send of res.sends) {
      const at = send.id !== undefined ? sink.deliveredAt.get(send.id) : undefined;
      if (at !== undefined) lat.push(Math.max(0, at - send.scheduledMs));
    }
    const outcome: StepOutcome = {
      latency: percentiles(lat),
      rate,
      seconds,
      pass: why === 'ok',
      why,
      failedPosts,
      maxBacklog: Math.max(0, ...samples.map(([, b]) => b)),
      slopePerSec: s,
      drainMs,
    };
    progress.finish(
      `${judged ? (outcome.pass ? 'PASS' : 'FAIL') : 'done, not judged'} (${why}; max backlog ` +
        `${outcome.maxBacklog}${drainMs !== undefined ? `, drained in ${(drainMs / 1000).toFixed(1)} s` : ''})`,
    );
    return outcome;
  }

  async function search(run: number, start: number, factor: number): Promise<{ rate: number; steps: StepOutcome[] }> {
    const steps: StepOutcome[] = [];
    let lo = 0;
    let hi: number | undefined;
    let r = roundRate(start);
    const label = (rate: number): string => `lifecycle run ${run}/${opts.runs}: ${rate} msg/s for ${opts.stepSeconds} s`;
    while (hi === undefined && steps.length < 12) {
      const o = await step(r, opts.stepSeconds, label(r));
      steps.push(o);
      if (o.pass) {
        lo = r;
        r = roundRate(r * factor);
        if (r > 20_000) break;
      } else hi = r;
    }
    while (hi !== undefined && hi - lo > Math.max(0.1 * lo, 20) && steps.length < 12) {
      const mid = roundRate((lo + hi) / 2);
      if (mid <= lo || mid >= hi) break;
      const o = await step(mid, opts.stepSeconds, label(mid));
      steps.push(o);
      if (o.pass) lo = mid;
      else hi = mid;
    }
    progress.note(`lifecycle run ${run}: highest passing rate ${lo} msg/s${hi !== undefined ? ` (fails at ${hi})` : ''}`);
    return { rate: lo, steps };
  }

  const bases: ThroughputResult[] = [];
  const found: number[] = [];
  const allSteps: StepOutcome[] = [];
  const holdSteps: StepOutcome[] = [];
  let confirmed = 0;
  const latency: Record<string, Percentiles> = {};
  const latencyNotes: string[] = [];
  try {
    if (sendBaselines.length === 0) await h.warmup('baseline', h.baselineUrl, {}, h.baselineBody());
    else bases.push(...sendBaselines);
    await h.sandbox.configure('twilio', { dlr: 'delivered', dlrDelayMs: 200 });
    await step(50, 2, 'warm-up: lifecycle at 50 msg/s for 2 s', false);
    for (let run = 1; run <= opts.runs; run++) {
      if (sendBaselines.length === 0) {
        // The baseline has no callbacks: measured with DLRs off, like send mode.
        await h.sandbox.configure('twilio', { dlr: 'none' });
        bases.push(await h.throughput(`lifecycle run ${run}/${opts.runs}: baseline`, h.baselineUrl, {}, h.baselineBody()));
        await h.sandbox.configure('twilio', { dlr: 'delivered', dlrDelayMs: 200 });
      }
      h.rss.active = true;
      const prev = found.at(-1);
      const s = prev === undefined || prev === 0 ? await search(run, 100, 1.6) : await search(run, prev * 0.8, 1.15);
      h.rss.active = false;
      found.push(s.rate);
      allSteps.push(...s.steps);
    }

    h.rss.active = true;
    let rate = roundRate(median(found));
    // Short steps overrate what holds for a minute (a message's watch job fires 20 s after it), so
    // the hold steps down by 15 % up to five times before giving up.
    for (let attempt = 0; attempt < 5 && found.some((f) => f > 0); attempt++) {
      const o = await step(rate, opts.holdSeconds, `lifecycle hold: ${rate} msg/s for ${opts.holdSeconds} s`);
      holdSteps.push(o);
      if (o.pass) {
        confirmed = rate;
        break;
      }
      rate = roundRate(rate * 0.85);
    }
    if (confirmed === 0) progress.note('warning: no rate held for the full period; reporting 0');

    for (const r of opts.latencyRates) {
      if (!(await backlog.waitEmpty(180_000))) progress.note('warning: queues did not empty within 180 s before the latency step');
      // Bursts of at most 2 s: above the sustainable rate these only measure queueing, and a
      // longer burst would take minutes to drain.
      const count = Math.max(1, Math.min(opts.messages, Math.round(r * Math.min(2, opts.latencySeconds))));
      const client = new HttpClient(gw.apiUrl, opts.clients, GATEWAY_HEADERS);
      progress.start(`lifecycle latency @ ${r} msg/s (POST → message.delivered webhook)`, count);
      let res;
      try {
        res = await openLoop({
          client,
          path: '/v1/messages',
          rate: r,
          count,
          body: () => body(),
          onProgress: (n) => progress.update(n, 'issued'),
        });
      } finally {
        client.close();
      }
      const ids = res.sends.flatMap((s) => (s.status === 202 && s.id !== undefined ? [s.id] : []));
      let seen = -1;
      let lastChange = Date.now();
      const deadline = Date.now() + 180_000;
      for (let i = 0; i < 10_000; i++) {
        await sink.pull();
        const have = ids.reduce((n, id) => n + (sink.deliveredAt.has(id) ? 1 : 0), 0);
        if (have === ids.length) break;
        if (have !== seen) {
          seen = have;
          lastChange = Date.now();
        }
        if (Date.now() - lastChange > 15_000 || Date.now() > deadline) break;
        await sleep(250);
      }
      const lat: number[] = [];
      for (const s of res.sends) {
        const at = s.id !== undefined ? sink.deliveredAt.get(s.id) : undefined;
        if (at !== undefined) lat.push(Math.max(0, at - s.scheduledMs));
      }
      const p = percentiles(lat);
      latency[String(r)] = { p50: round(p.p50), p95: round(p.p95), p99: round(p.p99) };
      if (lat.length < count) latencyNotes.push(`@${r}/s: ${count - lat.length} of ${count} not delivered within the wait`);
      progress.finish(`p50 ${p.p50.toFixed(1)} ms, p95 ${p.p95.toFixed(1)} ms, p99 ${p.p99.toFixed(1)} ms (${lat.length}/${count})`);
    }
    h.rss.active = false;
  } finally {
    await backlog.close();
    await h.sandbox.configure('twilio', { dlr: 'none' }).catch(() => undefined);
    await sinkProc.stop(5_000);
  }

  const base = median(bases.map((b) => b.msgPerSec));
  const result: BenchResult = {
    mode: 'lifecycle',
    runs: opts.runs,
    redisPersistence: 'none',
    pipeline: {
      throughputMsgPerSec: confirmed,
      latencyMs: latency,
      rssMb: { api: round(h.rss.peak('api')), worker: round(h.rss.peak('worker')), sandbox: round(h.rss.peak('sandbox')) },
    },
    baseline: { throughputMsgPerSec: round(base) },
    ratioToBaseline: base > 0 ? round(confirmed / base, 3) : 0,
    machine: machine(),
  };

  const header: Cell[] = ['lifecycle mode', ...found.map((_, i) => `run ${i + 1}`), 'median / held'];
  const rows: Cell[][] = [
    ['highest passing rate, short steps (msg/s)', ...found, median(found)],
    [`held for ${opts.holdSeconds} s (msg/s)`, ...found.map(() => ''), confirmed],
    [
      `baseline accept→carrier (msg/s)${sendBaselines.length > 0 ? ', from the send runs' : ''}`,
      ...bases.map((b) => Math.round(b.msgPerSec)),
      Math.round(base),
    ],
    ['held rate / baseline', ...found.map(() => ''), result.ratioToBaseline],
    [
      'POST→delivered webhook at the held rate p50/p95/p99 (ms)',
      ...found.map(() => ''),
      (() => {
        const held = holdSteps.find((x) => x.pass);
        return held ? `${held.latency.p50.toFixed(1)}/${held.latency.p95.toFixed(1)}/${held.latency.p99.toFixed(1)}` : '-';
      })(),
    ],
  ];
  for (const r of opts.latencyRates) {
    const p = latency[String(r)];
    rows.push([
      `POST→delivered webhook @${r}/s p50/p95/p99 (ms)`,
      ...found.map(() => ''),
      p ? `${p.p50.toFixed(1)}/${p.p95.toFixed(1)}/${p.p99.toFixed(1)}` : '-',
    ]);
  }
  rows.push([
    'peak RSS api/worker/sandbox (MiB)',
    ...found.map(() => ''),
    `${Math.round(h.rss.peak('api'))}/${Math.round(h.rss.peak('worker'))}/${Math.round(h.rss.peak('sandbox'))}`,
  ]);
  process.stdout.write(`\n${table(header, rows)}\n`);
  process.stdout.write(
    `steps: ${[...allSteps, ...holdSteps].map((s) => `${s.rate}/s×${s.seconds}s ${s.pass ? 'pass' : `fail (${s.why})`}`).join('; ')}\n`,
  );
  if (latencyNotes.length > 0) process.stdout.write(`latency: ${latencyNotes.join('; ')}\n`);
  return { result };
}

/**
 * Send mode: no callbackUrl, the sandbox's Twilio sends no DLRs (`dlr: "none"`), routing pinned to
 * Twilio, lookups off. Per run:
 * 1. baseline throughput — closed loop, `messages` POSTs from `clients` clients to the bare baseline;
 * 2. gateway throughput — the same load to `POST /v1/messages`; accepted → carrier received, i.e.
 *    messages counted by the sandbox's `accepted` counter / (newest carrier receipt − first POST);
 * 3. accept → carrier latency at fixed open-loop rates: requests leave on schedule whatever the
 *    answers; each message's latency = the carrier's receipt time of its send (sandbox log entry
 *    whose `reference` is the message id) − the time its POST was due.
 */
import type { Harness, ThroughputResult } from './lib/harness.ts';
import { HttpClient, openLoop } from './lib/load.ts';
import { ReceiptCollector } from './lib/sandbox-client.ts';
import { percentiles, type Percentiles } from './lib/stats.ts';

export interface LatencyStep {
  rate: number;
  /** Rate actually issued (requests / issuing time). */
  issuedRate: number;
  count: number;
  measured: number;
  /** POSTs that failed or sends the carrier never saw within the wait. */
  missing: number;
  latency: Percentiles;
}

export interface SendRun {
  baseline: ThroughputResult;
  gateway: ThroughputResult;
  latency: LatencyStep[];
}

export const GATEWAY_HEADERS = { authorization: 'Bearer sandbox-key' };

/**
 * The send-mode request: an OTP whose delivery timeout (5 min, the most a request may ask) and
 * whose reconcile delay (an hour, in the bench config) both lie past the bench's end. The sandbox
 * sends no DLRs here, so with the defaults every message would have its carrier status read 20 s
 * after acceptance (a second carrier call, a read and a commit) — while a later phase is being
 * measured: the warm-up's during the throughput run, the throughput run's during the latency
 * steps. A production message whose DLR arrives ends its watch with one read; lifecycle mode, which
 * gets DLRs, keeps the default delivery timeout and measures that.
 */
export function sendModeBody(h: Harness): () => string {
  return h.gatewayBody({ otp: { ttlSeconds: 3_600, deliveryTimeoutMs: 300_000 } });
}

/** One open-loop step at `rate`: at most `messages` messages, `latencySeconds` long. */
export async function sendLatencyStep(h: Harness, rate: number): Promise<LatencyStep> {
  const gw = h.gateway;
  if (!gw) throw new Error('gateway not running');
  const count = Math.max(1, Math.min(h.opts.messages, Math.round(rate * h.opts.latencySeconds)));
  await h.waitSendQueueIdle();
  const client = new HttpClient(gw.apiUrl, h.opts.clients, GATEWAY_HEADERS);
  const collector = new ReceiptCollector(h.sandbox, Date.now() - 1_000);
  collector.start(1_000);
  const body = sendModeBody(h);
  h.progress.start(`latency @ ${rate.toLocaleString('en-US')} msg/s`, count);
  let res;
  try {
    res = await openLoop({
      client,
      path: '/v1/messages',
      rate,
      count,
      body: () => body(),
      onProgress: (n) => h.progress.update(n, 'issued'),
    });
  } finally {
    client.close();
  }
  const ids = res.sends.flatMap((s) => (s.id !== undefined && s.status === 202 ? [s.id] : []));
  await collector.waitFor(ids, { stallMs: 15_000, deadlineMs: Date.now() + 180_000 });
  collector.stop();
  const latencies: number[] = [];
  for (const s of res.sends) {
    const at = s.id !== undefined ? collector.receivedAt.get(s.id) : undefined;
    if (at !== undefined) latencies.push(Math.max(0, at - s.scheduledMs));
  }
  const step: LatencyStep = {
    rate,
    issuedRate: count / Math.max(0.001, (res.lastIssuedMs - res.startMs) / 1000 + 1 / rate),
    count,
    measured: latencies.length,
    missing: count - latencies.length,
    latency: percentiles(latencies),
  };
  const p = step.latency;
  h.progress.finish(
    `p50 ${p.p50.toFixed(1)} ms, p95 ${p.p95.toFixed(1)} ms, p99 ${p.p99.toFixed(1)} ms (${step.measured}/${count} measured)`,
  );
  return step;
}

export async function sendRun(h: Harness, run: number): Promise<SendRun> {
  const gw = h.gateway;
  if (!gw) throw new Error('gateway not running');
  const tag = `send run ${run}/${h.opts.runs}`;
  if (run === 1) {
    await h.warmup('baseline', h.baselineUrl, {}, h.baselineBody());
    await h.warmup('gateway', gw.apiUrl, GATEWAY_HEADERS, sendModeBody(h));
  }
  const baseline = await h.throughput(`${tag}: baseline`, h.baselineUrl, {}, h.baselineBody());
  await h.waitSendQueueIdle();
  h.rss.active = true;
  const gateway = await h.throughput(`${tag}: gateway`, gw.apiUrl, GATEWAY_HEADERS, sendModeBody(h));
  const latency: LatencyStep[] = [];
  for (const rate of h.opts.latencyRates) latency.push(await sendLatencyStep(h, rate));
  h.rss.active = false;
  return { baseline, gateway, latency };
}

/**
 * `api`, `worker` and `sandbox` as three processes on one Redis behave exactly like `all`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateWebhookSecret } from '../../src/webhooks/webhook-signer.ts';
import { freePort } from '../helpers/free-port.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { spawnRole, waitForOk, type RoleProcess } from '../helpers/processes.ts';
import { parsePrometheusText, sumOf } from '../helpers/prometheus-text.ts';
import { deletePrefix, TEST_REDIS_URL, testPrefix, testRedis } from '../helpers/redis.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.ts';

interface Outcome {
  status: string;
  timeline: string[];
  events: string[];
  attempts: number;
}

const procs: RoleProcess[] = [];
const prefix = testPrefix('roles');
let receiver: WebhookReceiver;
let urls: { api: string; sandbox: string; worker: string };
let inProcess: TestGateway;

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  const [api, sandbox, metrics] = [await freePort(), await freePort(), await freePort()];
  const env = {
    REDIS_URL: TEST_REDIS_URL,
    SWITCHBOARD_REDIS_PREFIX: prefix,
    PORT: String(api),
    SANDBOX_PORT: String(sandbox),
    METRICS_PORT: String(metrics),
    SWITCHBOARD_WEBHOOK_SECRET: generateWebhookSecret(),
  };
  urls = { api: `http://127.0.0.1:${api}`, sandbox: `http://127.0.0.1:${sandbox}`, worker: `http://127.0.0.1:${metrics}` };
  const sb = spawnRole('sandbox', env);
  procs.push(sb);
  await waitForOk(`${urls.sandbox}/_sandbox/healthz`, sb);
  const apiProc = spawnRole('api', env);
  const workerProc = spawnRole('worker', env);
  procs.push(apiProc, workerProc);
  await waitForOk(`${urls.api}/readyz`, apiProc);
  await waitForOk(`${urls.worker}/readyz`, workerProc);
  inProcess = await startTestGateway({ label: 'roles-all' });
}, 60_000);

afterAll(async () => {
  const codes = await Promise.all(procs.map((p) => p.stop()));
  await receiver?.close();
  await inProcess?.stop();
  const redis = testRedis();
  await deletePrefix(redis, prefix);
  redis.disconnect();
  expect(codes).toEqual([0, 0, 0]);
});

async function run(apiUrl: string, to: string): Promise<Outcome> {
  const headers = { authorization: 'Bearer sandbox-key', 'content-type': 'application/json' };
  const res = await fetch(`${apiUrl}/v1/messages`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ to, otp: {}, callbackUrl: receiver.url }),
  });
  expect(res.status).toBe(202);
  const { id } = (await res.json()) as { id: string };
  const deadline = Date.now() + 15_000;
  let msg: { status: string; timeline: Array<{ type: string; detail?: string }>; attempts: unknown[] } = {
    status: '',
    timeline: [],
    attempts: [],
  };
  while (Date.now() < deadline) {
    msg = (await (await fetch(`${apiUrl}/v1/messages/${id}`, { headers })).json()) as typeof msg;
    if (msg.status === 'delivered' || msg.status === 'failed') break;
    await new Promise((r) => setTimeout(r, 50));
  }
  await receiver.waitFor((all) => all.some((r) => r.body.includes(id) && r.body.includes('message.delivered')));
  const events = receiver.received
    .map((r) => JSON.parse(r.body) as { type: string; data: { messageId: string; sequence: number } })
    .filter((e) => e.data.messageId === id);
  return {
    status: msg.status,
    timeline: msg.timeline.map((t) => (t.type === 'callback' ? `callback:${t.detail}` : t.type)),
    events: events.sort((a, b) => a.data.sequence - b.data.sequence).map((e) => e.type),
    attempts: msg.attempts.length,
  };
}

describe('roles in separate processes', () => {
  it('deliver a message exactly as the all-in-one process does', async () => {
    const split = await run(urls.api, '+14155550501');
    const together = await run(inProcess.apiUrl, '+14155550502');
    expect(split).toEqual(together);
    expect(split).toEqual({
      status: 'delivered',
      timeline: ['accepted', 'lookup', 'attempt', 'carrier_accepted', 'callback:sent', 'callback:delivered'],
      events: ['message.accepted', 'message.queued', 'message.sent', 'message.delivered'],
      attempts: 1,
    });
  });

  it('serve worker metrics on METRICS_PORT and queue depth from the api role', async () => {
    const worker = parsePrometheusText(await (await fetch(`${urls.worker}/metrics`)).text());
    expect(sumOf(worker, 'switchboard_messages_total', { outcome: 'delivered' })).toBeGreaterThanOrEqual(1);
    expect(worker.some((s) => s.name === 'switchboard_queue_jobs' && s.value > 0)).toBe(false);
    const api = parsePrometheusText(await (await fetch(`${urls.api}/metrics`)).text());
    expect(api.some((s) => s.name === 'switchboard_queue_jobs' && s.labels['queue'] === 'events')).toBe(true);
    expect(sumOf(api, 'switchboard_carrier_callbacks_total', { result: 'accepted' })).toBeGreaterThanOrEqual(2);
    expect((await fetch(`${urls.worker}/healthz`)).status).toBe(200);
  });
});

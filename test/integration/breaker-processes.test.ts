/**
 * Two worker processes share breaker state: when one worker's
 * breaker for a provider opens, the other worker reports it open within a second.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/free-port.ts';
import { spawnRole, waitForOk, type RoleProcess } from '../helpers/processes.ts';
import { parsePrometheusText, sumOf } from '../helpers/prometheus-text.ts';
import { deletePrefix, TEST_REDIS_URL, testPrefix, testRedis } from '../helpers/redis.ts';

const procs: RoleProcess[] = [];
const prefix = testPrefix('brkproc');
let api = '';
let sandbox = '';
const workers: string[] = [];

beforeAll(async () => {
  const [apiPort, sandboxPort, m1, m2] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const env = { REDIS_URL: TEST_REDIS_URL, SWITCHBOARD_REDIS_PREFIX: prefix, PORT: String(apiPort), SANDBOX_PORT: String(sandboxPort) };
  api = `http://127.0.0.1:${apiPort}`;
  sandbox = `http://127.0.0.1:${sandboxPort}`;
  const sb = spawnRole('sandbox', env);
  procs.push(sb);
  await waitForOk(`${sandbox}/_sandbox/healthz`, sb);
  const apiProc = spawnRole('api', env);
  procs.push(apiProc);
  await waitForOk(`${api}/readyz`, apiProc);
  for (const port of [m1, m2]) {
    const w = spawnRole('worker', { ...env, METRICS_PORT: String(port) });
    procs.push(w);
    workers.push(`http://127.0.0.1:${port}`);
    await waitForOk(`http://127.0.0.1:${port}/readyz`, w);
  }
}, 60_000);

afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop()));
  const redis = testRedis();
  await deletePrefix(redis, prefix);
  redis.disconnect();
});

async function breakerState(workerUrl: string): Promise<number> {
  const text = await (await fetch(`${workerUrl}/metrics`)).text();
  return sumOf(parsePrometheusText(text), 'switchboard_breaker_state', { provider: 'messagebird', channel: 'sms' });
}

describe('breakers across worker processes', () => {
  it("shows one worker's open breaker in the other worker within a second", async () => {
    await fetch(`${sandbox}/_sandbox/providers/messagebird`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ outage: true }),
    });
    const headers = { authorization: 'Bearer sandbox-key', 'content-type': 'application/json' };
    const sends: Array<Promise<Response>> = [];
    for (let i = 0; i < 60; i++) {
      sends.push(fetch(`${api}/v1/messages`, { method: 'POST', headers, body: JSON.stringify({ to: `+1415555${3000 + i}`, body: 'hi' }) }));
    }
    expect((await Promise.all(sends)).every((r) => r.status === 202)).toBe(true);

    const deadline = Date.now() + 20_000;
    let firstOpenAt: number | undefined;
    let bothOpenAt: number | undefined;
    while (Date.now() < deadline && bothOpenAt === undefined) {
      const states = await Promise.all(workers.map(breakerState));
      const now = Date.now();
      if (firstOpenAt === undefined && states.some((s) => s === 2)) firstOpenAt = now;
      if (states.every((s) => s === 2)) bothOpenAt = now;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(firstOpenAt, 'no worker opened its messagebird breaker').toBeDefined();
    expect(bothOpenAt, 'the other worker never saw the breaker open').toBeDefined();
    expect((bothOpenAt ?? Infinity) - (firstOpenAt ?? 0)).toBeLessThanOrEqual(1_000);
  });
});

/**
 * The Postman collection, run by newman against a real gateway started
 * the way `npm start` starts it (`node src/cli.ts all`, free ports, its own Redis prefix): every
 * request and assertion of test/postman/switchboard.postman_collection.json must pass, including
 * the push → SMS fallback on ack timeout.
 */
import { readFileSync } from 'node:fs';
import newman, { type NewmanRunSummary } from 'newman';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/free-port.ts';
import { ROOT, spawnRole, waitForOk, type RoleProcess } from '../helpers/processes.ts';
import { deletePrefix, TEST_REDIS_URL, testPrefix, testRedis } from '../helpers/redis.ts';

const COLLECTION = `${ROOT}test/postman/switchboard.postman_collection.json`;

let gateway: RoleProcess | undefined;
let prefix = '';
let apiUrl = '';
let sandboxUrl = '';

beforeAll(async () => {
  prefix = testPrefix('postman');
  const [port, sandboxPort] = [await freePort(), await freePort()];
  apiUrl = `http://127.0.0.1:${port}`;
  sandboxUrl = `http://127.0.0.1:${sandboxPort}`;
  gateway = spawnRole('all', {
    REDIS_URL: TEST_REDIS_URL,
    SWITCHBOARD_REDIS_PREFIX: prefix,
    PORT: String(port),
    SANDBOX_PORT: String(sandboxPort),
  });
  await waitForOk(`${apiUrl}/readyz`, gateway);
});
afterAll(async () => {
  await gateway?.stop();
  const redis = testRedis();
  await deletePrefix(redis, prefix);
  redis.disconnect();
});

function runCollection(collection: unknown, env: Record<string, string>): Promise<NewmanRunSummary> {
  return new Promise((resolve, reject) => {
    newman.run(
      {
        collection: collection as string,
        envVar: Object.entries(env).map(([key, value]) => ({ key, value })),
        reporters: [],
        timeoutRequest: 10_000,
        timeout: 90_000,
      },
      (err, summary) => (err ? reject(err) : resolve(summary)),
    );
  });
}

describe('the Postman collection', () => {
  it('runs green under newman against a sandbox gateway, push → SMS fallback included', async () => {
    const collection = JSON.parse(readFileSync(COLLECTION, 'utf8')) as { item: Array<{ name: string; item: Array<{ name: string }> }> };
    const summary = await runCollection(collection, { baseUrl: apiUrl, sandboxUrl, apiKey: 'sandbox-key' });
    const failures = summary.run.failures.map((f) => `${f.source?.name ?? '?'}: ${f.error.message}`);
    expect(failures, gateway?.output()).toEqual([]);
    expect(summary.run.stats.assertions.failed).toBe(0);
    expect(summary.run.stats.requests.failed).toBe(0);
    // Every request ran (polls repeat theirs), and the fallback assertions were among those that passed.
    const requests = collection.item.flatMap((folder) => folder.item).length;
    expect(summary.run.stats.requests.total ?? 0).toBeGreaterThanOrEqual(requests);
    const passed = summary.run.executions.flatMap((e) => (e.assertions ?? []).filter((a) => a.error === undefined).map((a) => a.assertion));
    expect(passed).toEqual(
      expect.arrayContaining([
        'records the ack_timeout fallback',
        'is delivered via SMS after the push went unacknowledged',
        'is 401 with the Basic challenge',
      ]),
    );
  });

  it('fails when an assertion does not hold (the run is not vacuous)', async () => {
    const summary = await runCollection(
      {
        info: { name: 'negative', schema: 'https://schema.getpostman.com/json/collection/v2.1.0/collection.json' },
        item: [
          {
            name: 'healthz claims 500',
            request: { method: 'GET', url: '{{baseUrl}}/healthz' },
            event: [
              { listen: 'test', script: { type: 'text/javascript', exec: ["pm.test('is 500', () => pm.response.to.have.status(500));"] } },
            ],
          },
        ],
      },
      { baseUrl: apiUrl },
    );
    expect(summary.run.stats.assertions.failed).toBe(1);
  });
});

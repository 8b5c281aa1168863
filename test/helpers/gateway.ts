/**
 * Starts a whole Switchboard (`all` role: API + workers + carrier sandbox) in this process on
 * free loopback ports, against the real Redis under a fresh prefix — the gateway exactly as
 * `npm start` composes it, with nothing mocked.
 */
import type { Redis } from 'ioredis';
import { loadConfig } from '../../src/config/config.loader.ts';
import type { Config } from '../../src/config/config.schema.ts';
import { createLogger, type Logger } from '../../src/logger.ts';
import { startSwitchboard, type Role, type RunningSwitchboard } from '../../src/main.ts';
import type { ResolveHost } from '../../src/security/ssrf-guard.ts';
import { freePort } from './free-port.ts';
import { deletePrefix, TEST_REDIS_URL, testPrefix, testRedis } from './redis.ts';

export const SANDBOX_API_KEY = 'sandbox-key';

export interface TestGateway {
  config: Config;
  running: RunningSwitchboard;
  apiUrl: string;
  sandboxUrl: string;
  prefix: string;
  redis: Redis;
  /** fetch against the API with the sandbox key. */
  api(path: string, init?: RequestInit & { json?: unknown }): Promise<Response>;
  sandbox(path: string, init?: RequestInit & { json?: unknown }): Promise<Response>;
  waitForStatus(id: string, statuses: readonly string[], timeoutMs?: number): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

export interface TestGatewayOptions {
  label: string;
  role?: Role;
  /** Pins SMS routing to these providers (tie-break order); default: routing.yaml's full list. */
  smsProviders?: Array<'twilio' | 'sinch' | 'messagebird'>;
  overrides?: Record<string, unknown>;
  env?: Record<string, string>;
  /** The gateway's clock (tests that move time forward, e.g. past an OTP's TTL). */
  now?: () => number;
  /** A logger instead of the default one (tests that capture what is logged). */
  log?: Logger;
  /** Name resolution of the webhook SSRF guard (tests map names to chosen addresses). */
  resolveHost?: ResolveHost;
}

async function call(base: string, path: string, init: RequestInit & { json?: unknown } = {}, auth?: string): Promise<Response> {
  const headers = new Headers(init.headers);
  if (auth && !headers.has('authorization')) headers.set('authorization', `Bearer ${auth}`);
  let body = init.body;
  if (init.json !== undefined) {
    headers.set('content-type', 'application/json');
    body = JSON.stringify(init.json);
  }
  const { json: _json, ...rest } = init;
  return fetch(`${base}${path}`, { ...rest, headers, ...(body !== undefined ? { body } : {}) });
}

export async function startTestGateway(opts: TestGatewayOptions): Promise<TestGateway> {
  const prefix = testPrefix(opts.label);
  const [apiPort, sandboxPort] = [await freePort(), await freePort()];
  const config = loadConfig({
    env: {
      REDIS_URL: TEST_REDIS_URL,
      SWITCHBOARD_REDIS_PREFIX: prefix,
      PORT: String(apiPort),
      SANDBOX_PORT: String(sandboxPort),
      LOG_LEVEL: process.env['TEST_LOG_LEVEL'] ?? 'silent',
      ...opts.env,
    },
    overrides: {
      intake: { sweepIntervalMs: 0 },
      ...(opts.smsProviders ? { routing: { channels: { sms: { providers: opts.smsProviders } } } } : {}),
      ...opts.overrides,
    },
  });
  const running = await startSwitchboard({
    role: opts.role ?? 'all',
    config,
    log: opts.log ?? createLogger(config.logLevel),
    ...(opts.now !== undefined ? { now: opts.now } : {}),
    ...(opts.resolveHost !== undefined ? { resolveHost: opts.resolveHost } : {}),
  });
  const redis = testRedis();
  const apiUrl = running.apiUrl ?? `http://127.0.0.1:${apiPort}`;
  const sandboxUrl = running.sandboxUrl ?? `http://127.0.0.1:${sandboxPort}`;
  const gw: TestGateway = {
    config,
    running,
    apiUrl,
    sandboxUrl,
    prefix,
    redis,
    api: (path, init) => call(apiUrl, path, init, SANDBOX_API_KEY),
    sandbox: (path, init) => call(sandboxUrl, path, init),
    async waitForStatus(id, statuses, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      let last: Record<string, unknown> = {};
      while (Date.now() < deadline) {
        const res = await gw.api(`/v1/messages/${id}`);
        last = (await res.json()) as Record<string, unknown>;
        if (statuses.includes(String(last['status']))) return last;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`message ${id} did not reach ${statuses.join('|')} within ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
    },
    async stop() {
      await running.close();
      await deletePrefix(redis, prefix);
      redis.disconnect();
    },
  };
  return gw;
}

/**
 * A Switchboard deployed the production way for reliability tests: `sandbox`, `api` and any
 * number of `worker` roles as separate processes (`node src/cli.ts <role>`) on loopback, sharing
 * one Redis under a fresh prefix and one private config folder. Tests kill, stop and restart the
 * pieces; the helpers here only observe (HTTP, the sandbox log, Redis reads), with every wait
 * bounded in time.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { redisOptionsFromUrl } from '../../src/queues/redis-connection.ts';
import { generateWebhookSecret } from '../../src/webhooks/webhook-signer.ts';
import { writeConfigDir, type ConfigDir } from './config-dir.ts';
import { freePort } from './free-port.ts';
import { spawnRole, waitForOk, type RoleProcess } from './processes.ts';
import { deletePrefix, TEST_REDIS_URL, testPrefix } from './redis.ts';

export const API_KEY = 'sandbox-key';

/** The parts of `GET /v1/messages/:id` these tests read (CONTRACTS §3). */
export interface MessageView {
  id: string;
  status: string;
  provider: string | null;
  attempts: Array<{ n: number; provider: string; status: string; providerMessageId?: string }>;
  timeline: Array<{ at: string; type: string; provider?: string; detail?: string }>;
  routing?: { provider: string; candidates: Array<{ provider: string; excluded?: string }> };
}

/** One entry of `GET /_sandbox/log` (CONTRACTS §6). */
export interface SandboxLogEntry {
  at: string;
  provider: string;
  method: string;
  path: string;
  to?: string;
  reference?: string;
  status: number;
}

export interface WorkerProcess extends RoleProcess {
  name: string;
  opsUrl: string;
}

export interface ClusterOptions {
  label: string;
  /** Merged into the roles' configuration (see `writeConfigDir`). */
  config?: Record<string, unknown>;
  /** Workers started with the cluster (more with `startWorker`). */
  workers?: number;
  /** Default: the shared test Redis. */
  redisUrl?: string;
  /** `LOG_LEVEL` of the roles (default `warn`; `debug` logs every carrier acceptance). */
  logLevel?: string;
}

export interface Cluster {
  prefix: string;
  apiUrl: string;
  sandboxUrl: string;
  /** For reading keys (ledger, queues); on the cluster's Redis. */
  redis: Redis;
  sandboxProc: RoleProcess;
  apiProc: RoleProcess;
  workers: WorkerProcess[];
  startWorker(): Promise<WorkerProcess>;
  api(path: string, init?: RequestInit & { json?: unknown }): Promise<Response>;
  sandbox(path: string, init?: RequestInit & { json?: unknown }): Promise<Response>;
  /** `PUT /_sandbox/providers/:id` with a scenario patch. */
  scenario(provider: string, patch: Record<string, unknown>): Promise<void>;
  /** POSTs a message; returns its id (fails the test on anything but 202). */
  send(body: Record<string, unknown>): Promise<string>;
  message(id: string): Promise<MessageView>;
  /** Polls until every message is in one of `statuses`; returns the last views (throws with the stragglers on timeout). */
  waitForAll(ids: readonly string[], statuses: readonly string[], timeoutMs: number): Promise<Map<string, MessageView>>;
  /** The raw value of `<prefix>:ledger:<id>:<n>`. */
  ledger(id: string, attempt?: number): Promise<string | null>;
  sandboxLog(): Promise<SandboxLogEntry[]>;
  /** Per message id: how many sends (POSTs) the carriers answered with a 2xx. */
  acceptedSends(): Promise<Map<string, number>>;
  /** Stops every role still running (SIGTERM) and returns their exit codes by name. */
  stop(): Promise<Record<string, number | null>>;
}

async function call(base: string, path: string, init: RequestInit & { json?: unknown } = {}, auth?: string): Promise<Response> {
  const headers = new Headers(init.headers);
  if (auth !== undefined && !headers.has('authorization')) headers.set('authorization', `Bearer ${auth}`);
  let body = init.body;
  if (init.json !== undefined) {
    headers.set('content-type', 'application/json');
    body = JSON.stringify(init.json);
  }
  const { json: _json, ...rest } = init;
  return fetch(`${base}${path}`, { signal: AbortSignal.timeout(10_000), ...rest, headers, ...(body !== undefined ? { body } : {}) });
}

export async function startCluster(opts: ClusterOptions): Promise<Cluster> {
  const prefix = testPrefix(opts.label);
  const redisUrl = opts.redisUrl ?? TEST_REDIS_URL;
  const configDir: ConfigDir = writeConfigDir(opts.config ?? {});
  const [apiPort, sandboxPort] = [await freePort(), await freePort()];
  const env: Record<string, string> = {
    REDIS_URL: redisUrl,
    SWITCHBOARD_REDIS_PREFIX: prefix,
    PORT: String(apiPort),
    SANDBOX_PORT: String(sandboxPort),
    SWITCHBOARD_CONFIG_DIR: configDir.dir,
    SWITCHBOARD_WEBHOOK_SECRET: generateWebhookSecret(),
    LOG_LEVEL: opts.logLevel ?? 'warn',
  };
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const sandboxUrl = `http://127.0.0.1:${sandboxPort}`;
  // Sentinel URLs too: the helper reads through the same URL parsing the roles use.
  const redis = new Redis({ ...redisOptionsFromUrl(redisUrl), maxRetriesPerRequest: 2 });
  redis.on('error', () => undefined);
  const procs: Array<{ name: string; proc: RoleProcess }> = [];
  const workers: WorkerProcess[] = [];

  async function startWorker(): Promise<WorkerProcess> {
    const metricsPort = await freePort();
    const name = `worker-${workers.length + 1}`;
    const proc = spawnRole('worker', { ...env, METRICS_PORT: String(metricsPort) });
    procs.push({ name, proc });
    const worker: WorkerProcess = { ...proc, name, opsUrl: `http://127.0.0.1:${metricsPort}` };
    await waitForOk(`${worker.opsUrl}/readyz`, proc, 30_000);
    workers.push(worker);
    return worker;
  }

  const sandboxProc = spawnRole('sandbox', env);
  procs.push({ name: 'sandbox', proc: sandboxProc });
  const apiProc = spawnRole('api', env);
  procs.push({ name: 'api', proc: apiProc });
  const cluster: Cluster = {
    prefix,
    apiUrl,
    sandboxUrl,
    redis,
    sandboxProc,
    apiProc,
    workers,
    startWorker,
    api: (path, init) => call(apiUrl, path, init, API_KEY),
    sandbox: (path, init) => call(sandboxUrl, path, init),
    async scenario(provider, patch) {
      const res = await cluster.sandbox(`/_sandbox/providers/${provider}`, { method: 'PUT', json: patch });
      if (res.status !== 200)
        throw new Error(`sandbox scenario ${provider} ${JSON.stringify(patch)}: HTTP ${res.status} ${await res.text()}`);
    },
    async send(body) {
      const res = await cluster.api('/v1/messages', { method: 'POST', json: body });
      const text = await res.text();
      if (res.status !== 202) throw new Error(`POST /v1/messages answered ${res.status}: ${text}`);
      return (JSON.parse(text) as { id: string }).id;
    },
    async message(id) {
      const res = await cluster.api(`/v1/messages/${id}`);
      if (res.status !== 200) throw new Error(`GET /v1/messages/${id} answered ${res.status}: ${await res.text()}`);
      return (await res.json()) as MessageView;
    },
    async waitForAll(ids, statuses, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      const views = new Map<string, MessageView>();
      let pending = [...ids];
      while (pending.length > 0) {
        for (const id of pending) {
          const view = await cluster.message(id).catch(() => undefined);
          if (view) views.set(id, view);
        }
        pending = pending.filter((id) => !statuses.includes(views.get(id)?.status ?? ''));
        if (pending.length === 0) break;
        if (Date.now() > deadline) {
          const stuck = pending.map(
            (id) => `${id}: ${views.get(id)?.status ?? 'unreadable'} ${JSON.stringify(views.get(id)?.timeline.map((t) => t.type) ?? [])}`,
          );
          throw new Error(`${pending.length} message(s) not ${statuses.join('|')} within ${timeoutMs} ms:\n${stuck.join('\n')}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      return views;
    },
    async ledger(id, attempt = 1) {
      return redis.get(`${prefix}:ledger:${id}:${attempt}`);
    },
    async sandboxLog() {
      const res = await cluster.sandbox('/_sandbox/log?limit=10000');
      return (await res.json()) as SandboxLogEntry[];
    },
    async acceptedSends() {
      const counts = new Map<string, number>();
      for (const e of await cluster.sandboxLog()) {
        // Sends only: status reads (reconciliation) echo the reference too.
        if (e.reference !== undefined && e.method === 'POST' && e.status >= 200 && e.status < 300)
          counts.set(e.reference, (counts.get(e.reference) ?? 0) + 1);
      }
      return counts;
    },
    async stop() {
      const codes: Record<string, number | null> = {};
      // Workers and the API first (they drain into Redis and the sandbox), the sandbox last.
      const order = [...procs.filter((p) => p.name !== 'sandbox'), ...procs.filter((p) => p.name === 'sandbox')];
      for (const { name, proc } of order) {
        const timer = setTimeout(() => proc.child.kill('SIGKILL'), 20_000);
        codes[name] = await proc.stop('SIGTERM');
        clearTimeout(timer);
      }
      if (process.env['RELIABILITY_DEBUG'] === '1')
        for (const { name, proc } of order) console.log(`--- ${name} (exit ${codes[name]}) ---\n${proc.output()}`);
      if (redis.status === 'ready') await deletePrefix(redis, prefix).catch(() => undefined);
      redis.disconnect();
      configDir.remove();
      return codes;
    },
  };
  try {
    await waitForOk(`${sandboxUrl}/_sandbox/healthz`, sandboxProc, 30_000);
    await waitForOk(`${apiUrl}/readyz`, apiProc, 30_000);
    for (let i = 0; i < (opts.workers ?? 1); i++) await startWorker();
  } catch (err) {
    await cluster.stop().catch(() => undefined);
    throw err;
  }
  return cluster;
}

/** A random valid US number (the 555 exchange, as the other suites use). */
export function freshNumber(): string {
  return `+1415555${String(randomBytes(2).readUInt16BE(0) % 10_000).padStart(4, '0')}`;
}

/** Messages whose attempts the carrier accepted more than once, and by how much. */
export function duplicatesOf(ids: readonly string[], accepted: ReadonlyMap<string, number>): number {
  return ids.reduce((sum, id) => sum + Math.max(0, (accepted.get(id) ?? 0) - 1), 0);
}

/** One line per scenario: what was sent, delivered, duplicated and lost. */
export function printCounts(
  scenario: string,
  counts: { sent: number; delivered: number; duplicates: number; lost: number } & Record<string, number>,
): void {
  console.log(
    `[reliability] ${scenario}: ${Object.entries(counts)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}`,
  );
}

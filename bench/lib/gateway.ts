/**
 * The system under test, started the way production runs it: `node src/cli.ts sandbox`, `api`
 * and `worker` (×K) as separate processes on one Redis under the bench's own key prefix, with a
 * private copy of `config/` (SWITCHBOARD_CONFIG_DIR) that
 * - pins SMS routing to Twilio (`routing.channels.sms.providers: [twilio]`),
 * - turns number lookups off (`keyDefaults.lookup: never`: a lookup is a second carrier call),
 * - lifts the per-key admission limit (100/s by default) far above any rate the bench offers,
 * - reads a carrier's status an hour after acceptance at the earliest (default 30 s): in send mode
 *   no DLR comes, and those reads would land in the next phase's measurement (send-mode.ts).
 * Everything else is the shipped default (send.concurrency 50, OTP limits in shadow mode as in
 * sandbox.yaml, LOG_LEVEL info unless `--log-level`).
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { DEFAULT_CONFIG_DIR, deepMerge } from '../../src/config/config.loader.ts';
import { baseEnv, freePort, spawnNode, waitForOk, type BenchProcess } from './processes.ts';

/** The overrides of the bench's config copy (merged into sandbox.yaml, applied last in sandbox mode). */
export const BENCH_CONFIG_OVERRIDES = {
  rateLimits: { requestsPerSecond: 10_000_000 },
  keyDefaults: { lookup: 'never' },
  routing: { channels: { sms: { providers: ['twilio'] } } },
  // No status read of a carrier that never sends DLRs (send mode) within the bench; see sendModeBody.
  dlr: { reconcileAfterMs: 3_600_000 },
} as const;

export function writeBenchConfigDir(parent: string): string {
  const dir = mkdtempSync(join(parent, 'config-'));
  for (const file of ['default.yaml', 'routing.yaml', 'pricing.yaml']) {
    const from = join(DEFAULT_CONFIG_DIR, file);
    if (existsSync(from)) copyFileSync(from, join(dir, file));
  }
  const sandboxFile = join(DEFAULT_CONFIG_DIR, 'sandbox.yaml');
  const parsed: unknown = existsSync(sandboxFile) ? parseYaml(readFileSync(sandboxFile, 'utf8')) : {};
  const base = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
  writeFileSync(join(dir, 'sandbox.yaml'), stringifyYaml(deepMerge(base, BENCH_CONFIG_OVERRIDES as unknown as Record<string, unknown>)));
  return dir;
}

export function newWorkDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sb-bench-'));
  mkdirSync(join(dir, 'logs'));
  return dir;
}

/** A Standard Webhooks secret (`whsec_` + base64 of 32 random bytes). */
const webhookSecret = (): string => `whsec_${randomBytes(32).toString('base64')}`;

export interface GatewayEnv {
  prefix: string;
  redisUrl: string;
  apiPort: number;
  sandboxPort: number;
  configDir: string;
  logLevel: string;
  env: Record<string, string>;
}

export async function gatewayEnv(opts: {
  prefix: string;
  redisUrl: string;
  sandboxPort: number;
  configDir: string;
  logLevel: string;
}): Promise<GatewayEnv> {
  const apiPort = await freePort();
  const env: Record<string, string> = {
    ...baseEnv(),
    SWITCHBOARD_MODE: 'sandbox',
    REDIS_URL: opts.redisUrl,
    SWITCHBOARD_REDIS_PREFIX: opts.prefix,
    PORT: String(apiPort),
    SANDBOX_PORT: String(opts.sandboxPort),
    SWITCHBOARD_CONFIG_DIR: opts.configDir,
    SWITCHBOARD_WEBHOOK_SECRET: webhookSecret(),
    SWITCHBOARD_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    LOG_LEVEL: opts.logLevel,
  };
  return { ...opts, apiPort, env };
}

export async function startSandbox(
  env: Record<string, string>,
  sandboxPort: number,
  logDir: string,
): Promise<{ proc: BenchProcess; url: string }> {
  const proc = spawnNode('sandbox', 'src/cli.ts', ['sandbox'], { ...env, SANDBOX_PORT: String(sandboxPort) }, logDir);
  const url = `http://127.0.0.1:${sandboxPort}`;
  await waitForOk(`${url}/_sandbox/healthz`, proc);
  return { proc, url };
}

export interface RunningGateway {
  apiUrl: string;
  api: BenchProcess;
  workers: BenchProcess[];
  stop(): Promise<void>;
}

/** Starts `api` and `workers` worker processes; `profileDir` adds `--cpu-prof` to each. */
export async function startGateway(g: GatewayEnv, workers: number, logDir: string, profileDir?: string): Promise<RunningGateway> {
  const prof = (name: string): string[] =>
    profileDir !== undefined ? ['--cpu-prof', '--cpu-prof-dir', profileDir, '--cpu-prof-name', `${name}.cpuprofile`] : [];
  const procs: BenchProcess[] = [];
  try {
    const api = spawnNode('api', 'src/cli.ts', ['api'], g.env, logDir, prof('api'));
    procs.push(api);
    const ws: BenchProcess[] = [];
    for (let i = 0; i < workers; i++) {
      const metricsPort = await freePort();
      const name = workers === 1 ? 'worker' : `worker-${i + 1}`;
      const w = spawnNode(name, 'src/cli.ts', ['worker'], { ...g.env, METRICS_PORT: String(metricsPort) }, logDir, prof(name));
      procs.push(w);
      ws.push(w);
      await waitForOk(`http://127.0.0.1:${metricsPort}/readyz`, w);
    }
    const apiUrl = `http://127.0.0.1:${g.apiPort}`;
    await waitForOk(`${apiUrl}/readyz`, api);
    return {
      apiUrl,
      api,
      workers: ws,
      async stop() {
        // API first (no new work), then the workers drain.
        await api.stop();
        await Promise.all(ws.map((w) => w.stop()));
      },
    };
  } catch (err) {
    await Promise.all(procs.map((p) => p.stop(5_000)));
    throw err;
  }
}

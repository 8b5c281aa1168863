/**
 * `npm run bench` end to end at a toy size: the harness starts its processes, measures send mode
 * once, writes the CONTRACTS §8 JSON, and removes its Redis keys. Checks shape and sanity only;
 * the figures themselves belong to docs/performance.md (DESIGN §9).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { keysUnder, TEST_REDIS_URL, testRedis } from '../helpers/redis.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'sb-bench-smoke-'));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  code: number | null;
  output: string;
}

function runBench(args: string[], timeoutMs: number): Promise<Run> {
  // Its own process group, so a hung run can be stopped with everything it started.
  const child = spawn(process.execPath, ['bench/run.ts', ...args], {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp', REDIS_URL: TEST_REDIS_URL },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

const isMs = (n: unknown): boolean => typeof n === 'number' && Number.isFinite(n) && n >= 0;

describe('npm run bench', () => {
  it('runs send mode end to end, writes the CONTRACTS §8 JSON and leaves no keys behind', async () => {
    const out = join(dir, 'bench-results.json');
    const run = await runBench(
      ['--messages', '100', '--clients', '4', '--mode', 'send', '--runs', '1', '--log-level', 'warn', '--out', out],
      27_000,
    );
    expect(run.code, run.output).toBe(0);

    const result = JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown>;
    expect(Object.keys(result).sort()).toEqual(['baseline', 'machine', 'mode', 'pipeline', 'ratioToBaseline', 'redisPersistence', 'runs']);
    expect(result['mode']).toBe('send');
    expect(result['runs']).toBe(1);
    expect(['none', 'aof-everysec']).toContain(result['redisPersistence']);

    const pipeline = result['pipeline'] as Record<string, Record<string, unknown>>;
    expect(Object.keys(pipeline).sort()).toEqual(['latencyMs', 'rssMb', 'throughputMsgPerSec']);
    expect(pipeline['throughputMsgPerSec']).toBeGreaterThan(0);
    const latency = pipeline['latencyMs'] as Record<string, Record<string, unknown>>;
    expect(Object.keys(latency).sort()).toEqual(['1000', '2000', '500']);
    for (const p of Object.values(latency)) {
      expect(Object.keys(p).sort()).toEqual(['p50', 'p95', 'p99']);
      expect([p['p50'], p['p95'], p['p99']].every(isMs)).toBe(true);
      expect(p['p50'] as number).toBeLessThanOrEqual(p['p99'] as number);
    }
    const rss = pipeline['rssMb'] as Record<string, number>;
    expect(Object.keys(rss).sort()).toEqual(['api', 'sandbox', 'worker']);
    for (const mb of Object.values(rss)) expect(mb).toBeGreaterThan(10);

    const baseline = result['baseline'] as Record<string, unknown>;
    expect(Object.keys(baseline)).toEqual(['throughputMsgPerSec']);
    expect(baseline['throughputMsgPerSec']).toBeGreaterThan(0);
    expect(result['ratioToBaseline']).toBeGreaterThan(0);
    expect(result['machine']).toEqual({ cpus: cpus().length, node: process.version });

    // The bench names its prefix on stderr; SCAN + DEL must have removed every key under it.
    const prefix = /prefix (sbbench-[0-9a-f]+)/.exec(run.output)?.[1];
    expect(prefix, run.output).toBeDefined();
    const redis = testRedis();
    try {
      expect(await keysUnder(redis, prefix as string)).toEqual([]);
      expect(await keysUnder(redis, `${prefix as string}-base`)).toEqual([]);
    } finally {
      redis.disconnect();
    }
  }, 30_000);
});

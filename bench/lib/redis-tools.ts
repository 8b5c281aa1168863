/**
 * What the bench asks Redis: its persistence setting (reported with the figures), command
 * counters (`INFO commandstats`, for commands per message), queue backlogs, and the cleanup of
 * the bench's own keys — SCAN + DEL under its own prefixes, never FLUSHALL.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort, sleep, spawnProcess, type BenchProcess } from './processes.ts';

export function connectRedis(url: string): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: 2, connectTimeout: 3_000, lazyConnect: false });
  redis.on('error', () => undefined);
  return redis;
}

/** `none` without AOF, else `aof-<appendfsync>` (CONTRACTS §8 names `aof-everysec`). */
export async function redisPersistence(redis: Redis): Promise<string> {
  const aof = (await redis.call('CONFIG', 'GET', 'appendonly')) as string[];
  if (aof[1] !== 'yes') return 'none';
  const fsync = (await redis.call('CONFIG', 'GET', 'appendfsync')) as string[];
  return `aof-${fsync[1] ?? 'everysec'}`;
}

/** `INFO commandstats` as command → calls. Commands run inside Lua scripts are counted too. */
export async function commandStats(redis: Redis): Promise<Map<string, number>> {
  const text = await redis.info('commandstats');
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) out.set(m[1] as string, Number(m[2]));
  return out;
}

export function diffStats(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [cmd, calls] of after) {
    const d = calls - (before.get(cmd) ?? 0);
    if (d > 0) out.set(cmd, d);
  }
  return out;
}

/** Clients connected to Redis other than the bench's own (a hint that commandstats deltas are shared). */
export async function connectedClients(redis: Redis): Promise<number> {
  const m = /connected_clients:(\d+)/.exec(await redis.info('clients'));
  return m ? Number(m[1]) : 0;
}

/** Deletes every key matching `<prefix>:*` (SCAN + DEL, bounded); returns how many. */
export async function deletePrefix(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  for (let rounds = 0; rounds < 1_000_000; rounds++) {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    if (keys.length > 0) deleted += await redis.del(...keys);
    cursor = next;
    if (cursor === '0') break;
  }
  return deleted;
}

/** Whether `redis-server` can be started here. */
export function hasRedisServer(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** A throwaway redis-server on a free loopback port, without persistence. */
export async function startPrivateRedis(logDir: string): Promise<{ url: string; proc: BenchProcess; dir: string }> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'sb-bench-redis-'));
  const proc = spawnProcess(
    'redis',
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    {},
    logDir,
  );
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    if (proc.child.exitCode !== null) throw new Error(`redis-server exited:\n${proc.tail()}`);
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      if ((await probe.ping()) === 'PONG') return { url, proc, dir };
    } catch {
      // not listening yet
    } finally {
      probe.disconnect();
    }
    await sleep(100);
  }
  await proc.stop(2_000);
  rmSync(dir, { recursive: true, force: true });
  throw new Error(`redis-server on ${port} did not answer:\n${proc.tail()}`);
}

/**
 * A `redis-server` of the test's own (free loopback port, private data folder, AOF every second)
 * that the test may stop and start again on the same data — the shared test Redis must never be
 * restarted under other suites. `ownRedisFactory()` picks a container or this binary, or says
 * neither is there, so suites can skip visibly (or fail under CI=true, DESIGN §9).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dockerEngineAnswers } from './docker-engine.ts';
import { freePort } from './free-port.ts';
import { pingable, type OwnRedis } from './service-handles.ts';

export { pingable };
export type { OwnRedis };

/** The path of `redis-server` on PATH, or undefined. */
export function findRedisServer(): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  const path = found.stdout.trim();
  return found.status === 0 && path !== '' ? path : undefined;
}

/**
 * How this machine gets a Redis of a test's own (DESIGN §4): a testcontainer when a Docker engine
 * answers, else the `redis-server` binary, else undefined (the suite skips visibly, or fails under
 * CI=true). `where` names the choice for the suite's log line.
 */
export async function ownRedisFactory(): Promise<{ where: string; create: () => Promise<OwnRedis> } | undefined> {
  if (await dockerEngineAnswers()) {
    return { where: 'a Redis container', create: async () => (await import('./containers.ts')).createContainerRedis() };
  }
  const binary = findRedisServer();
  return binary === undefined ? undefined : { where: binary, create: () => createOwnRedis(binary) };
}

export async function createOwnRedis(binary: string): Promise<OwnRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'sb-redis-'));
  let child: ChildProcess | undefined;
  let output = '';
  const own: OwnRedis = {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    async start() {
      if (child && child.exitCode === null && child.signalCode === null) throw new Error('redis-server is already running');
      child = spawn(
        binary,
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--dir',
          dir,
          '--appendonly',
          'yes',
          '--appendfsync',
          'everysec',
          '--save',
          '',
          '--daemonize',
          'no',
          '--protected-mode',
          'yes',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      child.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4_000)));
      child.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4_000)));
      try {
        await pingable(port, 10_000);
      } catch (err) {
        throw new Error(`${(err as Error).message}\n${output}`);
      }
    },
    async stop() {
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return c?.exitCode ?? null;
      const exited = new Promise<number | null>((resolve) => c.once('exit', (code) => resolve(code)));
      c.kill('SIGTERM');
      const timer = setTimeout(() => c.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    async kill() {
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
      c.kill('SIGKILL');
      await exited;
    },
    async destroy() {
      await own.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return own;
}

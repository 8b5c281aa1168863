/**
 * A Redis Cluster of the test's own: three masters (`redis-server --cluster-enabled yes`) on free
 * loopback ports, joined by `redis-cli --cluster create`, in a private folder, without persistence.
 * Every bus port is chosen free too (`--cluster-port`), so nothing depends on port + 10000 being
 * unused. `destroy()` kills every server and deletes the folder.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './free-port.ts';

export interface OwnRedisCluster {
  /** `redis-cluster://127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3` */
  url: string;
  ports: number[];
  /** Kills every node and deletes the data folder. */
  destroy(): Promise<void>;
}

/** `redis-cli` beside `redis-server` (or on PATH). */
function redisCli(serverBinary: string): string {
  const beside = join(dirname(serverBinary), 'redis-cli');
  const found = spawnSync(beside, ['--version'], { encoding: 'utf8' });
  return found.status === 0 ? beside : 'redis-cli';
}

async function clusterInfo(port: number): Promise<string> {
  const client = new Redis({
    host: '127.0.0.1',
    port,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 500,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return String(await client.call('CLUSTER', 'INFO'));
  } catch {
    return '';
  } finally {
    client.disconnect();
  }
}

async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>, detail: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} within ${timeoutMs} ms\n${detail()}`);
}

export async function createOwnRedisCluster(binary: string, masters = 3): Promise<OwnRedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'sb-cluster-'));
  const children: ChildProcess[] = [];
  const ports: number[] = [];
  let output = '';
  const destroy = async (): Promise<void> => {
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            c.once('exit', () => resolve());
            c.kill('SIGKILL');
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters; i++) {
      const port = await freePort();
      let busPort = await freePort();
      while (busPort === port || ports.includes(busPort)) busPort = await freePort();
      ports.push(port);
      const child = spawn(
        binary,
        [
          '--port',
          String(port),
          '--cluster-port',
          String(busPort),
          '--bind',
          '127.0.0.1',
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          `nodes-${port}.conf`,
          '--cluster-node-timeout',
          '2000',
          '--appendonly',
          'no',
          '--save',
          '',
          '--dir',
          dir,
          '--daemonize',
          'no',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      child.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4_000)));
      child.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4_000)));
      children.push(child);
    }
    for (const port of ports)
      await waitFor(
        `cluster node ${port} did not answer`,
        10_000,
        async () => (await clusterInfo(port)) !== '',
        () => output,
      );
    const create = spawnSync(
      redisCli(binary),
      ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'],
      { encoding: 'utf8', timeout: 30_000 },
    );
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed (${create.status}):\n${create.stdout}\n${create.stderr}`);
    for (const port of ports) {
      await waitFor(
        `cluster node ${port} did not reach cluster_state:ok`,
        20_000,
        async () => (await clusterInfo(port)).includes('cluster_state:ok'),
        () => output,
      );
    }
  } catch (err) {
    await destroy();
    throw err;
  }
  return { url: `redis-cluster://${ports.map((p) => `127.0.0.1:${p}`).join(',')}`, ports, destroy };
}

/**
 * A Sentinel-managed Redis of the test's own on loopback: one master, one replica and three
 * sentinels (quorum 2), each on a free port in a private folder, without persistence. The master
 * and the sentinels have different passwords, as production setups often do. Tests SIGKILL the
 * master, wait for the sentinels to promote the replica, and start the old master again as a
 * replica of the new one. `destroy()` kills everything and deletes the folder.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './free-port.ts';

export const SENTINEL_MASTER_NAME = 'sbmaster';
/** Fake credentials, loopback only. */
export const SENTINEL_DATA_PASSWORD = 'data-pw-test';
export const SENTINEL_OWN_PASSWORD = 'sentinel-pw-test';

export interface OwnSentinel {
  /** `redis+sentinel://:<data pw>@s1,s2,s3/<master>?sentinelPassword=<sentinel pw>` */
  url: string;
  sentinelPorts: number[];
  /** Port of the server the sentinels currently name as master. */
  masterPort(): Promise<number | undefined>;
  /** SIGKILLs the server on `port` (no shutdown, no last writes). */
  kill(port: number): Promise<void>;
  /**
   * Starts a data server again on `port` (empty: there is no persistence), as a replica of
   * `replicaOf` when given — how an orchestrator brings a failed node back — or as a lone master
   * that the sentinels convert to a replica after a few seconds.
   */
  restart(port: number, replicaOf?: number): Promise<void>;
  /** Resolves once `port` is a replica whose link to the master is up. */
  waitForReplica(port: number, timeoutMs: number): Promise<void>;
  /** Resolves once the sentinels name a master other than `oldPort`; returns its port. */
  waitForFailover(oldPort: number, timeoutMs: number): Promise<number>;
  destroy(): Promise<void>;
}

function client(port: number, password: string): Redis {
  const c = new Redis({
    host: '127.0.0.1',
    port,
    password,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 500,
  });
  c.on('error', () => undefined);
  return c;
}

async function ask(port: number, password: string, ...command: [string, ...string[]]): Promise<string | undefined> {
  const c = client(port, password);
  try {
    await c.connect();
    const reply = await c.call(...command);
    return Array.isArray(reply) ? reply.map(String).join(',') : String(reply);
  } catch {
    return undefined;
  } finally {
    c.disconnect();
  }
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, detail: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} within ${timeoutMs} ms\n${detail()}`);
}

export async function createOwnSentinel(binary: string): Promise<OwnSentinel> {
  const dir = mkdtempSync(join(tmpdir(), 'sb-sentinel-'));
  const servers = new Map<number, ChildProcess>();
  const sentinels: ChildProcess[] = [];
  let output = '';
  const capture = (child: ChildProcess): void => {
    child.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-6_000)));
    child.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-6_000)));
  };
  const [masterPort, replicaPort] = [await freePort(), await freePort()];
  const sentinelPorts = [await freePort(), await freePort(), await freePort()];

  function startServer(port: number, replicaOf?: number): void {
    const child = spawn(
      binary,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--dbfilename',
        `dump-${port}.rdb`,
        '--appendonly',
        'no',
        '--save',
        '',
        '--daemonize',
        'no',
        '--requirepass',
        SENTINEL_DATA_PASSWORD,
        '--masterauth',
        SENTINEL_DATA_PASSWORD,
        ...(replicaOf !== undefined ? ['--replicaof', '127.0.0.1', String(replicaOf)] : []),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    capture(child);
    servers.set(port, child);
  }

  const killChild = async (c: ChildProcess | undefined): Promise<void> => {
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGKILL');
    });
  };

  const sentinelHosts = sentinelPorts.map((p) => `127.0.0.1:${p}`).join(',');
  const own: OwnSentinel = {
    url: `redis+sentinel://:${SENTINEL_DATA_PASSWORD}@${sentinelHosts}/${SENTINEL_MASTER_NAME}?sentinelPassword=${SENTINEL_OWN_PASSWORD}`,
    sentinelPorts,
    async masterPort() {
      for (const port of sentinelPorts) {
        const reply = await ask(port, SENTINEL_OWN_PASSWORD, 'SENTINEL', 'get-master-addr-by-name', SENTINEL_MASTER_NAME);
        const found = reply?.split(',')[1];
        if (found !== undefined) return Number(found);
      }
      return undefined;
    },
    async kill(port) {
      await killChild(servers.get(port));
    },
    async restart(port, replicaOf) {
      startServer(port, replicaOf);
      await until(
        `redis-server ${port} did not answer`,
        10_000,
        async () => ((await ask(port, SENTINEL_DATA_PASSWORD, 'PING')) === 'PONG' ? true : undefined),
        () => output,
      );
    },
    async waitForReplica(port, timeoutMs) {
      await until(
        `${port} did not become a replica with its link up`,
        timeoutMs,
        async () => {
          const info = (await ask(port, SENTINEL_DATA_PASSWORD, 'INFO', 'replication')) ?? '';
          return info.includes('role:slave') && info.includes('master_link_status:up') ? true : undefined;
        },
        () => output,
      );
    },
    async waitForFailover(oldPort, timeoutMs) {
      return until(
        `the sentinels did not promote a new master`,
        timeoutMs,
        async () => {
          const port = await own.masterPort();
          if (port === undefined || port === oldPort) return undefined;
          const info = (await ask(port, SENTINEL_DATA_PASSWORD, 'INFO', 'replication')) ?? '';
          return info.includes('role:master') ? port : undefined;
        },
        () => output,
      );
    },
    async destroy() {
      await Promise.all([...servers.values(), ...sentinels].map(killChild));
      rmSync(dir, { recursive: true, force: true });
    },
  };

  try {
    startServer(masterPort);
    startServer(replicaPort, masterPort);
    await own.waitForReplica(replicaPort, 15_000);
    for (const port of sentinelPorts) {
      const file = join(dir, `sentinel-${port}.conf`);
      writeFileSync(
        file,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${dir}`,
          `requirepass ${SENTINEL_OWN_PASSWORD}`,
          `sentinel monitor ${SENTINEL_MASTER_NAME} 127.0.0.1 ${masterPort} 2`,
          `sentinel auth-pass ${SENTINEL_MASTER_NAME} ${SENTINEL_DATA_PASSWORD}`,
          `sentinel sentinel-pass ${SENTINEL_OWN_PASSWORD}`,
          `sentinel down-after-milliseconds ${SENTINEL_MASTER_NAME} 1000`,
          `sentinel failover-timeout ${SENTINEL_MASTER_NAME} 10000`,
          `sentinel parallel-syncs ${SENTINEL_MASTER_NAME} 1`,
          '',
        ].join('\n'),
      );
      const child = spawn(binary, [file, '--sentinel'], { stdio: ['ignore', 'pipe', 'pipe'] });
      capture(child);
      sentinels.push(child);
    }
    // Every sentinel knows the replica and the two other sentinels before a failover can succeed.
    for (const port of sentinelPorts) {
      await until(
        `sentinel ${port} did not discover the replica and its peers`,
        20_000,
        async () => {
          const master = (await ask(port, SENTINEL_OWN_PASSWORD, 'SENTINEL', 'master', SENTINEL_MASTER_NAME)) ?? '';
          const fields = master.split(',');
          const field = (name: string): string | undefined => fields[fields.indexOf(name) + 1];
          return field('num-slaves') === '1' && field('num-other-sentinels') === '2' ? true : undefined;
        },
        () => output,
      );
    }
  } catch (err) {
    await own.destroy();
    throw err;
  }
  return own;
}

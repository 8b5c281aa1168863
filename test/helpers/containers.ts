/**
 * Redis and Prometheus in testcontainers, for machines where a Docker engine answers (DESIGN §4;
 * ask `dockerEngineAnswers()` first). Everything here imports testcontainers lazily, on the first
 * call, so suites that end up on the local binaries never load it.
 *
 * Images are the ones docker-compose.yml runs, so the suites check what the stack ships with.
 */
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { ContainerRuntimeClient, StartedTestContainer } from 'testcontainers';
import { freePort } from './free-port.ts';
import { ROOT } from './processes.ts';
import { pingable, type OwnRedis, type PrometheusServer } from './service-handles.ts';

/** The compose file's Redis (a Redis 7). */
export const REDIS_IMAGE = 'redis:7-alpine';
/** The compose file's Prometheus: its promtool checks the compose configuration too. */
export const PROMETHEUS_IMAGE = 'prom/prometheus:v2.55.1';

type Testcontainers = typeof import('testcontainers');
/** The engine's handle on one container (dockerode's), for stop/kill/start by hand. */
type DockerContainer = ReturnType<ContainerRuntimeClient['container']['getById']>;
let loaded: Promise<Testcontainers> | undefined;

/** The testcontainers module, imported once and only when a container is really wanted. */
function testcontainers(): Promise<Testcontainers> {
  loaded ??= import('testcontainers');
  return loaded;
}

/** The container's output, kept (last 8 KB) for failure messages. */
function collect(into: { text: string }): (stream: Readable) => void {
  return (stream) => {
    stream.on('data', (d: Buffer | string) => (into.text = (into.text + d.toString()).slice(-8_000)));
  };
}

/**
 * A throwaway Redis for the whole test run (the vitest global setup starts it when `REDIS_URL` is
 * not set): no persistence, a random host port.
 */
export async function startSharedRedisContainer(): Promise<{ url: string; stop(): Promise<void> }> {
  const { GenericContainer, Wait } = await testcontainers();
  const started = await new GenericContainer(REDIS_IMAGE)
    .withCommand(['redis-server', '--save', '', '--appendonly', 'no', '--protected-mode', 'no'])
    .withExposedPorts(6379)
    .withWaitStrategy(Wait.forLogMessage(/Ready to accept connections/))
    .start();
  return {
    url: `redis://${started.getHost()}:${started.getMappedPort(6379)}`,
    async stop() {
      await started.stop();
    },
  };
}

/**
 * `OwnRedis` in a container: AOF every second in the container's `/data`, the host port fixed at
 * creation so the processes under test find it again after a restart. `stop()` is `docker stop`
 * (SIGTERM, then SIGKILL after 10 s), `kill()` is SIGKILL, `start()` starts the same container on
 * the same data; `destroy()` removes it.
 */
export async function createContainerRedis(): Promise<OwnRedis> {
  const tc = await testcontainers();
  const port = await freePort();
  const output = { text: '' };
  let started: StartedTestContainer | undefined;
  let host = '127.0.0.1';

  async function dockerContainer(): Promise<DockerContainer> {
    if (started === undefined) throw new Error('the Redis container was never started');
    return (await tc.getContainerRuntimeClient()).container.getById(started.getId());
  }

  const own: OwnRedis = {
    url: `redis://${host}:${port}`,
    port,
    dir: '/data (inside the container)',
    async start() {
      if (started === undefined) {
        started = await new tc.GenericContainer(REDIS_IMAGE)
          .withCommand(['redis-server', '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '', '--protected-mode', 'no'])
          .withExposedPorts({ container: 6379, host: port })
          .withAutoRemove(false)
          .withLogConsumer(collect(output))
          .withWaitStrategy(tc.Wait.forLogMessage(/Ready to accept connections/))
          .start();
        host = started.getHost();
        own.url = `redis://${host}:${port}`;
      } else {
        const c = await dockerContainer();
        if ((await c.inspect()).State.Running) throw new Error('the Redis container is already running');
        await c.start();
      }
      try {
        await pingable(port, 10_000, host);
      } catch (err) {
        throw new Error(`${(err as Error).message}\n${output.text}`);
      }
    },
    async stop() {
      if (started === undefined) return null;
      const c = await dockerContainer();
      const before = await c.inspect();
      if (before.State.Running) await c.stop({ t: 10 });
      return (await c.inspect()).State.ExitCode;
    },
    async kill() {
      if (started === undefined) return;
      const c = await dockerContainer();
      if (!(await c.inspect()).State.Running) return;
      await c.kill({ signal: 'SIGKILL' });
      await c.wait();
    },
    async destroy() {
      if (started === undefined) return;
      await (await dockerContainer()).remove({ force: true, v: true });
      started = undefined;
    },
  };
  return own;
}

/** Where the repository is mounted in the Prometheus container (promtool runs there). */
const REPO_IN_CONTAINER = '/switchboard';

/**
 * Prometheus in a container on the host's network, so it scrapes the processes under test on
 * their loopback ports as the binary would (host networking: Linux engines). The repository's
 * `config/prometheus/` is copied in, so `promtool` checks the files the stack ships with.
 */
export async function startPrometheusContainer(opts: {
  port: number;
  config: (repoPath: (p: string) => string) => object;
}): Promise<PrometheusServer> {
  const { GenericContainer } = await testcontainers();
  const output = { text: '' };
  const inRepo = (p: string): string => path.posix.join(REPO_IN_CONTAINER, p);
  const started = await new GenericContainer(PROMETHEUS_IMAGE)
    .withNetworkMode('host')
    .withCopyDirectoriesToContainer([{ source: path.join(ROOT, 'config/prometheus'), target: inRepo('config/prometheus') }])
    .withCopyContentToContainer([{ content: JSON.stringify(opts.config(inRepo), null, 2), target: '/etc/prometheus/test.yml' }])
    .withCommand([
      '--config.file=/etc/prometheus/test.yml',
      '--storage.tsdb.path=/prometheus',
      `--web.listen-address=127.0.0.1:${opts.port}`,
      '--storage.tsdb.retention.time=1h',
      '--log.level=warn',
    ])
    .withLogConsumer(collect(output))
    .start();
  return {
    url: `http://127.0.0.1:${opts.port}`,
    log: () => output.text,
    async promtool(args) {
      const res = await started.exec(['promtool', ...args], { workingDir: REPO_IN_CONTAINER });
      if (res.exitCode !== 0) throw new Error(`promtool ${args.join(' ')} exited ${res.exitCode}\n${res.output}`);
      return { stdout: res.stdout };
    },
    async stop() {
      await started.stop({ timeout: 10_000 });
    },
  };
}

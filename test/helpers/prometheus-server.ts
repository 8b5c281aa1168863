/**
 * A Prometheus (and its promtool) for the monitoring suite: in a testcontainer when a Docker engine
 * answers, else the local `prometheus` and `promtool` binaries (Debian package `prometheus`), else
 * none, and the suite skips visibly (or fails under CI=true, DESIGN §9). Either way the server
 * listens on a loopback port of the test's choosing and scrapes the processes under test there.
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { dockerEngineAnswers } from './docker-engine.ts';
import { ROOT } from './processes.ts';
import type { PrometheusServer } from './service-handles.ts';

export type { PrometheusServer };

const run = promisify(execFile);

/** How the suite gets its Prometheus. */
export type PrometheusRunner = 'container' | 'binary';

export interface PrometheusOptions {
  port: number;
  /**
   * The prometheus.yml as an object; `repoPath(p)` is where repository file `p` is as the server
   * sees it (an absolute host path, or the copy inside the container).
   */
  config: (repoPath: (p: string) => string) => object;
}

function hasBinary(name: string): boolean {
  const probe = spawnSync(name, ['--version'], { stdio: 'ignore' });
  return probe.error === undefined && probe.status === 0;
}

/** `container` when a Docker engine answers, `binary` when both binaries are on PATH, else undefined. */
export async function findPrometheus(): Promise<PrometheusRunner | undefined> {
  if (await dockerEngineAnswers()) return 'container';
  return hasBinary('prometheus') && hasBinary('promtool') ? 'binary' : undefined;
}

/** Starts a Prometheus the given way; it is ready once `GET /-/ready` answers 200 (the caller polls). */
export async function startPrometheus(runner: PrometheusRunner, opts: PrometheusOptions): Promise<PrometheusServer> {
  if (runner === 'container') {
    const { startPrometheusContainer } = await import('./containers.ts');
    return startPrometheusContainer(opts);
  }
  return startPrometheusBinary(opts);
}

async function startPrometheusBinary(opts: PrometheusOptions): Promise<PrometheusServer> {
  const tmp = await mkdtemp(path.join(tmpdir(), 'sb-prometheus-'));
  const configFile = path.join(tmp, 'prometheus.yml');
  await writeFile(
    configFile,
    JSON.stringify(
      opts.config((p) => path.join(ROOT, p)),
      null,
      2,
    ),
  );
  const child = spawn(
    'prometheus',
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${path.join(tmp, 'data')}`,
      `--web.listen-address=127.0.0.1:${opts.port}`,
      '--storage.tsdb.retention.time=1h',
      '--log.level=warn',
    ],
    { cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-8_000)));
  child.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-8_000)));
  return {
    url: `http://127.0.0.1:${opts.port}`,
    log: () => output,
    async promtool(args) {
      const { stdout } = await run('promtool', args, { cwd: ROOT });
      return { stdout };
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      await rm(tmp, { recursive: true, force: true });
    },
  };
}

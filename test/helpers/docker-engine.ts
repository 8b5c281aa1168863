/**
 * Whether a Docker engine answers, decided in well under a second (DESIGN §4: Redis and Prometheus
 * run in testcontainers when an engine answers, else the local binaries and the Redis at
 * `REDIS_URL`). Suites ask before importing testcontainers at all: on a machine with the `docker`
 * CLI but no engine, testcontainers' own discovery tries several strategies and can take seconds
 * to give up, and loading it costs every suite time it does not need.
 *
 * The probe is the engine API's `GET /_ping` (answered `200 OK` by a live engine) on `DOCKER_HOST`
 * (`unix://` or plain `tcp://`), else on the usual sockets. A TLS `tcp://` engine, `ssh://` or a
 * named pipe counts as "no engine": the fallback then runs, which is always a valid choice.
 */
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';

/** Where an engine API may listen: a unix socket, or a plain-HTTP TCP address. */
export type DockerEndpoint = { socketPath: string } | { host: string; port: number };

/** The probe's time budget: a live engine answers `/_ping` in a few milliseconds. */
export const DOCKER_PING_TIMEOUT_MS = 500;

/**
 * The endpoints to probe, in order: `DOCKER_HOST` alone when it is set (an engine elsewhere must
 * not be confused with a local one), else the rootful socket and the rootless one. Empty when
 * `DOCKER_HOST` names something this probe cannot speak to.
 */
export function dockerEndpoints(env: NodeJS.ProcessEnv = process.env): DockerEndpoint[] {
  const configured = env['DOCKER_HOST']?.trim();
  if (configured) {
    if (configured.startsWith('unix://')) return [{ socketPath: configured.slice('unix://'.length) }];
    if (configured.startsWith('tcp://') && env['DOCKER_TLS_VERIFY'] !== '1') {
      const url = new URL(`http://${configured.slice('tcp://'.length)}`);
      return [{ host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || 2375) }];
    }
    return [];
  }
  const sockets = ['/var/run/docker.sock'];
  const runtimeDir = env['XDG_RUNTIME_DIR'];
  if (runtimeDir) sockets.push(join(runtimeDir, 'docker.sock'));
  return sockets.map((socketPath) => ({ socketPath }));
}

/**
 * `GET /_ping` on one endpoint: true only for a `200` whose body is `OK`, within `timeoutMs`.
 * Never rejects; a missing socket or a refused port answers false at once.
 */
export function pingDockerEngine(endpoint: DockerEndpoint, timeoutMs: number = DOCKER_PING_TIMEOUT_MS): Promise<boolean> {
  if ('socketPath' in endpoint && !existsSync(endpoint.socketPath)) return Promise.resolve(false);
  return new Promise((resolve) => {
    let settled = false;
    const done = (answer: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(answer);
    };
    const where = 'socketPath' in endpoint ? { socketPath: endpoint.socketPath } : { host: endpoint.host, port: endpoint.port };
    const req = request({ ...where, path: '/_ping', method: 'GET', headers: { host: 'docker' }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
        if (body.length > 64) done(false);
      });
      res.on('end', () => done(res.statusCode === 200 && body.trim() === 'OK'));
      res.on('error', () => done(false));
    });
    const timer = setTimeout(() => done(false), timeoutMs);
    req.on('error', () => done(false));
    req.end();
  });
}

/** True when one of `endpoints` answers like a Docker engine; probed one after the other. */
export async function anyDockerEngine(endpoints: DockerEndpoint[], timeoutMs: number = DOCKER_PING_TIMEOUT_MS): Promise<boolean> {
  for (const endpoint of endpoints) if (await pingDockerEngine(endpoint, timeoutMs)) return true;
  return false;
}

let answered: Promise<boolean> | undefined;

/**
 * Whether this process should use testcontainers: a Docker engine answers and
 * `SWITCHBOARD_TEST_CONTAINERS` is not `0` (the way to force the local binaries with an engine
 * running). Probed once per process.
 */
export function dockerEngineAnswers(): Promise<boolean> {
  if (process.env['SWITCHBOARD_TEST_CONTAINERS'] === '0') return Promise.resolve(false);
  answered ??= anyDockerEngine(dockerEndpoints());
  return answered;
}

/**
 * The Docker engine probe against loopback servers that answer like the engine API, answer
 * something else, or never answer: it must say yes only to a real `/_ping` and never hang.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type RequestListener, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { anyDockerEngine, dockerEndpoints, pingDockerEngine } from './docker-engine.ts';

const servers: Array<Server | TcpServer> = [];
const sockets: Socket[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers) if ('closeAllConnections' in s) s.closeAllConnections();
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** An HTTP server on a loopback port, or on a unix socket when `socketPath` is given. */
async function serve(handler: RequestListener, socketPath?: string): Promise<{ host: string; port: number } | { socketPath: string }> {
  const server = createServer(handler);
  servers.push(server);
  if (socketPath !== undefined) {
    await new Promise<void>((resolve) => server.listen(socketPath, () => resolve()));
    return { socketPath };
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { host: '127.0.0.1', port: (server.address() as AddressInfo).port };
}

/** Like the engine: `GET /_ping` → 200 `OK` (text/plain), anything else 404. */
const engineLike: RequestListener = (req, res) => {
  if (req.method === 'GET' && req.url === '/_ping') {
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'api-version': '1.47' });
    res.end('OK');
    return;
  }
  res.writeHead(404).end();
};

function tempSocket(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sb-docker-probe-'));
  dirs.push(dir);
  return join(dir, 'docker.sock');
}

describe('pingDockerEngine', () => {
  it('says yes to a TCP endpoint that answers GET /_ping with 200 OK', async () => {
    expect(await pingDockerEngine(await serve(engineLike))).toBe(true);
  });

  it('says yes to a unix socket that answers like the engine', async () => {
    expect(await pingDockerEngine(await serve(engineLike, tempSocket()))).toBe(true);
  });

  it('says no to an HTTP server that is not an engine (404, or 200 with another body)', async () => {
    expect(await pingDockerEngine(await serve((_req, res) => res.writeHead(404).end()))).toBe(false);
    expect(await pingDockerEngine(await serve((_req, res) => res.writeHead(200).end('<html>hello</html>')))).toBe(false);
  });

  it('says no within its time budget to a server that accepts and never answers', async () => {
    const silent = createTcpServer((socket) => void sockets.push(socket));
    servers.push(silent);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', () => resolve()));
    const started = Date.now();
    expect(await pingDockerEngine({ host: '127.0.0.1', port: (silent.address() as AddressInfo).port }, 200)).toBe(false);
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(150);
    expect(took).toBeLessThan(2_000);
  });

  it('says no at once to a refused port and to a missing socket', async () => {
    const closed = createTcpServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', () => resolve()));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const started = Date.now();
    expect(await pingDockerEngine({ host: '127.0.0.1', port })).toBe(false);
    expect(await pingDockerEngine({ socketPath: tempSocket() })).toBe(false);
    expect(Date.now() - started).toBeLessThan(400);
  });

  it('tries each endpoint in turn and says yes when a later one answers', async () => {
    const live = await serve(engineLike);
    expect(await anyDockerEngine([{ socketPath: tempSocket() }, live])).toBe(true);
    expect(await anyDockerEngine([{ socketPath: tempSocket() }])).toBe(false);
    expect(await anyDockerEngine([])).toBe(false);
  });
});

describe('dockerEndpoints', () => {
  it('uses DOCKER_HOST alone when it is set: unix sockets and plain tcp addresses', () => {
    expect(dockerEndpoints({ DOCKER_HOST: 'unix:///run/user/1000/docker.sock' })).toEqual([{ socketPath: '/run/user/1000/docker.sock' }]);
    expect(dockerEndpoints({ DOCKER_HOST: 'tcp://127.0.0.1:2375' })).toEqual([{ host: '127.0.0.1', port: 2375 }]);
    expect(dockerEndpoints({ DOCKER_HOST: 'tcp://[::1]:2375' })).toEqual([{ host: '::1', port: 2375 }]);
    expect(dockerEndpoints({ DOCKER_HOST: 'tcp://docker-host' })).toEqual([{ host: 'docker-host', port: 2375 }]);
  });

  it('probes nothing for a DOCKER_HOST it cannot speak to (TLS, ssh, named pipe)', () => {
    expect(dockerEndpoints({ DOCKER_HOST: 'tcp://127.0.0.1:2376', DOCKER_TLS_VERIFY: '1' })).toEqual([]);
    expect(dockerEndpoints({ DOCKER_HOST: 'ssh://me@build-box' })).toEqual([]);
    expect(dockerEndpoints({ DOCKER_HOST: 'npipe:////./pipe/docker_engine' })).toEqual([]);
  });

  it('falls back to the rootful socket, then the rootless one under XDG_RUNTIME_DIR', () => {
    expect(dockerEndpoints({})).toEqual([{ socketPath: '/var/run/docker.sock' }]);
    expect(dockerEndpoints({ XDG_RUNTIME_DIR: '/run/user/1000' })).toEqual([
      { socketPath: '/var/run/docker.sock' },
      { socketPath: '/run/user/1000/docker.sock' },
    ]);
  });
});

/**
 * `/metrics`, `/healthz`, `/readyz` for worker-only processes on `METRICS_PORT` (CONTRACTS §3, §7):
 * plain node:http, because a worker has no API listener to hang them on.
 */
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

/** Where the ops server listens and what it reports. */
export interface OpsServerOptions {
  port: number;
  host: string;
  registry: Registry;
  /**
   * Whether Redis answers, for `/readyz`. Passed in (the composition root binds the queues' ping
   * to the producer connection) so metrics/ imports nothing above it: the layers report to
   * metrics, never the other way round (DESIGN §3).
   */
  pingRedis: () => Promise<boolean>;
}

/** Starts the worker's ops listener; resolves once it listens. */
export async function startOpsServer(opts: OpsServerOptions): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, type: string, body: string): void => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    if (req.method !== 'GET') return send(405, 'application/json', '{"error":{"code":"SB_METHOD_NOT_ALLOWED","message":"GET only"}}');
    if (path === '/healthz') return send(200, 'application/json', '{"status":"ok"}');
    if (path === '/readyz') {
      void opts
        .pingRedis()
        .then((ok) =>
          send(ok ? 200 : 503, 'application/json', JSON.stringify({ status: ok ? 'ready' : 'unavailable', redis: ok ? 'up' : 'down' })),
        );
      return;
    }
    if (path === '/metrics') {
      void opts.registry.metrics().then(
        (text) => send(200, opts.registry.contentType, text),
        (err: unknown) => send(500, 'text/plain', String(err)),
      );
      return;
    }
    send(404, 'application/json', '{"error":{"code":"SB_NOT_FOUND","message":"no such route"}}');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  return server;
}

/**
 * The lifecycle bench's webhook receiver, in its own process so the load generator's event loop
 * is not also the receiver's: answers every POST with 204 at once and remembers when each
 * message's `message.delivered` arrived (signatures are not checked: a sink, not a client).
 *
 * `GET /_sink/delivered?from=<n>` → `{"next": m, "entries": [[messageId, epochMs], …]}` (entries
 * n..m-1, in arrival order); `GET /_sink/stats` → `{"received", "delivered"}`; `GET /healthz`.
 * Env: PORT.
 */
import { createServer } from 'node:http';

const port = Number(process.env['PORT'] ?? 3300);
const delivered: Array<[string, number]> = [];
let received = 0;
const MAX_PAGE = 50_000;

const server = createServer((req, res) => {
  if (req.method === 'POST') {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = Date.now();
      received += 1;
      res.writeHead(204).end();
      try {
        const event = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { type?: unknown; data?: { messageId?: unknown } };
        if (event.type === 'message.delivered' && typeof event.data?.messageId === 'string') delivered.push([event.data.messageId, at]);
      } catch {
        // not an event: counted, ignored
      }
    });
    return;
  }
  const url = new URL(req.url ?? '/', 'http://sink');
  if (url.pathname === '/_sink/delivered') {
    const from = Math.max(0, Number(url.searchParams.get('from') ?? 0) || 0);
    const to = Math.min(delivered.length, from + MAX_PAGE);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ next: to, entries: delivered.slice(from, to) }));
    return;
  }
  if (url.pathname === '/_sink/stats') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ received, delivered: delivered.length }));
    return;
  }
  res.writeHead(url.pathname === '/healthz' ? 200 : 404).end();
});
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1');
process.once('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  process.exit(0);
});

/**
 * The fixed baseline's intake — deliberately bare and NOT to be tuned: a plain `node:http`
 * server that parses the JSON body and does one `queue.add` per request (`removeOnComplete:
 * true`), answering `202 {"id"}`. No auth, validation, idempotency, rate limits or records: it is
 * the floor every feature of the gateway is paid on top of (docs/performance.md).
 *
 * Env: REDIS_URL, BASELINE_PREFIX, PORT.
 */
import { createServer } from 'node:http';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';

const redisUrl = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const prefix = process.env['BASELINE_PREFIX'] ?? 'sbbench-baseline';
const port = Number(process.env['PORT'] ?? 3200);

const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
connection.on('error', () => undefined);
const queue = new Queue('send', { connection, prefix });

interface SendRequest {
  to: string;
}

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/healthz') {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    return;
  }
  if (req.method !== 'POST' || req.url !== '/v1/messages') {
    res.writeHead(404).end();
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    let body: SendRequest;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as SendRequest;
    } catch {
      res.writeHead(400).end();
      return;
    }
    queue.add('send', { to: body.to }, { removeOnComplete: true }).then(
      (job) => {
        const out = JSON.stringify({ id: job.id, status: 'accepted' });
        res.writeHead(202, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) }).end(out);
      },
      () => res.writeHead(503).end(),
    );
  });
});
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1');

process.once('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  void queue
    .close()
    .then(() => connection.quit())
    .finally(() => process.exit(0));
});

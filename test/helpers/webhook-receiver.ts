/**
 * A local HTTP endpoint that records what Switchboard posts to it, answering as each test
 * scripts it (status codes, headers) — the upstream auth service's side of the webhooks.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';

export interface ReceivedRequest {
  at: number;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface WebhookReceiver {
  url: string;
  received: ReceivedRequest[];
  /** Decides each answer; the default is 204. */
  respond: (req: ReceivedRequest, index: number) => { status: number; headers?: Record<string, string> };
  waitFor(predicate: (all: ReceivedRequest[]) => boolean, timeoutMs?: number): Promise<ReceivedRequest[]>;
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: ReceivedRequest[] = [];
  const receiver: WebhookReceiver = {
    url: '',
    received,
    respond: () => ({ status: 204 }),
    async waitFor(predicate, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (predicate(received)) return received;
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error(
        `webhook receiver: condition not met within ${timeoutMs} ms; got ${received.map((r) => r.body.slice(0, 80)).join(' | ')}`,
      );
    },
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: ReceivedRequest = {
        at: Date.now(),
        path: req.url ?? '/',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      received.push(r);
      const answer = receiver.respond(r, received.length - 1);
      res.writeHead(answer.status, answer.headers);
      res.end();
    });
  });
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const addr = server.address();
  receiver.url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/hooks`;
  return receiver;
}

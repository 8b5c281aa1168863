/**
 * A webhook receiver that can go down (its port refuses connections) and come back up on the
 * same port, as an upstream service restarting does. Records every request it answered 2xx to.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { freePort } from './free-port.ts';

export interface ReceivedWebhook {
  at: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface SwitchableReceiver {
  url: string;
  received: ReceivedWebhook[];
  readonly isUp: boolean;
  up(): Promise<void>;
  /** Stops listening and drops open connections: deliveries see ECONNREFUSED/ECONNRESET. */
  down(): Promise<void>;
  waitFor(predicate: (all: readonly ReceivedWebhook[]) => boolean, timeoutMs: number): Promise<void>;
}

export async function startSwitchableReceiver(): Promise<SwitchableReceiver> {
  const port = await freePort();
  const received: ReceivedWebhook[] = [];
  let server: Server | undefined;
  const receiver: SwitchableReceiver = {
    url: `http://127.0.0.1:${port}/hooks`,
    received,
    get isUp() {
      return server !== undefined;
    },
    async up() {
      if (server) return;
      const s = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          received.push({ at: Date.now(), headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
          res.writeHead(204);
          res.end();
        });
      });
      s.keepAliveTimeout = 1_000;
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(port, '127.0.0.1', () => resolve());
      });
      server = s;
    },
    async down() {
      const s = server;
      if (!s) return;
      server = undefined;
      await new Promise<void>((resolve) => {
        s.close(() => resolve());
        s.closeAllConnections();
      });
    },
    async waitFor(predicate, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(received)) {
        if (Date.now() > deadline)
          throw new Error(`webhook receiver: condition not met within ${timeoutMs} ms (${received.length} requests received)`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
  await receiver.up();
  return receiver;
}

/**
 * Carrier-agnostic test fixtures: an emulator on a random loopback port with a fake sandbox
 * control, a callback receiver that keeps raw requests (to check signatures over the exact bytes,
 * whatever the method: Twilio and Sinch POST, MessageBird GETs), and a closed port. Real HTTP
 * only — SDKs are never mocked.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import type { SandboxControl, WebhookRequest } from '../provider.ts';
import { createFakeSandboxControl } from './sandbox-control.fake.ts';
import type { FakeSandboxControl } from './sandbox-control.fake.ts';

/** An emulator listening on loopback, with its fake control. */
export interface RunningEmulator {
  app: FastifyInstance;
  control: FakeSandboxControl;
  baseUrl: string;
  close(): Promise<void>;
}

/** Starts `register`'s emulator on 127.0.0.1 with a random port and a fresh fake control. */
/** One request an emulator received, as a wire-level test reads it. */
export interface RecordedRequest {
  method: string;
  /** The path without its query. */
  path: string;
  contentType: string;
  headers: Record<string, string | string[] | undefined>;
  /** The parsed body (`{}` when there is none or it is not an object). */
  body: Record<string, unknown>;
}

/** Records each request `app` receives, once its body is parsed, into `into` (wire-level assertions). */
export function recordRequests(app: FastifyInstance, into: RecordedRequest[]): void {
  app.addHook('preHandler', async (req) => {
    const body = req.body;
    into.push({
      method: req.method,
      path: req.url.split('?')[0] ?? req.url,
      contentType: String(req.headers['content-type'] ?? ''),
      headers: { ...req.headers },
      body: typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {},
    });
  });
}

export async function startEmulator(register: (app: FastifyInstance, control: SandboxControl) => void): Promise<RunningEmulator> {
  const control = createFakeSandboxControl();
  // Close every connection on close: a keep-alive socket whose client gave up mid-request
  // (timeout tests) would otherwise hold `close()` until the client's keep-alive timeout.
  const app = Fastify({ logger: false, forceCloseConnections: true });
  register(app, control);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return {
    app,
    control,
    baseUrl: `http://127.0.0.1:${port}`,
    close: async () => {
      control.close();
      await app.close();
    },
  };
}

/** One request as the receiver saw it, already shaped as a `WebhookRequest` for its own URL. */
export interface ReceivedCallback extends WebhookRequest {
  receivedAt: number;
}

/** A loopback HTTP server standing in for our webhook endpoint. */
export interface CallbackReceiver {
  /** Base URL of the receiver, e.g. `http://127.0.0.1:1234`. */
  origin: string;
  received: ReceivedCallback[];
  /** HTTP status the receiver answers with (default 204). */
  status: number;
  /** Resolves once `n` callbacks arrived, only counting those whose `sb` is `ref` when given (rejects after `timeoutMs`). */
  waitFor(n: number, opts?: { ref?: string; timeoutMs?: number }): Promise<ReceivedCallback[]>;
  /** Callbacks received so far for one of our message ids. */
  forRef(ref: string): ReceivedCallback[];
  close(): Promise<void>;
}

/** Starts a plain HTTP receiver on a random loopback port that records every request. */
export async function startCallbackReceiver(): Promise<CallbackReceiver> {
  const received: ReceivedCallback[] = [];
  const waiters: { check: () => boolean; resolve: () => void }[] = [];
  const matching = (ref: string | undefined): ReceivedCallback[] =>
    ref === undefined ? received.slice() : received.filter((r) => r.query['sb'] === ref);
  const receiver: CallbackReceiver = {
    origin: '',
    received,
    status: 204,
    forRef: (ref) => matching(ref),
    waitFor(n, opts = {}) {
      const check = (): boolean => matching(opts.ref).length >= n;
      if (check()) return Promise.resolve(matching(opts.ref));
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`expected ${n} callbacks, got ${matching(opts.ref).length}`)),
          opts.timeoutMs ?? 5_000,
        );
        waiters.push({
          check,
          resolve: () => {
            clearTimeout(timer);
            resolve(matching(opts.ref));
          },
        });
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', receiver.origin);
      const headers: Record<string, string | undefined> = {};
      for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : v;
      received.push({
        method: req.method ?? 'POST',
        publicUrl: receiver.origin + (req.url ?? '/'),
        headers,
        query: Object.fromEntries(url.searchParams),
        rawBody: Buffer.concat(chunks),
        receivedAt: Date.now(),
      });
      res.statusCode = receiver.status;
      res.end();
      for (const w of waiters.slice()) {
        if (w.check()) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve();
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return receiver;
}

/** A loopback URL nothing listens on (a port bound then released). */
export async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebhookEvent } from '../domain/events.ts';
import { createSsrfGuard, type ResolvedAddress } from '../security/ssrf-guard.ts';
import { createWebhookTransport, deliverWebhook, type DeliverOptions } from './webhook-delivery.ts';

interface Seen {
  headers: IncomingHttpHeaders;
  body: string;
  remote: string | undefined;
}

let server: Server;
let port: number;
const seen: Seen[] = [];
/** What the receiver answers per path; `hang` never answers. */
const answers = new Map<string, { status: number; headers?: Record<string, string> } | 'hang'>();

/** Names resolve only through this table: the guard's injected resolver (no system DNS in tests). */
const names: Record<string, ResolvedAddress[]> = { 'receiver.test': [{ address: '127.0.0.1', family: 4 }] };
const guard = createSsrfGuard({
  allowPrivateTargets: true,
  requireHttps: false,
  resolve: async (host) => names[host] ?? [],
});

const event: WebhookEvent = {
  type: 'message.delivered',
  id: 'evt_01HZZZZZZZZZZZZZZZZZZZZZZZ',
  timestamp: '2026-01-01T00:00:00.000Z',
  data: {
    messageId: 'msg_01HZZZZZZZZZZZZZZZZZZZZZZZ',
    status: 'delivered',
    channel: 'sms',
    provider: 'twilio',
    to: '+14155550100',
    attempt: 1,
    sequence: 3,
    metadata: {},
  },
};

function options(extra: Partial<DeliverOptions> = {}): DeliverOptions {
  return {
    secrets: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'],
    timeoutMs: 2_000,
    retryAfterCapMs: 60_000,
    nowMs: Date.now,
    guard,
    ...extra,
  };
}

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      seen.push({ headers: req.headers, body, remote: req.socket.remoteAddress });
      const answer = answers.get(req.url ?? '') ?? { status: 204 };
      if (answer === 'hang') return;
      res.writeHead(answer.status, answer.headers);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('deliverWebhook', () => {
  it('posts to the vetted address under the name, signed, with URL credentials as Basic auth', async () => {
    const transport = createWebhookTransport();
    try {
      const result = await deliverWebhook(`http://hook%20user:s3cret@receiver.test:${port}/events?k=1`, event, options({ transport }));
      expect(result).toEqual({ kind: 'success', status: 204 });
      const got = seen.at(-1);
      expect(got?.remote).toBe('127.0.0.1');
      expect(got?.headers.host).toBe(`receiver.test:${port}`);
      expect(got?.headers.authorization).toBe(`Basic ${Buffer.from('hook user:s3cret').toString('base64')}`);
      expect(got?.headers['webhook-id']).toBe(event.id);
      expect(got?.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/=]+$/);
      expect(JSON.parse(got?.body ?? '{}')).toEqual(event);
    } finally {
      transport.close();
    }
  });

  it('reuses one pool per origin and vetted address, and opens another when the name moves', async () => {
    const transport = createWebhookTransport();
    try {
      const first = await guard.vet(`http://receiver.test:${port}/a`);
      const again = await guard.vet(`http://receiver.test:${port}/b`);
      if (!first.ok || !again.ok) throw new Error('the guard refused a local receiver');
      expect(transport.dispatcher(again)).toBe(transport.dispatcher(first));
      names['moved.test'] = [{ address: '127.0.0.2', family: 4 }];
      const moved = await guard.vet(`http://moved.test:${port}/a`);
      if (!moved.ok) throw new Error('the guard refused a local receiver');
      expect(transport.dispatcher(moved)).not.toBe(transport.dispatcher(first));
    } finally {
      transport.close();
    }
  });

  it('reports a receiver that does not answer in time as a failure worth retrying', async () => {
    answers.set('/slow', 'hang');
    const result = await deliverWebhook(`http://receiver.test:${port}/slow`, event, options({ timeoutMs: 200 }));
    expect(result).toEqual({ kind: 'failure', reason: 'no answer within 200 ms' });
  });

  it('returns a redirect as an answer without following it, and reads Retry-After', async () => {
    answers.set('/moved', { status: 302, headers: { location: `http://receiver.test:${port}/elsewhere` } });
    answers.set('/busy', { status: 503, headers: { 'retry-after': '7' } });
    const before = seen.length;
    expect(await deliverWebhook(`http://receiver.test:${port}/moved`, event, options())).toEqual({
      kind: 'failure',
      status: 302,
      reason: 'redirect 302 not followed',
    });
    expect(await deliverWebhook(`http://receiver.test:${port}/busy`, event, options())).toEqual({
      kind: 'failure',
      status: 503,
      reason: 'HTTP 503',
      retryAfterMs: 7_000,
    });
    expect(seen.length - before).toBe(2);
  });

  it('refuses a name the guard cannot vet without posting anything', async () => {
    const before = seen.length;
    const result = await deliverWebhook(`http://unknown.test:${port}/events`, event, options());
    expect(result.kind).toBe('forbidden');
    expect(seen.length).toBe(before);
  });
});

/**
 * `SwitchboardClient` against a real gateway (API + workers + carrier sandbox): the same admission
 * as raw HTTP, typed answers, `SwitchboardError` for refusals, retries only where they are safe.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SwitchboardClient, SwitchboardError } from '../../src/client.ts';
import { freePort } from '../helpers/free-port.ts';
import { SANDBOX_API_KEY, startTestGateway, type TestGateway } from '../helpers/gateway.ts';

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');
let gw: TestGateway;
let client: SwitchboardClient;

beforeAll(async () => {
  gw = await startTestGateway({
    label: 'client',
    // Twilio only: its sandbox log shows the text the handset got, so the test can read the code.
    overrides: {
      providers: { sinch: { enabled: false }, messagebird: { enabled: false } },
      apiKeys: [
        { name: 'sandbox', sha256: sha(SANDBOX_API_KEY), scopes: ['send', 'read', 'verify', 'admin'] },
        { name: 'tight', sha256: sha('tight-key'), scopes: ['send'], rateLimits: { requestsPerSecond: 2 } },
      ],
    },
  });
  client = new SwitchboardClient({ baseUrl: `${gw.apiUrl}/`, apiKey: SANDBOX_API_KEY });
});
afterAll(async () => {
  await gw?.stop();
});

async function codeFor(id: string, to: string): Promise<string> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const entries = (await (await gw.sandbox(`/_sandbox/log?to=${encodeURIComponent(to)}`)).json()) as Array<{
      reference?: string;
      body?: string;
    }>;
    const code = /\b(\d{6})\b/.exec(entries.find((e) => e.reference === id)?.body ?? '')?.[1];
    if (code !== undefined) return code;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no code sent for ${id}`);
}

async function caught(p: Promise<unknown>): Promise<SwitchboardError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof SwitchboardError) return err;
    throw err;
  }
  throw new Error('expected a SwitchboardError');
}

describe('SwitchboardClient', () => {
  it('sends once per idempotency key, reads the message and verifies its code', async () => {
    const to = '+14155550801';
    const first = await client.send({ to, otp: { length: 6 }, metadata: { flow: 'login' } }, { idempotencyKey: 'client-login-1' });
    expect(first).toEqual({ id: expect.stringMatching(/^msg_/), status: 'accepted', replayed: false });
    const again = await client.send({ to, otp: { length: 6 }, metadata: { flow: 'login' } }, { idempotencyKey: 'client-login-1' });
    expect(again).toEqual({ ...first, replayed: true });

    const code = await codeFor(first.id, to);
    expect(await client.verify(first.id, code === '000000' ? '111111' : '000000')).toEqual({ valid: false, attemptsLeft: 4 });
    expect(await client.verify(first.id, code)).toEqual({ valid: true });
    const repeat = await caught(client.verify(first.id, code));
    expect(repeat).toMatchObject({ status: 409, code: 'SB_OTP_ALREADY_VERIFIED' });

    const view = await client.get(first.id);
    expect(view).toMatchObject({ id: first.id, to: '+1415***0801', metadata: { flow: 'login' } });
    expect(Date.parse(view.verifiedAt ?? '')).not.toBeNaN();
    expect(JSON.stringify(view)).not.toContain(code);
  });

  it('records a conversion for a code the upstream made itself', async () => {
    const { id } = await client.send({ to: '+14155550802', body: 'Your code is 3141', purpose: 'otp' });
    await client.conversion(id, true);
    expect((await client.get(id)).verifiedAt).toEqual(expect.any(String));
  });

  it('throws the gateway’s refusals as SwitchboardError with code, status, details and Retry-After', async () => {
    expect(await caught(client.send({ to: '+1234', body: 'x' }))).toMatchObject({ status: 400, code: 'SB_VALIDATION_PHONE_NUMBER' });
    expect(await caught(client.get('msg_01JAAAAAAAAAAAAAAAAAAAAAAA'))).toMatchObject({ status: 404, code: 'SB_MESSAGE_NOT_FOUND' });
    const stranger = new SwitchboardClient({ baseUrl: gw.apiUrl, apiKey: 'not-a-key' });
    expect(await caught(stranger.send({ to: '+14155550803', body: 'x' }))).toMatchObject({ status: 401, code: 'SB_AUTH_UNAUTHORIZED' });

    // Exhaust the key's per-second limit: the client surfaces 429 and its Retry-After, and does not retry it.
    const tight = new SwitchboardClient({ baseUrl: gw.apiUrl, apiKey: 'tight-key' });
    const burst = await Promise.allSettled(
      Array.from({ length: 4 }, (_, i) => tight.send({ to: '+14155550804', body: `burst ${i}` }, { idempotencyKey: `burst-${i}` })),
    );
    expect(burst.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
    const limited = burst.find((r): r is PromiseRejectedResult => r.status === 'rejected')?.reason as unknown;
    expect(limited).toBeInstanceOf(SwitchboardError);
    expect(limited).toMatchObject({ status: 429, code: 'SB_RATE_LIMITED', retryAfterSeconds: 1 });
  });

  it('reports an unreachable gateway as CLIENT_NETWORK after its retries', async () => {
    const port = await freePort();
    const offline = new SwitchboardClient({ baseUrl: `http://127.0.0.1:${port}`, apiKey: 'k', retries: 1, maxRetryDelayMs: 10 });
    expect(await caught(offline.get('msg_01JAAAAAAAAAAAAAAAAAAAAAAA'))).toMatchObject({ status: 0, code: 'CLIENT_NETWORK' });
  });
});

describe('SwitchboardClient retries', () => {
  let server: Server;
  const seen: string[] = [];
  let baseUrl = '';

  beforeAll(async () => {
    // A stand-in gateway that is unavailable for the first request of each path.
    server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      const tries = seen.filter((s) => s === `${req.method} ${req.url}`).length;
      if (tries === 1) {
        res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '0' });
        res.end(JSON.stringify({ error: { code: 'SB_UNAVAILABLE', message: 'down' } }));
        return;
      }
      res.writeHead(req.url === '/v1/messages' ? 202 : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(req.url === '/v1/messages' ? { id: 'msg_X', status: 'accepted' } : { valid: true }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const addr = server.address();
    baseUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('retries a send with an idempotency key, never a verify', async () => {
    const c = new SwitchboardClient({ baseUrl, apiKey: 'k' });
    expect(await c.send({ to: '+14155550805', body: 'x' }, { idempotencyKey: 'k1' })).toMatchObject({ id: 'msg_X' });
    expect(seen.filter((s) => s === 'POST /v1/messages')).toHaveLength(2);
    expect(await caught(c.verify('msg_X', '123456'))).toMatchObject({ status: 503, code: 'SB_UNAVAILABLE', retryAfterSeconds: 0 });
    expect(seen.filter((s) => s === 'POST /v1/messages/msg_X/verify')).toHaveLength(1);
  });
});

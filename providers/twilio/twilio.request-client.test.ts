/**
 * The request client over real HTTP: the official SDK (or the client directly) against a small
 * `node:http` server on loopback that records what crossed the wire. No mocks.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import twilio from 'twilio';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { closedPortUrl } from '../sandbox-kit/loopback-fixtures.ts';
import { classifyTwilioError } from './twilio.errors.ts';
import { BaseUrlRequestClient, encodeForm, runTwilioCall } from './twilio.request-client.ts';
import type { TwilioCallContext } from './twilio.request-client.ts';

const ACCOUNT_SID = 'AC' + '0'.repeat(32);
const AUTH_TOKEN = 'request-client-test-token';

interface Recorded {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  /** Remote port of the connection, to tell reused sockets from new ones. */
  remotePort: number | undefined;
}

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

const messageJson = (sid: string): string =>
  JSON.stringify({
    sid,
    account_sid: ACCOUNT_SID,
    status: 'queued',
    num_segments: '1',
    to: '+14155550100',
    from: '+15005550006',
    body: 'x',
  });

const created: Handler = (_req, res) => {
  res.writeHead(201, { 'content-type': 'application/json' });
  res.end(messageJson('SM' + '1'.repeat(32)));
};

describe('BaseUrlRequestClient', () => {
  let server: Server;
  let origin: string;
  let handler: Handler = created;
  const received: Recorded[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => {
        body += chunk;
      });
      req.on('end', () => {
        received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, remotePort: req.socket.remotePort });
        handler(req, res, body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  beforeEach(() => {
    handler = created;
    received.length = 0;
  });

  const sdk = (client: BaseUrlRequestClient): twilio.Twilio =>
    twilio(ACCOUNT_SID, AUTH_TOKEN, { httpClient: client, accountSid: ACCOUNT_SID, autoRetry: false });
  const only = (): Recorded => {
    expect(received).toHaveLength(1);
    return received[0] as Recorded;
  };

  it("rewrites Twilio's origin to the base URL, keeping its path prefix, and sends Basic auth", async () => {
    const client = new BaseUrlRequestClient({ baseUrl: `${origin}/carrier/twilio/`, timeoutMs: 2_000 });
    const message = await sdk(client).messages.create({ to: '+14155550100', from: '+15005550006', body: 'Your code is 123456' });

    expect(message.sid).toBe('SM' + '1'.repeat(32));
    const req = only();
    expect(req.method).toBe('POST');
    expect(req.url).toBe(`/carrier/twilio/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`);
    expect(req.headers.authorization).toBe('Basic ' + Buffer.from(`${ACCOUNT_SID}:${AUTH_TOKEN}`).toString('base64'));
    expect(req.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(req.headers['user-agent']).toMatch(/^twilio-node\//);
    expect(req.headers.connection).toBe('keep-alive');
  });

  it('encodes form bodies like the SDK, with arrays as repeated keys and RFC 3986 escapes', async () => {
    const client = new BaseUrlRequestClient({ baseUrl: origin, timeoutMs: 2_000 });
    await sdk(client).calls.create({
      to: '+14155550100',
      from: '+15005550006',
      twiml: "<Response><Say>It's 1 2 3 (twice)!</Say></Response>",
      statusCallback: 'https://hooks.example/twilio?sb=01J&x=1',
      statusCallbackEvent: ['initiated', 'ringing', 'answered', 'completed'],
      statusCallbackMethod: 'POST',
    });

    const { body, headers } = only();
    expect(headers['content-length']).toBe(String(Buffer.byteLength(body)));
    expect(body).toContain(
      'StatusCallbackEvent=initiated&StatusCallbackEvent=ringing&StatusCallbackEvent=answered&StatusCallbackEvent=completed',
    );
    expect(body).toContain('Twiml=%3CResponse%3E%3CSay%3EIt%27s%201%202%203%20%28twice%29%21%3C%2FSay%3E%3C%2FResponse%3E');
    expect(body).toContain('StatusCallback=https%3A%2F%2Fhooks.example%2Ftwilio%3Fsb%3D01J%26x%3D1');
    const decoded = new URLSearchParams(body);
    expect(decoded.getAll('StatusCallbackEvent')).toEqual(['initiated', 'ringing', 'answered', 'completed']);
    expect(decoded.get('Twiml')).toBe("<Response><Say>It's 1 2 3 (twice)!</Say></Response>");
  });

  it('serialises nulls, numbers, booleans, dates, nested objects and non-ASCII text as qs does', () => {
    expect(
      encodeForm({
        Body: 'Код 123 — ok 👍',
        Skipped: undefined,
        Empty: null,
        ValidityPeriod: 300,
        SmartEncoded: true,
        SendAt: new Date('2030-01-02T03:04:05.000Z'),
        Nested: { a: 'b', list: ['x', 'y'] },
        Lists: [['p', 'q'], 'r'],
      }),
    ).toBe(
      'Body=%D0%9A%D0%BE%D0%B4%20123%20%E2%80%94%20ok%20%F0%9F%91%8D&Empty=&ValidityPeriod=300&SmartEncoded=true' +
        '&SendAt=2030-01-02T03%3A04%3A05.000Z&Nested%5Ba%5D=b&Nested%5Blist%5D=x&Nested%5Blist%5D=y&Lists=p&Lists=q&Lists=r',
    );
    expect(encodeForm('not an object')).toBe('');
  });

  it('sends params as the query string of a lookup', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ phone_number: '+14155550100', valid: true, url: 'https://lookups.twilio.com/v2/PhoneNumbers/+14155550100' }),
      );
    };
    const client = new BaseUrlRequestClient({ baseUrl: origin, timeoutMs: 2_000 });
    const result = await sdk(client).lookups.v2.phoneNumbers('+14155550100').fetch({ fields: 'line_type_intelligence,sim_swap' });

    expect(result.valid).toBe(true);
    const req = only();
    expect(req.method).toBe('GET');
    // The SDK leaves `+` unescaped in the path, and so do we (as axios did).
    expect(req.url).toBe('/v2/PhoneNumbers/+14155550100?Fields=line_type_intelligence%2Csim_swap');
    expect(req.body).toBe('');
  });

  it('sends JSON bodies when the SDK asks for application/json', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    };
    const client = new BaseUrlRequestClient({ baseUrl: origin, timeoutMs: 2_000 });
    const response = await client.request({
      method: 'post',
      uri: 'https://marketplace.twilio.com/v1/ReferralConversion',
      username: ACCOUNT_SID,
      password: AUTH_TOKEN,
      headers: { 'Content-Type': 'application/json' },
      data: { referral_account_sid: ACCOUNT_SID, tags: ['a', 'b'] },
    });

    expect(response.statusCode).toBe(200);
    expect(response.body).toEqual({ ok: true });
    expect(JSON.parse(only().body)).toEqual({ referral_account_sid: ACCOUNT_SID, tags: ['a', 'b'] });
  });

  it('keeps the SDK URL without a base URL and resolves non-JSON answers as text', async () => {
    handler = (_req, res) => {
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end('<html>bad gateway</html>');
    };
    const client = new BaseUrlRequestClient({ timeoutMs: 2_000 });
    const response = await client.request({ method: 'get', uri: `${origin}/direct/path?a=1`, params: { b: 'two words' } });

    expect(response).toMatchObject({ statusCode: 502, body: '<html>bad gateway</html>' });
    expect(only().url).toBe('/direct/path?a=1&b=two%20words');
    expect(client.lastResponse?.statusCode).toBe(502);
    expect(client.lastRequest?.url).toBe(`${origin}/direct/path?a=1&b=two%20words`);
  });

  it('reuses keep-alive connections for successive requests', async () => {
    const client = new BaseUrlRequestClient({ baseUrl: origin, timeoutMs: 2_000 });
    const api = sdk(client);
    for (let i = 0; i < 6; i++) await api.messages.create({ to: '+14155550100', from: '+15005550006', body: `n${i}` });

    expect(received).toHaveLength(6);
    // undici lets a socket rest one event-loop turn before reusing it, so a request sent the moment
    // the previous answer arrived takes a second connection; the two then alternate.
    expect(new Set(received.map((r) => r.remotePort)).size).toBeLessThanOrEqual(2);
  });

  it("reports a 429's status and Retry-After into the call context, so it classifies as rate limited", async () => {
    handler = (_req, res) => {
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '7' });
      res.end(
        JSON.stringify({ code: 20429, message: 'Too Many Requests', more_info: 'https://www.twilio.com/docs/errors/20429', status: 429 }),
      );
    };
    const client = new BaseUrlRequestClient({ baseUrl: origin, timeoutMs: 2_000 });
    const ctx: TwilioCallContext = {};
    const err: unknown = await runTwilioCall(ctx, () =>
      sdk(client).messages.create({ to: '+14155550100', from: '+15005550006', body: 'x' }),
    ).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(twilio.RestException);
    expect(ctx).toMatchObject({ httpStatus: 429, retryAfter: '7' });
    expect(classifyTwilioError(err, { retryAfter: ctx.retryAfter ?? '' })).toMatchObject({
      kind: 'rate_limited',
      retryAfterMs: 7_000,
      httpStatus: 429,
    });
  });

  it('reports the status of a success into the call context, without a Retry-After', async () => {
    const client = new BaseUrlRequestClient({ baseUrl: origin, timeoutMs: 2_000 });
    const ctx: TwilioCallContext = { retryAfter: 'stale' };
    await runTwilioCall(ctx, () => sdk(client).messages.create({ to: '+14155550100', from: '+15005550006', body: 'x' }));

    expect(ctx.httpStatus).toBe(201);
    expect(ctx.retryAfter).toBeUndefined();
  });

  it("aborts an in-flight request when the call's signal fires: retryable, ambiguous", async () => {
    const arrived = Promise.withResolvers<void>();
    handler = () => arrived.resolve(); // never answers
    const client = new BaseUrlRequestClient({ baseUrl: origin, timeoutMs: 10_000 });
    const controller = new AbortController();
    const started = Date.now();
    const pending = runTwilioCall({ signal: controller.signal }, () =>
      sdk(client).messages.create({ to: '+14155550100', from: '+15005550006', body: 'x' }),
    );
    await arrived.promise;
    controller.abort(new Error('worker shutting down'));
    const err: unknown = await pending.catch((e: unknown) => e);

    expect(Date.now() - started).toBeLessThan(5_000);
    expect(err).toMatchObject({ code: 'ERR_CANCELED', name: 'AbortError' });
    expect(classifyTwilioError(err)).toMatchObject({ kind: 'retryable', ambiguous: true, providerCode: 'ERR_CANCELED' });
  });

  it('rejects at once when the signal has already fired, sending nothing', async () => {
    const client = new BaseUrlRequestClient({ baseUrl: origin, timeoutMs: 2_000 });
    const err: unknown = await runTwilioCall({ signal: AbortSignal.abort() }, () =>
      sdk(client).messages.create({ to: '+14155550100', from: '+15005550006', body: 'x' }),
    ).catch((e: unknown) => e);

    expect(err).toMatchObject({ code: 'ERR_CANCELED' });
    expect(received).toHaveLength(0);
  });

  it('gives up after timeoutMs with an error the classifier maps to retryable and ambiguous', async () => {
    handler = () => undefined; // never answers
    const client = new BaseUrlRequestClient({ baseUrl: origin, timeoutMs: 150 });
    const started = Date.now();
    const err: unknown = await sdk(client)
      .messages.create({ to: '+14155550100', from: '+15005550006', body: 'x' })
      .catch((e: unknown) => e);

    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(err).toMatchObject({ code: 'ECONNABORTED' });
    expect(classifyTwilioError(err)).toMatchObject({ kind: 'retryable', ambiguous: true, providerCode: 'ECONNABORTED' });
  });

  it('holds a trickling answer to the same deadline', async () => {
    handler = (_req, res) => {
      res.writeHead(201, { 'content-type': 'application/json' });
      res.write('{"sid":'); // …and never finishes
    };
    const client = new BaseUrlRequestClient({ baseUrl: origin, timeoutMs: 150 });
    const err: unknown = await sdk(client)
      .messages.create({ to: '+14155550100', from: '+15005550006', body: 'x' })
      .catch((e: unknown) => e);

    expect(classifyTwilioError(err)).toMatchObject({ kind: 'retryable', ambiguous: true });
  });

  it('honours a per-request timeout from the SDK over the default', async () => {
    handler = () => undefined;
    const client = new BaseUrlRequestClient({ baseUrl: origin, timeoutMs: 10_000 });
    const started = Date.now();
    const err: unknown = await client.request({ method: 'get', uri: 'https://api.twilio.com/x', timeout: 100 }).catch((e: unknown) => e);

    expect(Date.now() - started).toBeLessThan(2_000);
    expect(err).toMatchObject({ code: 'ECONNABORTED' });
  });

  it('maps a refused connection to retryable and not ambiguous (nothing reached the carrier)', async () => {
    const client = new BaseUrlRequestClient({ baseUrl: await closedPortUrl(), timeoutMs: 2_000 });
    const err: unknown = await sdk(client)
      .messages.create({ to: '+14155550100', from: '+15005550006', body: 'x' })
      .catch((e: unknown) => e);

    expect(err).toMatchObject({ code: 'ECONNREFUSED' });
    expect(classifyTwilioError(err)).toMatchObject({ kind: 'retryable', ambiguous: false, providerCode: 'ECONNREFUSED' });
  });

  it('maps a connection reset before the answer to retryable and ambiguous', async () => {
    handler = (req) => req.socket.destroy();
    const client = new BaseUrlRequestClient({ baseUrl: origin, timeoutMs: 2_000 });
    const err: unknown = await sdk(client)
      .messages.create({ to: '+14155550100', from: '+15005550006', body: 'x' })
      .catch((e: unknown) => e);

    expect(err).toMatchObject({ code: 'ECONNRESET' });
    expect(classifyTwilioError(err)).toMatchObject({ kind: 'retryable', ambiguous: true });
  });
});

import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyNetworkError } from '../errors.ts';
import { BaseUrlRequestClient, encodeTwilioParams, runTwilioCall, type TwilioCallContext } from './twilio.request-client.ts';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

let server: http.Server;
let origin: string;
const seen: Seen[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      if (req.url?.startsWith('/slow')) return; // never answers: the client's timeout must fire
      if (req.url?.startsWith('/busy')) {
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '7' }).end('{"code":20429,"message":"Too Many Requests","status":429}');
        return;
      }
      res.writeHead(201, { 'content-type': 'application/json' }).end('{"sid":"SM1"}');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('Twilio request client', () => {
  it('encodes parameters as the SDK does: RFC 3986, arrays as repeated keys, undefined left out', () => {
    expect(encodeTwilioParams({ To: '+14155550100', Body: "Your code: 12 34 (don't share)!*", MediaUrl: ['a', 'b'], Skip: undefined, Flag: true })).toBe(
      'To=%2B14155550100&Body=Your%20code%3A%2012%2034%20%28don%27t%20share%29%21%2A&MediaUrl=a&MediaUrl=b&Flag=true',
    );
  });

  it('rewrites the Twilio host to the base URL and sends Basic auth, the form body and the query', async () => {
    const client = new BaseUrlRequestClient({ baseUrl: `${origin}/prefix/`, timeoutMs: 2_000 });
    const res = await client.request({
      method: 'post',
      uri: 'https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json',
      username: 'AC1',
      password: 'secret',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      data: { To: '+14155550100', Body: 'hi there' },
      params: { PageSize: 2 },
    });
    expect(res.statusCode).toBe(201);
    expect(JSON.parse(String(res.body))).toEqual({ sid: 'SM1' });
    const last = seen.at(-1);
    expect(last).toMatchObject({ method: 'POST', url: '/prefix/2010-04-01/Accounts/AC1/Messages.json?PageSize=2', body: 'To=%2B14155550100&Body=hi%20there' });
    expect(last?.headers.authorization).toBe(`Basic ${Buffer.from('AC1:secret').toString('base64')}`);
  });

  it('reports the HTTP status and Retry-After of a 429 into the call context', async () => {
    const client = new BaseUrlRequestClient({ baseUrl: origin, timeoutMs: 2_000 });
    const ctx: TwilioCallContext = {};
    const res = await runTwilioCall(ctx, () => client.request({ method: 'get', uri: 'https://api.twilio.com/busy' }));
    expect(res.statusCode).toBe(429);
    expect(ctx).toMatchObject({ httpStatus: 429, retryAfter: '7' });
  });

  it('times out with an error classified as ambiguous (the carrier may have it)', async () => {
    const client = new BaseUrlRequestClient({ baseUrl: origin, timeoutMs: 200 });
    const err = await client.request({ method: 'get', uri: 'https://api.twilio.com/slow' }).catch((e: unknown) => e);
    expect(classifyNetworkError('twilio', err)).toMatchObject({ kind: 'retryable', ambiguous: true, providerCode: 'ETIMEDOUT' });
  });

  it('fails a refused connection with an error classified as safe to send elsewhere', async () => {
    const closed = http.createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const client = new BaseUrlRequestClient({ baseUrl: `http://127.0.0.1:${port}`, timeoutMs: 2_000 });
    const err = await client.request({ method: 'get', uri: 'https://api.twilio.com/x' }).catch((e: unknown) => e);
    expect(classifyNetworkError('twilio', err)).toMatchObject({ kind: 'retryable', ambiguous: false, providerCode: 'ECONNREFUSED' });
  });

  it('aborts the call when the context signal fires', async () => {
    const client = new BaseUrlRequestClient({ baseUrl: origin, timeoutMs: 5_000 });
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 100);
    const err = await runTwilioCall({ signal: abort.signal }, () => client.request({ method: 'get', uri: 'https://api.twilio.com/slow' })).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'AbortError', code: 'ERR_CANCELED' });
  });
});

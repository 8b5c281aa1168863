/**
 * The HTTP client handed to the official Twilio SDK.
 *
 * Twilio's SDK has no base-URL option (its `edge`/`region` only rewrite the hostname), so sandbox
 * mode subclasses `twilio.RequestClient` and rewrites each request's origin (reference §0, recipe A):
 * one hook covers every Twilio domain (api, lookups, messaging, …).
 *
 * The subclass is used in live mode too (without a base URL) because it adds two things the SDK
 * lacks, per call and safe under concurrency:
 * - the response's `Retry-After` header, which `RestException` drops, so a 429 can be classified
 *   as `rate_limited` with `retryAfterMs`;
 * - an `AbortSignal` (worker shutdown, job timeout), which the SDK has no way to pass.
 * Both travel through an `AsyncLocalStorage` scope opened by {@link runTwilioCall}.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import RequestClient from 'twilio/lib/base/RequestClient.js';
import type * as TwilioResponse from 'twilio/lib/http/response.js';

/** What one SDK call carries in and brings back (see {@link runTwilioCall}). */
export interface TwilioCallContext {
  /** Aborts the HTTP request when fired. */
  signal?: AbortSignal;
  /** Filled in with the last response's `Retry-After` header, when it had one. */
  retryAfter?: string;
  /** Filled in with the last response's HTTP status. */
  httpStatus?: number;
}

const callContext = new AsyncLocalStorage<TwilioCallContext>();

/**
 * Runs one SDK call inside a context so the request client can apply `ctx.signal` and report the
 * response's `Retry-After` back into `ctx`. Outside such a scope the client behaves like the SDK's.
 */
export function runTwilioCall<T>(ctx: TwilioCallContext, fn: () => Promise<T>): Promise<T> {
  return callContext.run(ctx, fn);
}

export interface BaseUrlRequestClientOptions {
  /** Origin (and optional path prefix) replacing `https://*.twilio.com`; undefined keeps Twilio's hosts. */
  baseUrl?: string;
  /** Per-request timeout (also the agent's socket timeout). */
  timeoutMs: number;
}

/**
 * Percent-encodes as the SDK's own client does (`qs`, RFC 3986: everything but `A-Za-z0-9-_.~`),
 * so what the carrier receives — and signs — is byte for byte what the SDK would have sent.
 */
function encodeComponent(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Form/query encoding of the SDK's flat parameter objects, arrays as repeated keys (`qs` `arrayFormat: 'repeat'`). */
export function encodeTwilioParams(params: object): string {
  const parts: string[] = [];
  for (const [key, raw] of Object.entries(params)) {
    if (raw === undefined) continue;
    const values: unknown[] = Array.isArray(raw) ? raw : [raw];
    for (const v of values) {
      if (v === undefined) continue;
      parts.push(`${encodeComponent(key)}=${encodeComponent(v === null ? '' : String(v))}`);
    }
  }
  return parts.join('&');
}

/** A network failure with the code our classifiers read (`ETIMEDOUT` is ambiguous: the request may have arrived). */
class TwilioNetworkError extends Error {
  readonly code: string;
  constructor(message: string, code: string) {
    super(message);
    this.name = 'TwilioNetworkError';
    this.code = code;
  }
}

/**
 * The SDK's HTTP client, without axios: `twilio.RequestClient`'s contract (Basic auth, form or JSON
 * bodies, repeated-key query strings, a status-and-body response the SDK parses itself) on Node's
 * own keep-alive agents. axios built a config object, merged defaults and ran interceptors on every
 * call — about a tenth of the worker's CPU per SMS in the profile. `autoRetry` stays off: a 429 must
 * reach our router at once so it fails over instead of waiting up to 3 × 3 s inside the SDK
 * (DESIGN §5). With `baseUrl`, every Twilio host is rewritten to that origin (sandbox mode).
 */
export class BaseUrlRequestClient extends RequestClient {
  readonly baseUrl: string | undefined;
  private readonly timeoutMs: number;
  private readonly httpAgent = new http.Agent({ keepAlive: true });
  private readonly httpsAgent = new https.Agent({ keepAlive: true });

  constructor(opts: BaseUrlRequestClientOptions) {
    super({ timeout: opts.timeoutMs, autoRetry: false, keepAlive: true });
    this.baseUrl = opts.baseUrl === undefined ? undefined : opts.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = opts.timeoutMs;
  }

  override async request<TData>(opts: RequestClient.RequestOptions<TData>): Promise<TwilioResponse.default<TData>> {
    if (!opts.method) throw new Error('http method is required');
    if (!opts.uri) throw new Error('uri is required');
    let uri = opts.uri;
    if (this.baseUrl !== undefined) {
      const u = new URL(opts.uri);
      uri = this.baseUrl + u.pathname + u.search;
    }
    const headers: Record<string, string> = { ...(opts.headers as Record<string, string> | undefined) };
    if (headers['Connection'] === undefined && headers['connection'] === undefined) headers['Connection'] = 'keep-alive';
    if (opts.username && opts.password) {
      headers['Authorization'] = `Basic ${Buffer.from(`${opts.username}:${opts.password}`).toString('base64')}`;
    } else if (opts.authStrategy) {
      headers['Authorization'] = await opts.authStrategy.getAuthString();
    }
    let body: string | undefined;
    if (opts.data !== undefined && opts.data !== null) {
      const type = headers['Content-Type'];
      if (type === 'application/x-www-form-urlencoded') body = encodeTwilioParams(opts.data as object);
      else if (type === 'application/json') body = typeof opts.data === 'string' ? opts.data : JSON.stringify(opts.data);
    }
    if (opts.params !== undefined && opts.params !== null) {
      const query = encodeTwilioParams(opts.params as object);
      if (query !== '') uri += (uri.includes('?') ? '&' : '?') + query;
    }
    if (body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(body));
    const ctx = callContext.getStore();
    const response = await this.send(uri, opts.method.toUpperCase(), headers, body, opts.timeout ?? this.timeoutMs, ctx?.signal);
    if (ctx !== undefined) {
      ctx.httpStatus = response.statusCode;
      ctx.retryAfter = headerValue(response.headers, 'retry-after');
    }
    return response as unknown as TwilioResponse.default<TData>;
  }

  private send(
    uri: string,
    method: string,
    headers: Record<string, string>,
    body: string | undefined,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Promise<{ statusCode: number; body: string; headers: IncomingHttpHeaders }> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(Object.assign(new Error('the Twilio request was aborted'), { name: 'AbortError', code: 'ERR_CANCELED' }));
        return;
      }
      const url = new URL(uri);
      const secure = url.protocol === 'https:';
      const req = (secure ? https : http).request(url, { method, headers, agent: secure ? this.httpsAgent : this.httpAgent, ...(signal !== undefined ? { signal } : {}) }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ statusCode: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
        res.on('error', reject);
      });
      // The whole exchange, not only an idle socket: a carrier that trickles bytes still times out.
      const timer = setTimeout(() => req.destroy(new TwilioNetworkError(`timeout of ${timeoutMs}ms exceeded`, 'ETIMEDOUT')), timeoutMs);
      req.on('close', () => clearTimeout(timer));
      req.on('error', (err: Error & { code?: string }) => {
        clearTimeout(timer);
        if (err.name === 'AbortError') reject(Object.assign(err, { code: 'ERR_CANCELED' }));
        else reject(err);
      });
      req.end(body);
    });
  }
}

/** Reads a header from a response's headers (a plain object), case-insensitively. */
function headerValue(headers: unknown, name: string): string | undefined {
  if (typeof headers !== 'object' || headers === null) return undefined;
  const record = headers as Record<string, unknown>;
  const value = record[name] ?? record[name.toLowerCase()];
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  return undefined;
}

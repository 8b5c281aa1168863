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
 * - an `AbortSignal` (worker shutdown, job timeout), which the SDK cannot pass to its transport.
 * Both travel through an `AsyncLocalStorage` scope opened by {@link runTwilioCall}.
 *
 * It also replaces the SDK's transport. `RequestClient.request` goes through axios (interceptors,
 * config merging, follow-redirects, a response transform chain) over `node:https`, which profiling
 * put at ~230 µs of worker CPU per SMS, a large share of the hot path. The SDK only needs
 * `request(opts)` to resolve with `{statusCode, body, headers}`, so {@link BaseUrlRequestClient.request}
 * hands each request straight to an undici keep-alive `Agent` through `dispatch` (no response
 * stream). Measured CPU per `messages.create` through the SDK against a loopback server, 50 in
 * flight: axios ≈ 700–800 µs, the same client over `node:http` ≈ 340 µs, undici `request()`
 * ≈ 300 µs, undici `dispatch` ≈ 250–280 µs (the SDK's own share ≈ 30–45 µs).
 * What goes on the wire is what the SDK's own client sends: Basic auth, form bodies serialised like
 * `qs` with `arrayFormat: 'repeat'`, JSON bodies, query parameters, no redirects, and every status
 * resolved (the SDK raises `RestException` itself).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { createRequire } from 'node:module';
import RequestClient from 'twilio/lib/base/RequestClient.js';
import type * as TwilioRequest from 'twilio/lib/http/request.js';
import type * as TwilioResponse from 'twilio/lib/http/response.js';
import { Agent, ProxyAgent } from 'undici';
import type { Dispatcher } from 'undici';

type TwilioHeaders = TwilioRequest.Headers;

// The SDK's own Request/Response classes (for `lastRequest`/`lastResponse` and the resolved value),
// loaded with `require`: they are CJS `exports.default`, which Node's ESM loader and vitest unwrap
// differently, while `require` gives the same exports object in both.
const sdkRequire = createRequire(import.meta.url);
const SdkRequest = (
  sdkRequire('twilio/lib/http/request.js') as { default: new <T>(opts: TwilioRequest.RequestOptions<T>) => TwilioRequest.default<T> }
).default;
const SdkResponse = (
  sdkRequire('twilio/lib/http/response.js') as {
    default: new <T>(statusCode: number, body: T, headers: unknown) => TwilioResponse.default<T>;
  }
).default;

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
  /** Per-request deadline (also the connect timeout). */
  timeoutMs: number;
}

/**
 * Error codes of the transport failures this client raises, kept from the SDK's axios transport so
 * `classifyTwilioError` (and any stored `providerCode`) sees the same values as before:
 * `ECONNABORTED` is an ambiguous timeout, `ERR_CANCELED` an ambiguous abort, and undici's
 * `UND_ERR_SOCKET` (the connection closed before the answer was complete) becomes `ECONNRESET`,
 * as Node's "socket hang up" was. Socket errors (`ECONNREFUSED`, `ECONNRESET`, …) pass through.
 */
export const TWILIO_TIMEOUT_CODE = 'ECONNABORTED';
/** See {@link TWILIO_TIMEOUT_CODE}. */
export const TWILIO_ABORT_CODE = 'ERR_CANCELED';
/** See {@link TWILIO_TIMEOUT_CODE}. */
export const TWILIO_RESET_CODE = 'ECONNRESET';

/** A failure of this client's own making (deadline, abort, closed socket), carrying a Node-style `code`. */
export class TwilioTransportError extends Error {
  readonly code: string;

  constructor(message: string, code: string, name: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = name;
    this.code = code;
  }
}

const FORM = 'application/x-www-form-urlencoded';
const JSON_TYPE = 'application/json';
/** The SDK's https.Agent limit (`maxSockets`), per Twilio host. */
const SDK_MAX_SOCKETS_PER_HOST = 20;

/** A base URL parsed once: its origin and path prefix. */
interface BaseTarget {
  origin: string;
  /** Path prefix without a trailing slash ('' for none). */
  prefix: string;
  dispatcher: Dispatcher;
}

/**
 * `twilio.RequestClient` with `autoRetry` forced off — a 429 must reach our router at once so it
 * fails over instead of waiting up to 3 × 3 s inside the SDK (DESIGN §5) — an optional base URL,
 * and undici in place of axios (see the file comment).
 *
 * It still extends `RequestClient` because the SDK's `httpClient` option is typed as that class,
 * which has private members, so only a subclass fits; the axios instance its constructor builds
 * stays unused. What the SDK configured on that axios instance is carried over to undici: keep-alive,
 * 20 sockets per Twilio host, the `TWILIO_CA_BUNDLE` CA file, and `HTTP_PROXY` for https requests
 * (plain-http targets, i.e. the sandbox, are never proxied, as axios had `proxy: false`).
 */
export class BaseUrlRequestClient extends RequestClient {
  readonly baseUrl: string | undefined;
  private readonly base: BaseTarget | undefined;
  /** Twilio's https hosts (through `HTTP_PROXY` when set). */
  private readonly httpsDispatcher: Dispatcher;
  /** Plain-http targets (the sandbox): unlimited keep-alive sockets, as Node's global agent had. */
  private readonly httpDispatcher: Dispatcher;
  /** `username:password` → base64, memoised: the SDK passes the same credentials every call. */
  private basicFor = '';
  private basicAuth = '';

  constructor(opts: BaseUrlRequestClientOptions) {
    super({ timeout: opts.timeoutMs, autoRetry: false, keepAlive: true });
    this.baseUrl = opts.baseUrl === undefined ? undefined : opts.baseUrl.replace(/\/+$/, '');
    const connect = { timeout: opts.timeoutMs };
    const caFile = process.env.TWILIO_CA_BUNDLE;
    const tls = caFile === undefined ? connect : { ...connect, ca: readFileSync(caFile) };
    const proxy = process.env.HTTP_PROXY;
    this.httpsDispatcher =
      proxy === undefined || proxy === ''
        ? new Agent({ connections: SDK_MAX_SOCKETS_PER_HOST, connect: tls })
        : new ProxyAgent({ uri: proxy, connections: SDK_MAX_SOCKETS_PER_HOST, requestTls: tls, proxyTls: connect });
    this.httpDispatcher = new Agent({ connect });
    if (this.baseUrl === undefined) {
      this.base = undefined;
    } else {
      const u = new URL(this.baseUrl);
      this.base = { origin: u.origin, prefix: u.pathname === '/' ? '' : u.pathname, dispatcher: this.dispatcherFor(u.protocol) };
    }
  }

  private dispatcherFor(protocol: string): Dispatcher {
    return protocol === 'http:' ? this.httpDispatcher : this.httpsDispatcher;
  }

  /**
   * Sends one SDK request and resolves with every HTTP answer (1xx–5xx), as the SDK's client does;
   * rejects only when no answer came back (socket error, deadline, abort).
   */
  override request<TData>(opts: RequestClient.RequestOptions<TData>): Promise<TwilioResponse.default<TData>> {
    if (!opts.method) return Promise.reject(new Error('http method is required'));
    if (!opts.uri) return Promise.reject(new Error('uri is required'));
    const headers: TwilioHeaders = { ...opts.headers };
    if (headers.Connection === undefined && headers.connection === undefined) headers.Connection = this.keepAlive ? 'keep-alive' : 'close';
    // axios' default, which the SDK relied on for DELETE (it sets `Accept` on every other method).
    // Unlike axios we send no `Accept-Encoding`: Twilio's bodies are ~1 KB, not worth inflating.
    if (headers.Accept === undefined && headers.accept === undefined) headers.Accept = 'application/json, text/plain, */*';
    if (opts.username && opts.password) {
      const credentials = opts.username + ':' + opts.password;
      if (credentials !== this.basicFor) {
        this.basicFor = credentials;
        this.basicAuth = Buffer.from(credentials).toString('base64');
      }
      headers.Authorization = 'Basic ' + this.basicAuth;
      return this.send(opts, headers, this.basicAuth);
    }
    if (opts.authStrategy) {
      return opts.authStrategy.getAuthString().then((auth) => {
        headers.Authorization = auth;
        return this.send(opts, headers, undefined);
      });
    }
    return this.send(opts, headers, undefined);
  }

  private send<TData>(
    opts: RequestClient.RequestOptions<TData>,
    headers: TwilioHeaders,
    auth: string | undefined,
  ): Promise<TwilioResponse.default<TData>> {
    const ctx = callContext.getStore();
    const signal = ctx?.signal;
    const timeoutMs = opts.timeout || this.defaultTimeout;

    const uri = new URL(opts.uri);
    const base = this.base;
    const origin = base === undefined ? uri.origin : base.origin;
    const dispatcher = base === undefined ? this.dispatcherFor(uri.protocol) : base.dispatcher;
    let path = (base === undefined ? '' : base.prefix) + uri.pathname + uri.search;
    if (opts.params) {
      const query = encodeForm(opts.params);
      if (query !== '') path += (uri.search === '' ? '?' : '&') + query;
    }

    let body: string | undefined;
    if (opts.data) {
      const contentType = headers['Content-Type'];
      if (contentType === FORM) body = encodeForm(opts.data);
      else if (contentType === JSON_TYPE) body = typeof opts.data === 'string' ? opts.data : JSON.stringify(opts.data);
    }

    this.lastResponse = undefined;
    this.lastRequest = new SdkRequest<TData>({
      method: opts.method,
      url: origin + path,
      ...(auth === undefined ? {} : { auth }),
      ...(opts.params === undefined ? {} : { params: opts.params }),
      ...(opts.data === undefined ? {} : { data: opts.data }),
      headers,
    });

    return new Promise<TwilioResponse.default<TData>>((resolve, reject) => {
      if (signal?.aborted === true) {
        reject(abortError(signal));
        return;
      }
      let settled = false;
      let controller: Dispatcher.DispatchController | undefined;
      let statusCode = 0;
      let responseHeaders: IncomingHttpHeaders = {};
      const chunks: Buffer[] = [];

      const finish = (): boolean => {
        if (settled) return false;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        return true;
      };
      const fail = (err: Error): void => {
        if (!finish()) return;
        // Before `onRequestStart` the request is still queued; it is dropped there instead.
        controller?.abort(err);
        reject(err);
      };
      const onAbort = (): void => {
        if (signal !== undefined) fail(abortError(signal));
      };

      const handler: Dispatcher.DispatchHandler = {
        onRequestStart: (c) => {
          controller = c;
          // Given up while waiting for a socket: nothing is written.
          if (settled) c.abort(new TwilioTransportError('request dropped after its deadline or abort', TWILIO_ABORT_CODE, 'AbortError'));
        },
        onResponseStart: (_c, status, responseHeadersIn) => {
          statusCode = status;
          responseHeaders = responseHeadersIn;
        },
        onResponseData: (_c, chunk) => {
          chunks.push(chunk);
        },
        onResponseEnd: () => {
          if (!finish()) return;
          const text = chunks.length === 1 ? (chunks[0] as Buffer).toString('utf8') : Buffer.concat(chunks).toString('utf8');
          const response = new SdkResponse<TData>(statusCode, parseBody(text) as TData, responseHeaders);
          this.lastResponse = response;
          if (ctx !== undefined) {
            ctx.httpStatus = statusCode;
            const retryAfter = responseHeaders['retry-after'];
            ctx.retryAfter = typeof retryAfter === 'string' ? retryAfter : undefined;
          }
          resolve(response);
        },
        onResponseError: (_c, err) => fail(transportError(err)),
      };

      // One deadline for the whole exchange (queue, connect, write, wait, read), not axios' socket
      // idle timeout: a server trickling bytes cannot hold a send past the adapter's budget. undici's
      // own header/body timers are off, the deadline covers them.
      const timer = setTimeout(
        () => fail(new TwilioTransportError(`timeout of ${timeoutMs}ms exceeded`, TWILIO_TIMEOUT_CODE, 'TimeoutError')),
        timeoutMs,
      );
      signal?.addEventListener('abort', onAbort, { once: true });
      dispatcher.dispatch(
        { origin, path, method: opts.method.toUpperCase(), headers, body: body ?? null, headersTimeout: 0, bodyTimeout: 0 },
        handler,
      );
    });
  }
}

function abortError(signal: AbortSignal): TwilioTransportError {
  return new TwilioTransportError('canceled', TWILIO_ABORT_CODE, 'AbortError', signal.reason);
}

/** undici's errors in the vocabulary of the SDK's former transport (see {@link TWILIO_TIMEOUT_CODE}). */
function transportError(err: Error): Error {
  const code = (err as { code?: unknown }).code;
  if (code === 'UND_ERR_SOCKET') return new TwilioTransportError(err.message, TWILIO_RESET_CODE, 'SocketError', err);
  if (code === 'UND_ERR_CONNECT_TIMEOUT') return new TwilioTransportError(err.message, TWILIO_TIMEOUT_CODE, 'TimeoutError', err);
  return err;
}

/**
 * Parses the body as axios did for the SDK (JSON when it parses, the text otherwise, `''` when
 * empty), so what `Version` and `RestException` receive is unchanged. Their own `JSON.parse` of
 * string bodies then never runs twice.
 */
function parseBody(text: string): unknown {
  if (text === '') return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/**
 * Serialises SDK data or params the way the SDK's client does with `qs.stringify(value,
 * {arrayFormat: 'repeat'})`: keys in insertion order, `undefined` skipped, `null` as an empty
 * value, arrays as repeated keys (`StatusCallbackEvent=initiated&StatusCallbackEvent=answered`),
 * nested objects as `key[sub]`, dates as ISO strings, RFC 3986 percent-encoding (space is `%20`).
 * Only a lone UTF-16 surrogate differs: it becomes U+FFFD instead of qs' invalid byte sequence.
 */
export function encodeForm(value: unknown): string {
  if (typeof value !== 'object' || value === null) return '';
  const parts: string[] = [];
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) appendPair(parts, key, record[key]);
  return parts.join('&');
}

function appendPair(parts: string[], key: string, value: unknown): void {
  switch (typeof value) {
    case 'string':
      parts.push(encodeComponent(key) + '=' + encodeComponent(value));
      return;
    case 'number':
    case 'boolean':
    case 'bigint':
      parts.push(encodeComponent(key) + '=' + encodeComponent(String(value)));
      return;
    case 'object':
      if (value === null) {
        parts.push(encodeComponent(key) + '=');
      } else if (value instanceof Date) {
        parts.push(encodeComponent(key) + '=' + encodeComponent(value.toISOString()));
      } else if (Array.isArray(value)) {
        for (const item of value as unknown[]) appendPair(parts, key, item);
      } else {
        const record = value as Record<string, unknown>;
        for (const sub of Object.keys(record)) appendPair(parts, `${key}[${sub}]`, record[sub]);
      }
      return;
    default:
      // undefined (qs skips it too); functions and symbols never occur in SDK data.
      return;
  }
}

/** Characters RFC 3986 leaves unescaped: most keys (`To`, `Body`) and many values need no work. */
const UNRESERVED_ONLY = /^[A-Za-z0-9\-_.~]*$/;
const RFC3986_EXTRA = /[!'()*]/;
const RFC3986_EXTRA_ALL = /[!'()*]/g;

/** `encodeURIComponent` plus the five characters RFC 3986 reserves and it leaves alone, as qs does. */
function encodeComponent(s: string): string {
  if (UNRESERVED_ONLY.test(s)) return s;
  let encoded: string;
  try {
    encoded = encodeURIComponent(s);
  } catch {
    // A lone surrogate (URIError): encode U+FFFD in its place.
    encoded = encodeURIComponent(s.toWellFormed());
  }
  return RFC3986_EXTRA.test(encoded)
    ? encoded.replace(RFC3986_EXTRA_ALL, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())
    : encoded;
}

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
 * - an `AbortSignal` (worker shutdown, job timeout), which the SDK cannot pass to axios.
 * Both travel through an `AsyncLocalStorage` scope opened by {@link runTwilioCall}.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
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
 * `twilio.RequestClient` with `autoRetry` forced off — a 429 must reach our router at once so it
 * fails over instead of waiting up to 3 × 3 s inside the SDK (DESIGN §5) — and an optional base URL.
 */
export class BaseUrlRequestClient extends RequestClient {
  readonly baseUrl: string | undefined;

  constructor(opts: BaseUrlRequestClientOptions) {
    super({ timeout: opts.timeoutMs, autoRetry: false, keepAlive: true });
    this.baseUrl = opts.baseUrl === undefined ? undefined : opts.baseUrl.replace(/\/+$/, '');
    // Axios reads `signal` from its config; the SDK never sets one, so inject the call's signal.
    this.axios.interceptors.request.use((config) => {
      const signal = callContext.getStore()?.signal;
      if (signal !== undefined) config.signal = signal;
      return config;
    });
  }

  override async request<TData>(opts: RequestClient.RequestOptions<TData>): Promise<TwilioResponse.default<TData>> {
    let uri = opts.uri;
    if (this.baseUrl !== undefined) {
      const u = new URL(opts.uri);
      uri = this.baseUrl + u.pathname + u.search;
    }
    const response = await super.request<TData>({ ...opts, uri });
    const ctx = callContext.getStore();
    if (ctx !== undefined) {
      ctx.httpStatus = response.statusCode;
      ctx.retryAfter = headerValue(response.headers, 'retry-after');
    }
    return response;
  }
}

/** Reads a header from axios' headers object (plain object or AxiosHeaders), case-insensitively. */
function headerValue(headers: unknown, name: string): string | undefined {
  if (typeof headers !== 'object' || headers === null) return undefined;
  const record = headers as Record<string, unknown>;
  const value = record[name] ?? record[name.toLowerCase()];
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  return undefined;
}

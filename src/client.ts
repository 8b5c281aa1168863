/**
 * `SwitchboardClient`: a small typed Node client for upstream services (DESIGN §3). It speaks the
 * HTTP API, so every send goes through the same admission (auth, idempotency, rate limits, key
 * policy) as a raw HTTP call: there is no second, weaker way in.
 *
 * Self-contained on purpose (no imports from the gateway): it is published as compiled JS +
 * `.d.ts` and must not drag the server's dependencies into an upstream service.
 *
 * Retries are safe only where a repeat cannot change the outcome: a `send` with an idempotency key
 * and `get`. A `verify` is never retried, because a repeated wrong code would count twice.
 */

/** Delivery channels, in the order a message may try them (CONTRACTS §1). */
export type Channel = 'push' | 'whatsapp' | 'rcs' | 'sms' | 'voice';

/** `POST /v1/messages` body (CONTRACTS §3). */
export interface SendRequest {
  /** E.164, or national with `country`. */
  to: string;
  country?: string;
  channels?: Channel[];
  /** ≤ 1,600 chars; must hold `{{code}}` when `otp` is given, and only then. */
  body?: string;
  /** A named template (`GET /v1/templates`); one holding `{{code}}` implies `otp`. */
  template?: string;
  /** BCP 47; exact, then its language; the template's default when unset. */
  locale?: string;
  /** Every var the template names, and no other. */
  vars?: Record<string, string | number>;
  otp?: { length?: number; ttlSeconds?: number };
  purpose?: 'otp' | 'transactional';
  push?: { token?: string; enabled?: boolean; ackTimeoutMs?: number };
  userId?: string;
  callbackUrl?: string;
  metadata?: Record<string, unknown>;
  expiresAt?: string;
}

/** `202` answer of a send: the message id to verify and read later. */
export interface SendResult {
  id: string;
  status: 'accepted';
  /** True when the gateway answered from the idempotency key (nothing new was sent). */
  replayed: boolean;
}

/** One channel/provider try of a message (CONTRACTS §2). */
export interface AttemptView {
  n: number;
  channel: Channel;
  provider: string;
  providerMessageId?: string;
  status: string;
  error?: { code: string; message: string; providerCode?: string };
  startedAt: string;
  sentAt?: string;
  deliveredAt?: string;
  cost?: { amount: number; currency: string };
}

/** `GET /v1/messages/:id` (CONTRACTS §3); the number is masked, the code is never present. */
export interface MessageView {
  id: string;
  status: 'accepted' | 'queued' | 'sent' | 'delivered' | 'undelivered' | 'failed' | 'expired';
  channel: Channel | null;
  provider: string | null;
  to: string;
  createdAt: string;
  updatedAt: string;
  expiresAt: string | null;
  verifiedAt?: string;
  error?: { code: string; message: string; providerCode?: string };
  cost: { amount: number; currency: string };
  attempts: AttemptView[];
  routing?: { provider: string; reason: string; candidates: Array<Record<string, unknown>> };
  timeline: Array<{ at: string; type: string; channel?: string; provider?: string; detail?: string }>;
  metadata: Record<string, unknown>;
}

/** `200` answers of verify; refusals (locked, expired, …) throw `SwitchboardError`. */
export type VerifyResult = { valid: true } | { valid: false; attemptsLeft: number };

/**
 * A refusal from the gateway (`{"error":{code,message,details}}`, `SB_*` codes), or a failure on
 * this side with `status` 0: `CLIENT_TIMEOUT`, `CLIENT_NETWORK` (never `SB_*`, which only the
 * gateway assigns). An answer without an error body gets `HTTP_<status>`.
 */
export class SwitchboardError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;
  /** Seconds from `Retry-After` (429 rate limits, 409 in flight, 503). */
  readonly retryAfterSeconds: number | undefined;

  constructor(status: number, code: string, message: string, details?: unknown, retryAfterSeconds?: number) {
    super(message);
    this.name = 'SwitchboardError';
    this.status = status;
    this.code = code;
    this.details = details;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** Where the gateway is and how patient to be with it. */
export interface SwitchboardClientOptions {
  /** The API's base URL, e.g. `https://switchboard.internal`. */
  baseUrl: string;
  apiKey: string;
  /** Per request; default 10 s. */
  timeoutMs?: number;
  /** Extra tries of retry-safe calls on 503, 409 in flight or a network error; default 2. */
  retries?: number;
  /** Longest wait honoured from `Retry-After` between tries; default 5 s. */
  maxRetryDelayMs?: number;
  fetch?: typeof fetch;
}

interface CallResult {
  status: number;
  headers: Headers;
  body: unknown;
}

const RETRYABLE_CODES = new Set(['SB_UNAVAILABLE', 'SB_IDEMPOTENCY_IN_FLIGHT', 'CLIENT_NETWORK']);

/** One client per API key; safe to share across requests (it holds no per-request state). */
export class SwitchboardClient {
  private readonly baseUrl: string;
  private readonly apiKey: string;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly maxRetryDelayMs: number;
  private readonly fetchFn: typeof fetch;

  constructor(opts: SwitchboardClientOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.apiKey = opts.apiKey;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.retries = opts.retries ?? 2;
    this.maxRetryDelayMs = opts.maxRetryDelayMs ?? 5_000;
    this.fetchFn = opts.fetch ?? fetch;
  }

  /**
   * Asks the gateway to send a message. With an `idempotencyKey` (recommended: one per login
   * attempt) a retry can never send twice, so transient failures are retried.
   */
  async send(body: SendRequest, opts: { idempotencyKey?: string } = {}): Promise<SendResult> {
    const headers: Record<string, string> = opts.idempotencyKey !== undefined ? { 'idempotency-key': opts.idempotencyKey } : {};
    const res = await this.call('POST', '/v1/messages', body, headers, opts.idempotencyKey !== undefined);
    const answer = res.body as { id: string; status: 'accepted' };
    return { id: answer.id, status: answer.status, replayed: res.headers.get('idempotent-replayed') === 'true' };
  }

  /** The message's status, attempts and timeline. */
  async get(id: string): Promise<MessageView> {
    return (await this.call('GET', `/v1/messages/${encodeURIComponent(id)}`, undefined, {}, true)).body as MessageView;
  }

  /**
   * Checks the code the user typed. `{valid:false, attemptsLeft}` for a wrong code; throws
   * `SwitchboardError` with `SB_OTP_LOCKED`, `SB_OTP_EXPIRED` or `SB_OTP_ALREADY_VERIFIED`.
   */
  async verify(id: string, code: string): Promise<VerifyResult> {
    return (await this.call('POST', `/v1/messages/${encodeURIComponent(id)}/verify`, { code }, {}, false)).body as VerifyResult;
  }

  /** Reports whether a login with a code the upstream made itself succeeded (feeds the pumping guard). */
  async conversion(id: string, verified: boolean): Promise<void> {
    // The same report twice changes nothing, so it is safe to retry.
    await this.call('POST', `/v1/messages/${encodeURIComponent(id)}/conversion`, { verified }, {}, true);
  }

  private async call(
    method: string,
    path: string,
    json: unknown,
    headers: Record<string, string>,
    retrySafe: boolean,
  ): Promise<CallResult> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.once(method, path, json, headers);
      } catch (err) {
        if (!(err instanceof SwitchboardError) || !retrySafe || attempt >= this.retries || !RETRYABLE_CODES.has(err.code)) throw err;
        const waitMs = Math.min(
          this.maxRetryDelayMs,
          err.retryAfterSeconds !== undefined ? err.retryAfterSeconds * 1000 : 200 * 2 ** attempt,
        );
        await new Promise((resolve) => setTimeout(resolve, waitMs));
      }
    }
  }

  private async once(method: string, path: string, json: unknown, extra: Record<string, string>): Promise<CallResult> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.apiKey}`, accept: 'application/json', ...extra };
    if (json !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await this.fetchFn(`${this.baseUrl}${path}`, {
        method,
        headers,
        ...(json !== undefined ? { body: JSON.stringify(json) } : {}),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
      throw new SwitchboardError(
        0,
        timedOut ? 'CLIENT_TIMEOUT' : 'CLIENT_NETWORK',
        `${method} ${path}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    const text = await res.text();
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (res.ok) return { status: res.status, headers: res.headers, body };
    const error = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error;
    const retryAfter = Number(res.headers.get('retry-after') ?? Number.NaN);
    throw new SwitchboardError(
      res.status,
      typeof error?.code === 'string' ? error.code : `HTTP_${res.status}`,
      typeof error?.message === 'string' ? error.message : `${method} ${path} answered ${res.status}`,
      error?.details,
      Number.isFinite(retryAfter) ? retryAfter : undefined,
    );
  }
}

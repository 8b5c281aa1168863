/**
 * The one error an adapter may reject with. Its fields tell the send stage what to do next
 * without knowing anything about the carrier (DESIGN §5):
 *
 * | kind / scope             | next step                                             | breaker |
 * |--------------------------|-------------------------------------------------------|---------|
 * | permanent / recipient    | the message fails; no other provider or channel        | no      |
 * | permanent / channel      | next channel                                           | no      |
 * | permanent / provider     | next provider, ops alarm                               | no      |
 * | retryable                | next provider                                          | yes     |
 * | auth                     | next provider                                          | yes     |
 * | rate_limited             | next provider (honour `retryAfterMs` for this one)     | no      |
 */
export type ProviderErrorKind = 'permanent' | 'retryable' | 'rate_limited' | 'auth';

/** Who the permanent refusal is about; only meaningful for `permanent`. */
export type ProviderErrorScope = 'recipient' | 'channel' | 'provider';

export interface ProviderErrorInit {
  kind: ProviderErrorKind;
  scope?: ProviderErrorScope;
  /** The request may have reached the carrier (timeout or reset after the body was written). */
  ambiguous?: boolean;
  retryAfterMs?: number;
  /** The carrier's own error code, as a string (Twilio `21211`, Sinch `syntax_invalid_parameter_format`). */
  providerCode?: string;
  /** HTTP status the carrier answered with, when there was one. */
  httpStatus?: number;
  provider: string;
  cause?: unknown;
}

const BRAND = Symbol.for('switchboard.ProviderError');

/**
 * A classified carrier failure. Branded (not just `instanceof`) so that two copies of this module
 * — e.g. a test importing through another path — still recognise each other's errors.
 */
export class ProviderError extends Error {
  readonly [BRAND] = true;
  readonly kind: ProviderErrorKind;
  readonly scope: ProviderErrorScope;
  readonly ambiguous: boolean;
  readonly retryAfterMs: number | undefined;
  readonly providerCode: string | undefined;
  readonly httpStatus: number | undefined;
  readonly provider: string;

  constructor(message: string, init: ProviderErrorInit) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'ProviderError';
    this.kind = init.kind;
    this.scope = init.scope ?? 'provider';
    this.ambiguous = init.ambiguous ?? false;
    this.retryAfterMs = init.retryAfterMs;
    this.providerCode = init.providerCode;
    this.httpStatus = init.httpStatus;
    this.provider = init.provider;
  }

  /** Whether this failure should count against the provider's circuit breaker. */
  get countsAgainstBreaker(): boolean {
    return this.kind === 'retryable' || this.kind === 'auth';
  }
}

/** Type guard that survives duplicated module instances (see the brand above). */
export function isProviderError(value: unknown): value is ProviderError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}

/** Parses an HTTP `Retry-After` header (seconds or HTTP date) into milliseconds. */
export function parseRetryAfterMs(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (value === null || value === undefined || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const at = Date.parse(value);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** Network error codes that mean the request may have been written before the failure. */
const AMBIGUOUS_NETWORK_CODES = new Set(['ECONNRESET', 'ETIMEDOUT', 'ECONNABORTED', 'EPIPE', 'ERR_SOCKET_CONNECTION_TIMEOUT']);
/** Network error codes that mean nothing left this machine. */
const SAFE_NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * Classifies a transport-level failure (no HTTP answer). A refused connection is safe to retry
 * anywhere; a reset or timeout after connecting may have reached the carrier, so it is ambiguous.
 */
export function classifyNetworkError(provider: string, err: unknown): ProviderError | undefined {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  if (typeof code !== 'string') return undefined;
  if (SAFE_NETWORK_CODES.has(code)) {
    return new ProviderError(`${provider}: ${code} (carrier unreachable); fail over`, {
      kind: 'retryable',
      provider,
      providerCode: code,
      cause: err,
    });
  }
  if (AMBIGUOUS_NETWORK_CODES.has(code)) {
    return new ProviderError(`${provider}: ${code} after the request was sent; outcome unknown, fail over`, {
      kind: 'retryable',
      provider,
      ambiguous: true,
      providerCode: code,
      cause: err,
    });
  }
  return undefined;
}

/**
 * Maps what our MessageBird client rejects with to Switchboard's error taxonomy (DESIGN §5,
 * reference §3.1):
 * - `MessageBirdApiError` — an HTTP error answer with MessageBird's `{"errors":[{code,description,parameter}]}`;
 * - `MessageBirdResponseError` — a 2xx we could not read: the message may exist, so ambiguous;
 * - fetch's own failures: `TypeError('fetch failed')` whose `cause` carries the socket error code
 *   (`ECONNREFUSED`, `UND_ERR_SOCKET`…), or an `AbortError`/`TimeoutError` from the signal.
 */
import { ProviderError, classifyNetworkError, isProviderError, parseRetryAfterMs } from '../errors.ts';
import type { ProviderErrorKind, ProviderErrorScope } from '../errors.ts';
import { MessageBirdApiError, MessageBirdResponseError } from './messagebird.client.ts';
import type { MessageBirdApiErrorEntry } from './messagebird.client.ts';

const PROVIDER = 'messagebird';

/**
 * MessageBird error codes (reference §3.1): 2 request not allowed / bad access key, 9 missing
 * params, 10 invalid params, 20 not found, 21 bad request, 25 not enough balance, 98 API not found,
 * 99 internal error. Codes 9 and 10 are the recipient's fault only when `parameter` is the
 * recipient; otherwise our request (originator, body…) is wrong.
 */
function ruleFor(entry: MessageBirdApiErrorEntry): { kind: ProviderErrorKind; scope?: ProviderErrorScope } | undefined {
  switch (entry.code) {
    case 2:
      return { kind: 'auth' };
    case 9:
    case 10:
      return { kind: 'permanent', scope: entry.parameter !== null && /^recipients?$/i.test(entry.parameter) ? 'recipient' : 'provider' };
    case 25:
      return { kind: 'permanent', scope: 'provider' };
    case 20:
    case 21:
    case 98:
      return { kind: 'permanent', scope: 'provider' };
    case 99:
      return { kind: 'retryable' };
    default:
      return undefined;
  }
}

function classifyApiError(err: MessageBirdApiError): ProviderError {
  const first = err.errors[0];
  const providerCode = first === undefined ? undefined : String(first.code);
  const message = `messagebird: ${err.message.replace(/^api error\(s\): /, '')} (HTTP ${err.status})`;
  const base = { provider: PROVIDER, providerCode, httpStatus: err.status, cause: err };

  if (err.status === 429)
    return new ProviderError(message, { ...base, kind: 'rate_limited', retryAfterMs: parseRetryAfterMs(err.retryAfter) });
  if (err.status === 401 || err.status === 403) return new ProviderError(message, { ...base, kind: 'auth' });
  if (err.status >= 500) return new ProviderError(message, { ...base, kind: 'retryable' });
  if (err.status === 408) return new ProviderError(message, { ...base, kind: 'retryable', ambiguous: true });
  const rule = first === undefined ? undefined : ruleFor(first);
  if (rule !== undefined) return new ProviderError(message, { ...base, kind: rule.kind, scope: rule.scope ?? 'provider' });
  // Any other 4xx: this integration cannot do it; another provider may.
  return new ProviderError(message, { ...base, kind: 'permanent', scope: 'provider' });
}

/** undici error codes: a connect timeout means nothing was sent; the others may follow a written request. */
const UNDICI_SAFE = new Set(['UND_ERR_CONNECT_TIMEOUT']);
const UNDICI_AMBIGUOUS = new Set([
  'UND_ERR_SOCKET',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
  'UND_ERR_ABORTED',
]);

function codeOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const code = (value as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Classifies anything our MessageBird client rejected with. Never throws.
 *
 * - HTTP answers: 429 → `rate_limited` (`retryAfterMs` from `Retry-After`), 401/403 → `auth`,
 *   5xx → `retryable`, 408 → `retryable` + `ambiguous`; other 4xx by error code: 9/10 on the
 *   recipient → `permanent`/`recipient`, 2 → `auth`, 25 (balance) and other request errors →
 *   `permanent`/`provider`.
 * - No answer: refused/unresolvable → `retryable`; reset/timeout/abort → `retryable` + `ambiguous`.
 */
export function classifyMessageBirdError(err: unknown): ProviderError {
  if (isProviderError(err)) return err;
  if (err instanceof MessageBirdApiError) return classifyApiError(err);
  if (err instanceof MessageBirdResponseError) {
    return new ProviderError(err.message, { kind: 'retryable', ambiguous: true, provider: PROVIDER, httpStatus: err.status, cause: err });
  }

  const name = typeof err === 'object' && err !== null ? (err as { name?: unknown }).name : undefined;
  if (name === 'AbortError' || name === 'TimeoutError') {
    return new ProviderError('messagebird: request timed out or was aborted; it may have reached MessageBird', {
      kind: 'retryable',
      ambiguous: true,
      provider: PROVIDER,
      cause: err,
    });
  }
  // fetch wraps the socket error: TypeError('fetch failed', { cause }), the cause possibly an AggregateError.
  const cause = typeof err === 'object' && err !== null ? (err as { cause?: unknown }).cause : undefined;
  const code = codeOf(err) ?? codeOf(cause) ?? (cause instanceof AggregateError ? codeOf(cause.errors[0]) : undefined);
  if (code !== undefined && UNDICI_SAFE.has(code)) {
    return new ProviderError(`messagebird: ${code} (carrier unreachable); fail over`, {
      kind: 'retryable',
      provider: PROVIDER,
      providerCode: code,
      cause: err,
    });
  }
  if (code !== undefined && UNDICI_AMBIGUOUS.has(code)) {
    return new ProviderError(`messagebird: ${code} after the request was sent; outcome unknown, fail over`, {
      kind: 'retryable',
      ambiguous: true,
      provider: PROVIDER,
      providerCode: code,
      cause: err,
    });
  }
  const network = classifyNetworkError(PROVIDER, { code });
  if (network !== undefined) {
    return new ProviderError(network.message, {
      kind: 'retryable',
      ambiguous: network.ambiguous,
      provider: PROVIDER,
      providerCode: code,
      cause: err,
    });
  }
  const detail = err instanceof Error ? err.message : String(err);
  return new ProviderError(`messagebird: unexpected failure: ${detail}`, {
    kind: 'retryable',
    // We cannot tell whether the request left this machine, so assume it did.
    ambiguous: true,
    provider: PROVIDER,
    providerCode: code,
    cause: err,
  });
}

/**
 * Status-report failures that are usually transient, so an `undelivered` attempt deserves one retry
 * on the next provider of the same channel (DESIGN §6): GSM/MAP `statusErrorCode` 27 (absent
 * subscriber, like Twilio's 30003) and 34 (system failure), and the matching `statusReason`s
 * (reference §3.2).
 */
export function messagebirdDlrErrorTransient(statusErrorCode: string | number | undefined, statusReason?: string): boolean {
  const code = statusErrorCode === undefined || statusErrorCode === '' ? Number.NaN : Number(statusErrorCode);
  if (code === 27 || code === 34) return true;
  const reason = statusReason?.toLowerCase();
  return reason === 'unavailable subscriber' || reason === 'received network error' || reason === 'capacity limit reached';
}

/**
 * Maps what the Twilio SDK throws to Switchboard's error taxonomy (DESIGN §5, reference §1.2).
 *
 * The SDK throws `RestException` (`status`, `code`, `message`, `moreInfo`) for legacy error bodies,
 * `TwilioServiceException` (`status`, `code`, `title`, `detail`) for RFC 9457 bodies, and our
 * request client's transport errors (string `code`: socket codes such as `ECONNREFUSED`, or the
 * axios-era `ECONNABORTED` timeout and `ERR_CANCELED` abort) when no HTTP answer came back.
 * Anything else is classified conservatively: retryable and ambiguous, because we cannot prove the carrier never saw it.
 */
import { ProviderError, classifyNetworkError, isProviderError, parseRetryAfterMs } from '../errors.ts';
import type { ProviderErrorKind, ProviderErrorScope } from '../errors.ts';

const PROVIDER = 'twilio';

interface CodeRule {
  kind: ProviderErrorKind;
  scope?: ProviderErrorScope;
  why: string;
}

/**
 * Twilio codes whose meaning does not follow from the HTTP status alone.
 * https://www.twilio.com/docs/api/errors
 */
const CODE_RULES: ReadonlyMap<number, CodeRule> = new Map<number, CodeRule>([
  // The recipient itself is the problem: no other provider or channel will help.
  [21211, { kind: 'permanent', scope: 'recipient', why: "invalid 'To' number" }],
  [21610, { kind: 'permanent', scope: 'recipient', why: 'recipient replied STOP (opted out); permanent until START' }],
  // The number cannot take SMS: try the next channel (voice), not another SMS carrier.
  [21614, { kind: 'permanent', scope: 'channel', why: "'To' is not a mobile number" }],
  [21635, { kind: 'permanent', scope: 'channel', why: "'To' is a landline" }],
  [21407, { kind: 'permanent', scope: 'channel', why: 'number type does not support SMS' }],
  [63106, { kind: 'permanent', scope: 'channel', why: 'recipient is not RCS-capable' }],
  // WhatsApp (twilio.whatsapp.ts): the number has no WhatsApp account — the next channel (SMS).
  [63024, { kind: 'permanent', scope: 'channel', why: 'recipient is not a valid WhatsApp user' }],
  [63003, { kind: 'permanent', scope: 'channel', why: "WhatsApp could not find the 'To' address" }],
  // WhatsApp sender or template problems of this account: another WhatsApp provider may send it.
  [63007, { kind: 'permanent', scope: 'provider', why: "no WhatsApp sender with this 'From' on the account" }],
  [21655, { kind: 'permanent', scope: 'provider', why: 'the WhatsApp content template (ContentSid) is invalid' }],
  [21656, { kind: 'permanent', scope: 'provider', why: 'ContentVariables do not fit the WhatsApp template' }],
  // 21612 ("not currently reachable via SMS") is mostly a routing limit of this account and sender
  // (carrier or country not supported from this From); landlines are caught earlier by lookup and
  // by 21614/21635. Another SMS provider may well reach the number, so: next provider.
  [21612, { kind: 'permanent', scope: 'provider', why: "'To' is not reachable via SMS from this Twilio sender" }],
  // Account / sender / registration problems: next provider, ops alarm, no breaker count.
  [21408, { kind: 'permanent', scope: 'provider', why: 'geo permission for this region is off' }],
  [21606, { kind: 'permanent', scope: 'provider', why: "'From' is not an SMS-capable number of this account" }],
  [21608, { kind: 'permanent', scope: 'provider', why: 'trial account cannot send to unverified numbers' }],
  [30034, { kind: 'permanent', scope: 'provider', why: 'US A2P 10DLC: sender not registered' }],
  [30002, { kind: 'permanent', scope: 'provider', why: 'account suspended' }],
  // Credentials.
  [20003, { kind: 'auth', why: 'authentication failed' }],
  [20005, { kind: 'auth', why: 'account not active' }],
  // Voice calls (https://www.twilio.com/docs/api/errors): the test-credential magic numbers of
  // Calls.json answer with these instead of the SMS codes.
  [21217, { kind: 'permanent', scope: 'recipient', why: 'the called number is not a valid phone number' }],
  [21214, { kind: 'permanent', scope: 'provider', why: "'To' cannot be routed by this Twilio account" }],
  [21215, { kind: 'permanent', scope: 'provider', why: 'geo permission for calling this number is off' }],
  [21216, { kind: 'permanent', scope: 'provider', why: 'this number is blocked for calls from this account' }],
  [21210, { kind: 'permanent', scope: 'provider', why: "caller ID 'From' is not verified for this account" }],
  // Throttling.
  [20429, { kind: 'rate_limited', why: 'too many requests' }],
]);

/** Extra facts about a failed call that the SDK's exception drops (see `runTwilioCall`). */
export interface TwilioErrorHints {
  /** The response's `Retry-After` header. */
  retryAfter?: string;
}

interface HttpFailure {
  status: number;
  code: number | undefined;
  message: string;
  headers: unknown;
}

/** Recognises RestException / TwilioServiceException (or look-alikes) without depending on their classes. */
function asHttpFailure(err: unknown): HttpFailure | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { status?: unknown; code?: unknown; message?: unknown; detail?: unknown; headers?: unknown };
  if (typeof e.status !== 'number' || !Number.isInteger(e.status) || e.status < 100) return undefined;
  // Transport errors carry a string `code` (ECONNRESET…); Twilio's are numeric.
  if (e.code !== undefined && e.code !== null && typeof e.code !== 'number') return undefined;
  const code = typeof e.code === 'number' ? e.code : undefined;
  const message =
    typeof e.message === 'string' && e.message !== '' ? e.message : typeof e.detail === 'string' ? e.detail : `HTTP ${e.status}`;
  return { status: e.status, code, message, headers: e.headers };
}

function retryAfterFrom(headers: unknown): string | undefined {
  if (typeof headers !== 'object' || headers === null) return undefined;
  const value = (headers as Record<string, unknown>)['retry-after'] ?? (headers as Record<string, unknown>)['Retry-After'];
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : undefined;
}

function classifyHttpFailure(f: HttpFailure, err: unknown, hints: TwilioErrorHints | undefined): ProviderError {
  const rule = f.code === undefined ? undefined : CODE_RULES.get(f.code);
  const providerCode = f.code === undefined ? undefined : String(f.code);
  const message = `twilio: ${f.message} (HTTP ${f.status}${providerCode === undefined ? '' : `, code ${providerCode}`})`;
  const base = { provider: PROVIDER, providerCode, httpStatus: f.status, cause: err };

  if (f.status === 429 || rule?.kind === 'rate_limited') {
    const retryAfterMs = parseRetryAfterMs(hints?.retryAfter ?? retryAfterFrom(f.headers));
    return new ProviderError(message, { ...base, kind: 'rate_limited', retryAfterMs });
  }
  if (rule !== undefined) {
    return new ProviderError(message, { ...base, kind: rule.kind, scope: rule.scope ?? 'provider' });
  }
  if (f.status === 401 || f.status === 403) return new ProviderError(message, { ...base, kind: 'auth' });
  // 408: the request timed out on Twilio's side, so it may or may not have been processed.
  if (f.status === 408) return new ProviderError(message, { ...base, kind: 'retryable', ambiguous: true });
  if (f.status >= 500) return new ProviderError(message, { ...base, kind: 'retryable' });
  // Any other 4xx: this integration cannot do it (bad parameter, sender, account state) — another
  // provider may; nothing says the recipient is at fault.
  return new ProviderError(message, { ...base, kind: 'permanent', scope: 'provider' });
}

/**
 * Classifies anything the Twilio SDK (or our request client) rejected with. Never throws.
 *
 * - HTTP answers: by Twilio `code` first (table above), then by status: 401/403 → `auth`,
 *   429 → `rate_limited` (with `retryAfterMs` from `Retry-After` when known), 5xx → `retryable`,
 *   other 4xx → `permanent`/`provider`.
 * - No answer: refused/unresolvable → `retryable`; reset/timeout/abort → `retryable`, `ambiguous`.
 * - The carrier's message is kept in the error message; `providerCode` is `String(code)`.
 */
export function classifyTwilioError(err: unknown, hints?: TwilioErrorHints): ProviderError {
  if (isProviderError(err)) return err;
  const http = asHttpFailure(err);
  if (http !== undefined) return classifyHttpFailure(http, err, hints);

  const network = classifyNetworkError(PROVIDER, err);
  if (network !== undefined) return network;

  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  const name = typeof err === 'object' && err !== null ? (err as { name?: unknown }).name : undefined;
  if (code === 'ERR_CANCELED' || name === 'AbortError' || name === 'CanceledError') {
    return new ProviderError('twilio: request aborted; it may have reached Twilio', {
      kind: 'retryable',
      ambiguous: true,
      provider: PROVIDER,
      providerCode: typeof code === 'string' ? code : undefined,
      cause: err,
    });
  }
  const detail = err instanceof Error ? err.message : String(err);
  return new ProviderError(`twilio: unexpected failure: ${detail}`, {
    kind: 'retryable',
    // We cannot tell whether the request left this machine (e.g. a malformed 201 body), so assume it did.
    ambiguous: true,
    provider: PROVIDER,
    providerCode: typeof code === 'string' ? code : undefined,
    cause: err,
  });
}

/**
 * Asynchronous (status callback `ErrorCode`) codes that are usually transient, so an `undelivered`
 * attempt deserves one retry on the next provider of the same channel (DESIGN §6):
 * 30003 unreachable handset (reference §1.2/§1.8 "often transient", "retryable"),
 * 30001 Twilio queue overflow (Twilio-side), 30008 unknown error (Twilio advises resending).
 * Permanent ones (30004 blocked, 30005 unknown number, 30006 landline, 30007 filtered) are not.
 */
export function twilioDlrErrorTransient(code: string | number | undefined): boolean {
  if (code === undefined) return false;
  const n = typeof code === 'number' ? code : Number(code);
  return n === 30003 || n === 30001 || n === 30008;
}

/**
 * Maps what the Sinch SDK throws to Switchboard's error taxonomy (DESIGN §5, reference §2.1).
 *
 * `@sinch/sdk-client` throws:
 * - `RequestFailedError` for an HTTP error answer, with `statusCode`, `responseHeaders`
 *   (lower-cased) and `data` — the parsed body **re-serialised as a pretty-printed JSON string**,
 *   so `{"code":"syntax_invalid_parameter_format","text":"…"}` has to be parsed back;
 * - `ResponseJSONParseError` (a `RequestFailedError`) when the error body is not JSON (a proxy's
 *   HTML 502): `data` is then the JSON-encoded raw text;
 * - `EmptyResponseError` when no HTTP answer came back. It keeps only node-fetch's message
 *   (`request to … failed, reason: connect ECONNREFUSED …`, `network timeout at: …`,
 *   `The user aborted a request.`), not the error code, so the code is read back from the text.
 * Anything else is classified conservatively: retryable and ambiguous, because we cannot prove
 * the carrier never saw the request.
 */
import { ProviderError, classifyNetworkError, isProviderError, parseRetryAfterMs } from '../errors.ts';
import type { ProviderErrorKind, ProviderErrorScope } from '../errors.ts';

const PROVIDER = 'sinch';

interface CodeRule {
  kind: ProviderErrorKind;
  scope?: ProviderErrorScope;
  why: string;
}

/**
 * Sinch REST error codes (`{"code","text"}` bodies of 400 and 403 answers) whose meaning does not
 * follow from the HTTP status alone.
 * https://developers.sinch.com/docs/sms/api-reference/status-codes
 * `syntax_invalid_parameter_format` is handled separately: it is the recipient's fault only when
 * the parameter is the recipient (`to`); a malformed `from` or `callback_url` is ours.
 */
const CODE_RULES: ReadonlyMap<string, CodeRule> = new Map<string, CodeRule>([
  // The number type cannot take SMS in that region (landline and the like): try another channel.
  ['illegal_number_type', { kind: 'permanent', scope: 'channel', why: 'the recipient number type cannot receive SMS in this region' }],
  // Account / provisioning problems: next provider, ops alarm, no breaker count.
  ['unprovisioned_region', { kind: 'permanent', scope: 'provider', why: 'the account is not provisioned for this region' }],
  ['blocked_account', { kind: 'permanent', scope: 'provider', why: 'the Sinch account is blocked' }],
  ['missing_callback_url', { kind: 'permanent', scope: 'provider', why: 'no callback URL configured' }],
  // Our request is malformed: another provider may take it; nothing says the recipient is at fault.
  ['syntax_invalid_json', { kind: 'permanent', scope: 'provider', why: 'request JSON is invalid' }],
  ['syntax_constraint_violation', { kind: 'permanent', scope: 'provider', why: 'request violates an API constraint' }],
  ['missing_parameter', { kind: 'permanent', scope: 'provider', why: 'a required parameter is missing' }],
]);

/** Sinch's error body (reference §2.1). */
export interface SinchErrorBody {
  code: string;
  text: string;
}

interface HttpFailure {
  status: number;
  code: string | undefined;
  text: string | undefined;
  retryAfter: string | undefined;
}

/**
 * The Sinch SDK's `RequestFailedError.data` is the decoded body re-serialized as JSON (and a
 * non-JSON body arrives as JSON of a string): decode it back to an object, or undefined.
 */
export function decodeSinchErrorData(data: unknown): Record<string, unknown> | undefined {
  let value: unknown = data;
  for (let i = 0; i < 2 && typeof value === 'string'; i++) {
    try {
      value = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
}

/** Parses `RequestFailedError.data` (a JSON string of the decoded body) back into `{code, text}`. */
export function parseSinchErrorData(data: unknown): { code?: string; text?: string } {
  const record = decodeSinchErrorData(data);
  if (!record) return {};
  const out: { code?: string; text?: string } = {};
  if (typeof record['code'] === 'string' && record['code'] !== '') out.code = record['code'];
  if (typeof record['text'] === 'string' && record['text'] !== '') out.text = record['text'];
  return out;
}

/** Recognises `RequestFailedError` (or a look-alike) without depending on its class identity. */
function asHttpFailure(err: unknown): HttpFailure | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { statusCode?: unknown; data?: unknown; responseHeaders?: unknown };
  if (typeof e.statusCode !== 'number' || !Number.isInteger(e.statusCode) || e.statusCode < 100) return undefined;
  const body = parseSinchErrorData(e.data);
  let retryAfter: string | undefined;
  if (typeof e.responseHeaders === 'object' && e.responseHeaders !== null) {
    const value = (e.responseHeaders as Record<string, unknown>)['retry-after'];
    if (typeof value === 'string') retryAfter = value;
  }
  return { status: e.statusCode, code: body.code, text: body.text, retryAfter };
}

/** Whether a `syntax_invalid_parameter_format` text names the recipient (`to`, MSISDN) as the bad parameter. */
function namesRecipient(text: string | undefined): boolean {
  return text !== undefined && /\bto\b|msisdn|recipient/i.test(text);
}

function classifyHttpFailure(f: HttpFailure, err: unknown): ProviderError {
  const detail = f.text ?? 'no error text';
  const message = `sinch: ${detail} (HTTP ${f.status}${f.code === undefined ? '' : `, code ${f.code}`})`;
  const base = { provider: PROVIDER, providerCode: f.code, httpStatus: f.status, cause: err };

  if (f.status === 429) {
    return new ProviderError(message, { ...base, kind: 'rate_limited', retryAfterMs: parseRetryAfterMs(f.retryAfter) });
  }
  if (f.code === 'syntax_invalid_parameter_format') {
    return namesRecipient(f.text)
      ? new ProviderError(message, { ...base, kind: 'permanent', scope: 'recipient' })
      : new ProviderError(message, { ...base, kind: 'permanent', scope: 'provider' });
  }
  const rule = f.code === undefined ? undefined : CODE_RULES.get(f.code);
  if (rule !== undefined) return new ProviderError(message, { ...base, kind: rule.kind, scope: rule.scope ?? 'provider' });
  if (f.status === 401 || f.status === 403) return new ProviderError(message, { ...base, kind: 'auth' });
  // 408: the request timed out on Sinch's side, so it may or may not have been processed.
  if (f.status === 408) return new ProviderError(message, { ...base, kind: 'retryable', ambiguous: true });
  if (f.status >= 500) return new ProviderError(message, { ...base, kind: 'retryable' });
  // Any other 4xx: this integration cannot do it; another provider may.
  return new ProviderError(message, { ...base, kind: 'permanent', scope: 'provider' });
}

/** Error codes node-fetch and Node put in a transport failure's message. */
const NETWORK_CODE_IN_TEXT = /\b(E[A-Z][A-Z0-9_]{2,}|ERR_[A-Z0-9_]+|UND_ERR_[A-Z0-9_]+)\b/;

/**
 * Classifies anything the Sinch SDK (or our request plugin) rejected with. Never throws.
 *
 * - HTTP answers: by Sinch `code` first — `syntax_invalid_parameter_format` on `to` →
 *   `permanent`/`recipient`, `illegal_number_type` → `permanent`/`channel`,
 *   `unprovisioned_region`/`blocked_account`/request-shape codes → `permanent`/`provider` — then by
 *   status: 429 → `rate_limited` (`retryAfterMs` from `Retry-After`), 401/403 → `auth`,
 *   408 → `retryable` + `ambiguous`, 5xx → `retryable`, other 4xx → `permanent`/`provider`.
 * - No answer: refused/unresolvable → `retryable`; reset/timeout/abort → `retryable` + `ambiguous`.
 */
export function classifySinchError(err: unknown): ProviderError {
  if (isProviderError(err)) return err;
  const http = asHttpFailure(err);
  if (http !== undefined) return classifyHttpFailure(http, err);

  const text = err instanceof Error ? err.message : typeof err === 'string' ? err : '';
  const ownCode = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  const codeInText = NETWORK_CODE_IN_TEXT.exec(text)?.[1];
  const network = classifyNetworkError(PROVIDER, { code: typeof ownCode === 'string' ? ownCode : codeInText });
  if (network !== undefined)
    return new ProviderError(network.message, {
      kind: network.kind,
      ambiguous: network.ambiguous,
      provider: PROVIDER,
      providerCode: network.providerCode,
      cause: err,
    });

  if (/network timeout|aborted|socket hang up/i.test(text)) {
    return new ProviderError('sinch: request timed out or was aborted; it may have reached Sinch', {
      kind: 'retryable',
      ambiguous: true,
      provider: PROVIDER,
      cause: err,
    });
  }
  return new ProviderError(`sinch: unexpected failure: ${text === '' ? String(err) : text}`, {
    kind: 'retryable',
    // We cannot tell whether the request left this machine (e.g. a malformed 201 body), so assume it did.
    ambiguous: true,
    provider: PROVIDER,
    cause: err,
  });
}

/**
 * Per-recipient DLR codes that are usually transient, so an `undelivered` attempt deserves one
 * retry on the next provider of the same channel (DESIGN §6): 404 "temporary delivery failure"
 * (reference §6: "Sinch per-recipient code 404 is retryable").
 */
export function sinchDlrErrorTransient(code: string | number | undefined): boolean {
  if (code === undefined) return false;
  return Number(code) === 404;
}

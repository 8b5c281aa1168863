/**
 * Maps what firebase-admin rejects with to Switchboard's error taxonomy (DESIGN §5, reference
 * §4.2 and §4.4).
 *
 * The SDK throws `FirebaseMessagingError` (`code` `messaging/<x>`, `httpResponse{status, headers,
 * data}`) for FCM's answers and for its own validation, and `FirebaseAppError` (`app/network-error`
 * with the socket error as `cause`, `app/network-timeout`, `app/invalid-credential`) when no answer
 * came. We classify on FCM's own wire code first — the `FcmError` `errorCode` in `error.details[]`,
 * else `error.status` — because the SDK folds codes that mean different things into one
 * (`SENDER_ID_MISMATCH` and `PERMISSION_DENIED` both become `mismatched-credential`), then on the
 * SDK code. That wire code is the error's `providerCode` (`UNREGISTERED`, `INVALID_ARGUMENT`…).
 *
 * Note that a `server-unavailable` (503) error arrives only after the SDK retried it up to four
 * times, for about 7 s (reference §4.2): the gateway adds its push fallback-check before calling.
 */
import { ProviderError, classifyNetworkError, isProviderError, parseRetryAfterMs } from '../errors.ts';
import type { ProviderErrorKind, ProviderErrorScope } from '../errors.ts';

const PROVIDER = 'fcm';
const FCM_ERROR_TYPE = 'type.googleapis.com/google.firebase.fcm.v1.FcmError';

interface Rule {
  kind: ProviderErrorKind;
  scope?: ProviderErrorScope;
  why: string;
}

/**
 * FCM HTTP v1 error codes (https://firebase.google.com/docs/reference/fcm/rest/v1/ErrorCode) and
 * the canonical statuses the SDK falls back to.
 */
const WIRE_RULES: ReadonlyMap<string, Rule> = new Map<string, Rule>([
  // The token is dead (app uninstalled, token rotated): try the next channel; upstream should drop it.
  ['UNREGISTERED', { kind: 'permanent', scope: 'channel', why: 'the registration token is not registered (drop it)' }],
  ['UNREGISTERED_FID', { kind: 'permanent', scope: 'channel', why: 'the Firebase installation id is not registered' }],
  ['NOT_FOUND', { kind: 'permanent', scope: 'channel', why: 'the registration token was not found (drop it)' }],
  // A malformed token or payload: no retry will fix it; the next channel may.
  ['INVALID_ARGUMENT', { kind: 'permanent', scope: 'channel', why: 'invalid token or message' }],
  // The token belongs to another Firebase project: a fact about this token, not an outage of
  // ours, so it must not open the FCM breaker for everyone (reference §4.4: permanent).
  ['SENDER_ID_MISMATCH', { kind: 'permanent', scope: 'channel', why: 'the token belongs to another sender (Firebase project)' }],
  // Our credentials or APNs/web-push keys are wrong or lack permission on the project.
  ['PERMISSION_DENIED', { kind: 'auth', why: 'the credential may not send for this project' }],
  ['THIRD_PARTY_AUTH_ERROR', { kind: 'auth', why: 'APNs or web-push credentials were refused' }],
  ['APNS_AUTH_ERROR', { kind: 'auth', why: 'APNs credentials were refused' }],
  ['UNAUTHENTICATED', { kind: 'auth', why: 'the OAuth access token was refused' }],
  // Throttling (project quota or per-device rate).
  ['QUOTA_EXCEEDED', { kind: 'rate_limited', why: 'sending quota exceeded' }],
  ['RESOURCE_EXHAUSTED', { kind: 'rate_limited', why: 'sending quota exceeded' }],
  // FCM itself is failing.
  ['UNAVAILABLE', { kind: 'retryable', why: 'FCM is unavailable (after the SDK retried it)' }],
  ['INTERNAL', { kind: 'retryable', why: 'FCM internal error' }],
  ['UNSPECIFIED_ERROR', { kind: 'retryable', why: 'unspecified FCM error' }],
]);

/** firebase-admin's `messaging/<x>` codes, for errors that carry no FCM wire code (non-JSON answers, SDK validation). */
const SDK_RULES: ReadonlyMap<string, Rule> = new Map<string, Rule>([
  [
    'messaging/registration-token-not-registered',
    { kind: 'permanent', scope: 'channel', why: 'the registration token is not registered (drop it)' },
  ],
  [
    'messaging/installation-id-not-registered',
    { kind: 'permanent', scope: 'channel', why: 'the Firebase installation id is not registered' },
  ],
  ['messaging/invalid-argument', { kind: 'permanent', scope: 'channel', why: 'invalid token or message' }],
  ['messaging/invalid-recipient', { kind: 'permanent', scope: 'channel', why: 'invalid recipient' }],
  ['messaging/invalid-registration-token', { kind: 'permanent', scope: 'channel', why: 'invalid registration token' }],
  ['messaging/invalid-payload', { kind: 'permanent', scope: 'channel', why: 'invalid message payload' }],
  ['messaging/invalid-data-payload-key', { kind: 'permanent', scope: 'channel', why: 'reserved key in the data payload' }],
  ['messaging/payload-size-limit-exceeded', { kind: 'permanent', scope: 'channel', why: 'message larger than 4 KB' }],
  ['messaging/invalid-options', { kind: 'permanent', scope: 'channel', why: 'invalid message options' }],
  ['messaging/invalid-package-name', { kind: 'permanent', scope: 'channel', why: 'the token belongs to another package' }],
  ['messaging/mismatched-credential', { kind: 'auth', why: 'the credential may not send to this token or project' }],
  ['messaging/third-party-auth-error', { kind: 'auth', why: 'APNs or web-push credentials were refused' }],
  ['messaging/authentication-error', { kind: 'auth', why: 'authentication failed' }],
  ['messaging/message-rate-exceeded', { kind: 'rate_limited', why: 'sending quota exceeded' }],
  ['messaging/device-message-rate-exceeded', { kind: 'rate_limited', why: 'too many messages to this device' }],
  ['messaging/topics-message-rate-exceeded', { kind: 'rate_limited', why: 'too many messages to this topic' }],
  ['messaging/server-unavailable', { kind: 'retryable', why: 'FCM is unavailable (after the SDK retried it)' }],
  ['messaging/internal-error', { kind: 'retryable', why: 'FCM internal error' }],
  ['messaging/unknown-error', { kind: 'retryable', why: 'unknown FCM error' }],
]);

/** Wire codes that mean "this token will never work again": the gateway tells upstream to drop it. */
export const FCM_UNREGISTERED_CODES: ReadonlySet<string> = new Set(['UNREGISTERED', 'UNREGISTERED_FID', 'NOT_FOUND']);

interface FirebaseLikeError {
  code: string;
  message: string;
  httpResponse?: { status?: unknown; headers?: unknown; data?: unknown };
  cause?: unknown;
}

/** Recognises firebase-admin errors by shape (`code` `service/x`), so two copies of the SDK still classify. */
function asFirebaseError(err: unknown): FirebaseLikeError | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; message?: unknown; httpResponse?: unknown; cause?: unknown };
  if (typeof e.code !== 'string' || !/^[a-z-]+\/[a-z-]+$/.test(e.code)) return undefined;
  const out: FirebaseLikeError = { code: e.code, message: typeof e.message === 'string' ? e.message : e.code, cause: e.cause };
  if (typeof e.httpResponse === 'object' && e.httpResponse !== null)
    out.httpResponse = e.httpResponse as NonNullable<FirebaseLikeError['httpResponse']>;
  return out;
}

/**
 * FCM's own error code from a response body: the `FcmError` detail's `errorCode`, else
 * `error.status` — the order firebase-admin uses (reference §4.2).
 */
export function fcmWireErrorCode(data: unknown): string | undefined {
  let body = data;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      return undefined;
    }
  }
  if (typeof body !== 'object' || body === null) return undefined;
  const error = (body as { error?: unknown }).error;
  if (typeof error !== 'object' || error === null) return undefined;
  const details = (error as { details?: unknown }).details;
  if (Array.isArray(details)) {
    for (const detail of details) {
      if (typeof detail !== 'object' || detail === null) continue;
      const d = detail as Record<string, unknown>;
      if (d['@type'] === FCM_ERROR_TYPE && typeof d['errorCode'] === 'string') return d['errorCode'];
    }
  }
  const status = (error as { status?: unknown }).status;
  return typeof status === 'string' && status !== '' ? status : undefined;
}

function headerValue(headers: unknown, name: string): string | undefined {
  if (typeof headers !== 'object' || headers === null) return undefined;
  const value = (headers as Record<string, unknown>)[name];
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  return Array.isArray(value) && typeof value[0] === 'string' ? value[0] : undefined;
}

function classifyFirebaseError(f: FirebaseLikeError, err: unknown): ProviderError {
  const status = typeof f.httpResponse?.status === 'number' ? f.httpResponse.status : undefined;
  const wireCode = f.httpResponse === undefined ? undefined : fcmWireErrorCode(f.httpResponse.data);
  // `unknown-error` is the SDK's catch-all: when FCM answered, its HTTP status says more.
  const sdkRule = f.code === 'messaging/unknown-error' && status !== undefined ? undefined : SDK_RULES.get(f.code);
  const rule = (wireCode === undefined ? undefined : WIRE_RULES.get(wireCode)) ?? sdkRule;
  const providerCode = wireCode ?? f.code;
  const codes = [f.code, ...(status === undefined ? [] : [`HTTP ${status}`]), ...(wireCode === undefined ? [] : [wireCode])];
  const message = `fcm: ${f.message} (${codes.join(', ')})`;
  const base = { provider: PROVIDER, providerCode, httpStatus: status, cause: err };

  if (rule?.kind === 'rate_limited' || status === 429) {
    return new ProviderError(message, {
      ...base,
      kind: 'rate_limited',
      retryAfterMs: parseRetryAfterMs(headerValue(f.httpResponse?.headers, 'retry-after')),
    });
  }
  if (rule !== undefined) return new ProviderError(message, { ...base, kind: rule.kind, scope: rule.scope ?? 'provider' });

  // Codes neither table knows: by HTTP status when FCM answered.
  if (status !== undefined) {
    if (status === 401 || status === 403) return new ProviderError(message, { ...base, kind: 'auth' });
    if (status >= 500) return new ProviderError(message, { ...base, kind: 'retryable' });
    return new ProviderError(message, { ...base, kind: 'permanent', scope: 'channel' });
  }

  // No HTTP answer: a socket failure (after the SDK's own retries of resets and timeouts).
  if (f.code === 'app/network-error' || f.code === 'app/network-timeout') {
    const network = classifyNetworkError(PROVIDER, f.cause);
    if (network !== undefined)
      return new ProviderError(`fcm: ${f.message}`, {
        kind: network.kind,
        ambiguous: network.ambiguous,
        provider: PROVIDER,
        providerCode: network.providerCode,
        cause: err,
      });
    return new ProviderError(`fcm: ${f.message}`, {
      kind: 'retryable',
      ambiguous: true,
      provider: PROVIDER,
      providerCode: f.code,
      cause: err,
    });
  }
  // The credential could not produce an access token: nothing reached FCM.
  if (f.code === 'app/invalid-credential')
    return new ProviderError(`fcm: ${f.message}`, { kind: 'auth', provider: PROVIDER, providerCode: f.code, cause: err });
  // Anything else thrown before a request (SDK validation of our message, a deleted app): our
  // message cannot go this way; another channel may.
  return new ProviderError(`fcm: ${f.message}`, {
    kind: 'permanent',
    scope: 'channel',
    provider: PROVIDER,
    providerCode: f.code,
    cause: err,
  });
}

/**
 * Classifies anything firebase-admin (or our transport) rejected with. Never throws.
 *
 * | FCM code (HTTP) / SDK code                                            | kind / scope        |
 * |-----------------------------------------------------------------------|---------------------|
 * | UNREGISTERED, NOT_FOUND (404) / registration-token-not-registered      | permanent / channel |
 * | INVALID_ARGUMENT (400) / invalid-argument, other client-side refusals  | permanent / channel |
 * | SENDER_ID_MISMATCH (403)                                               | permanent / channel |
 * | PERMISSION_DENIED (403), THIRD_PARTY_AUTH_ERROR, UNAUTHENTICATED (401) | auth                |
 * | / authentication-error, app/invalid-credential                         | auth                |
 * | QUOTA_EXCEEDED, RESOURCE_EXHAUSTED (429) / message-rate-exceeded       | rate_limited        |
 * | UNAVAILABLE (503), INTERNAL (500), UNSPECIFIED_ERROR / unknown-error   | retryable           |
 * | app/network-error: refused / reset, timeout                            | retryable / + ambiguous |
 *
 * `providerCode` is FCM's wire code when it answered, else the SDK code (or the socket error code).
 */
export function classifyFcmError(err: unknown): ProviderError {
  if (isProviderError(err)) return err;
  const firebase = asFirebaseError(err);
  if (firebase !== undefined) return classifyFirebaseError(firebase, err);
  const network = classifyNetworkError(PROVIDER, err);
  if (network !== undefined) return network;
  const detail = err instanceof Error ? err.message : String(err);
  return new ProviderError(`fcm: unexpected failure: ${detail}`, { kind: 'retryable', ambiguous: true, provider: PROVIDER, cause: err });
}

/**
 * Whether a failed push means the device token is dead (FCM `UNREGISTERED`): the gateway records
 * the fallback reason `push_unregistered` (CONTRACTS §4) and tells upstream to drop the token.
 * Accepts the adapter's `ProviderError` or a raw firebase-admin error.
 */
export function isUnregisteredToken(err: unknown): boolean {
  if (isProviderError(err))
    return err.provider === PROVIDER && err.providerCode !== undefined && FCM_UNREGISTERED_CODES.has(err.providerCode);
  const firebase = asFirebaseError(err);
  return firebase?.code === 'messaging/registration-token-not-registered' || firebase?.code === 'messaging/installation-id-not-registered';
}

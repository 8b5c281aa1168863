/**
 * OAuth2 access tokens for Google RBM (reference §5: "mint the OAuth token yourself").
 *
 * RBM takes a Bearer token of a service account with the scope
 * `https://www.googleapis.com/auth/rcsbusinessmessaging`. No Google SDK is in scope, so this is the
 * service-account flow of RFC 7523 done with `node:crypto`: a JWT `{iss: client_email, scope, aud:
 * token_uri, iat, exp}` signed RS256 with the key's `private_key`, exchanged at the token endpoint
 * with `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`.
 * https://developers.google.com/identity/protocols/oauth2/service-account#httprest
 *
 * In sandbox mode a {@link staticTokenProvider} stands in (the RBM emulator expects a fixed token).
 */
import { createSign } from 'node:crypto';

/** The OAuth scope of the RBM API. */
export const RBM_OAUTH_SCOPE = 'https://www.googleapis.com/auth/rcsbusinessmessaging';
/** Google's OAuth2 token endpoint (the default audience and URL of the JWT-bearer grant). */
export const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';
/** The JWT-bearer grant type (RFC 7523 §2.1). */
export const JWT_BEARER_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** Google accepts assertions valid for at most one hour. */
const ASSERTION_LIFETIME_SECONDS = 3600;
/** A cached token is replaced this long before it expires, so no request carries a token about to lapse. */
const REFRESH_MARGIN_SECONDS = 60;

/** Where capability checks get their Bearer token. */
export interface AccessTokenProvider {
  /** Resolves a valid access token; rejects (with an `Error`) when none can be had. */
  getAccessToken(signal?: AbortSignal): Promise<string>;
  /** Forgets a cached token (RBM answered 401), so the next call mints a new one. */
  invalidate?(): void;
}

/** A provider that always answers the same token (sandbox mode, tests). */
export function staticTokenProvider(token: string): AccessTokenProvider {
  return { getAccessToken: () => Promise.resolve(token) };
}

/** The fields of a Google service-account key file that the JWT-bearer grant needs. */
export interface GoogleServiceAccountKey {
  client_email: string;
  private_key: string;
  /** Sent as the JWT `kid`, so Google picks the right public key at once. */
  private_key_id?: string;
  /** Token endpoint named by the key file; `https://oauth2.googleapis.com/token` for Google's own. */
  token_uri?: string;
}

/** Parses a service-account key file's JSON, or says why it is not one (never throws). */
export function parseGoogleServiceAccount(json: string): GoogleServiceAccountKey | string {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return 'serviceAccount must be the JSON of a service-account key file';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'serviceAccount must be a JSON object';
  const record = value as Record<string, unknown>;
  for (const key of ['client_email', 'private_key'] as const) {
    if (typeof record[key] !== 'string' || record[key] === '') return `serviceAccount has no "${key}"`;
  }
  const key: GoogleServiceAccountKey = { client_email: String(record['client_email']), private_key: String(record['private_key']) };
  if (typeof record['private_key_id'] === 'string' && record['private_key_id'] !== '') key.private_key_id = record['private_key_id'];
  if (typeof record['token_uri'] === 'string' && record['token_uri'] !== '') key.token_uri = record['token_uri'];
  return key;
}

function base64urlJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

/** The JWT claims of a Google service-account assertion. */
export interface JwtAssertionClaims {
  iss: string;
  scope: string;
  aud: string;
  iat: number;
  exp: number;
}

/**
 * Builds the signed assertion `base64url(header).base64url(claims).base64url(RS256 signature)`
 * with header `{alg:"RS256", typ:"JWT", kid?}` and claims `{iss, scope, aud, iat, exp = iat + 1 h}`.
 * Throws when the private key cannot sign (a malformed PEM): the config check catches that early.
 */
export function buildJwtAssertion(key: GoogleServiceAccountKey, opts: { scope: string; audience: string; now?: Date }): string {
  const iat = Math.floor((opts.now ?? new Date()).getTime() / 1000);
  const header: Record<string, string> = { alg: 'RS256', typ: 'JWT' };
  if (key.private_key_id !== undefined) header['kid'] = key.private_key_id;
  const claims: JwtAssertionClaims = {
    iss: key.client_email,
    scope: opts.scope,
    aud: opts.audience,
    iat,
    exp: iat + ASSERTION_LIFETIME_SECONDS,
  };
  const signingInput = `${base64urlJson(header)}.${base64urlJson(claims)}`;
  const signature = createSign('RSA-SHA256').update(signingInput).sign(key.private_key).toString('base64url');
  return `${signingInput}.${signature}`;
}

/** Options of {@link createServiceAccountTokenProvider}. */
export interface ServiceAccountTokenOptions {
  scope: string;
  /** Token endpoint; the key's `token_uri`, else Google's. Also the JWT audience. */
  tokenUrl?: string;
  /** Per-request timeout of the token call. */
  timeoutMs: number;
  /** The clock (tests). */
  now?: () => number;
}

/**
 * Mints tokens with the JWT-bearer grant and caches each until a minute before it expires.
 * Concurrent callers share one token request. Rejects with an `Error` saying why (HTTP status and
 * Google's `error`/`error_description`, or the network failure); the capability client turns that
 * into an `unknown` answer.
 */
export function createServiceAccountTokenProvider(key: GoogleServiceAccountKey, opts: ServiceAccountTokenOptions): AccessTokenProvider {
  const tokenUrl = opts.tokenUrl ?? key.token_uri ?? GOOGLE_TOKEN_URL;
  const now = opts.now ?? Date.now;
  let cached: { token: string; refreshAt: number } | undefined;
  let inFlight: Promise<string> | undefined;

  async function mint(): Promise<string> {
    const assertion = buildJwtAssertion(key, { scope: opts.scope, audience: tokenUrl, now: new Date(now()) });
    const res = await fetch(tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ grant_type: JWT_BEARER_GRANT_TYPE, assertion }).toString(),
      redirect: 'error',
      signal: AbortSignal.timeout(opts.timeoutMs),
    });
    const text = await res.text();
    let body: Record<string, unknown> = {};
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
    } catch {
      // Not JSON (a proxy's error page): reported by status below.
    }
    if (!res.ok) {
      const why = [body['error'], body['error_description']].filter((v): v is string => typeof v === 'string').join(': ');
      throw new Error(`rbm: token endpoint answered HTTP ${res.status}${why === '' ? '' : ` (${why})`}`);
    }
    const token = body['access_token'];
    if (typeof token !== 'string' || token === '') throw new Error('rbm: token endpoint answered without an access_token');
    const expiresIn = typeof body['expires_in'] === 'number' && body['expires_in'] > 0 ? body['expires_in'] : ASSERTION_LIFETIME_SECONDS;
    cached = { token, refreshAt: now() + Math.max(0, expiresIn - REFRESH_MARGIN_SECONDS) * 1000 };
    return token;
  }

  return {
    getAccessToken() {
      if (cached !== undefined && now() < cached.refreshAt) return Promise.resolve(cached.token);
      if (inFlight === undefined) {
        inFlight = mint().finally(() => {
          inFlight = undefined;
        });
      }
      return inFlight;
    },
    invalidate() {
      cached = undefined;
    },
  };
}

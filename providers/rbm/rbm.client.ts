/**
 * Our typed client for RBM's capability check (reference §5; no SDK is in scope, DESIGN §5):
 *
 * `GET {baseUrl}/v1/phones/{E.164}/capabilities?requestId={uuid}&agentId={agentId}` with
 * `Authorization: Bearer <token>` and an empty body. The `+` of the number stays literal in the
 * path, as Google documents it.
 *
 * Answers, mapped per the reference's recommendation:
 * - `200 {features:[…]}` → `capable` with the features;
 * - `404 NOT_FOUND` → `not_capable` (RCS off or unsupported, carrier not launched, or an unlaunched
 *   agent asking about a non-tester: Google folds all three into 404);
 * - `403 PERMISSION_DENIED` → `agent_not_launched`: a configuration problem of ours (an older RBM
 *   revision answers it for an unlaunched agent), not a fact about the number — ops alarm;
 * - anything else (401, 429, 5xx, network failure, timeout, a token that cannot be minted) →
 *   `unknown`.
 *
 * Design choice: `checkCapability` never rejects. The gateway treats every non-capable answer the
 * same way — "send SMS" (DESIGN §6.3) — so a `ProviderError` would only force every caller to
 * write the same catch; the status and `detail` still say what happened, and only `unknown` must
 * not be cached.
 */
import { randomUUID } from 'node:crypto';
import type { RcsCapability } from '../provider.ts';
import type { AccessTokenProvider } from './rbm.token.ts';

const E164 = /^\+[1-9]\d{1,14}$/;

/** Options of {@link createRbmCapabilityClient}. */
export interface RbmCapabilityClientOptions {
  /** RBM's origin (or the sandbox's), without a trailing path. */
  baseUrl: string;
  agentId: string;
  tokens: AccessTokenProvider;
  /** The whole check — token included — gives up after this long (`unknown`). */
  timeoutMs: number;
  /** A fresh `requestId` per check (RBM ignores a repeated one); UUID v4 by default. */
  requestId?: () => string;
}

/** The capability client. */
export interface RbmCapabilityClient {
  /** Checks one number; never rejects (see the file comment). */
  checkCapability(e164: string, signal?: AbortSignal): Promise<RcsCapability>;
}

/** Builds the request URL of one capability check. */
export function rbmCapabilityUrl(baseUrl: string, e164: string, agentId: string, requestId: string): string {
  const query = new URLSearchParams({ requestId, agentId }).toString();
  return `${baseUrl.replace(/\/+$/, '')}/v1/phones/${e164}/capabilities?${query}`;
}

/** Google's error envelope `{error:{code, message, status}}`, as far as it can be read. */
function googleError(body: unknown): { message?: string; status?: string } {
  if (typeof body !== 'object' || body === null) return {};
  const error = (body as Record<string, unknown>)['error'];
  if (typeof error !== 'object' || error === null) return {};
  const e = error as Record<string, unknown>;
  const out: { message?: string; status?: string } = {};
  if (typeof e['message'] === 'string') out.message = e['message'];
  if (typeof e['status'] === 'string') out.status = e['status'];
  return out;
}

/** Maps an RBM answer (status and parsed JSON body) to a capability. Pure. */
export function mapRbmCapabilityResponse(httpStatus: number, body: unknown): RcsCapability {
  if (httpStatus === 200) {
    const raw = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)['features'] : undefined;
    const features = Array.isArray(raw) ? raw.filter((f): f is string => typeof f === 'string') : [];
    return { capable: true, status: 'capable', features, httpStatus };
  }
  const error = googleError(body);
  const detail = [error.status, error.message].filter((v) => v !== undefined).join(': ');
  const withDetail = (answer: RcsCapability): RcsCapability => (detail === '' ? answer : { ...answer, detail });
  if (httpStatus === 404) return withDetail({ capable: false, status: 'not_capable', httpStatus });
  if (httpStatus === 403) return withDetail({ capable: false, status: 'agent_not_launched', httpStatus });
  return withDetail({ capable: false, status: 'unknown', httpStatus });
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const cause = err.cause;
    const code = typeof cause === 'object' && cause !== null ? (cause as { code?: unknown }).code : undefined;
    return typeof code === 'string' ? `${err.message} (${code})` : err.message;
  }
  return String(err);
}

/** Creates the client (see the file comment). */
export function createRbmCapabilityClient(opts: RbmCapabilityClientOptions): RbmCapabilityClient {
  const nextRequestId = opts.requestId ?? randomUUID;

  async function check(e164: string, signal: AbortSignal): Promise<RcsCapability> {
    const token = await opts.tokens.getAccessToken(signal);
    const res = await fetch(rbmCapabilityUrl(opts.baseUrl, e164, opts.agentId, nextRequestId()), {
      method: 'GET',
      headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
      redirect: 'error',
      signal,
    });
    const text = await res.text();
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    // Our token was refused: mint a fresh one next time (a rotated key, a revoked token).
    if (res.status === 401) opts.tokens.invalidate?.();
    return mapRbmCapabilityResponse(res.status, body);
  }

  return {
    async checkCapability(e164, callerSignal) {
      if (!E164.test(e164)) return { capable: false, status: 'not_capable', detail: 'not an E.164 number' };
      const timeout = AbortSignal.timeout(opts.timeoutMs);
      const signal = callerSignal === undefined ? timeout : AbortSignal.any([timeout, callerSignal]);
      let timer: NodeJS.Timeout | undefined;
      // The token provider may not honour the signal: a deadline bounds the whole check anyway.
      const deadline = new Promise<RcsCapability>((resolve) => {
        timer = setTimeout(
          () => resolve({ capable: false, status: 'unknown', detail: `timed out after ${opts.timeoutMs} ms` }),
          opts.timeoutMs + 50,
        );
      });
      try {
        return await Promise.race([check(e164, signal), deadline]);
      } catch (err) {
        const detail = timeout.aborted ? `timed out after ${opts.timeoutMs} ms` : signal.aborted ? 'aborted' : describe(err);
        return { capable: false, status: 'unknown', detail };
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

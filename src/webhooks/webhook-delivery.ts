/**
 * One delivery try of a webhook event (CONTRACTS §4): success = 2xx within the timeout; a 3xx is a
 * failure and is never followed; 410 disables the endpoint; `Retry-After` is honoured up to a cap.
 *
 * Every try goes through the SSRF guard (src/security/ssrf-guard.ts): the URL's host is resolved
 * and vetted, and the request connects to that vetted address only — node's `http(s).request`
 * with a `lookup` that answers the vetted address, while the Host header and TLS SNI keep the
 * name (so certificates still verify against it). A DNS answer that changes after the check
 * (rebinding) therefore cannot move the request. A refused target is `forbidden`: permanent, the
 * worker dead-letters it at once instead of retrying for hours.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import type { WebhookEvent } from '../domain/events.ts';
import type { SsrfGuard, VettedTarget } from '../security/ssrf-guard.ts';
import { signWebhook } from './webhook-signer.ts';

export type DeliveryResult =
  | { kind: 'success'; status: number }
  | { kind: 'gone'; status: number }
  /** The SSRF guard refused the target: retrying cannot help. */
  | { kind: 'forbidden'; reason: string }
  | { kind: 'failure'; status?: number; reason: string; retryAfterMs?: number };

/**
 * Keep-alive agents for webhook deliveries, one pair per webhook worker (no module singletons).
 * A pooled socket stays connected to the address that was vetted when it was opened.
 */
export interface WebhookTransport {
  http: HttpAgent;
  https: HttpsAgent;
  close(): void;
}

export function createWebhookTransport(): WebhookTransport {
  const http = new HttpAgent({ keepAlive: true, maxSockets: 256 });
  const https = new HttpsAgent({ keepAlive: true, maxSockets: 256 });
  return {
    http,
    https,
    close() {
      http.destroy();
      https.destroy();
    },
  };
}

export interface DeliverOptions {
  secrets: readonly string[];
  timeoutMs: number;
  retryAfterCapMs: number;
  nowMs: () => number;
  /** Vets the target before each try (CONTRACTS §4 receivers are upstream services, never our network). */
  guard: SsrfGuard;
  /** Pooled agents; a one-off pair without keep-alive when absent. */
  transport?: WebhookTransport;
}

function retryAfterMs(header: string | undefined, capMs: number, now: number): number | undefined {
  if (header === undefined) return undefined;
  const secs = Number(header);
  const ms = Number.isFinite(secs) ? secs * 1000 : Date.parse(header) - now;
  if (!Number.isFinite(ms) || ms < 0) return undefined;
  return Math.min(ms, capMs);
}

/** A `lookup` that answers only the vetted address, whatever name it is asked for. */
function pinnedLookup(target: VettedTarget): LookupFunction {
  return (_hostname, options, callback) => {
    if (options.all === true) callback(null, [{ address: target.address, family: target.family }]);
    else callback(null, target.address, target.family);
  };
}

/** POSTs `body` to the vetted target; resolves with the answer's status and `Retry-After`. */
function post(
  target: VettedTarget,
  headers: Record<string, string>,
  body: string,
  opts: DeliverOptions,
): Promise<{ status: number; retryAfter?: string }> {
  const secure = target.url.protocol === 'https:';
  const options: RequestOptions = {
    method: 'POST',
    protocol: target.url.protocol,
    // The name stays the host (Host header, SNI, certificate check); `lookup` pins the address.
    host: target.url.hostname.replace(/^\[|\]$/g, ''),
    port: target.url.port === '' ? (secure ? 443 : 80) : Number(target.url.port),
    path: `${target.url.pathname}${target.url.search}`,
    headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
    lookup: pinnedLookup(target),
    signal: AbortSignal.timeout(opts.timeoutMs),
    ...(opts.transport ? { agent: secure ? opts.transport.https : opts.transport.http } : {}),
  };
  if (target.url.username !== '' || target.url.password !== '') {
    options.auth = `${decodeURIComponent(target.url.username)}:${decodeURIComponent(target.url.password)}`;
  }
  return new Promise((resolve, reject) => {
    const req = (secure ? httpsRequest : httpRequest)(options, (res: IncomingMessage) => {
      const retryAfter = res.headers['retry-after'];
      // Drain the body so the keep-alive socket is reused; receivers' bodies are ignored.
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ...(retryAfter !== undefined ? { retryAfter } : {}) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export async function deliverWebhook(url: string, event: WebhookEvent, opts: DeliverOptions): Promise<DeliveryResult> {
  const target = await opts.guard.vet(url);
  if (!target.ok) return { kind: 'forbidden', reason: `callback target refused: ${target.reason}` };
  const body = JSON.stringify(event);
  const timestamp = Math.floor(opts.nowMs() / 1000);
  let res: { status: number; retryAfter?: string };
  try {
    res = await post(
      target,
      {
        'content-type': 'application/json',
        'user-agent': 'Switchboard-Webhooks/1',
        'webhook-id': event.id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signWebhook(opts.secrets, event.id, timestamp, body),
      },
      body,
      opts,
    );
  } catch (err) {
    const e = err as Error & { code?: string; cause?: { code?: string } };
    const timedOut = e.name === 'TimeoutError' || e.name === 'AbortError';
    const reason = timedOut ? `no answer within ${opts.timeoutMs} ms` : `${e.code ?? e.cause?.code ?? e.name}: ${e.message}`;
    return { kind: 'failure', reason };
  }
  if (res.status >= 200 && res.status < 300) return { kind: 'success', status: res.status };
  if (res.status === 410) return { kind: 'gone', status: res.status };
  const ra = retryAfterMs(res.retryAfter, opts.retryAfterCapMs, opts.nowMs());
  const reason = res.status >= 300 && res.status < 400 ? `redirect ${res.status} not followed` : `HTTP ${res.status}`;
  return { kind: 'failure', status: res.status, reason, ...(ra !== undefined ? { retryAfterMs: ra } : {}) };
}

/**
 * One delivery try of a webhook event (CONTRACTS §4): success = 2xx within the timeout; a 3xx is a
 * failure and is never followed; 410 disables the endpoint; `Retry-After` is honoured up to a cap.
 */
import type { WebhookEvent } from '../domain/events.ts';
import { signWebhook } from './webhook-signer.ts';

export type DeliveryResult =
  | { kind: 'success'; status: number }
  | { kind: 'gone'; status: number }
  | { kind: 'failure'; status?: number; reason: string; retryAfterMs?: number };

export interface DeliverOptions {
  secrets: readonly string[];
  timeoutMs: number;
  retryAfterCapMs: number;
  nowMs: () => number;
}

function retryAfterMs(header: string | null, capMs: number, now: number): number | undefined {
  if (header === null) return undefined;
  const secs = Number(header);
  const ms = Number.isFinite(secs) ? secs * 1000 : Date.parse(header) - now;
  if (!Number.isFinite(ms) || ms < 0) return undefined;
  return Math.min(ms, capMs);
}

export async function deliverWebhook(url: string, event: WebhookEvent, opts: DeliverOptions): Promise<DeliveryResult> {
  const body = JSON.stringify(event);
  const timestamp = Math.floor(opts.nowMs() / 1000);
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      redirect: 'manual',
      signal: AbortSignal.timeout(opts.timeoutMs),
      headers: {
        'content-type': 'application/json',
        'user-agent': 'Switchboard-Webhooks/1',
        'webhook-id': event.id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signWebhook(opts.secrets, event.id, timestamp, body),
      },
      body,
    });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    const reason = e.name === 'TimeoutError' ? `no answer within ${opts.timeoutMs} ms` : `${e.cause?.code ?? e.name}: ${e.message}`;
    return { kind: 'failure', reason };
  }
  // Drain the body so the keep-alive socket is reused; receivers' bodies are ignored.
  await res.arrayBuffer().catch(() => undefined);
  if (res.status >= 200 && res.status < 300) return { kind: 'success', status: res.status };
  if (res.status === 410) return { kind: 'gone', status: res.status };
  const ra = retryAfterMs(res.headers.get('retry-after'), opts.retryAfterCapMs, opts.nowMs());
  const reason = res.status >= 300 && res.status < 400 ? `redirect ${res.status} not followed` : `HTTP ${res.status}`;
  return { kind: 'failure', status: res.status, reason, ...(ra !== undefined ? { retryAfterMs: ra } : {}) };
}

/**
 * Sinch SMS delivery-report callbacks: HTTP Basic verification and mapping to normalised delivery
 * events (reference §2.2, §2.7).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { CarrierStatus, DeliveryEvent, WebhookRequest } from '../provider.ts';
import { sinchDlrErrorTransient } from './sinch.errors.ts';

/** What `/webhooks/sinch` checks: the HTTP Basic pair configured with the Sinch account manager. */
export interface SinchCallbackCredentials {
  callbackUsername: string;
  callbackPassword: string;
}

/** Equal-time comparison of two strings of any length (hashing first hides the length). */
function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb);
}

/**
 * Checks the `Authorization: Basic …` header against the configured callback credentials.
 * Sinch signs nothing in an SMS delivery report by default; Basic auth is the mechanism its
 * account managers enable for SMS callbacks (reference §2.2), and the only one that covers every
 * callback type on this URL. Both halves are always compared (no early exit) in constant time.
 * Never throws; every doubt is `false`.
 */
export function verifySinchWebhook(credentials: SinchCallbackCredentials, raw: WebhookRequest): boolean {
  try {
    const header = raw.headers['authorization'];
    if (header === undefined || credentials.callbackUsername === '' || credentials.callbackPassword === '') return false;
    const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
    if (match === null || match[1] === undefined) return false;
    const decoded = Buffer.from(match[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return false;
    const userOk = safeEqual(decoded.slice(0, colon), credentials.callbackUsername);
    const passOk = safeEqual(decoded.slice(colon + 1), credentials.callbackPassword);
    return userOk && passOk;
  } catch {
    return false;
  }
}

/** Sinch SMS DLR `status` → attempt status (reference §2.7). */
const STATUS_MAP: Readonly<Record<string, CarrierStatus>> = {
  Queued: 'queued',
  Dispatched: 'sent',
  // Final but without an outcome: the message left Sinch, the operator never said more.
  Unknown: 'sent',
  Delivered: 'delivered',
  // Reached the SMSC, not delivered.
  Failed: 'undelivered',
  Expired: 'undelivered',
  Deleted: 'undelivered',
  // Never left Sinch.
  Rejected: 'failed',
  Aborted: 'failed',
  Cancelled: 'failed',
};

/** Normalises a Sinch DLR status; `unknown` for anything new. */
export function mapSinchStatus(status: string): CarrierStatus {
  return Object.hasOwn(STATUS_MAP, status) ? (STATUS_MAP[status] ?? 'unknown') : 'unknown';
}

/** Detailed DLR codes that only restate a non-failure status (reference §2.2): not error codes. */
const NON_ERROR_CODES = new Set([0, 400, 401]);

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function dateOr(value: unknown, fallback: Date): Date {
  if (typeof value !== 'string') return fallback;
  const at = Date.parse(value);
  return Number.isNaN(at) ? fallback : new Date(at);
}

/** Our message id: `client_reference`, else the `sb` parameter of the callback URL we gave Sinch. */
function messageIdOf(body: Record<string, unknown>, raw: WebhookRequest): string | undefined {
  const ref = str(body['client_reference']);
  if (ref !== undefined) return ref;
  const fromQuery = raw.query['sb'];
  if (fromQuery !== undefined && fromQuery !== '') return fromQuery;
  try {
    return new URL(raw.publicUrl).searchParams.get('sb') || undefined;
  } catch {
    return undefined;
  }
}

/** One recipient report (a callback's, or the delivery-report read's) as an event. */
export function sinchReportEvent(
  batchId: string,
  rawStatus: string,
  code: unknown,
  occurredAt: Date,
  messageId: string | undefined,
): DeliveryEvent {
  const e: DeliveryEvent = { provider: 'sinch', providerMessageId: batchId, status: mapSinchStatus(rawStatus), rawStatus, occurredAt };
  if (messageId !== undefined) e.messageId = messageId;
  const numeric = typeof code === 'number' ? code : typeof code === 'string' && code.trim() !== '' ? Number(code) : Number.NaN;
  if (Number.isFinite(numeric) && !NON_ERROR_CODES.has(numeric)) {
    e.errorCode = String(numeric);
    e.transient = sinchDlrErrorTransient(numeric);
  }
  return e;
}

/**
 * Maps one (already verified) Sinch callback to events. Pure and total: never throws.
 * - `recipient_delivery_report_sms` (what the adapter asks for, `per_recipient`): one event;
 *   `providerMessageId` = `batch_id`, `messageId` = `client_reference`, `occurredAt` = `at`.
 * - `delivery_report_sms` (batch `summary`/`full`): one event per `statuses[]` entry.
 * - Inbound messages (`mo_*`), MMS reports and anything unparsable: `[]`.
 * An unknown `status` yields `unknown`; `code` becomes `errorCode` unless it is 0/400/401, and
 * 404 ("temporary delivery failure") is marked transient.
 */
export function parseSinchWebhook(raw: WebhookRequest, now: Date = new Date()): DeliveryEvent[] {
  try {
    const parsed: unknown = JSON.parse(raw.rawBody.toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return [];
    const body = parsed as Record<string, unknown>;
    const batchId = str(body['batch_id']);
    if (batchId === undefined) return [];
    const messageId = messageIdOf(body, raw);
    if (body['type'] === 'recipient_delivery_report_sms') {
      const status = typeof body['status'] === 'string' ? body['status'] : '';
      return [sinchReportEvent(batchId, status, body['code'], dateOr(body['at'], now), messageId)];
    }
    if (body['type'] === 'delivery_report_sms') {
      const statuses = Array.isArray(body['statuses']) ? (body['statuses'] as unknown[]) : [];
      const out: DeliveryEvent[] = [];
      for (const entry of statuses) {
        if (typeof entry !== 'object' || entry === null) continue;
        const s = entry as Record<string, unknown>;
        out.push(sinchReportEvent(batchId, typeof s['status'] === 'string' ? s['status'] : '', s['code'], now, messageId));
      }
      return out;
    }
    return [];
  } catch {
    return [];
  }
}

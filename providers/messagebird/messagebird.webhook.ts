/**
 * MessageBird status reports: `MessageBird-Signature-JWT` verification and mapping to normalised
 * delivery events (reference §3.2, §3.3, §3.6).
 */
import { createSecretKey } from 'node:crypto';
import { VerifyOptions, verify } from 'messagebird/lib/webhook-signature-jwt.js';
import { parseFormBody } from '../form-body.ts';
import type { CarrierStatus, DeliveryEvent, WebhookRequest } from '../provider.ts';
import { messagebirdDlrErrorTransient } from './messagebird.errors.ts';

/** Clock skew tolerated on the token's `nbf`/`exp` (the SDK's default). */
const CLOCK_TOLERANCE_SECONDS = 5;

/**
 * Checks `MessageBird-Signature-JWT` with the `messagebird` package's own verifier: an HS256/384/512
 * JWT from issuer `MessageBird`, within `nbf`/`exp` (±5 s), whose `url_hash` is the SHA-256 of the
 * full URL MessageBird called — scheme, host, port, path and query, so `raw.publicUrl` must be that
 * exact URL — and whose `payload_hash`, when present, is the SHA-256 of the raw body (a status
 * report is a GET without one; a body without `payload_hash` is refused).
 * We call `verify()` ourselves: the package's Express middleware never awaits it (reference §3.3).
 * `now` is for tests. Never throws; every doubt is `false`.
 */
export async function verifyMessageBirdWebhook(signingKey: string, raw: WebhookRequest, now?: Date): Promise<boolean> {
  try {
    const token = raw.headers['messagebird-signature-jwt'];
    if (token === undefined || token === '' || signingKey === '') return false;
    const options = new VerifyOptions(true, true, {
      issuer: 'MessageBird',
      algorithms: ['HS256', 'HS384', 'HS512'],
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      ...(now === undefined ? {} : { currentDate: now }),
    });
    await verify(raw.publicUrl, raw.rawBody, token, createSecretKey(Buffer.from(signingKey, 'utf8')), options);
    return true;
  } catch {
    return false;
  }
}

/** `delivery_failed` reasons that mean MessageBird refused before any carrier saw the message (reference §3.6). */
const PRE_CARRIER_REASONS = new Set(['insufficient balance', 'carrier rejected', 'opted out']);

/** MessageBird `status` → attempt status (reference §3.6); `delivery_failed` depends on the reason. */
const STATUS_MAP: Readonly<Record<string, CarrierStatus>> = {
  scheduled: 'queued',
  sent: 'sent',
  buffered: 'sent',
  delivered: 'delivered',
  expired: 'undelivered',
  delivery_failed: 'undelivered',
};

/** Normalises a MessageBird status (and, for `delivery_failed`, its reason); `unknown` for anything new. */
export function mapMessageBirdStatus(status: string, statusReason?: string): CarrierStatus {
  if (status === 'delivery_failed' && statusReason !== undefined && PRE_CARRIER_REASONS.has(statusReason.toLowerCase())) return 'failed';
  return Object.hasOwn(STATUS_MAP, status) ? (STATUS_MAP[status] ?? 'unknown') : 'unknown';
}

/** The report's parameters: the query string, plus a form or JSON body when a report is POSTed. */
function paramsOf(raw: WebhookRequest): Record<string, string> {
  const params: Record<string, string> = {};
  let query: Iterable<[string, string | undefined]> = Object.entries(raw.query);
  if (Object.keys(raw.query).length === 0) {
    try {
      query = new URL(raw.publicUrl).searchParams;
    } catch {
      query = [];
    }
  }
  for (const [k, v] of query) if (v !== undefined) params[k] = v;
  if (raw.rawBody.length === 0) return params;
  const text = raw.rawBody.toString('utf8');
  if ((raw.headers['content-type'] ?? '').includes('json')) {
    const body: unknown = JSON.parse(text);
    if (typeof body === 'object' && body !== null && !Array.isArray(body)) {
      for (const [k, v] of Object.entries(body)) {
        if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') params[k] = String(v);
      }
    }
    return params;
  }
  for (const [k, v] of Object.entries(parseFormBody(text))) params[k] = Array.isArray(v) ? (v[0] ?? '') : v;
  return params;
}

function costOf(params: Record<string, string>): { amount: number; currency: string } | undefined {
  const amount = Number(params['price[amount]']);
  const currency = params['price[currency]'];
  if (
    params['price[amount]'] === undefined ||
    params['price[amount]'] === '' ||
    !Number.isFinite(amount) ||
    currency === undefined ||
    currency === ''
  )
    return undefined;
  return { amount, currency };
}

/**
 * Maps one (already verified) status report to at most one event. Pure and total: never throws.
 * `providerMessageId` = `id`, `messageId` = `reference` (else the `sb` parameter of our report
 * URL), `occurredAt` = `statusDatetime`; `statusErrorCode` becomes `errorCode` (absent subscriber
 * 27 and system failure 34 are transient); `price[amount]`/`price[currency]` become `cost`.
 * A report without `id` yields `[]`; an unknown status yields `unknown`.
 */
export function parseMessageBirdWebhook(raw: WebhookRequest, now: Date = new Date()): DeliveryEvent[] {
  try {
    const params = paramsOf(raw);
    const id = params['id'];
    if (id === undefined || id === '') return [];
    const rawStatus = params['status'] ?? '';
    const reason = params['statusReason'];
    const at = params['statusDatetime'] === undefined ? Number.NaN : Date.parse(params['statusDatetime']);
    const event: DeliveryEvent = {
      provider: 'messagebird',
      providerMessageId: id,
      status: mapMessageBirdStatus(rawStatus, reason),
      rawStatus,
      occurredAt: Number.isNaN(at) ? now : new Date(at),
    };
    const messageId = params['reference'] || params['sb'];
    if (messageId !== undefined && messageId !== '') event.messageId = messageId;
    const errorCode = params['statusErrorCode'];
    if (errorCode !== undefined && errorCode !== '' && errorCode !== '0') {
      event.errorCode = errorCode;
      event.transient = messagebirdDlrErrorTransient(errorCode, reason);
    } else if (event.status === 'undelivered' && reason !== undefined) {
      event.transient = messagebirdDlrErrorTransient(undefined, reason);
    }
    const cost = costOf(params);
    if (cost !== undefined) event.cost = cost;
    return [event];
  } catch {
    return [];
  }
}

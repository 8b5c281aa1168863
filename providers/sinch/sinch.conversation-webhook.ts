/**
 * Sinch Conversation API delivery receipts (RCS and WhatsApp, reference §2.3, §2.5, §2.7): HMAC verification
 * and mapping to normalised delivery events. Served by the gateway at
 * `POST /webhooks/sinch/conversation` (CONTRACTS §3) through `adapter.webhooks.conversation`.
 *
 * Signing (reference §2.3): headers `x-sinch-webhook-signature`, `…-nonce`, `…-timestamp` (Unix
 * seconds) and `…-algorithm` (`HmacSHA256`), with
 * `signature = base64(HMAC-SHA256(secret, rawBody + "." + nonce + "." + timestamp))`.
 * The SDK's own check (`ConversationCallbackWebhooks.validateAuthenticationHeader`) compares with
 * `===` and has no timestamp window, and it re-serialises an object body; ours runs over the raw
 * bytes, compares in constant time and refuses timestamps more than 5 minutes off (replays).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { CarrierStatus, DeliveryEvent, WebhookRequest } from '../provider.ts';

/** The signature headers, lower-cased as `WebhookRequest.headers` holds them. */
export const SINCH_WEBHOOK_SIGNATURE_HEADERS = {
  signature: 'x-sinch-webhook-signature',
  nonce: 'x-sinch-webhook-signature-nonce',
  timestamp: 'x-sinch-webhook-signature-timestamp',
  algorithm: 'x-sinch-webhook-signature-algorithm',
} as const;

/** The only algorithm Sinch signs with. */
export const SINCH_WEBHOOK_SIGNATURE_ALGORITHM = 'HmacSHA256';

/** How far a callback's timestamp may be from our clock, either way (CONTRACTS §3: ±5 min). */
export const SINCH_WEBHOOK_MAX_SKEW_SECONDS = 300;

/** `base64(HMAC-SHA256(secret, rawBody + "." + nonce + "." + timestamp))`, over the exact body bytes. */
export function signSinchConversationWebhook(secret: string, rawBody: Buffer | string, nonce: string, timestamp: string | number): string {
  return createHmac('sha256', secret)
    .update(typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : rawBody)
    .update(`.${nonce}.${String(timestamp)}`, 'utf8')
    .digest('base64');
}

/** The four signature headers for a body, as the Sinch emulator (and tests) send them. */
export function sinchConversationSignatureHeaders(
  secret: string,
  rawBody: Buffer | string,
  nonce: string,
  timestampSeconds: number,
): Record<string, string> {
  return {
    [SINCH_WEBHOOK_SIGNATURE_HEADERS.signature]: signSinchConversationWebhook(secret, rawBody, nonce, timestampSeconds),
    [SINCH_WEBHOOK_SIGNATURE_HEADERS.nonce]: nonce,
    [SINCH_WEBHOOK_SIGNATURE_HEADERS.timestamp]: String(timestampSeconds),
    [SINCH_WEBHOOK_SIGNATURE_HEADERS.algorithm]: SINCH_WEBHOOK_SIGNATURE_ALGORITHM,
  };
}

/**
 * Checks a Conversation callback's HMAC signature over `raw.rawBody` with `secret`, and that its
 * timestamp is within ±5 minutes of `now`. False for a missing header, another algorithm, a
 * non-numeric timestamp, an empty secret or any mismatch. Never throws.
 */
export function verifySinchConversationWebhook(secret: string, raw: WebhookRequest, now: Date = new Date()): boolean {
  try {
    const h = SINCH_WEBHOOK_SIGNATURE_HEADERS;
    const signature = raw.headers[h.signature];
    const nonce = raw.headers[h.nonce];
    const timestamp = raw.headers[h.timestamp];
    const algorithm = raw.headers[h.algorithm];
    if (secret === '' || signature === undefined || nonce === undefined || timestamp === undefined) return false;
    if (algorithm !== undefined && algorithm.toLowerCase() !== SINCH_WEBHOOK_SIGNATURE_ALGORITHM.toLowerCase()) return false;
    if (!/^\d{1,12}$/.test(timestamp)) return false;
    if (Math.abs(now.getTime() / 1000 - Number(timestamp)) > SINCH_WEBHOOK_MAX_SKEW_SECONDS) return false;
    const expected = Buffer.from(signSinchConversationWebhook(secret, raw.rawBody, nonce, timestamp), 'base64');
    const given = Buffer.from(signature.trim(), 'base64');
    // An HMAC-SHA256 is 32 bytes; its length is no secret, so a length mismatch may return early.
    return given.length === expected.length && timingSafeEqual(given, expected);
  } catch {
    return false;
  }
}

/**
 * `FAILED` reasons that stop a message before any channel tried to deliver it — a recipient or
 * configuration problem — so the attempt is `failed`, not `undelivered` (reference §2.7).
 * `RECIPIENT_NOT_REACHABLE` is one: on an RCS-only send, Sinch's own capability check says the
 * handset cannot take RCS before anything is sent.
 */
const PRE_CHANNEL_REASONS: ReadonlySet<string> = new Set([
  'RECIPIENT_INVALID_CHANNEL_IDENTITY',
  'RECIPIENT_NOT_REACHABLE',
  'RECIPIENT_NOT_OPTED_IN',
  'CHANNEL_BAD_CONFIGURATION',
  'CHANNEL_CONFIGURATION_MISSING',
  'MEDIA_TYPE_UNSUPPORTED',
  'MEDIA_TOO_LARGE',
  'MEDIA_NOT_REACHABLE',
  'TEMPLATE_NOT_FOUND',
  'TEMPLATE_INSUFFICIENT_PARAMETERS',
  'TEMPLATE_NON_EXISTING_LANGUAGE_OR_VERSION',
  'DELIVERY_REJECTED_DUE_TO_POLICY',
  'CONTACT_NOT_FOUND',
  'BAD_REQUEST',
  'UNKNOWN_APP',
  'NO_CHANNEL_IDENTITY_FOR_CONTACT',
  'NO_PERMISSION',
  'NO_PROFILE_AVAILABLE',
  'UNSUPPORTED_OPERATION',
  'INACTIVE_CREDENTIAL',
  'MESSAGE_SPLIT_REQUIRED',
  'OUTSIDE_ALLOWED_SENDING_WINDOW',
]);

/**
 * `FAILED` reasons worth one more try on another RCS provider (DESIGN §6: "undelivered with a
 * transient carrier code"): the channel or Sinch itself failed, not the recipient.
 */
const TRANSIENT_REASONS: ReadonlySet<string> = new Set(['CHANNEL_FAILURE', 'INTERNAL_ERROR', 'RATE_LIMITED']);

/** Whether a Conversation `reason.code` of a `FAILED` receipt is usually transient. */
export function sinchConversationReasonTransient(code: string | undefined): boolean {
  return code !== undefined && TRANSIENT_REASONS.has(code);
}

/** Conversation delivery `status` (plus `reason.code` for `FAILED`) → attempt status (reference §2.7). */
export function mapSinchConversationStatus(status: string, reasonCode?: string): CarrierStatus {
  switch (status) {
    case 'QUEUED_ON_CHANNEL':
      return 'sent';
    case 'DELIVERED':
    case 'READ':
      return 'delivered';
    // Sinch is moving to the next channel of `channel_priority_order`: the message is still open.
    case 'SWITCHING_CHANNEL':
      return 'queued';
    case 'FAILED':
      return reasonCode !== undefined && PRE_CHANNEL_REASONS.has(reasonCode) ? 'failed' : 'undelivered';
    default:
      return 'unknown';
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Our message id: `message_metadata`, the report's `metadata`, `correlation_id`, else the `sb` of the callback URL. */
function messageIdOf(body: Record<string, unknown>, report: Record<string, unknown>, raw: WebhookRequest): string | undefined {
  const fromBody = str(body['message_metadata']) ?? str(report['metadata']) ?? str(body['correlation_id']);
  if (fromBody !== undefined) return fromBody;
  const fromQuery = raw.query['sb'];
  if (fromQuery !== undefined && fromQuery !== '') return fromQuery;
  try {
    return new URL(raw.publicUrl).searchParams.get('sb') || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Maps one (already verified) Conversation callback to events. Pure and total: never throws.
 * - `message_delivery_report`: one event; `providerMessageId` = `message_id`, `messageId` from
 *   `message_metadata` / `metadata` / `correlation_id` / the URL's `sb`, `occurredAt` = `event_time`.
 *   `QUEUED_ON_CHANNEL` → sent, `DELIVERED`/`READ` → delivered, `SWITCHING_CHANNEL` → queued,
 *   `FAILED` → failed for a pre-channel `reason.code`, else undelivered; anything else `unknown`.
 *   `reason.code` becomes `errorCode` on `FAILED`/`SWITCHING_CHANNEL`; `CHANNEL_FAILURE`,
 *   `INTERNAL_ERROR` and `RATE_LIMITED` are `transient`; `RECIPIENT_NOT_REACHABLE` on RCS or
 *   WhatsApp (no RCS on the handset, no WhatsApp account) sets `recipientNotCapable`; `READ` (a read
 *   receipt, RCS and WhatsApp) sets `read`.
 * - Every other trigger (inbound messages, capability notifications, events…) or an unparsable
 *   body: `[]`.
 */
export function parseSinchConversationWebhook(raw: WebhookRequest, now: Date = new Date()): DeliveryEvent[] {
  try {
    const parsed: unknown = JSON.parse(raw.rawBody.toString('utf8'));
    if (!isRecord(parsed)) return [];
    const report = parsed['message_delivery_report'];
    if (!isRecord(report)) return [];
    const providerMessageId = str(report['message_id']);
    if (providerMessageId === undefined) return [];
    const rawStatus = typeof report['status'] === 'string' ? report['status'] : '';
    const reason = isRecord(report['reason']) ? report['reason'] : undefined;
    const reasonCode = str(reason?.['code']);
    const eventTime = str(parsed['event_time']);
    const at = eventTime === undefined ? Number.NaN : Date.parse(eventTime);
    const event: DeliveryEvent = {
      provider: 'sinch',
      providerMessageId,
      status: mapSinchConversationStatus(rawStatus, reasonCode),
      rawStatus,
      occurredAt: Number.isNaN(at) ? now : new Date(at),
    };
    const messageId = messageIdOf(parsed, report, raw);
    if (messageId !== undefined) event.messageId = messageId;
    if (reasonCode !== undefined && (rawStatus === 'FAILED' || rawStatus === 'SWITCHING_CHANNEL')) {
      event.errorCode = reasonCode;
      if (rawStatus === 'FAILED') event.transient = sinchConversationReasonTransient(reasonCode);
    }
    const identity = isRecord(report['channel_identity']) ? report['channel_identity'] : undefined;
    const channel = str(identity?.['channel']);
    // The recipient cannot use the channel at all: no RCS on the handset, or no WhatsApp account.
    if (
      rawStatus === 'FAILED' &&
      reasonCode === 'RECIPIENT_NOT_REACHABLE' &&
      (channel === undefined || channel === 'RCS' || channel === 'WHATSAPP')
    ) {
      event.recipientNotCapable = true;
    }
    if (rawStatus === 'READ') event.read = true;
    return [event];
  } catch {
    return [];
  }
}

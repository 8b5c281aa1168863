/**
 * Twilio StatusCallback handling: signature check and mapping to normalised delivery events
 * (reference §1.3, §1.4, §1.8).
 */
import twilio from 'twilio';
import { formField, parseFormBody } from '../form-body.ts';
import type { FormFields } from '../form-body.ts';
import type { CarrierStatus, DeliveryEvent, WebhookRequest } from '../provider.ts';
import { twilioDlrErrorTransient } from './twilio.errors.ts';

/**
 * Checks `X-Twilio-Signature` with the SDK's own `validateRequest`, so we match Twilio's quirks
 * (URL tried with and without the default port, legacy query encoding, constant-time compare).
 * Twilio signs the full URL it called — including our `?sb=` parameter — plus every POST param,
 * so `raw.publicUrl` must be the exact URL given as `StatusCallback`.
 * JSON-bodied webhooks (`?bodySHA256=` in the URL) are checked with `validateRequestWithBody`.
 * https://www.twilio.com/docs/usage/webhooks/webhooks-security
 * Never throws: any doubt is `false`.
 */
export function verifyTwilioWebhook(authToken: string, raw: WebhookRequest): boolean {
  try {
    const signature = raw.headers['x-twilio-signature'];
    if (signature === undefined || signature === '' || authToken === '') return false;
    if (raw.publicUrl.includes('bodySHA256=')) {
      return twilio.validateRequestWithBody(authToken, signature, raw.publicUrl, raw.rawBody.toString('utf8'));
    }
    const params: FormFields = raw.method.toUpperCase() === 'POST' ? parseFormBody(raw.rawBody.toString('utf8')) : {};
    return twilio.validateRequest(authToken, signature, raw.publicUrl, params);
  } catch {
    return false;
  }
}

/** Twilio `MessageStatus` → attempt status (reference §1.8). `null` marks inbound traffic, which is not a delivery event. */
const STATUS_MAP: Readonly<Record<string, CarrierStatus | null>> = {
  accepted: 'queued',
  scheduled: 'queued',
  queued: 'queued',
  sending: 'queued',
  sent: 'sent',
  delivered: 'delivered',
  read: 'delivered',
  partially_delivered: 'delivered',
  undelivered: 'undelivered',
  failed: 'failed',
  canceled: 'failed',
  receiving: null,
  received: null,
};

/** Normalises a Twilio `MessageStatus`; `null` for inbound statuses, `unknown` for anything new. */
export function mapTwilioStatus(status: string): CarrierStatus | null {
  const mapped = Object.hasOwn(STATUS_MAP, status) ? STATUS_MAP[status] : undefined;
  return mapped === undefined ? 'unknown' : mapped;
}

/** Our message id: Twilio echoes it only inside the StatusCallback URL we gave it (`?sb=`). */
function messageIdOf(raw: WebhookRequest): string | undefined {
  const fromQuery = raw.query['sb'];
  if (fromQuery !== undefined && fromQuery !== '') return fromQuery;
  try {
    const fromUrl = new URL(raw.publicUrl).searchParams.get('sb');
    return fromUrl === null || fromUrl === '' ? undefined : fromUrl;
  } catch {
    return undefined;
  }
}

/**
 * Maps one (already verified) status callback to at most one event. Pure and total: a callback
 * without `MessageSid`, an inbound message or an unparsable body yields `[]`; an unknown status
 * yields `unknown`. `occurredAt` is the receive time: `RawDlrDoneDate` has no timezone.
 */
export function parseTwilioWebhook(raw: WebhookRequest, now: Date = new Date()): DeliveryEvent[] {
  try {
    const fields = parseFormBody(raw.rawBody.toString('utf8'));
    const sid = formField(fields, 'MessageSid') ?? formField(fields, 'SmsSid');
    if (sid === undefined || sid === '') return [];
    const rawStatus = formField(fields, 'MessageStatus') ?? formField(fields, 'SmsStatus') ?? '';
    const status = mapTwilioStatus(rawStatus);
    if (status === null) return [];
    const errorCode = formField(fields, 'ErrorCode');
    const event: DeliveryEvent = {
      provider: 'twilio',
      providerMessageId: sid,
      status,
      rawStatus,
      occurredAt: now,
    };
    const messageId = messageIdOf(raw);
    if (messageId !== undefined) event.messageId = messageId;
    if (errorCode !== undefined && errorCode !== '' && errorCode !== '0') {
      event.errorCode = errorCode;
      event.transient = twilioDlrErrorTransient(errorCode);
    }
    return [event];
  } catch {
    return [];
  }
}

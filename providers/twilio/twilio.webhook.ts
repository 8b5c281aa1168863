/**
 * Twilio StatusCallback handling: signature check and mapping to normalised delivery events
 * (reference §1.3, §1.4, §1.8).
 */
import twilio from 'twilio';
import { formField, parseFormBody } from '../form-body.ts';
import type { FormFields } from '../form-body.ts';
import type { CarrierStatus, DeliveryEvent, WebhookRequest } from '../provider.ts';
import { twilioDlrErrorTransient } from './twilio.errors.ts';
import { isTwilioWhatsApp, TWILIO_WHATSAPP_NOT_REGISTERED_CODES } from './twilio.whatsapp.ts';

/**
 * Checks `X-Twilio-Signature` with the SDK's own `validateRequest`, so we match Twilio's quirks
 * (URL tried with and without the default port, legacy query encoding, constant-time compare).
 * Twilio signs the full URL it called — including our `?sb=` parameter — plus every POST param,
 * so `raw.publicUrl` must be the exact URL given as `StatusCallback`.
 * JSON-bodied webhooks (`?bodySHA256=` in the URL) are checked with `validateRequestWithBody`.
 * https://www.twilio.com/docs/usage/webhooks/webhooks-security
 * Never throws; every doubt is `false`.
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

/**
 * Twilio `CallStatus` → attempt status (CONTRACTS §2: a voice attempt is `delivered` on call
 * `completed`; `busy | no-answer | failed | canceled` → `undelivered`). A call that is queued,
 * initiated or ringing has not reached anyone yet (`queued`); `in-progress` means answered and
 * speaking (`sent`). https://www.twilio.com/docs/voice/api/call-resource#call-status-values
 */
const CALL_STATUS_MAP: Readonly<Record<string, CarrierStatus>> = {
  queued: 'queued',
  initiated: 'queued',
  ringing: 'queued',
  'in-progress': 'sent',
  completed: 'delivered',
  busy: 'undelivered',
  'no-answer': 'undelivered',
  failed: 'undelivered',
  canceled: 'undelivered',
};

/** Normalises a Twilio `CallStatus`; `unknown` for anything new. */
export function mapTwilioCallStatus(status: string): CarrierStatus {
  return Object.hasOwn(CALL_STATUS_MAP, status) ? (CALL_STATUS_MAP[status] ?? 'unknown') : 'unknown';
}

/**
 * Call outcomes worth one more try elsewhere (DESIGN §6): the person was there but did not pick
 * up, or the line was busy. A `failed` call (unroutable, invalid) or a `canceled` one is not.
 */
export function twilioCallStatusTransient(status: string): boolean {
  return status === 'busy' || status === 'no-answer';
}

/** `Timestamp` of a call status callback (RFC 2822, UTC); undefined when absent or unparsable. */
function callTimestamp(fields: FormFields): Date | undefined {
  const value = formField(fields, 'Timestamp');
  if (value === undefined || value === '') return undefined;
  const at = new Date(value);
  return Number.isNaN(at.getTime()) ? undefined : at;
}

/** Maps a voice call status callback (`CallSid` + `CallStatus`) to at most one event. */
function parseCallStatus(raw: WebhookRequest, fields: FormFields, sid: string, now: Date): DeliveryEvent[] {
  const rawStatus = formField(fields, 'CallStatus') ?? '';
  const event: DeliveryEvent = {
    provider: 'twilio',
    providerMessageId: sid,
    status: mapTwilioCallStatus(rawStatus),
    rawStatus,
    occurredAt: callTimestamp(fields) ?? now,
  };
  const messageId = messageIdOf(raw);
  if (messageId !== undefined) event.messageId = messageId;
  const errorCode = formField(fields, 'ErrorCode');
  if (errorCode !== undefined && errorCode !== '' && errorCode !== '0') event.errorCode = errorCode;
  if (event.status === 'undelivered') event.transient = twilioCallStatusTransient(rawStatus);
  return [event];
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
 * without `MessageSid`/`CallSid`, an inbound message or an unparsable body yields `[]`; an
 * unknown status yields `unknown`.
 * - Message callbacks (`MessageSid`, `MessageStatus`): `occurredAt` is the receive time, because
 *   `RawDlrDoneDate` has no timezone. RCS callbacks (`From=rcs:…`, `ChannelPrefix=rcs`) parse the
 *   same way; ErrorCode 63106 (no RCS on the handset) sets `recipientNotCapable`. WhatsApp
 *   callbacks (`ChannelPrefix=whatsapp`, `whatsapp:` addresses) too, where ErrorCode 63024 or 63003
 *   (not a WhatsApp user) sets `recipientNotCapable`. A read receipt (`read`, `EventType=READ`) is
 *   `delivered` with `read: true`.
 * - Voice call callbacks (`CallSid`, `CallStatus`): mapped per {@link mapTwilioCallStatus}; the
 *   call SID is the provider message id; `occurredAt` is the callback's `Timestamp`; `busy` and
 *   `no-answer` are `transient`.
 */
export function parseTwilioWebhook(raw: WebhookRequest, now: Date = new Date()): DeliveryEvent[] {
  try {
    const fields = parseFormBody(raw.rawBody.toString('utf8'));
    const sid = formField(fields, 'MessageSid') ?? formField(fields, 'SmsSid');
    if (sid === undefined || sid === '') {
      const callSid = formField(fields, 'CallSid');
      if (callSid === undefined || callSid === '' || formField(fields, 'CallStatus') === undefined) return [];
      return parseCallStatus(raw, fields, callSid, now);
    }
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
    const whatsapp = isTwilioWhatsApp({
      channelPrefix: formField(fields, 'ChannelPrefix'),
      from: formField(fields, 'From'),
      to: formField(fields, 'To'),
    });
    if (errorCode !== undefined && errorCode !== '' && errorCode !== '0') {
      event.errorCode = errorCode;
      event.transient = twilioDlrErrorTransient(errorCode);
      // 63106: an RCS-only message to a handset that cannot take RCS (reference §1.6);
      // 63024/63003 on WhatsApp: the number has no WhatsApp account (twilio.whatsapp.ts).
      if (errorCode === '63106' || (whatsapp && TWILIO_WHATSAPP_NOT_REGISTERED_CODES.has(errorCode))) event.recipientNotCapable = true;
    }
    // A read receipt (WhatsApp, RCS): `MessageStatus=read` and/or `EventType=READ` (reference §1.3).
    if (rawStatus === 'read' || formField(fields, 'EventType') === 'READ') {
      event.read = true;
      if (event.status !== 'delivered') event.status = 'delivered';
    }
    return [event];
  } catch {
    return [];
  }
}

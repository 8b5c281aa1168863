/**
 * MessageBird status reads (reconciliation): `GET https://rest.messagebird.com/messages/{id}`
 * (reference §3.1) through our typed client, the recipient's item normalised exactly like the
 * status report MessageBird would have sent (`status`, `statusReason`, `statusErrorCode`).
 */
import type { DeliveryEvent, StatusReadRequest } from '../provider.ts';
import type { MessageBirdClient } from './messagebird.client.ts';
import { classifyMessageBirdError, messagebirdDlrErrorTransient } from './messagebird.errors.ts';
import { mapMessageBirdStatus } from './messagebird.webhook.ts';

/** Builds `readStatus` for the client; `timeoutMs` bounds each read. `not_found` for an id MessageBird does not know. */
export function createMessageBirdStatusReader(
  client: MessageBirdClient,
  timeoutMs: number,
): (req: StatusReadRequest) => Promise<DeliveryEvent | 'not_found' | 'unsupported'> {
  return async (req) => {
    if (req.channel !== 'sms') return 'unsupported';
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = req.signal === undefined ? timeout : AbortSignal.any([timeout, req.signal]);
    let message;
    try {
      message = await client.getMessage(req.providerMessageId, signal);
    } catch (err) {
      const classified = classifyMessageBirdError(err);
      if (classified.httpStatus === 404) return 'not_found';
      throw classified;
    }
    const msisdn = req.to.replace(/^\+/, '');
    const items = message.recipients?.items ?? [];
    const item = items.find((i) => String(i.recipient) === msisdn) ?? items[0];
    if (item === undefined) return 'not_found';
    const at = item.statusDatetime === undefined || item.statusDatetime === null ? Number.NaN : Date.parse(item.statusDatetime);
    const event: DeliveryEvent = {
      provider: 'messagebird',
      providerMessageId: req.providerMessageId,
      messageId: req.messageId,
      status: mapMessageBirdStatus(item.status, item.statusReason),
      rawStatus: item.status,
      occurredAt: Number.isNaN(at) ? new Date() : new Date(at),
    };
    const code = item.statusErrorCode;
    if (code !== undefined && code !== null && String(code) !== '' && String(code) !== '0') {
      event.errorCode = String(code);
      event.transient = messagebirdDlrErrorTransient(code, item.statusReason);
    } else if (event.status === 'undelivered' && item.statusReason !== undefined) {
      event.transient = messagebirdDlrErrorTransient(undefined, item.statusReason);
    }
    return event;
  };
}

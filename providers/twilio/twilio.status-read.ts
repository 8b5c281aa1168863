/**
 * Twilio status reads (reconciliation): `GET /2010-04-01/Accounts/{Sid}/Messages/{Sid}.json` for
 * SMS and RCS, `GET …/Calls/{Sid}.json` for voice, through the official SDK
 * (`client.messages(sid).fetch()`, `client.calls(sid).fetch()`), normalised exactly like the
 * StatusCallback of the same resource so a lost callback is recovered with the same meaning.
 * https://www.twilio.com/docs/messaging/api/message-resource#fetch-a-message-resource
 */
import type { Twilio } from 'twilio';
import type { DeliveryEvent, StatusReadRequest } from '../provider.ts';
import { classifyTwilioError, twilioDlrErrorTransient } from './twilio.errors.ts';
import { runTwilioCall, type TwilioCallContext } from './twilio.request-client.ts';
import { mapTwilioCallStatus, mapTwilioStatus, twilioCallStatusTransient } from './twilio.webhook.ts';
import { isTwilioWhatsApp, TWILIO_WHATSAPP_NOT_REGISTERED_CODES } from './twilio.whatsapp.ts';

/** Twilio's "resource not found" (HTTP 404, code 20404): the account does not know this SID. */
function isNotFound(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { status?: unknown }).status === 404;
}

/** Builds `readStatus` for a Twilio client. Resolves `not_found` for a SID Twilio does not know. */
export function createTwilioStatusReader(client: Twilio): (req: StatusReadRequest) => Promise<DeliveryEvent | 'not_found' | 'unsupported'> {
  return async (req) => {
    const ctx: TwilioCallContext = {};
    if (req.signal !== undefined) ctx.signal = req.signal;
    try {
      if (req.channel === 'voice') {
        const call = await runTwilioCall(ctx, () => client.calls(req.providerMessageId).fetch());
        const rawStatus = String(call.status);
        const event: DeliveryEvent = {
          provider: 'twilio',
          providerMessageId: req.providerMessageId,
          messageId: req.messageId,
          status: mapTwilioCallStatus(rawStatus),
          rawStatus,
          occurredAt: call.dateUpdated ?? new Date(),
        };
        if (event.status === 'undelivered') event.transient = twilioCallStatusTransient(rawStatus);
        return event;
      }
      const message = await runTwilioCall(ctx, () => client.messages(req.providerMessageId).fetch());
      const rawStatus = String(message.status);
      const status = mapTwilioStatus(rawStatus);
      if (status === null) return 'unsupported';
      // Our clock: `date_updated` has whole seconds and Twilio's clock (as for acceptance times).
      const event: DeliveryEvent = {
        provider: 'twilio',
        providerMessageId: req.providerMessageId,
        messageId: req.messageId,
        status,
        rawStatus,
        occurredAt: new Date(),
      };
      const code = message.errorCode;
      if (code !== null && code !== undefined && code !== 0) {
        event.errorCode = String(code);
        event.transient = twilioDlrErrorTransient(code);
        if (String(code) === '63106') event.recipientNotCapable = true;
        if (TWILIO_WHATSAPP_NOT_REGISTERED_CODES.has(String(code)) && isTwilioWhatsApp({ from: message.from, to: message.to }))
          event.recipientNotCapable = true;
      }
      if (rawStatus === 'read') event.read = true;
      return event;
    } catch (err) {
      if (isNotFound(err)) return 'not_found';
      throw classifyTwilioError(err);
    }
  };
}

/**
 * Twilio inbound SMS (a person texting one of our numbers), for STOP/START opt-outs.
 * Twilio POSTs the incoming message to the number's "A message comes in" webhook as a form body —
 * `MessageSid`, `AccountSid`, `From`, `To`, `Body`, `NumMedia`… — signed with `X-Twilio-Signature`
 * exactly like a status callback, so the adapter's `verifyWebhook` checks it unchanged.
 * https://www.twilio.com/docs/messaging/guides/webhook-request
 *
 * The sandbox side (posting an inbound message as Twilio does) is `sandbox/twilio.inbound-emulator.ts`.
 */
import { formField, parseFormBody } from '../form-body.ts';
import type { InboundMessage, WebhookRequest } from '../provider.ts';

/**
 * Maps a verified inbound-message webhook to the message. Pure and total: a body without
 * `From` or a message SID (a status callback posted here by mistake, garbage) is `undefined`.
 */
export function parseTwilioInbound(raw: WebhookRequest): InboundMessage | undefined {
  try {
    const fields = parseFormBody(raw.rawBody.toString('utf8'));
    const sid = formField(fields, 'MessageSid') ?? formField(fields, 'SmsMessageSid') ?? formField(fields, 'SmsSid');
    const from = formField(fields, 'From');
    if (sid === undefined || sid === '' || from === undefined || from === '') return undefined;
    return { from, to: formField(fields, 'To') ?? '', text: formField(fields, 'Body') ?? '', providerMessageId: sid };
  } catch {
    return undefined;
  }
}

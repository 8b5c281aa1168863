/**
 * WhatsApp through Twilio Programmable Messaging (reference §1.1, §1.3): the same Messages
 * resource as SMS, with both ends addressed `whatsapp:<E.164>` and the text coming from an
 * **authentication template** of the Content API (`ContentSid` `HX…`, the code as its variable
 * `{{1}}` in `ContentVariables`). WhatsApp lets a business start a conversation only with a
 * template Meta approved, and an OTP is always business-initiated, so a free-form `Body` would
 * fail (63016, outside the 24-hour window); Meta fixes the authentication template's text around
 * the code ("*123456* is your verification code…"), so our rendered body is not sent.
 *
 * Twilio learns that a number has no WhatsApp account only after accepting the message: the
 * StatusCallback says `failed` with ErrorCode 63024 ("invalid message recipient": Meta says the
 * number is not a WhatsApp user) or 63003 ("channel could not find To address": an unregistered
 * WhatsApp number). Both mean "not on WhatsApp" — the next channel, not another WhatsApp
 * provider. https://www.twilio.com/docs/api/errors/63024 https://www.twilio.com/docs/api/errors/63003
 */
import type { SendRequest } from '../provider.ts';

/** Twilio's address prefix for WhatsApp (`From=whatsapp:+…`, `To=whatsapp:+…`). */
export const TWILIO_WHATSAPP_PREFIX = 'whatsapp:';

/**
 * StatusCallback / fetched-message error codes meaning the recipient has no (active) WhatsApp
 * account: 63024 (Meta: not a valid WhatsApp user; WhatsApp errors 1002/1026) and 63003 (an
 * unregistered or inactive WhatsApp address; WhatsApp 1006/1013/1021).
 * https://www.twilio.com/docs/whatsapp/api/error-code-mapping
 */
export const TWILIO_WHATSAPP_NOT_REGISTERED_CODES: ReadonlySet<string> = new Set(['63024', '63003']);

/** The code the sandbox answers for a number marked not on WhatsApp (Meta: not a WhatsApp user). */
export const TWILIO_WHATSAPP_NOT_REGISTERED_CODE = '63024';

/** `whatsapp:` + the sender or recipient, prefixed once. */
export function twilioWhatsAppAddress(address: string): string {
  return address.startsWith(TWILIO_WHATSAPP_PREFIX) ? address : TWILIO_WHATSAPP_PREFIX + address;
}

/**
 * `ContentVariables` of an authentication template: a JSON object whose key `"1"` is the code
 * (Twilio numbers a template's variables from 1).
 */
export function twilioWhatsAppContentVariables(code: string): string {
  return JSON.stringify({ '1': code });
}

/** What a WhatsApp send needs from the Twilio config. */
export interface TwilioWhatsAppSettings {
  whatsappFrom: string;
  whatsappContentSid: string;
}

/** The Messages create parameters of a WhatsApp OTP (see the file comment). Pure. */
export function buildTwilioWhatsAppParams(
  req: Pick<SendRequest, 'to' | 'statusCallbackUrl' | 'otpCode'> & { otpCode: string },
  settings: TwilioWhatsAppSettings,
): { to: string; from: string; contentSid: string; contentVariables: string; statusCallback: string } {
  return {
    to: twilioWhatsAppAddress(req.to),
    from: twilioWhatsAppAddress(settings.whatsappFrom),
    contentSid: settings.whatsappContentSid,
    contentVariables: twilioWhatsAppContentVariables(req.otpCode),
    statusCallback: req.statusCallbackUrl,
  };
}

/** Whether a StatusCallback or fetched message is about WhatsApp (`ChannelPrefix=whatsapp` or a `whatsapp:` address). */
export function isTwilioWhatsApp(fields: {
  channelPrefix?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
}): boolean {
  return (
    fields.channelPrefix === 'whatsapp' ||
    fields.from?.startsWith(TWILIO_WHATSAPP_PREFIX) === true ||
    fields.to?.startsWith(TWILIO_WHATSAPP_PREFIX) === true
  );
}

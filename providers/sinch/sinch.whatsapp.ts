/**
 * WhatsApp through the Sinch Conversation API (the same `messages:send` and signed delivery
 * receipts as RCS, `sinch.conversation.ts`): the recipient is a `WHATSAPP` channel identity, the
 * message a **channel-specific template** — the WhatsApp authentication template Meta approved,
 * referenced by its name (`template_id`) and language (`language_code`, underscored: `en`, `pt_BR`)
 * — with the code as the body's first parameter (`body[1]text`) and as the copy-code button's
 * (`button[0]url_text`), which authentication templates carry. WhatsApp only lets a business open
 * a conversation with an approved template, and an OTP always opens one, so text is never sent.
 * https://developers.sinch.com/docs/conversation/channel-support/whatsapp/template-support
 *
 * `channel_priority_order: ['WHATSAPP']`: Switchboard owns the fallback to SMS (DESIGN §6.3). A
 * number without WhatsApp is accepted (200) and then reported `FAILED` with
 * `RECIPIENT_NOT_REACHABLE` on the `WHATSAPP` channel; a read receipt is `READ`.
 */
import type { Conversation } from '@sinch/sdk-core';
import type { SendRequest } from '../provider.ts';

/** Conversation's channel name for WhatsApp. */
export const SINCH_WHATSAPP_CHANNEL = 'WHATSAPP';

/** The template parameters of a WhatsApp authentication template, by Sinch's names. */
export const SINCH_WHATSAPP_CODE_PARAMETERS = ['body[1]text', 'button[0]url_text'] as const;

/**
 * The template language for a message locale, among the languages the template is approved in:
 * the locale itself (`pt-BR` → `pt_BR`), else its language (`pt`), else the first configured one.
 */
export function sinchWhatsAppLanguage(locale: string | undefined, languages: readonly string[]): string {
  const fallback = languages[0] ?? 'en';
  if (locale === undefined || locale === '') return fallback;
  const exact = locale.replace('-', '_');
  if (languages.includes(exact)) return exact;
  const base = exact.split('_')[0] ?? '';
  return languages.includes(base) ? base : fallback;
}

/** What a WhatsApp send needs from the Sinch config. */
export interface SinchWhatsAppSettings {
  appId: string;
  templateId: string;
  languages: readonly string[];
}

/** The WhatsApp-only template request of one send (see the file comment); the sender adds the validity (`ttl`). Pure. */
export function buildSinchWhatsAppRequest(
  req: Pick<SendRequest, 'to' | 'messageId' | 'statusCallbackUrl' | 'locale'> & { otpCode: string },
  settings: SinchWhatsAppSettings,
): Conversation.SendMessageRequest<Conversation.IdentifiedBy> {
  const parameters: Record<string, string> = {};
  for (const name of SINCH_WHATSAPP_CODE_PARAMETERS) parameters[name] = req.otpCode;
  const body: Conversation.SendMessageRequest<Conversation.IdentifiedBy> = {
    app_id: settings.appId,
    recipient: { identified_by: { channel_identities: [{ channel: SINCH_WHATSAPP_CHANNEL, identity: req.to }] } },
    message: {
      template_message: {
        channel_template: {
          [SINCH_WHATSAPP_CHANNEL]: {
            template_id: settings.templateId,
            language_code: sinchWhatsAppLanguage(req.locale, settings.languages),
            parameters,
          },
        },
      },
    },
    channel_priority_order: [SINCH_WHATSAPP_CHANNEL],
    callback_url: req.statusCallbackUrl,
    message_metadata: req.messageId,
    correlation_id: req.messageId,
  };
  return body;
}

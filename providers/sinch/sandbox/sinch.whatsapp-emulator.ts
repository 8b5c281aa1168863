/**
 * The WhatsApp templates of the Sinch Conversation emulator (`sinch.conversation-emulator.ts`):
 * the sandbox sender's approved templates and how Conversation treats a `template_message` with a
 * `channel_template.WHATSAPP` reference (`sinch.whatsapp.ts`).
 *
 * Conversation refuses at once (400) what it can see is malformed — no WhatsApp channel template,
 * no `template_id`, no `language_code` (required for WhatsApp channel-specific templates) — and
 * reports what only WhatsApp knows afterwards, as a `FAILED` receipt before a channel tried:
 * an unknown template (`TEMPLATE_NOT_FOUND`), a language it is not approved in
 * (`TEMPLATE_NON_EXISTING_LANGUAGE_OR_VERSION`), a missing parameter
 * (`TEMPLATE_INSUFFICIENT_PARAMETERS`).
 */
import { SINCH_WHATSAPP_CHANNEL, SINCH_WHATSAPP_CODE_PARAMETERS } from '../sinch.whatsapp.ts';
import { SINCH_SANDBOX_CREDENTIALS } from './sinch.sandbox.ts';

/** One approved WhatsApp template: its text per language (`{{1}}` = `body[1]text`) and the parameters it needs. */
export interface SinchSandboxWhatsAppTemplate {
  languages: Readonly<Record<string, string>>;
  parameters: readonly string[];
}

/**
 * The sandbox sender's templates: the authentication template, worded as Meta fixes it per
 * language (the code in bold, then the security disclaimer; a copy-code button carries the code).
 */
export const SINCH_SANDBOX_WHATSAPP_TEMPLATES: Readonly<Record<string, SinchSandboxWhatsAppTemplate>> = {
  [SINCH_SANDBOX_CREDENTIALS.whatsappTemplateId]: {
    languages: {
      en: '*{{1}}* is your verification code. For your security, do not share this code.',
      es: '*{{1}}* es tu código de verificación. Por tu seguridad, no lo compartas.',
      pt_BR: '*{{1}}* é seu código de verificação. Para sua segurança, não o compartilhe.',
    },
    parameters: SINCH_WHATSAPP_CODE_PARAMETERS,
  },
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks a `template_message`: a synchronous `refusal` text, or what the handset would show
 * (`text`) and, when WhatsApp would refuse the template, the receipt's `failure` reason.
 */
export function sinchWhatsAppTemplateCheck(
  templateMessage: Record<string, unknown>,
): { refusal: string } | { text?: string; failure?: string } {
  const channelTemplate = isRecord(templateMessage['channel_template'])
    ? templateMessage['channel_template'][SINCH_WHATSAPP_CHANNEL]
    : undefined;
  if (!isRecord(channelTemplate)) return { refusal: 'the sandbox resolves template_message.channel_template.WHATSAPP only' };
  const templateId = channelTemplate['template_id'];
  const language = channelTemplate['language_code'];
  if (typeof templateId !== 'string' || templateId === '') return { refusal: 'template_id is required' };
  if (typeof language !== 'string' || language === '')
    return { refusal: 'language_code is required for WhatsApp channel-specific templates' };
  const params = isRecord(channelTemplate['parameters']) ? channelTemplate['parameters'] : {};
  const template = Object.hasOwn(SINCH_SANDBOX_WHATSAPP_TEMPLATES, templateId) ? SINCH_SANDBOX_WHATSAPP_TEMPLATES[templateId] : undefined;
  if (template === undefined) return { failure: 'TEMPLATE_NOT_FOUND' };
  const wording = Object.hasOwn(template.languages, language) ? template.languages[language] : undefined;
  if (wording === undefined) return { failure: 'TEMPLATE_NON_EXISTING_LANGUAGE_OR_VERSION' };
  const values = template.parameters.map((name) => params[name]);
  if (!values.every((v) => typeof v === 'string' && v !== '')) return { failure: 'TEMPLATE_INSUFFICIENT_PARAMETERS' };
  return { text: wording.replace('{{1}}', String(values[0])) };
}

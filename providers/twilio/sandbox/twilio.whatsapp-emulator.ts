/**
 * The WhatsApp part of the Twilio emulator (`twilio.emulator.ts` routes `To=whatsapp:+…` here):
 * Twilio's Content API templates as the sandbox knows them, the synchronous refusals Twilio
 * answers for a WhatsApp Messages create, and the callbacks a WhatsApp message gets.
 *
 * What the sandbox does with a WhatsApp send (reference §1.1, §1.3; `twilio.whatsapp.ts`):
 * - `From` must be `whatsapp:<sender>` (else 400 21910, Twilio's mixed-channel pair error); the
 *   content comes from `ContentSid` (an unknown one → 400 21655) with `ContentVariables` (JSON
 *   that fills every `{{n}}` of the template, else 400 21656); a `Body` without `ContentSid` is
 *   accepted and then `failed` with 63016 (free-form text outside the 24-hour window), as WhatsApp
 *   refuses business-initiated free text;
 * - the magic invalid number → 400 21211, the no-geo-permission one → 400 21408;
 * - a number on WhatsApp (`sandboxOnWhatsApp`) → `sent` → `delivered` → `read` (`EventType=READ`)
 *   per the scenario, or `sent` → `undelivered` with the scenario's `dlrErrorCode` (default 63012,
 *   Twilio's "WhatsApp channel failure"); one not on WhatsApp → one `failed` callback with 63024.
 * Every callback carries `ChannelPrefix=whatsapp`, `ChannelInstallSid` and `whatsapp:` addresses.
 */
import { sandboxOnWhatsApp } from '../../provider.ts';
import type { SandboxNumber } from '../../provider.ts';
import { twilioErrorBody } from './twilio.emulator-kit.ts';
import type { TwilioErrorBody } from './twilio.emulator-kit.ts';
import { TWILIO_SANDBOX_CREDENTIALS } from './twilio.sandbox.ts';
import { TWILIO_WHATSAPP_NOT_REGISTERED_CODE, TWILIO_WHATSAPP_PREFIX } from '../twilio.whatsapp.ts';

/**
 * Content API templates the sandbox account owns, by `HX…` SID: the sandbox authentication
 * template, worded as Meta fixes authentication templates (the code in bold, then the security
 * disclaimer). https://developers.facebook.com/docs/whatsapp/business-management-api/authentication-templates
 */
export const TWILIO_SANDBOX_CONTENT_TEMPLATES: Readonly<Record<string, string>> = {
  [TWILIO_SANDBOX_CREDENTIALS.whatsappContentSid]: '*{{1}}* is your verification code. For your security, do not share this code.',
};

/** The channel install (WhatsApp sender registration) the sandbox's callbacks name. */
export const TWILIO_SANDBOX_WHATSAPP_INSTALL_SID = 'XE' + '0'.repeat(32);

/** Twilio's "free-form message outside the allowed window" (WhatsApp 470): a Body instead of a template. */
export const TWILIO_WHATSAPP_OUTSIDE_WINDOW_CODE = '63016';

/** The default failure code of `dlr: undelivered` on WhatsApp: 63012, a generic channel failure at WhatsApp. */
export const TWILIO_WHATSAPP_DEFAULT_FAILURE_CODE = '63012';

/** Fills a template's `{{n}}` placeholders from `ContentVariables`; an error body when it cannot. */
export function renderTwilioContent(contentSid: string, variables: string | undefined): { text: string } | { error: TwilioErrorBody } {
  const template = Object.hasOwn(TWILIO_SANDBOX_CONTENT_TEMPLATES, contentSid) ? TWILIO_SANDBOX_CONTENT_TEMPLATES[contentSid] : undefined;
  if (template === undefined) return { error: twilioErrorBody(400, 21655, `The ContentSid ${contentSid} is invalid.`) };
  let values: Record<string, unknown> = {};
  if (variables !== undefined && variables !== '') {
    try {
      const parsed: unknown = JSON.parse(variables);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new TypeError('not an object');
      values = parsed as Record<string, unknown>;
    } catch {
      return { error: twilioErrorBody(400, 21656, 'The ContentVariables Parameter is invalid.') };
    }
  }
  let missing = false;
  const text = template.replace(/\{\{(\d+)\}\}/g, (_m, n: string) => {
    const v = values[n];
    if (typeof v !== 'string' && typeof v !== 'number') {
      missing = true;
      return '';
    }
    return String(v);
  });
  if (missing) return { error: twilioErrorBody(400, 21656, 'The ContentVariables Parameter is invalid.') };
  return { text };
}

/** What one WhatsApp Messages create carries (the `whatsapp:` prefixes already seen). */
export interface TwilioWhatsAppCreate {
  /** E.164, without `whatsapp:`. */
  to: string;
  from: string | undefined;
  body: string | undefined;
  contentSid: string | undefined;
  contentVariables: string | undefined;
}

/** The synchronous refusal of a WhatsApp create, or the text the handset shows (see the file comment). */
export function twilioWhatsAppRefusal(req: TwilioWhatsAppCreate): { error: TwilioErrorBody } | { text: string; freeForm: boolean } {
  if (req.from === undefined || !req.from.startsWith(TWILIO_WHATSAPP_PREFIX)) {
    return { error: twilioErrorBody(400, 21910, 'Invalid From and To pair. From and To should be of the same channel.') };
  }
  if (req.contentSid !== undefined && req.contentSid !== '')
    return { ...renderTwilioContent(req.contentSid, req.contentVariables), freeForm: false };
  if (req.body === undefined || req.body === '') return { error: twilioErrorBody(400, 21602, 'Message body is required.') };
  return { text: req.body, freeForm: true };
}

/** One planned WhatsApp callback: the status, its error code, and when (ms after the send). */
export interface TwilioWhatsAppCallbackPlan {
  status: 'sent' | 'delivered' | 'read' | 'undelivered' | 'failed';
  errorCode?: string;
  atMs: number;
}

/** The callbacks of one accepted WhatsApp message (see the file comment). Pure. */
export function planTwilioWhatsAppCallbacks(
  to: string,
  entry: SandboxNumber,
  freeForm: boolean,
  scenario: { dlr: 'delivered' | 'undelivered' | 'none'; dlrErrorCode?: string; dlrDelayMs: number },
): TwilioWhatsAppCallbackPlan[] {
  if (scenario.dlr === 'none') return [];
  const delay = Math.max(0, scenario.dlrDelayMs);
  if (!sandboxOnWhatsApp(to, entry))
    return [{ status: 'failed', errorCode: TWILIO_WHATSAPP_NOT_REGISTERED_CODE, atMs: Math.floor(delay / 2) }];
  if (freeForm) return [{ status: 'failed', errorCode: TWILIO_WHATSAPP_OUTSIDE_WINDOW_CODE, atMs: Math.floor(delay / 2) }];
  const sent: TwilioWhatsAppCallbackPlan = { status: 'sent', atMs: Math.floor(delay / 2) };
  if (scenario.dlr === 'undelivered')
    return [sent, { status: 'undelivered', errorCode: scenario.dlrErrorCode ?? TWILIO_WHATSAPP_DEFAULT_FAILURE_CODE, atMs: delay }];
  return [sent, { status: 'delivered', atMs: delay }, { status: 'read', atMs: Math.floor(delay * 1.5) }];
}

/**
 * Voice OTP through Twilio Programmable Voice: `client.calls.create` with **inline TwiML**
 * (`Twiml` parameter), so the code never sits behind a URL someone could fetch, and call-progress
 * status callbacks to our usual Twilio webhook (signed with `X-Twilio-Signature` like message
 * callbacks, parsed by `parseTwilioWebhook`).
 * https://www.twilio.com/docs/voice/api/call-resource#create-a-call-resource
 *
 * The call says an intro in the message locale, then the code digit by digit ("1, 2, 3, …" — a
 * run of digits would be read as one big number), pauses, and says it again: people reach for a
 * pen after the first reading.
 */
import twilio from 'twilio';
import type { Twilio } from 'twilio';
import type VoiceResponse from 'twilio/lib/twiml/VoiceResponse.js';
import { ProviderError } from '../errors.ts';
import type { SendRequest, SendResult } from '../provider.ts';
import type { TwilioConfig } from './twilio.config.ts';
import { classifyTwilioError } from './twilio.errors.ts';
import { runTwilioCall } from './twilio.request-client.ts';
import type { TwilioCallContext } from './twilio.request-client.ts';
import { mapTwilioCallStatus } from './twilio.webhook.ts';

/** Call-progress events we ask Twilio to report (each becomes a status callback). */
export const TWILIO_CALL_EVENTS = ['initiated', 'ringing', 'answered', 'completed'] as const;

/** Twilio's limit on inline TwiML (`Twiml` parameter), in characters. */
export const TWILIO_MAX_TWIML_CHARS = 4_000;

/** Twilio's `<Say language>` codes (the SDK declares the union without exporting its name). */
export type TwilioSayLanguage = NonNullable<VoiceResponse.SayAttributes['language']>;

/** What a call says around the digits, in one language. */
export interface VoicePrompt {
  /** `<Say language>`: Twilio's TTS language code. */
  language: TwilioSayLanguage;
  /** Said before the first reading, e.g. "Your verification code is". */
  intro: string;
  /** Said before the second reading, e.g. "Again, your code is". */
  repeat: string;
}

/** Prompts per base language; `en` is the fallback for any other locale. */
export const VOICE_PROMPTS = {
  en: { language: 'en-US', intro: 'Your verification code is', repeat: 'Again, your code is' },
  es: { language: 'es-ES', intro: 'Su código de verificación es', repeat: 'Repito, su código es' },
  fr: { language: 'fr-FR', intro: 'Votre code de vérification est', repeat: 'Je répète, votre code est' },
  de: { language: 'de-DE', intro: 'Ihr Bestätigungscode lautet', repeat: 'Noch einmal, Ihr Code lautet' },
  pt: { language: 'pt-BR', intro: 'Seu código de verificação é', repeat: 'Repetindo, seu código é' },
} as const satisfies Record<string, VoicePrompt>;

/** Regional voices Twilio has for our languages: a locale naming one keeps its accent (`en-GB`, `pt-PT`). */
const REGIONAL_LANGUAGES: ReadonlySet<string> = new Set<TwilioSayLanguage>([
  'en-AU',
  'en-CA',
  'en-GB',
  'en-IE',
  'en-IN',
  'en-NZ',
  'en-US',
  'en-ZA',
  'es-ES',
  'es-MX',
  'es-US',
  'fr-BE',
  'fr-CA',
  'fr-FR',
  'de-AT',
  'de-DE',
  'pt-BR',
  'pt-PT',
]);

type PromptLanguage = keyof typeof VOICE_PROMPTS;

function isPromptLanguage(value: string): value is PromptLanguage {
  return Object.hasOwn(VOICE_PROMPTS, value);
}

/**
 * The prompt for a BCP 47 locale: `fr`, `fr-FR`, `fr_fr` → French (`fr-FR`); `en-GB` keeps the
 * British voice; `pt` is Brazilian; unknown or missing locales fall back to US English so the
 * code is always said in a language Twilio speaks.
 */
export function voicePromptFor(locale: string | undefined): VoicePrompt {
  const parts = (locale ?? '').trim().replace(/_/g, '-').split('-');
  const lang = (parts[0] ?? '').toLowerCase();
  if (!isPromptLanguage(lang)) return VOICE_PROMPTS.en;
  const prompt: VoicePrompt = VOICE_PROMPTS[lang];
  const region = parts[1]?.toUpperCase();
  const regional = region === undefined ? undefined : `${lang}-${region}`;
  if (regional !== undefined && REGIONAL_LANGUAGES.has(regional)) return { ...prompt, language: regional as TwilioSayLanguage };
  return prompt;
}

/** "123456" → "1, 2, 3, 4, 5, 6." — the commas make every TTS engine read digits one by one. */
export function spokenDigits(code: string): string {
  const chars = [...code.replace(/\s+/g, '')];
  return `${chars.join(', ')}.`;
}

/** Spells out runs of 4+ digits in free text, so a code inside a body is not read as a number. */
function spellDigitRuns(text: string): string {
  return text.replace(/\d{4,}/g, (run) => spokenDigits(run).slice(0, -1));
}

/**
 * The inline TwiML of an OTP call, XML-escaped by the SDK's TwiML builder:
 * ```xml
 * <Response>
 *   <Say language="fr-FR">Votre code de vérification est</Say><Say language="fr-FR">1, 2, 3, 4, 5, 6.</Say>
 *   <Pause length="1"/>
 *   <Say language="fr-FR">Je répète, votre code est</Say><Say language="fr-FR">1, 2, 3, 4, 5, 6.</Say>
 * </Response>
 * ```
 * Without a `code`, `text` (a transactional message) is said twice, long digit runs spelled out.
 */
export function buildVoiceTwiml(opts: { code?: string | undefined; text?: string | undefined; locale?: string | undefined }): string {
  const prompt = voicePromptFor(opts.locale);
  const response = new twilio.twiml.VoiceResponse();
  const say = (text: string): void => {
    response.say({ language: prompt.language }, text);
  };
  const code = opts.code?.replace(/\s+/g, '');
  if (code !== undefined && code !== '') {
    say(prompt.intro);
    say(spokenDigits(code));
    response.pause({ length: 1 });
    say(prompt.repeat);
    say(spokenDigits(code));
  } else {
    const text = spellDigitRuns(opts.text ?? '');
    say(text);
    response.pause({ length: 1 });
    say(text);
  }
  return response.toString();
}

const SAY = /<Say\b[^>]*>([^<]*)<\/Say>/g;
const DIGIT_READING = /^([0-9A-Za-z])(?:, ([0-9A-Za-z]))*\.$/;

/**
 * Reads the code back from OTP TwiML — what a listener would hear — for sandbox tests and the
 * sandbox log: the first `<Say>` that is a digit-by-digit reading. Undefined when there is none.
 */
export function readCodeFromTwiml(twiml: string): string | undefined {
  for (const match of twiml.matchAll(SAY)) {
    const text = (match[1] ?? '').trim();
    if (DIGIT_READING.test(text)) return text.replace(/[,.\s]/g, '');
  }
  return undefined;
}

/**
 * Builds the voice half of the Twilio adapter's `send`: one `calls.create` per OTP call, from
 * `voiceFrom` (else `from`), ringing `voiceRingTimeoutSeconds`, with inline TwiML and every
 * call-progress event posted to `req.statusCallbackUrl` (which carries our message id, `?sb=`).
 * The call's SID (`CA…`) is the provider message id; Twilio answers `queued`. Rejects only with
 * `ProviderError`.
 */
export function createTwilioVoiceSender(client: Twilio, config: TwilioConfig): (req: SendRequest) => Promise<SendResult> {
  const from = config.voiceFrom ?? config.from;
  return async (req) => {
    const twiml = buildVoiceTwiml({ code: req.spokenCode, text: req.body, locale: req.locale });
    if (twiml.length > TWILIO_MAX_TWIML_CHARS) {
      throw new ProviderError(`twilio: the call's TwiML is ${twiml.length} characters; Twilio takes at most ${TWILIO_MAX_TWIML_CHARS}`, {
        kind: 'permanent',
        scope: 'channel',
        provider: 'twilio',
      });
    }
    const ctx: TwilioCallContext = {};
    if (req.signal !== undefined) ctx.signal = req.signal;
    try {
      const call = await runTwilioCall(ctx, () =>
        client.calls.create({
          to: req.to,
          from,
          twiml,
          statusCallback: req.statusCallbackUrl,
          statusCallbackEvent: [...TWILIO_CALL_EVENTS],
          statusCallbackMethod: 'POST',
          timeout: config.voiceRingTimeoutSeconds,
        }),
      );
      const status = mapTwilioCallStatus(call.status);
      return { providerMessageId: call.sid, acceptedAt: new Date(), status: status === 'unknown' ? 'queued' : status };
    } catch (err) {
      throw classifyTwilioError(err, ctx.retryAfter === undefined ? undefined : { retryAfter: ctx.retryAfter });
    }
  };
}

/**
 * The Twilio provider module (DESIGN §5): config schema, adapter factory and sandbox emulator.
 */
import type { ProviderModule } from '../provider.ts';
import { parseTwilioInbound, postTwilioInbound } from './twilio.inbound.ts';
import { TWILIO_CHANNELS, createTwilioAdapter } from './twilio.adapter.ts';
import { twilioConfigSchema } from './twilio.config.ts';
import type { TwilioConfig } from './twilio.config.ts';
import { registerTwilioEmulator } from './sandbox/twilio.emulator.ts';

export type { TwilioConfig } from './twilio.config.ts';
export { twilioConfigSchema } from './twilio.config.ts';
export { TWILIO_SANDBOX_CREDENTIALS, TWILIO_SANDBOX_FROM } from './sandbox/twilio.sandbox.ts';
export { createTwilioAdapter, twilioRcsFrom, TWILIO_CHANNELS, TWILIO_RCS_PREFIX } from './twilio.adapter.ts';
export { registerTwilioEmulator, TWILIO_MAGIC_NUMBERS, TWILIO_RCS_NOT_CAPABLE_CODE } from './sandbox/twilio.emulator.ts';
export { TWILIO_VOICE_MAGIC_NUMBERS } from './sandbox/twilio.voice-emulator.ts';
export { verifyTwilioWebhook, parseTwilioWebhook, mapTwilioCallStatus, twilioCallStatusTransient } from './twilio.webhook.ts';
export { classifyTwilioError, twilioDlrErrorTransient } from './twilio.errors.ts';
export { normalizeTwilioLookup, mapTwilioLineType, TWILIO_LOOKUP_FIELDS } from './twilio.lookup.ts';
export type { TwilioLookupPrices } from './twilio.lookup.ts';
export { buildVoiceTwiml, readCodeFromTwiml, voicePromptFor, spokenDigits, VOICE_PROMPTS, TWILIO_CALL_EVENTS } from './twilio.voice.ts';
export type { VoicePrompt } from './twilio.voice.ts';
export { parseTwilioInbound, postTwilioInbound } from './twilio.inbound.ts';

/**
 * Twilio: SMS, voice OTP calls and RCS (RCS only, with `rcsSenderId`; reference §1.6), plus
 * Lookup v2. `authToken` is the only secret.
 */
export const twilioProvider: ProviderModule<TwilioConfig> = {
  id: 'twilio',
  channels: TWILIO_CHANNELS,
  configSchema: twilioConfigSchema,
  secretPaths: ['authToken'],
  create: createTwilioAdapter,
  emulator: (app, control) => registerTwilioEmulator(app, control),
  inbound: { parse: parseTwilioInbound, emulate: (msg, url) => postTwilioInbound(msg, url) },
};

/**
 * The Twilio provider module (DESIGN §5): config schema, adapter factory and sandbox emulator.
 */
import { defineProvider } from '../provider.ts';
import { parseTwilioInbound } from './twilio.inbound.ts';
import { postTwilioInbound } from './sandbox/twilio.inbound-emulator.ts';
import { TWILIO_CHANNELS, createTwilioAdapter } from './twilio.adapter.ts';
import { twilioConfigSchema } from './twilio.config.ts';
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
export { parseTwilioInbound } from './twilio.inbound.ts';
export { postTwilioInbound } from './sandbox/twilio.inbound-emulator.ts';

/**
 * Twilio: SMS, voice OTP calls and RCS (RCS only, with `rcsSenderId`; reference §1.6), plus
 * Lookup v2. `authToken` is the only secret.
 */
export const twilioProvider = defineProvider({
  id: 'twilio',
  channels: TWILIO_CHANNELS,
  configSchema: twilioConfigSchema,
  settingsShape: twilioConfigSchema.shape,
  secretPaths: ['authToken'],
  env: [
    { variable: 'SWITCHBOARD_TWILIO_ACCOUNT_SID', option: 'accountSid', credential: true, requiredLive: true },
    { variable: 'SWITCHBOARD_TWILIO_AUTH_TOKEN', option: 'authToken', credential: true, requiredLive: true },
  ],
  signatureHeaders: ['x-twilio-signature'],
  checkSettings: (settings) =>
    typeof settings['accountSid'] === 'string' && !/^AC[0-9a-fA-F]{32}$/.test(settings['accountSid'])
      ? ['SWITCHBOARD_TWILIO_ACCOUNT_SID: an account SID is AC followed by 32 hex digits']
      : [],
  create: createTwilioAdapter,
  callbacks: {
    methods: ['post'],
    description:
      'Twilio status callbacks (form-encoded), verified with `X-Twilio-Signature` ' +
      'over `SWITCHBOARD_PUBLIC_URL` + path + query (`?sb=<message id>`).',
    media: ['application/x-www-form-urlencoded'],
  },
  lookups: true,
  statusReads: true,
  defaultRoutes: { sms: 0, voice: 0, rcs: 1, whatsapp: 0 },
  // Twilio refuses a send to a number that texted STOP synchronously (21610, reference §1.5).
  optOutErrorCodes: ['21610'],
  emulator: (app, control) => registerTwilioEmulator(app, control),
  inbound: { parse: parseTwilioInbound, emulate: (msg, url) => postTwilioInbound(msg, url) },
});

/**
 * The Twilio provider module (DESIGN §5): config schema, adapter factory and sandbox emulator.
 */
import type { ProviderModule } from '../provider.ts';
import { createTwilioAdapter } from './twilio.adapter.ts';
import { twilioConfigSchema } from './twilio.config.ts';
import type { TwilioConfig } from './twilio.config.ts';
import { registerTwilioEmulator } from './twilio.emulator.ts';

export type { TwilioConfig } from './twilio.config.ts';
export { twilioConfigSchema } from './twilio.config.ts';
export { TWILIO_SANDBOX_CREDENTIALS, TWILIO_SANDBOX_FROM } from './twilio.sandbox.ts';
export { createTwilioAdapter } from './twilio.adapter.ts';
export { registerTwilioEmulator, TWILIO_MAGIC_NUMBERS } from './twilio.emulator.ts';
export { verifyTwilioWebhook, parseTwilioWebhook } from './twilio.webhook.ts';
export { classifyTwilioError, twilioDlrErrorTransient } from './twilio.errors.ts';

/** Twilio: SMS today (RCS through Messaging Services later). `authToken` is the only secret. */
export const twilioProvider: ProviderModule<TwilioConfig> = {
  id: 'twilio',
  channels: ['sms'],
  configSchema: twilioConfigSchema,
  secretPaths: ['authToken'],
  create: createTwilioAdapter,
  emulator: (app, control) => registerTwilioEmulator(app, control),
};

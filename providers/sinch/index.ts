/**
 * The Sinch provider module (DESIGN §5): config schema, adapter factory and sandbox emulator.
 */
import type { ProviderModule } from '../provider.ts';
import { createSinchAdapter } from './sinch.adapter.ts';
import { sinchConfigSchema } from './sinch.config.ts';
import type { SinchConfig } from './sinch.config.ts';
import { registerSinchEmulator } from './sinch.emulator.ts';

export type { SinchConfig } from './sinch.config.ts';
export { sinchConfigSchema, SINCH_SMS_REGIONS } from './sinch.config.ts';
export { SINCH_SANDBOX_CREDENTIALS, SINCH_SANDBOX_FROM } from './sinch.sandbox.ts';
export { createSinchAdapter, sinchExpireAt } from './sinch.adapter.ts';
export { registerSinchEmulator, SINCH_MAGIC_NUMBERS, SINCH_DLR_CODES } from './sinch.emulator.ts';
export { verifySinchWebhook, parseSinchWebhook, mapSinchStatus } from './sinch.webhook.ts';
export { classifySinchError, sinchDlrErrorTransient } from './sinch.errors.ts';
export { createSinchLookup, normalizeSinchLookup, mapSinchLineType, SINCH_SWAP_PERIOD_SECONDS } from './sinch.lookup.ts';
export type { SinchLookupPrices } from './sinch.lookup.ts';
export { registerSinchLookupEmulator } from './sinch.lookup-emulator.ts';
export type { SinchOAuthCredentials } from './sinch.lookup-emulator.ts';

/**
 * Sinch: SMS through the REST API (RCS through Conversation later), plus Number Lookup when OAuth2
 * project credentials are configured. `apiToken`, the callback password and `keySecret` are secrets.
 */
export const sinchProvider: ProviderModule<SinchConfig> = {
  id: 'sinch',
  channels: ['sms'],
  configSchema: sinchConfigSchema,
  secretPaths: ['apiToken', 'callbackPassword', 'keySecret'],
  create: createSinchAdapter,
  emulator: (app, control) => registerSinchEmulator(app, control),
};

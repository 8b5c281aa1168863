/**
 * The Sinch provider module (DESIGN §5): config schema, adapter factory and sandbox emulator.
 */
import type { ProviderModule } from '../provider.ts';
import { parseSinchInbound, postSinchInbound } from './sinch.inbound.ts';
import { SINCH_CHANNELS, createSinchAdapter } from './sinch.adapter.ts';
import { sinchConfigSchema } from './sinch.config.ts';
import type { SinchConfig } from './sinch.config.ts';
import { registerSinchEmulator } from './sandbox/sinch.emulator.ts';

export type { SinchConfig } from './sinch.config.ts';
export { sinchConfigSchema, SINCH_SMS_REGIONS, SINCH_CONVERSATION_REGIONS } from './sinch.config.ts';
export { SINCH_SANDBOX_CREDENTIALS, SINCH_SANDBOX_FROM } from './sandbox/sinch.sandbox.ts';
export { createSinchAdapter, sinchExpireAt, SINCH_CHANNELS } from './sinch.adapter.ts';
export { buildSinchRcsRequest, classifySinchConversationError, createSinchConversationSender, SINCH_CONVERSATION_MIN_TTL_SECONDS } from './sinch.conversation.ts';
export {
  verifySinchConversationWebhook,
  parseSinchConversationWebhook,
  mapSinchConversationStatus,
  signSinchConversationWebhook,
  sinchConversationSignatureHeaders,
  sinchConversationReasonTransient,
  SINCH_WEBHOOK_SIGNATURE_HEADERS,
  SINCH_WEBHOOK_MAX_SKEW_SECONDS,
} from './sinch.conversation-webhook.ts';
export { registerSinchConversationEmulator, planSinchReceipts, SINCH_CONVERSATION_DEFAULT_FAILURE } from './sandbox/sinch.conversation-emulator.ts';
export type { SinchDeliveryReceiptJson, SinchConversationEmulatorOptions } from './sandbox/sinch.conversation-emulator.ts';
export { registerSinchEmulator, SINCH_MAGIC_NUMBERS, SINCH_DLR_CODES } from './sandbox/sinch.emulator.ts';
export { verifySinchWebhook, parseSinchWebhook, mapSinchStatus } from './sinch.webhook.ts';
export { classifySinchError, sinchDlrErrorTransient } from './sinch.errors.ts';
export { createSinchLookup, normalizeSinchLookup, mapSinchLineType, SINCH_SWAP_PERIOD_SECONDS } from './sinch.lookup.ts';
export type { SinchLookupPrices } from './sinch.lookup.ts';
export { registerSinchLookupEmulator } from './sandbox/sinch.lookup-emulator.ts';
export type { SinchIssuedTokens, SinchOAuthCredentials } from './sandbox/sinch.lookup-emulator.ts';
export { parseSinchInbound, postSinchInbound } from './sinch.inbound.ts';

/**
 * Sinch: SMS through the REST API, RCS through the Conversation API when a Conversation app is
 * configured (`appId`; the adapter's `channels` then include `rcs`), plus Number Lookup when OAuth2
 * project credentials are configured. `apiToken`, the callback password, `keySecret` and the
 * Conversation webhook secret are secrets.
 */
export const sinchProvider: ProviderModule<SinchConfig> = {
  id: 'sinch',
  channels: SINCH_CHANNELS,
  configSchema: sinchConfigSchema,
  secretPaths: ['apiToken', 'callbackPassword', 'keySecret', 'conversationWebhookSecret'],
  create: createSinchAdapter,
  emulator: (app, control) => registerSinchEmulator(app, control),
  inbound: { parse: parseSinchInbound, emulate: (msg, url) => postSinchInbound(msg, url) },
};

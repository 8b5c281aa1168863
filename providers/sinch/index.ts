/**
 * The Sinch provider module (DESIGN §5): config schema, adapter factory and sandbox emulator.
 */
import { defineProvider } from '../provider.ts';
import { parseSinchInbound } from './sinch.inbound.ts';
import { postSinchInbound } from './sandbox/sinch.inbound-emulator.ts';
import { SINCH_CHANNELS, createSinchAdapter } from './sinch.adapter.ts';
import { sinchConfigSchema } from './sinch.config.ts';
import { registerSinchEmulator } from './sandbox/sinch.emulator.ts';

export type { SinchConfig } from './sinch.config.ts';
export { sinchConfigSchema, SINCH_SMS_REGIONS, SINCH_CONVERSATION_REGIONS } from './sinch.config.ts';
export { SINCH_SANDBOX_CREDENTIALS, SINCH_SANDBOX_FROM } from './sandbox/sinch.sandbox.ts';
export { createSinchAdapter, sinchExpireAt, SINCH_CHANNELS } from './sinch.adapter.ts';
export {
  buildSinchRcsRequest,
  classifySinchConversationError,
  createSinchConversationSender,
  SINCH_CONVERSATION_MIN_TTL_SECONDS,
} from './sinch.conversation.ts';
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
export {
  registerSinchConversationEmulator,
  planSinchReceipts,
  SINCH_CONVERSATION_DEFAULT_FAILURE,
} from './sandbox/sinch.conversation-emulator.ts';
export type { SinchDeliveryReceiptJson, SinchConversationEmulatorOptions } from './sandbox/sinch.conversation-emulator.ts';
export { registerSinchEmulator, SINCH_MAGIC_NUMBERS, SINCH_DLR_CODES } from './sandbox/sinch.emulator.ts';
export { verifySinchWebhook, parseSinchWebhook, mapSinchStatus } from './sinch.webhook.ts';
export { classifySinchError, sinchDlrErrorTransient } from './sinch.errors.ts';
export { createSinchLookup, normalizeSinchLookup, mapSinchLineType, SINCH_SWAP_PERIOD_SECONDS } from './sinch.lookup.ts';
export type { SinchLookupPrices } from './sinch.lookup.ts';
export { registerSinchLookupEmulator } from './sandbox/sinch.lookup-emulator.ts';
export type { SinchIssuedTokens, SinchOAuthCredentials } from './sandbox/sinch.lookup-emulator.ts';
export { parseSinchInbound } from './sinch.inbound.ts';
export { postSinchInbound } from './sandbox/sinch.inbound-emulator.ts';

/**
 * Sinch: SMS through the REST API, RCS through the Conversation API when a Conversation app is
 * configured (`appId`; the adapter's `channels` then include `rcs`), plus Number Lookup when OAuth2
 * project credentials are configured. `apiToken`, the callback password, `keySecret` and the
 * Conversation webhook secret are secrets.
 */
export const sinchProvider = defineProvider({
  id: 'sinch',
  channels: SINCH_CHANNELS,
  configSchema: sinchConfigSchema,
  settingsShape: sinchConfigSchema.shape,
  secretPaths: ['apiToken', 'callbackPassword', 'keySecret', 'conversationWebhookSecret'],
  env: [
    { variable: 'SWITCHBOARD_SINCH_SERVICE_PLAN_ID', option: 'servicePlanId', credential: true, requiredLive: true },
    { variable: 'SWITCHBOARD_SINCH_API_TOKEN', option: 'apiToken', credential: true, requiredLive: true },
    { variable: 'SWITCHBOARD_SINCH_CALLBACK_USERNAME', option: 'callbackUsername', requiredLive: true },
    { variable: 'SWITCHBOARD_SINCH_CALLBACK_PASSWORD', option: 'callbackPassword', requiredLive: true },
    { variable: 'SWITCHBOARD_SINCH_PROJECT_ID', option: 'projectId', credential: true },
    { variable: 'SWITCHBOARD_SINCH_KEY_ID', option: 'keyId', credential: true },
    { variable: 'SWITCHBOARD_SINCH_KEY_SECRET', option: 'keySecret', credential: true },
    { variable: 'SWITCHBOARD_SINCH_CONVERSATION_SECRET', option: 'conversationWebhookSecret' },
  ],
  create: createSinchAdapter,
  callbacks: {
    methods: ['post'],
    description: 'Sinch SMS delivery reports (JSON), verified with HTTP Basic credentials from the config.',
    media: ['application/json'],
    extra: {
      conversation:
        'Sinch Conversation API delivery receipts (the RCS and WhatsApp channels, read receipts included), verified with ' +
        'the `x-sinch-webhook-signature*` HMAC headers, timestamp within ±5 minutes.',
    },
  },
  lookups: true,
  statusReads: true,
  defaultRoutes: { sms: 1, rcs: 0, whatsapp: 1 },
  emulator: (app, control) => registerSinchEmulator(app, control),
  inbound: { parse: parseSinchInbound, emulate: (msg, url) => postSinchInbound(msg, url) },
});

/**
 * The provider registry: the only module `src/` imports from `providers/` (besides types), so the
 * gateway stays ignorant of carrier SDKs and a new carrier is one line here (DESIGN §3, §5).
 */
import type { ProviderId, ProviderModule } from './provider.ts';
import { fcmProvider } from './fcm/index.ts';
import { messagebirdProvider } from './messagebird/index.ts';
import { rbmProvider } from './rbm/index.ts';
import { sinchProvider } from './sinch/index.ts';
import { twilioProvider } from './twilio/index.ts';

export type * from './provider.ts';
export { MAGIC_NUMBERS } from './provider.ts';
export type { ProviderErrorInit, ProviderErrorKind, ProviderErrorScope } from './errors.ts';
export { ProviderError, isProviderError, parseRetryAfterMs, classifyNetworkError } from './errors.ts';
export type { FormFields } from './form-body.ts';
export { ensureFormBodyParser, parseFormBody } from './form-body.ts';
export type { TwilioConfig } from './twilio/index.ts';
export { TWILIO_SANDBOX_CREDENTIALS, twilioProvider } from './twilio/index.ts';
/** Voice OTP: the TwiML a call speaks, and reading the code back from it (sandbox log `content`). */
export { buildVoiceTwiml, readCodeFromTwiml, voicePromptFor, TWILIO_VOICE_MAGIC_NUMBERS } from './twilio/index.ts';
export type { SinchConfig } from './sinch/index.ts';
export { SINCH_SANDBOX_CREDENTIALS, sinchProvider } from './sinch/index.ts';
/** RCS receipts of Sinch Conversation (`POST /webhooks/sinch/conversation`): also on `adapter.webhooks.conversation`. */
export { verifySinchConversationWebhook, parseSinchConversationWebhook, sinchConversationSignatureHeaders } from './sinch/index.ts';
export type { MessageBirdConfig } from './messagebird/index.ts';
export { MESSAGEBIRD_SANDBOX_CREDENTIALS, messagebirdProvider } from './messagebird/index.ts';
export type { FcmConfig } from './fcm/index.ts';
export { FCM_SANDBOX_CREDENTIALS, FCM_UNREGISTERED_CODES, PUSH_DATA_KEYS, fcmProvider, isUnregisteredToken } from './fcm/index.ts';
export type { RbmAdapter, RbmConfig } from './rbm/index.ts';
export { RBM_CAPABILITY_CACHE_TTL_SECONDS, RBM_SANDBOX_CREDENTIALS, rbmProvider } from './rbm/index.ts';

/**
 * Each carrier's options schema, for the gateway's config schema (`src/config/config.schema.ts`
 * derives each provider section from it): through this registry, not the carriers' own files.
 */
export { fcmConfigSchema } from './fcm/index.ts';
export { messagebirdConfigSchema } from './messagebird/index.ts';
export { rbmConfigSchema } from './rbm/index.ts';
export { sinchConfigSchema } from './sinch/index.ts';
export { twilioConfigSchema } from './twilio/index.ts';

/** Every provider module that is implemented, by id. */
export const providerModules = {
  twilio: twilioProvider,
  sinch: sinchProvider,
  messagebird: messagebirdProvider,
  fcm: fcmProvider,
  rbm: rbmProvider,
} as const;

/** Ids of the implemented providers (every `ProviderId`; RBM offers capability checks, no channel). */
export type ImplementedProviderId = keyof typeof providerModules & ProviderId;

/**
 * Looks a provider module up by id. `undefined` for a valid but not (yet) implemented id, so the
 * config loader can say "provider X is not available" instead of crashing.
 */
export function getProviderModule(id: string): ProviderModule<unknown> | undefined {
  if (!Object.hasOwn(providerModules, id)) return undefined;
  return providerModules[id as ImplementedProviderId];
}

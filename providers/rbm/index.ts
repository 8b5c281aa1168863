/**
 * The Google RBM provider module (DESIGN §5): RCS capability checks (reference §5) — config
 * schema, adapter factory and sandbox emulator. It offers no channel: RCS messages go through
 * Sinch Conversation or Twilio.
 */
import { defineProvider } from '../provider.ts';
import { createRbmAdapter } from './rbm.adapter.ts';
import { rbmConfigSchema } from './rbm.config.ts';
import { registerRbmEmulator } from './sandbox/rbm.emulator.ts';

export type { RbmConfig } from './rbm.config.ts';
export { rbmConfigSchema, RBM_DEFAULT_BASE_URL } from './rbm.config.ts';
export { RBM_SANDBOX_ACCESS_TOKEN, RBM_SANDBOX_AGENT_ID, RBM_SANDBOX_CREDENTIALS, RBM_SANDBOX_FEATURES } from './sandbox/rbm.sandbox.ts';
export { createRbmAdapter, RBM_CAPABILITY_CACHE_TTL_SECONDS } from './rbm.adapter.ts';
export type { RbmAdapter, RbmAdapterOptions } from './rbm.adapter.ts';
export { createRbmCapabilityClient, mapRbmCapabilityResponse, rbmCapabilityUrl } from './rbm.client.ts';
export type { RbmCapabilityClient, RbmCapabilityClientOptions } from './rbm.client.ts';
export { registerRbmEmulator, rbmErrorBody } from './sandbox/rbm.emulator.ts';
export type { RbmEmulatorOptions } from './sandbox/rbm.emulator.ts';
export {
  buildJwtAssertion,
  createServiceAccountTokenProvider,
  parseGoogleServiceAccount,
  staticTokenProvider,
  GOOGLE_TOKEN_URL,
  JWT_BEARER_GRANT_TYPE,
  RBM_OAUTH_SCOPE,
} from './rbm.token.ts';
export type { AccessTokenProvider, GoogleServiceAccountKey } from './rbm.token.ts';

/**
 * RBM: capability checks only (`channels: []`). The gateway calls `adapter.checkCapability(e164)`
 * (or `rcsCapable`) in the plan stage. `serviceAccount` is the only secret.
 */
export const rbmProvider = defineProvider({
  id: 'rbm',
  channels: [],
  configSchema: rbmConfigSchema,
  settingsShape: rbmConfigSchema.shape,
  secretPaths: ['serviceAccount'],
  env: [
    { variable: 'SWITCHBOARD_RBM_SERVICE_ACCOUNT', option: 'serviceAccount', credential: true, requiredLive: true },
    { variable: 'SWITCHBOARD_RBM_AGENT_ID', option: 'agentId', credential: true, requiredLive: true },
  ],
  create: (config, deps) => createRbmAdapter(config, deps),
  callbacks: {
    methods: ['post'],
    description:
      'RCS Business Messaging: capability checks and sends only; its callbacks are ' +
      'not used. The route exists with every adapter and refuses every request (401).',
    media: ['application/json'],
  },
  lookups: false,
  statusReads: false,
  defaultRoutes: {},
  emulator: (app, control) => registerRbmEmulator(app, control),
});

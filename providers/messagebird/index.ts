/**
 * The MessageBird provider module (DESIGN §5): config schema, adapter factory and sandbox emulator.
 */
import { defineProvider } from '../provider.ts';
import { parseMessageBirdInbound } from './messagebird.inbound.ts';
import { postMessageBirdInbound } from './sandbox/messagebird.inbound-emulator.ts';
import { createMessageBirdAdapter } from './messagebird.adapter.ts';
import { messagebirdConfigSchema } from './messagebird.config.ts';
import { registerMessageBirdEmulator } from './sandbox/messagebird.emulator.ts';

export type { MessageBirdConfig } from './messagebird.config.ts';
export { messagebirdConfigSchema } from './messagebird.config.ts';
export { MESSAGEBIRD_SANDBOX_CREDENTIALS, MESSAGEBIRD_SANDBOX_FROM } from './sandbox/messagebird.sandbox.ts';
export { MESSAGEBIRD_DEFAULT_BASE_URL } from './messagebird.config.ts';
export { createMessageBirdAdapter } from './messagebird.adapter.ts';
export { registerMessageBirdEmulator, signMessageBirdRequest, MESSAGEBIRD_MAGIC_NUMBERS } from './sandbox/messagebird.emulator.ts';
export { verifyMessageBirdWebhook, parseMessageBirdWebhook, mapMessageBirdStatus } from './messagebird.webhook.ts';
export { classifyMessageBirdError, messagebirdDlrErrorTransient } from './messagebird.errors.ts';
export { createMessageBirdLookup, normalizeMessageBirdHlr, MESSAGEBIRD_HLR_FINAL_STATUSES } from './messagebird.lookup.ts';
export { registerMessageBirdLookupEmulator } from './sandbox/messagebird.lookup-emulator.ts';
export type { MessageBirdHlr, MessageBirdHlrDetails } from './messagebird.client.ts';
export { parseMessageBirdInbound } from './messagebird.inbound.ts';
export { postMessageBirdInbound } from './sandbox/messagebird.inbound-emulator.ts';

/** MessageBird: SMS through the legacy REST API, plus HLR lookups. `accessKey` and `signingKey` are secrets. */
export const messagebirdProvider = defineProvider({
  id: 'messagebird',
  channels: ['sms'],
  configSchema: messagebirdConfigSchema,
  settingsShape: messagebirdConfigSchema.shape,
  secretPaths: ['accessKey', 'signingKey'],
  env: [
    { variable: 'SWITCHBOARD_MESSAGEBIRD_ACCESS_KEY', option: 'accessKey', credential: true, requiredLive: true },
    { variable: 'SWITCHBOARD_MESSAGEBIRD_SIGNING_KEY', option: 'signingKey', credential: true, requiredLive: true },
  ],
  create: createMessageBirdAdapter,
  callbacks: {
    methods: ['get', 'post'],
    description: 'MessageBird status reports: GET with query parameters (or POST), verified with the `MessageBird-Signature-JWT` header.',
    media: ['application/json', 'application/x-www-form-urlencoded'],
  },
  lookups: true,
  statusReads: true,
  defaultRoutes: { sms: 2 },
  emulator: (app, control) => registerMessageBirdEmulator(app, control),
  inbound: { parse: parseMessageBirdInbound, emulate: (msg, url) => postMessageBirdInbound(msg, url) },
});

/**
 * The FCM provider module (DESIGN §5): config schema, adapter factory and sandbox emulator (with
 * the sandbox push device).
 */
import { defineProvider } from '../provider.ts';
import { createFcmAdapter } from './fcm.adapter.ts';
import { fcmConfigSchema } from './fcm.config.ts';
import { registerFcmEmulator } from './sandbox/fcm.emulator.ts';

export type { FcmConfig } from './fcm.config.ts';
export { fcmConfigSchema } from './fcm.config.ts';
export { FCM_SANDBOX_ACCESS_TOKEN, FCM_SANDBOX_CREDENTIALS, FCM_SANDBOX_PROJECT_ID } from './sandbox/fcm.sandbox.ts';
export { FCM_HOST, PUSH_DATA_KEYS } from './fcm.adapter.ts';
export { buildFcmMessage, createFcmAdapter } from './fcm.adapter.ts';
export { fcmErrorBody, registerFcmEmulator } from './sandbox/fcm.emulator.ts';
export type { FcmEmulatorOptions } from './sandbox/fcm.emulator.ts';
export { FCM_UNREGISTERED_CODES, classifyFcmError, isUnregisteredToken } from './fcm.errors.ts';

/**
 * FCM: push through firebase-admin. No webhooks (the app acks on our API); `serviceAccount` is
 * the only secret.
 */
export const fcmProvider = defineProvider({
  id: 'fcm',
  channels: ['push'],
  configSchema: fcmConfigSchema,
  // The schema derives the project id from the key file after validating it: the section takes its input side.
  settingsShape: fcmConfigSchema.in.shape,
  secretPaths: ['serviceAccount'],
  env: [{ variable: 'SWITCHBOARD_FCM_SERVICE_ACCOUNT', option: 'serviceAccount', credential: true, requiredLive: true }],
  create: createFcmAdapter,
  callbacks: {
    methods: ['post'],
    description:
      'FCM sends no callbacks: pushes are confirmed by the app through `POST ' +
      '/v1/push/ack`. The route exists with every adapter and refuses every request (401).',
    media: ['application/json'],
  },
  lookups: false,
  statusReads: false,
  defaultRoutes: { push: 0 },
  emulator: (app, control) => registerFcmEmulator(app, control),
});

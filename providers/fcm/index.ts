/**
 * The FCM provider module (DESIGN §5): config schema, adapter factory and sandbox emulator (with
 * the sandbox push device).
 */
import type { ProviderModule } from '../provider.ts';
import { createFcmAdapter } from './fcm.adapter.ts';
import { fcmConfigSchema } from './fcm.config.ts';
import type { FcmConfig } from './fcm.config.ts';
import { registerFcmEmulator } from './sandbox/fcm.emulator.ts';

export type { FcmConfig } from './fcm.config.ts';
export { fcmConfigSchema } from './fcm.config.ts';
export { FCM_HOST, FCM_SANDBOX_ACCESS_TOKEN, FCM_SANDBOX_CREDENTIALS, FCM_SANDBOX_PROJECT_ID, PUSH_DATA_KEYS } from './sandbox/fcm.sandbox.ts';
export { buildFcmMessage, createFcmAdapter } from './fcm.adapter.ts';
export { fcmErrorBody, registerFcmEmulator } from './sandbox/fcm.emulator.ts';
export type { FcmEmulatorOptions } from './sandbox/fcm.emulator.ts';
export { FCM_UNREGISTERED_CODES, classifyFcmError, isUnregisteredToken } from './fcm.errors.ts';

/**
 * FCM: push through firebase-admin. No webhooks (the app acks on our API); `serviceAccount` is
 * the only secret.
 */
export const fcmProvider: ProviderModule<FcmConfig> = {
  id: 'fcm',
  channels: ['push'],
  configSchema: fcmConfigSchema,
  secretPaths: ['serviceAccount'],
  create: createFcmAdapter,
  emulator: (app, control) => registerFcmEmulator(app, control),
};

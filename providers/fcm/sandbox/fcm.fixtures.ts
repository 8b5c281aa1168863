/**
 * Test fixtures for the FCM provider: the emulator on a random loopback port with a fake sandbox
 * control that also keeps a push-token table (the shared fake answers `ok` for every token), plus
 * the shared loopback receiver and closed port. Real HTTP only — firebase-admin is never mocked.
 */
import type { SandboxPushToken } from '../../provider.ts';
import { closedPortUrl, startCallbackReceiver, startEmulator } from '../../sandbox-kit/loopback-fixtures.ts';
import type { RunningEmulator } from '../../sandbox-kit/loopback-fixtures.ts';
import { registerFcmEmulator } from './fcm.emulator.ts';
import type { FcmEmulatorOptions } from './fcm.emulator.ts';

export { closedPortUrl, startCallbackReceiver };
export type { CallbackReceiver, ReceivedCallback } from '../../sandbox-kit/loopback-fixtures.ts';

/** A request as the emulator received it (before its handler ran). */
export interface CapturedFcmRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

/** The running FCM emulator, with its token table. */
export interface RunningFcmEmulator extends RunningEmulator {
  /** Sets what the device behind `token` does (as `PUT /_sandbox/push/:token`). */
  setPushToken(token: string, entry: SandboxPushToken): void;
  /** Every request the emulator received, oldest first. */
  captured: CapturedFcmRequest[];
}

/** Starts the FCM emulator on 127.0.0.1 with a random port, a fresh fake control and an empty token table. */
export async function startFcmEmulator(options: FcmEmulatorOptions = {}): Promise<RunningFcmEmulator> {
  const tokens = new Map<string, SandboxPushToken>();
  const captured: CapturedFcmRequest[] = [];
  const running = await startEmulator((app, control) => {
    app.addHook('preHandler', async (request) => {
      captured.push({
        method: request.method,
        path: request.url.split('?')[0] ?? request.url,
        headers: { ...request.headers },
        body: request.body,
      });
    });
    registerFcmEmulator(app, { ...control, pushToken: (token) => ({ ...(tokens.get(token) ?? { result: 'ok' }) }) }, options);
  });
  return { ...running, captured, setPushToken: (token, entry) => tokens.set(token, { ...entry }) };
}

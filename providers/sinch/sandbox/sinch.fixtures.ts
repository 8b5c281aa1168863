/**
 * Test fixtures for the Sinch provider: the emulator on a random loopback port (with a fake
 * sandbox control) plus the shared loopback callback receiver. Real HTTP only — the SDK is never mocked.
 */
import { startEmulator } from '../../sandbox-kit/loopback-fixtures.ts';
import type { RunningEmulator } from '../../sandbox-kit/loopback-fixtures.ts';
import { registerSinchEmulator } from './sinch.emulator.ts';

export type { CallbackReceiver, ReceivedCallback, RunningEmulator } from '../../sandbox-kit/loopback-fixtures.ts';
export { closedPortUrl, startCallbackReceiver } from '../../sandbox-kit/loopback-fixtures.ts';

/** Starts the Sinch emulator on 127.0.0.1 with a random port. */
export function startSinchEmulator(): Promise<RunningEmulator> {
  return startEmulator((app, control) => registerSinchEmulator(app, control));
}

/**
 * Test fixtures for the MessageBird provider: the emulator on a random loopback port (with a fake
 * sandbox control) plus the shared loopback callback receiver. Real HTTP only — nothing is mocked.
 */
import { startEmulator } from '../../sandbox-kit/loopback-fixtures.ts';
import type { RunningEmulator } from '../../sandbox-kit/loopback-fixtures.ts';
import { registerMessageBirdEmulator } from './messagebird.emulator.ts';

export type { CallbackReceiver, ReceivedCallback, RunningEmulator } from '../../sandbox-kit/loopback-fixtures.ts';
export { closedPortUrl, startCallbackReceiver } from '../../sandbox-kit/loopback-fixtures.ts';

/** Starts the MessageBird emulator on 127.0.0.1 with a random port. */
export function startMessageBirdEmulator(): Promise<RunningEmulator> {
  return startEmulator((app, control) => registerMessageBirdEmulator(app, control));
}

/**
 * Test fixtures for the Twilio provider: the shared loopback fixtures with Twilio's emulator.
 * Real HTTP only — the SDK is never mocked.
 */
import { startEmulator, type RunningEmulator } from '../../sandbox-kit/loopback-fixtures.ts';
import { registerTwilioEmulator } from './twilio.emulator.ts';

export { closedPortUrl, startCallbackReceiver } from '../../sandbox-kit/loopback-fixtures.ts';
export type { CallbackReceiver, ReceivedCallback, RunningEmulator } from '../../sandbox-kit/loopback-fixtures.ts';

/** Starts the Twilio emulator on 127.0.0.1 with a random port. */
export function startTwilioEmulator(): Promise<RunningEmulator> {
  return startEmulator(registerTwilioEmulator);
}

/**
 * Fixed, documented sandbox credentials (CONTRACTS §5, DESIGN §8). They are public on purpose:
 * the MessageBird emulator accepts only this access key and signs its status reports with this
 * signing key, so tests and the gateway's sandbox config can verify them. Never use them against
 * the real MessageBird API (they would simply be refused there).
 */
export const MESSAGEBIRD_SANDBOX_CREDENTIALS = {
  accessKey: 'sandbox-messagebird-key',
  signingKey: 'sandbox-messagebird-signing-key',
} as const;

/** The sandbox's default originator: Twilio's magic "valid sender", reused so every emulator agrees. */
export const MESSAGEBIRD_SANDBOX_FROM = '+15005550006';

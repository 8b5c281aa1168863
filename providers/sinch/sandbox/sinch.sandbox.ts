/**
 * Fixed, documented sandbox credentials (CONTRACTS §5, DESIGN §8). They are public on purpose:
 * the Sinch emulator accepts only these, and it authenticates its delivery-report callbacks with
 * the callback pair, so tests and the gateway's sandbox config can verify them. Never use them
 * against the real Sinch API (they would simply be refused there).
 */
export const SINCH_SANDBOX_CREDENTIALS = {
  servicePlanId: 'sandbox-service-plan',
  apiToken: 'sandbox-sinch-token',
  /**
   * HTTP Basic pair on `/webhooks/sinch`. Real Sinch only authenticates SMS callbacks when the
   * account manager sets it up (reference §2.2); Basic auth is the option Switchboard uses.
   */
  callbackUsername: 'sinch-callback',
  callbackPassword: 'sandbox-sinch-callback-secret',
  /**
   * OAuth2 project credentials for Number Lookup (reference §2.4, §2.6): the emulator's
   * `POST /oauth2/token` takes `keyId:keySecret` as HTTP Basic and the lookup path carries the project.
   */
  projectId: 'sandbox-project',
  keyId: 'sandbox-key-id',
  keySecret: 'sandbox-key-secret',
  /**
   * RCS through the Conversation API (reference §2.5): the sandbox's Conversation app, and the
   * secret its delivery receipts are HMAC-signed with (`x-sinch-webhook-signature`, reference §2.3).
   */
  appId: 'sandbox-app',
  conversationWebhookSecret: 'sandbox-conversation-secret',
  /** WhatsApp through the same app: the sandbox's approved authentication template (by name). */
  whatsappTemplateId: 'sandbox_otp',
} as const;

/** The sandbox's default sender: Twilio's magic "valid sender", reused so every emulator agrees. */
export const SINCH_SANDBOX_FROM = '+15005550006';

/**
 * Fixed, documented sandbox credentials (CONTRACTS §5, DESIGN §8). They are public on purpose:
 * the emulator only accepts these, and tests need the auth token to sign valid callbacks.
 * Never use them against the real Twilio API (they would simply be refused there).
 */
export const TWILIO_SANDBOX_CREDENTIALS = {
  accountSid: 'AC' + '0'.repeat(32),
  authToken: 'sandbox-twilio-token',
  /** The sandbox's RCS sender: RCS sends go `From=rcs:sandbox_rcs_agent` (reference §1.6). */
  rcsSenderId: 'sandbox_rcs_agent',
  /**
   * The sandbox's WhatsApp sender (Twilio's own WhatsApp sandbox number) and its approved
   * authentication template (Content API SID): WhatsApp sends go `From=whatsapp:+14155238886`,
   * `ContentSid=HX…`, the code in `ContentVariables` as `{"1":"<code>"}`.
   */
  whatsappFrom: '+14155238886',
  whatsappContentSid: 'HX' + '0'.repeat(31) + '1',
} as const;

/** Twilio's magic "valid sender" number for test credentials; the sandbox's default `From`. */
export const TWILIO_SANDBOX_FROM = '+15005550006';

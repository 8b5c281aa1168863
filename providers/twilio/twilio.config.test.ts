import { describe, expect, it } from 'vitest';
import { twilioConfigSchema } from './twilio.config.ts';
import { TWILIO_SANDBOX_CREDENTIALS } from './twilio.sandbox.ts';

describe('twilioConfigSchema', () => {
  it('defaults From to the magic test sender', () => {
    expect(twilioConfigSchema.parse({ ...TWILIO_SANDBOX_CREDENTIALS })).toEqual({ ...TWILIO_SANDBOX_CREDENTIALS, from: '+15005550006' });
  });

  it('keeps a Messaging Service SID', () => {
    const parsed = twilioConfigSchema.parse({ ...TWILIO_SANDBOX_CREDENTIALS, messagingServiceSid: 'MG' + 'a'.repeat(32) });
    expect(parsed.messagingServiceSid).toBe('MG' + 'a'.repeat(32));
  });

  it.each([
    ['an account SID without AC', { accountSid: 'SK123', authToken: 't' }],
    ['an empty auth token', { accountSid: TWILIO_SANDBOX_CREDENTIALS.accountSid, authToken: '' }],
    ['a Messaging Service SID without MG', { ...TWILIO_SANDBOX_CREDENTIALS, messagingServiceSid: 'XX1' }],
  ])('refuses %s', (_name, input) => {
    expect(twilioConfigSchema.safeParse(input).success).toBe(false);
  });

  it('documents the sandbox credentials', () => {
    expect(TWILIO_SANDBOX_CREDENTIALS.accountSid).toBe('AC' + '0'.repeat(32));
    expect(TWILIO_SANDBOX_CREDENTIALS.authToken).toBe('sandbox-twilio-token');
  });
});

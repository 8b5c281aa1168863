import { describe, expect, it } from 'vitest';
import { twilioConfigSchema } from './twilio.config.ts';
import { TWILIO_SANDBOX_CREDENTIALS } from './sandbox/twilio.sandbox.ts';

describe('twilioConfigSchema', () => {
  it('defaults From to the magic test sender, a 30 s ring and the illustrative lookup prices', () => {
    expect(twilioConfigSchema.parse({ ...TWILIO_SANDBOX_CREDENTIALS })).toEqual({
      ...TWILIO_SANDBOX_CREDENTIALS,
      from: '+15005550006',
      voiceRingTimeoutSeconds: 30,
      lookupSimSwap: true,
      lookupPricesUsd: { lineTypeIntelligence: 0.008, simSwap: 0.04 },
    });
  });

  it('keeps a voice caller ID and partial lookup prices', () => {
    const parsed = twilioConfigSchema.parse({
      ...TWILIO_SANDBOX_CREDENTIALS,
      voiceFrom: '+15017122661',
      lookupPricesUsd: { simSwap: 0.1 },
    });
    expect(parsed.voiceFrom).toBe('+15017122661');
    expect(parsed.lookupPricesUsd).toEqual({ lineTypeIntelligence: 0.008, simSwap: 0.1 });
  });

  it('keeps a Messaging Service SID', () => {
    const parsed = twilioConfigSchema.parse({ ...TWILIO_SANDBOX_CREDENTIALS, messagingServiceSid: 'MG' + 'a'.repeat(32) });
    expect(parsed.messagingServiceSid).toBe('MG' + 'a'.repeat(32));
  });

  it.each([
    ['an account SID without AC', { accountSid: 'SK123', authToken: 't' }],
    ['an empty auth token', { accountSid: TWILIO_SANDBOX_CREDENTIALS.accountSid, authToken: '' }],
    ['a Messaging Service SID without MG', { ...TWILIO_SANDBOX_CREDENTIALS, messagingServiceSid: 'XX1' }],
    ['an alphanumeric voice caller ID', { ...TWILIO_SANDBOX_CREDENTIALS, voiceFrom: 'Switchboard' }],
    ['a ring timeout under 5 s', { ...TWILIO_SANDBOX_CREDENTIALS, voiceRingTimeoutSeconds: 1 }],
    ['a negative lookup price', { ...TWILIO_SANDBOX_CREDENTIALS, lookupPricesUsd: { lineTypeIntelligence: -1 } }],
    ['an RCS sender id with spaces', { ...TWILIO_SANDBOX_CREDENTIALS, rcsSenderId: 'my agent' }],
  ])('refuses %s', (_name, input) => {
    expect(twilioConfigSchema.safeParse(input).success).toBe(false);
  });

  it('documents the sandbox credentials', () => {
    expect(TWILIO_SANDBOX_CREDENTIALS.accountSid).toBe('AC' + '0'.repeat(32));
    expect(TWILIO_SANDBOX_CREDENTIALS.authToken).toBe('sandbox-twilio-token');
    expect(TWILIO_SANDBOX_CREDENTIALS.rcsSenderId).toBe('sandbox_rcs_agent');
  });

  it('takes an RCS sender id with or without its rcs: prefix', () => {
    expect(twilioConfigSchema.parse({ ...TWILIO_SANDBOX_CREDENTIALS, rcsSenderId: 'rcs:brand_agent' }).rcsSenderId).toBe('rcs:brand_agent');
    expect(twilioConfigSchema.parse({ ...TWILIO_SANDBOX_CREDENTIALS, rcsSenderId: 'brand_agent' }).rcsSenderId).toBe('brand_agent');
  });
});

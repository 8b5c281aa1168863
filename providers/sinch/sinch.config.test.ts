import { describe, expect, it } from 'vitest';
import { sinchConfigSchema } from './sinch.config.ts';
import { SINCH_SANDBOX_CREDENTIALS } from './sandbox/sinch.sandbox.ts';

describe('sinchConfigSchema', () => {
  it('defaults the sender to the magic test number and the region to us', () => {
    expect(sinchConfigSchema.parse({ ...SINCH_SANDBOX_CREDENTIALS })).toEqual({
      ...SINCH_SANDBOX_CREDENTIALS,
      from: '+15005550006',
      region: 'us',
      conversationRegion: 'us',
      whatsappTemplateLanguages: ['en'],
      lookupSimSwap: true,
      lookupPricesUsd: { lineType: 0.005, simSwap: 0.03 },
    });
  });

  it('leaves the OAuth2 lookup credentials optional', () => {
    const {
      projectId: _p,
      keyId: _k,
      keySecret: _s,
      appId: _a,
      conversationWebhookSecret: _c,
      whatsappTemplateId: _w,
      ...smsOnly
    } = SINCH_SANDBOX_CREDENTIALS;
    const parsed = sinchConfigSchema.parse(smsOnly);
    expect(parsed.projectId).toBeUndefined();
  });

  it('keeps a sender and a region', () => {
    const parsed = sinchConfigSchema.parse({ ...SINCH_SANDBOX_CREDENTIALS, from: 'Switchboard', region: 'eu' });
    expect(parsed.from).toBe('Switchboard');
    expect(parsed.region).toBe('eu');
  });

  it.each([
    ['an empty service plan id', { ...SINCH_SANDBOX_CREDENTIALS, servicePlanId: '' }],
    ['a missing API token', { servicePlanId: 'sp', callbackUsername: 'u', callbackPassword: 'p' }],
    ['an unknown region', { ...SINCH_SANDBOX_CREDENTIALS, region: 'mars' }],
    ['missing callback credentials', { servicePlanId: 'sp', apiToken: 't' }],
    ['an empty callback password', { ...SINCH_SANDBOX_CREDENTIALS, callbackPassword: '' }],
    ['a project id without its access key', { ...SINCH_SANDBOX_CREDENTIALS, keyId: undefined, keySecret: undefined }],
    ['an RCS app without its webhook secret', { ...SINCH_SANDBOX_CREDENTIALS, conversationWebhookSecret: undefined }],
    [
      'an RCS app without OAuth2 credentials',
      { ...SINCH_SANDBOX_CREDENTIALS, projectId: undefined, keyId: undefined, keySecret: undefined },
    ],
    ['an unknown Conversation region', { ...SINCH_SANDBOX_CREDENTIALS, conversationRegion: 'au' }],
    ['a negative lookup price', { ...SINCH_SANDBOX_CREDENTIALS, lookupPricesUsd: { simSwap: -0.01 } }],
  ])('refuses %s', (_name, input) => {
    expect(sinchConfigSchema.safeParse(input).success).toBe(false);
  });

  it('documents the sandbox credentials', () => {
    expect(SINCH_SANDBOX_CREDENTIALS).toEqual({
      servicePlanId: 'sandbox-service-plan',
      apiToken: 'sandbox-sinch-token',
      callbackUsername: 'sinch-callback',
      callbackPassword: 'sandbox-sinch-callback-secret',
      projectId: 'sandbox-project',
      keyId: 'sandbox-key-id',
      keySecret: 'sandbox-key-secret',
      appId: 'sandbox-app',
      conversationWebhookSecret: 'sandbox-conversation-secret',
      whatsappTemplateId: 'sandbox_otp',
    });
  });
});

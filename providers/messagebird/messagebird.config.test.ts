import { describe, expect, it } from 'vitest';
import { messagebirdConfigSchema } from './messagebird.config.ts';
import { MESSAGEBIRD_SANDBOX_CREDENTIALS } from './sandbox/messagebird.sandbox.ts';

describe('messagebirdConfigSchema', () => {
  it('defaults the originator to the magic test sender and the base URL to MessageBird’s host', () => {
    expect(messagebirdConfigSchema.parse({ ...MESSAGEBIRD_SANDBOX_CREDENTIALS })).toEqual({
      ...MESSAGEBIRD_SANDBOX_CREDENTIALS,
      from: '+15005550006',
      baseUrl: 'https://rest.messagebird.com',
      hlrPollIntervalMs: 250,
      hlrMaxWaitMs: 1_500,
      hlrPriceUsd: 0.005,
    });
  });

  it.each(['Switchboard', '31612345678', '+31612345678', 'My Company'])('accepts the originator %j', (from) => {
    expect(messagebirdConfigSchema.parse({ ...MESSAGEBIRD_SANDBOX_CREDENTIALS, from }).from).toBe(from);
  });

  it.each([
    ['an empty access key', { ...MESSAGEBIRD_SANDBOX_CREDENTIALS, accessKey: '' }],
    ['a missing signing key', { accessKey: 'k' }],
    ['an HLR poll interval under 50 ms', { ...MESSAGEBIRD_SANDBOX_CREDENTIALS, hlrPollIntervalMs: 10 }],
    ['a negative HLR price', { ...MESSAGEBIRD_SANDBOX_CREDENTIALS, hlrPriceUsd: -1 }],
    ['an alphanumeric originator over 11 characters', { ...MESSAGEBIRD_SANDBOX_CREDENTIALS, from: 'SwitchboardX' }],
    ['an originator with symbols', { ...MESSAGEBIRD_SANDBOX_CREDENTIALS, from: 'Hi!' }],
    ['a base URL that is not http(s)', { ...MESSAGEBIRD_SANDBOX_CREDENTIALS, baseUrl: 'ftp://rest.messagebird.com' }],
    ['a base URL that is not a URL', { ...MESSAGEBIRD_SANDBOX_CREDENTIALS, baseUrl: 'rest.messagebird.com' }],
  ])('refuses %s', (_name, input) => {
    expect(messagebirdConfigSchema.safeParse(input).success).toBe(false);
  });

  it('documents the sandbox credentials', () => {
    expect(MESSAGEBIRD_SANDBOX_CREDENTIALS).toEqual({
      accessKey: 'sandbox-messagebird-key',
      signingKey: 'sandbox-messagebird-signing-key',
    });
  });
});

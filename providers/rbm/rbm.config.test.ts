import { describe, expect, it } from 'vitest';
import { RBM_DEFAULT_BASE_URL, rbmConfigSchema } from './rbm.config.ts';
import { RBM_SANDBOX_CREDENTIALS } from './sandbox/rbm.sandbox.ts';

describe('rbmConfigSchema', () => {
  it('accepts the sandbox credentials and defaults the base URL to RBM', () => {
    expect(rbmConfigSchema.parse({ ...RBM_SANDBOX_CREDENTIALS })).toEqual({
      agentId: 'sandbox-rbm-agent',
      baseUrl: 'https://rcsbusinessmessaging.googleapis.com',
    });
    expect(RBM_DEFAULT_BASE_URL).toBe('https://rcsbusinessmessaging.googleapis.com');
  });

  it('takes a regional base URL and a token URL', () => {
    const config = rbmConfigSchema.parse({
      agentId: 'a',
      baseUrl: 'https://europe-rcsbusinessmessaging.googleapis.com',
      tokenUrl: 'https://oauth2.googleapis.com/token',
    });
    expect(config).toMatchObject({
      baseUrl: 'https://europe-rcsbusinessmessaging.googleapis.com',
      tokenUrl: 'https://oauth2.googleapis.com/token',
    });
  });

  it('requires an agent id', () => {
    expect(rbmConfigSchema.safeParse({}).success).toBe(false);
    expect(rbmConfigSchema.safeParse({ agentId: '' }).success).toBe(false);
  });

  it.each([
    [
      'a truncated service account',
      { agentId: 'a', serviceAccount: '{"client_email":' },
      'serviceAccount must be the JSON of a service-account key file',
    ],
    ['a key without private_key', { agentId: 'a', serviceAccount: '{"client_email":"a@b"}' }, 'serviceAccount has no "private_key"'],
    ['a base URL that is not http(s)', { agentId: 'a', baseUrl: 'ftp://rbm' }, undefined],
  ])('refuses %s', (_name, input, message) => {
    const parsed = rbmConfigSchema.safeParse(input);
    expect(parsed.success).toBe(false);
    if (message !== undefined) expect(parsed.error?.issues.map((i) => i.message)).toContain(message);
  });
});

import { describe, expect, it } from 'vitest';
import { fcmConfigSchema, parseServiceAccount } from './fcm.config.ts';
import { FCM_SANDBOX_CREDENTIALS } from './sandbox/fcm.sandbox.ts';

const KEY = {
  type: 'service_account',
  project_id: 'acme-auth-prod',
  client_email: 'fcm@acme-auth-prod.iam.gserviceaccount.com',
  private_key: '-----BEGIN PRIVATE KEY-----\n…',
};

describe('fcmConfigSchema', () => {
  it('defaults to the sandbox project without a service account', () => {
    expect(fcmConfigSchema.parse({})).toEqual({ projectId: 'demo-project' });
    expect(fcmConfigSchema.parse({ ...FCM_SANDBOX_CREDENTIALS })).toEqual({ projectId: 'demo-project' });
  });

  it('takes the project from the service-account key unless projectId is set', () => {
    const serviceAccount = JSON.stringify(KEY);
    expect(fcmConfigSchema.parse({ serviceAccount })).toEqual({ projectId: 'acme-auth-prod', serviceAccount });
    expect(fcmConfigSchema.parse({ serviceAccount, projectId: 'acme-other' })).toEqual({ projectId: 'acme-other', serviceAccount });
  });

  it.each([
    ['a project id with capitals', { projectId: 'Demo-Project' }],
    ['a project id that is too short', { projectId: 'demo' }],
    ['a service account that is not JSON', { serviceAccount: '{"type":' }],
    ['a service account that is a JSON array', { serviceAccount: '[]' }],
    ['a service account without a private key', { serviceAccount: JSON.stringify({ ...KEY, private_key: undefined }) }],
    ['a service account without a client email', { serviceAccount: JSON.stringify({ ...KEY, client_email: '' }) }],
    ['an empty service account', { serviceAccount: '' }],
  ])('refuses %s', (_name, input) => {
    expect(fcmConfigSchema.safeParse(input).success).toBe(false);
  });

  it('says which service-account field is missing', () => {
    expect(parseServiceAccount(JSON.stringify({ ...KEY, project_id: 1 }))).toBe('serviceAccount has no "project_id"');
    expect(parseServiceAccount(JSON.stringify(KEY))).toMatchObject({ project_id: 'acme-auth-prod' });
  });
});

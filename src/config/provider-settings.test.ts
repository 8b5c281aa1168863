import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { providerModules } from '../../providers/index.ts';
import type { ProviderId } from '../../providers/provider.ts';
import { providerConfigOf } from './provider-config.ts';
import { ConfigError, loadConfig } from './config.loader.ts';

const serviceAccount = JSON.stringify({
  type: 'service_account',
  project_id: 'switchboard-test',
  client_email: 'gateway@switchboard-test.iam.gserviceaccount.com',
  private_key: '-----BEGIN PRIVATE KEY-----\nfake\n-----END PRIVATE KEY-----\n',
});

/** Every option of every provider, each set to a value other than its default. */
const EVERY_OPTION: Record<ProviderId, Record<string, unknown>> = {
  twilio: {
    accountSid: `AC${'1'.repeat(32)}`,
    authToken: 'fake-token',
    from: '+15005550001',
    messagingServiceSid: `MG${'2'.repeat(32)}`,
    voiceFrom: '+15005550002',
    voiceRingTimeoutSeconds: 45,
    rcsSenderId: 'rcs:switchboard_test',
    whatsappFrom: 'whatsapp:+15005550008',
    whatsappContentSid: `HX${'3'.repeat(32)}`,
    lookupSimSwap: false,
    lookupPricesUsd: { lineTypeIntelligence: 0.011, simSwap: 0.051 },
  },
  sinch: {
    servicePlanId: 'plan-1',
    apiToken: 'fake-token',
    from: '+15005550003',
    region: 'eu',
    callbackUsername: 'cb-user',
    callbackPassword: 'cb-pass',
    projectId: 'project-1',
    keyId: 'key-1',
    keySecret: 'secret-1',
    appId: 'app-1',
    conversationWebhookSecret: 'conv-secret',
    conversationRegion: 'br',
    whatsappTemplateId: 'switchboard_login',
    whatsappTemplateLanguages: ['en', 'pt_BR'],
    lookupSimSwap: false,
    lookupPricesUsd: { lineType: 0.007, simSwap: 0.033 },
  },
  messagebird: {
    accessKey: 'fake-key',
    signingKey: 'fake-signing-key',
    from: 'Switchboard',
    baseUrl: 'http://127.0.0.1:4999',
    hlrPollIntervalMs: 100,
    hlrMaxWaitMs: 900,
    hlrPriceUsd: 0.009,
  },
  fcm: { projectId: 'switchboard-other', serviceAccount },
  rbm: { agentId: 'agent-1', serviceAccount, baseUrl: 'http://127.0.0.1:4998', tokenUrl: 'http://127.0.0.1:4997/token' },
};

function schemaKeys(schema: z.ZodType): string[] {
  const s = schema as unknown as { shape?: Record<string, unknown>; in?: { shape?: Record<string, unknown> } };
  return Object.keys(s.shape ?? s.in?.shape ?? {});
}

describe('provider settings', () => {
  const ids = Object.keys(providerModules) as ProviderId[];

  it.each(ids)('lists a value for every option %s declares (so the next check covers it)', (id) => {
    expect(Object.keys(EVERY_OPTION[id]).sort()).toEqual(schemaKeys(providerModules[id].configSchema).sort());
  });

  it.each(ids)('hands every %s option set in the configuration to its adapter', (id) => {
    const config = loadConfig({ env: {}, overrides: { providers: { [id]: EVERY_OPTION[id] } } });
    const adapterConfig = providerConfigOf(config, id) as Record<string, unknown>;
    for (const [option, value] of Object.entries(EVERY_OPTION[id]))
      expect({ option, value: adapterConfig[option] }).toEqual({ option, value });
  });

  it('refuses an unknown provider option at load, naming it', () => {
    expect(() => loadConfig({ env: {}, overrides: { providers: { twilio: { voiceRingTimeout: 45 } } } })).toThrow(ConfigError);
    expect(() => loadConfig({ env: {}, overrides: { providers: { twilio: { voiceRingTimeout: 45 } } } })).toThrow(
      /providers\.twilio.*voiceRingTimeout/,
    );
  });

  it('refuses an option value the provider rejects at load', () => {
    expect(() => loadConfig({ env: {}, overrides: { providers: { messagebird: { hlrMaxWaitMs: 60_000 } } } })).toThrow(
      /providers\.messagebird\.hlrMaxWaitMs/,
    );
  });
});

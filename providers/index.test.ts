import { describe, expect, it } from 'vitest';
import {
  MESSAGEBIRD_SANDBOX_CREDENTIALS,
  SINCH_SANDBOX_CREDENTIALS,
  TWILIO_SANDBOX_CREDENTIALS,
  getProviderModule,
  messagebirdProvider,
  providerModules,
  sinchProvider,
  twilioProvider,
} from './index.ts';

describe('provider registry', () => {
  it('lists Twilio, Sinch and MessageBird under their ids', () => {
    expect(providerModules).toEqual({ twilio: twilioProvider, sinch: sinchProvider, messagebird: messagebirdProvider });
    for (const [id, module] of Object.entries(providerModules)) expect(module.id).toBe(id);
  });

  it('names every secret of each config', () => {
    expect(twilioProvider.secretPaths).toEqual(['authToken']);
    expect(sinchProvider.secretPaths).toEqual(['apiToken', 'callbackPassword']);
    expect(messagebirdProvider.secretPaths).toEqual(['accessKey', 'signingKey']);
  });

  it('offers SMS through every implemented carrier, each with an emulator', () => {
    for (const module of Object.values(providerModules)) {
      expect(module.channels).toContain('sms');
      expect(typeof module.emulator).toBe('function');
    }
  });

  it('accepts each sandbox credentials constant as a config', () => {
    expect(twilioProvider.configSchema.safeParse({ ...TWILIO_SANDBOX_CREDENTIALS }).success).toBe(true);
    expect(sinchProvider.configSchema.safeParse({ ...SINCH_SANDBOX_CREDENTIALS }).success).toBe(true);
    expect(messagebirdProvider.configSchema.safeParse({ ...MESSAGEBIRD_SANDBOX_CREDENTIALS }).success).toBe(true);
  });

  it.each(['twilio', 'sinch', 'messagebird'])('finds %s by id', (id) => {
    expect(getProviderModule(id)?.id).toBe(id);
  });

  it.each(['fcm', 'rbm', 'carrier-pigeon', 'constructor', '__proto__'])('answers undefined for %s', (id) => {
    expect(getProviderModule(id)).toBeUndefined();
  });
});

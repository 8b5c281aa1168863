import { describe, expect, it } from 'vitest';
import {
  FCM_SANDBOX_CREDENTIALS,
  MESSAGEBIRD_SANDBOX_CREDENTIALS,
  SINCH_SANDBOX_CREDENTIALS,
  TWILIO_SANDBOX_CREDENTIALS,
  fcmProvider,
  getProviderModule,
  isUnregisteredToken,
  messagebirdProvider,
  providerModules,
  sinchProvider,
  twilioProvider,
} from './index.ts';

describe('provider registry', () => {
  it('lists Twilio, Sinch, MessageBird and FCM under their ids', () => {
    expect(providerModules).toEqual({ twilio: twilioProvider, sinch: sinchProvider, messagebird: messagebirdProvider, fcm: fcmProvider });
    for (const [id, module] of Object.entries(providerModules)) expect(module.id).toBe(id);
  });

  it('names every secret of each config', () => {
    expect(twilioProvider.secretPaths).toEqual(['authToken']);
    expect(sinchProvider.secretPaths).toEqual(['apiToken', 'callbackPassword', 'keySecret']);
    expect(messagebirdProvider.secretPaths).toEqual(['accessKey', 'signingKey']);
    expect(fcmProvider.secretPaths).toEqual(['serviceAccount']);
  });

  it('offers SMS through every SMS carrier and push through FCM, each with an emulator', () => {
    for (const module of [twilioProvider, sinchProvider, messagebirdProvider]) expect(module.channels).toContain('sms');
    expect(fcmProvider.channels).toEqual(['push']);
    for (const module of Object.values(providerModules)) expect(typeof module.emulator).toBe('function');
  });

  it('exports the unregistered-token check the gateway uses for push fallbacks', () => {
    expect(isUnregisteredToken).toBeTypeOf('function');
  });

  it('accepts each sandbox credentials constant as a config', () => {
    expect(twilioProvider.configSchema.safeParse({ ...TWILIO_SANDBOX_CREDENTIALS }).success).toBe(true);
    expect(sinchProvider.configSchema.safeParse({ ...SINCH_SANDBOX_CREDENTIALS }).success).toBe(true);
    expect(messagebirdProvider.configSchema.safeParse({ ...MESSAGEBIRD_SANDBOX_CREDENTIALS }).success).toBe(true);
    expect(fcmProvider.configSchema.safeParse({ ...FCM_SANDBOX_CREDENTIALS }).success).toBe(true);
  });

  it.each(['twilio', 'sinch', 'messagebird', 'fcm'])('finds %s by id', (id) => {
    expect(getProviderModule(id)?.id).toBe(id);
  });

  it.each(['rbm', 'carrier-pigeon', 'constructor', '__proto__'])('answers undefined for %s', (id) => {
    expect(getProviderModule(id)).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import {
  builtinProviders,
  createRegistry,
  FCM_SANDBOX_CREDENTIALS,
  MESSAGEBIRD_SANDBOX_CREDENTIALS,
  SINCH_SANDBOX_CREDENTIALS,
  TWILIO_SANDBOX_CREDENTIALS,
  fcmProvider,
  getProviderModule,
  isUnregisteredToken,
  messagebirdProvider,
  providerModules,
  providerRegistry,
  RBM_SANDBOX_CREDENTIALS,
  rbmProvider,
  sinchProvider,
  twilioProvider,
} from './index.ts';

describe('provider registry', () => {
  it('lists Twilio, Sinch, MessageBird, FCM and RBM under their ids', () => {
    expect(providerModules).toEqual({
      twilio: twilioProvider,
      sinch: sinchProvider,
      messagebird: messagebirdProvider,
      fcm: fcmProvider,
      rbm: rbmProvider,
    });
    for (const [id, module] of Object.entries(providerModules)) expect(module.id).toBe(id);
  });

  it('keeps the built-in carriers in one ordered list, looked up by id', () => {
    expect(providerRegistry.ids).toEqual(['twilio', 'sinch', 'messagebird', 'fcm', 'rbm']);
    expect(providerRegistry.modules).toEqual([...builtinProviders]);
    expect(providerRegistry.require('sinch')).toBe(sinchProvider);
    expect(providerRegistry.has('rbm')).toBe(true);
    expect(providerRegistry.has('pigeon')).toBe(false);
    expect(() => createRegistry([twilioProvider, twilioProvider])).toThrow(/twice/);
  });

  it('gives every env variable to an option its module declares, with the contract names', () => {
    const vars = providerRegistry.modules.flatMap((m) => m.env.map((e) => `${e.variable}→${m.id}.${e.option}`));
    expect(vars).toContain('SWITCHBOARD_TWILIO_ACCOUNT_SID→twilio.accountSid');
    expect(vars).toContain('SWITCHBOARD_SINCH_CONVERSATION_SECRET→sinch.conversationWebhookSecret');
    expect(vars).toContain('SWITCHBOARD_RBM_AGENT_ID→rbm.agentId');
    for (const m of providerRegistry.modules) for (const e of m.env) expect(Object.keys(m.settingsShape)).toContain(e.option);
  });

  it('names every secret of each config', () => {
    expect(twilioProvider.secretPaths).toEqual(['authToken']);
    expect(sinchProvider.secretPaths).toEqual(['apiToken', 'callbackPassword', 'keySecret', 'conversationWebhookSecret']);
    expect(messagebirdProvider.secretPaths).toEqual(['accessKey', 'signingKey']);
    expect(fcmProvider.secretPaths).toEqual(['serviceAccount']);
    expect(rbmProvider.secretPaths).toEqual(['serviceAccount']);
  });

  it('offers SMS through every SMS carrier and push through FCM, each with an emulator', () => {
    for (const module of [twilioProvider, sinchProvider, messagebirdProvider]) expect(module.channels).toContain('sms');
    expect(fcmProvider.channels).toEqual(['push']);
    for (const module of Object.values(providerModules)) expect(typeof module.emulator).toBe('function');
  });

  it('offers RCS through Twilio and Sinch, and RCS capability checks (no channel) through RBM', () => {
    expect(twilioProvider.channels).toContain('rcs');
    expect(sinchProvider.channels).toContain('rcs');
    expect(rbmProvider.channels).toEqual([]);
    const rbm = rbmProvider.create(rbmProvider.configSchema.parse({ ...RBM_SANDBOX_CREDENTIALS }), {
      baseUrl: 'http://127.0.0.1:9',
      timeoutMs: 100,
    });
    expect(rbm.checkCapability).toBeTypeOf('function');
    expect(rbm.rcsCapable).toBeTypeOf('function');
  });

  it('exports the unregistered-token check the gateway uses for push fallbacks', () => {
    expect(isUnregisteredToken).toBeTypeOf('function');
  });

  it('accepts each sandbox credentials constant as a config', () => {
    expect(twilioProvider.configSchema.safeParse({ ...TWILIO_SANDBOX_CREDENTIALS }).success).toBe(true);
    expect(sinchProvider.configSchema.safeParse({ ...SINCH_SANDBOX_CREDENTIALS }).success).toBe(true);
    expect(messagebirdProvider.configSchema.safeParse({ ...MESSAGEBIRD_SANDBOX_CREDENTIALS }).success).toBe(true);
    expect(fcmProvider.configSchema.safeParse({ ...FCM_SANDBOX_CREDENTIALS }).success).toBe(true);
    expect(rbmProvider.configSchema.safeParse({ ...RBM_SANDBOX_CREDENTIALS }).success).toBe(true);
  });

  it.each(['twilio', 'sinch', 'messagebird', 'fcm', 'rbm'])('finds %s by id', (id) => {
    expect(getProviderModule(id)?.id).toBe(id);
  });

  it.each(['carrier-pigeon', 'constructor', '__proto__'])('answers undefined for %s', (id) => {
    expect(getProviderModule(id)).toBeUndefined();
  });
});

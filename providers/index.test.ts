import { describe, expect, it } from 'vitest';
import { getProviderModule, providerModules, twilioProvider } from './index.ts';

describe('provider registry', () => {
  it('lists Twilio under its id', () => {
    expect(providerModules.twilio).toBe(twilioProvider);
    expect(twilioProvider.id).toBe('twilio');
    expect(twilioProvider.secretPaths).toEqual(['authToken']);
  });

  it('finds a module by id', () => {
    expect(getProviderModule('twilio')).toBe(twilioProvider);
  });

  it.each(['sinch', 'carrier-pigeon', 'constructor', '__proto__'])('answers undefined for %s', (id) => {
    expect(getProviderModule(id)).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import { apiKeySchema, configSchema } from '../config/config.schema.ts';
import { resolveKeyPolicy } from './api-keys.ts';

const defaults = configSchema.pick({ rateLimits: true, keyDefaults: true }).parse({});
const record = (extra: Record<string, unknown> = {}) =>
  apiKeySchema.parse({ name: 'auth-service', sha256: 'a'.repeat(64), scopes: ['send'], ...extra });

describe('resolveKeyPolicy', () => {
  it("carries the key's own OTP delivery timeout, and none when the key sets none (the deployment's applies)", () => {
    expect(resolveKeyPolicy(record({ otpDeliveryTimeoutMs: 45_000 }), defaults).otpDeliveryTimeoutMs).toBe(45_000);
    expect(resolveKeyPolicy(record(), defaults).otpDeliveryTimeoutMs).toBeUndefined();
  });

  it('refuses an OTP delivery timeout outside 5–300 s, as a request does', () => {
    expect(apiKeySchema.safeParse({ name: 'k', sha256: 'a'.repeat(64), scopes: ['send'], otpDeliveryTimeoutMs: 1_000 }).success).toBe(
      false,
    );
    expect(apiKeySchema.safeParse({ name: 'k', sha256: 'a'.repeat(64), scopes: ['send'], otpDeliveryTimeoutMs: 400_000 }).success).toBe(
      false,
    );
  });
});

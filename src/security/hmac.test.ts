import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hmacParts, phoneToken, recentToken, userToken } from './hmac.ts';
import { createKeyRing } from './master-key.ts';

describe('keyed digests', () => {
  const ring = createKeyRing(randomBytes(32));

  it('separates parts so shifted boundaries do not collide', () => {
    const key = randomBytes(32);
    expect(hmacParts(key, ['ab', 'c']).equals(hmacParts(key, ['a', 'bc']))).toBe(false);
  });

  it('derives stable, opaque tokens that depend on the master key', () => {
    const t = phoneToken(ring, '+14155550100');
    expect(t).toBe(phoneToken(ring, '+14155550100'));
    expect(t).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(t).not.toContain('4155550100');
    expect(phoneToken(createKeyRing(randomBytes(32)), '+14155550100')).not.toBe(t);
  });

  it('gives the same token from its recent-token memo as computed afresh, per key ring', () => {
    const fresh = (r: typeof ring, e164: string): string =>
      hmacParts(r.subkey('phone-hmac'), ['phone', e164]).subarray(0, 16).toString('base64url');
    const other = createKeyRing(randomBytes(32));
    for (let i = 0; i < 10_000; i++) phoneToken(ring, `+1415555${String(i).padStart(4, '0')}`);
    expect(phoneToken(ring, '+14155550042')).toBe(fresh(ring, '+14155550042'));
    expect(phoneToken(other, '+14155550042')).toBe(fresh(other, '+14155550042'));
    let calls = 0;
    const compute = (): string => String(++calls);
    expect([recentToken(ring, 'k', compute), recentToken(ring, 'k', compute), recentToken(other, 'k', compute)]).toEqual(['1', '1', '2']);
  });

  it('scopes user tokens to the API key', () => {
    expect(userToken(ring, 'a', 'u1')).not.toBe(userToken(ring, 'b', 'u1'));
    expect(userToken(ring, 'a', 'u1')).not.toBe(phoneToken(ring, 'u1'));
  });
});

import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hmacParts, phoneToken, userToken } from './hmac.ts';
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

  it('scopes user tokens to the API key', () => {
    expect(userToken(ring, 'a', 'u1')).not.toBe(userToken(ring, 'b', 'u1'));
    expect(userToken(ring, 'a', 'u1')).not.toBe(phoneToken(ring, 'u1'));
  });
});

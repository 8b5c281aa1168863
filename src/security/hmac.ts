/**
 * Keyed digests of low-entropy values (DESIGN §7). A phone number or a user id hashed plainly
 * falls to brute force in minutes; under an HKDF subkey of the master key it is an opaque token
 * that still lets Redis count per number or per user without ever holding the value.
 */
import { keyObject } from './key-object.ts';
import { createHmac } from 'node:crypto';
import type { KeyRing } from './master-key.ts';

/** HMAC-SHA256 over the parts joined by NUL, so `("ab","c")` and `("a","bc")` never collide. */
export function hmacParts(key: Buffer, parts: readonly string[]): Buffer {
  return createHmac('sha256', keyObject(key)).update(parts.join('\u0000'), 'utf8').digest();
}

/**
 * Recent tokens per key ring: a message's number is tokenised for its limits, its opt-out check
 * and each of its audit entries (five or six times over its life in one process), and number
 * prefixes repeat across messages. Bounded, and cleared whole when full (the values are in this
 * process's memory for their jobs anyway).
 */
const recentTokens = new WeakMap<KeyRing, Map<string, string>>();
const MAX_RECENT_TOKENS = 8_192;

/** The token `compute` makes for `cacheKey` under `ring`, computed once while it stays recent. */
export function recentToken(ring: KeyRing, cacheKey: string, compute: () => string): string {
  let recent = recentTokens.get(ring);
  if (recent === undefined) {
    recent = new Map();
    recentTokens.set(ring, recent);
  }
  let token = recent.get(cacheKey);
  if (token === undefined) {
    token = compute();
    if (recent.size >= MAX_RECENT_TOKENS) recent.clear();
    recent.set(cacheKey, token);
  }
  return token;
}

/** 128-bit base64url token of a recipient number: rate-limit keys never name the number. */
export function phoneToken(ring: KeyRing, e164: string): string {
  return recentToken(ring, `phone\u0000${e164}`, () =>
    hmacParts(ring.subkey('phone-hmac'), ['phone', e164]).subarray(0, 16).toString('base64url'),
  );
}

/** 128-bit base64url token of an upstream user id, scoped to the API key that names it. */
export function userToken(ring: KeyRing, keyName: string, userId: string): string {
  return hmacParts(ring.subkey('phone-hmac'), ['user', keyName, userId]).subarray(0, 16).toString('base64url');
}

import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createAckToken, verifyAckToken } from './push-ack-token.ts';

const key = randomBytes(32);

describe('push ack tokens', () => {
  it('verifies a token for its own message until it expires', () => {
    const t = createAckToken(key, 'msg_A', 2_000_000_000_000);
    expect(verifyAckToken(key, 'msg_A', t, 1_999_999_999_999)).toEqual({ ok: true });
    expect(verifyAckToken(key, 'msg_A', t, 2_000_000_000_001)).toEqual({ ok: false, reason: 'expired' });
  });

  it('refuses another message, another key, a changed expiry and garbage', () => {
    const t = createAckToken(key, 'msg_A', 2_000_000_000_000);
    expect(verifyAckToken(key, 'msg_B', t, 0)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifyAckToken(randomBytes(32), 'msg_A', t, 0)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifyAckToken(key, 'msg_A', t.replace(/\.\d+$/, '.2999999999999'), 0)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifyAckToken(key, 'msg_A', 'nope', 0)).toEqual({ ok: false, reason: 'malformed' });
  });
});

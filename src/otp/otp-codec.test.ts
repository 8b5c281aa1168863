import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { codeHmac, codeMatches, decryptCode, encryptCode, generateCode, renderBody } from './otp-codec.ts';

describe('otp codec', () => {
  it('generates codes of the requested length from digits only', () => {
    for (const len of [4, 6, 10]) expect(generateCode(len)).toMatch(new RegExp(`^\\d{${len}}$`));
  });

  it('round-trips a code and refuses it under another message id', () => {
    const key = randomBytes(32);
    const sealed = encryptCode(key, 'msg_A', '123456');
    expect(sealed).not.toContain('123456');
    expect(decryptCode(key, 'msg_A', sealed)).toBe('123456');
    expect(() => decryptCode(key, 'msg_B', sealed)).toThrow();
  });

  it('renders every placeholder', () => {
    expect(renderBody('Code {{code}}. Again: {{code}}', '42')).toBe('Code 42. Again: 42');
  });

  it('matches a code by HMAC, bound to its message id and key', () => {
    const key = randomBytes(32);
    const stored = codeHmac(key, 'msg_A', '0123456789');
    expect(stored).not.toContain('0123456789');
    expect(codeMatches(key, 'msg_A', '0123456789', stored)).toBe(true);
    expect(codeMatches(key, 'msg_A', '0123456788', stored)).toBe(false);
    expect(codeMatches(key, 'msg_B', '0123456789', stored)).toBe(false);
    expect(codeMatches(randomBytes(32), 'msg_A', '0123456789', stored)).toBe(false);
    expect(codeMatches(key, 'msg_A', '0123456789', 'short')).toBe(false);
  });
});

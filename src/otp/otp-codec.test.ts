import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decryptCode, encryptCode, generateCode, renderBody } from './otp-codec.ts';

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
});

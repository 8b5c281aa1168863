import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, maskPhonesInText } from './logger.ts';

function capture(): { log: ReturnType<typeof createLogger>; lines: () => Array<Record<string, unknown>> } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  return { log: createLogger('info', {}, stream), lines: () => chunks.map((c) => JSON.parse(c) as Record<string, unknown>) };
}

describe('log redaction', () => {
  it('masks phone numbers and redacts bodies, codes and secrets', () => {
    const { log, lines } = capture();
    log.info(
      { to: '+14155550100', body: 'Your code is 123456', code: '123456', provider: { authToken: 'tok' }, nested: { to: '+4915112345678' } },
      'x',
    );
    const [line] = lines();
    expect(line).toMatchObject({
      to: '+1415***0100',
      body: '[redacted]',
      code: '[redacted]',
      provider: { authToken: '[redacted]' },
      nested: { to: '+4915*****5678' },
    });
    expect(JSON.stringify(line)).not.toMatch(/123456|14155550100|tok"/);
  });

  it("redacts every provider's secret options, in a section or under providers", () => {
    const { log, lines } = capture();
    log.info({ section: { signingKey: 'sig-1', from: '+15005550006' }, providers: { sinch: { keySecret: 'sec-2', region: 'eu' } } }, 'x');
    const [line] = lines();
    expect(line).toMatchObject({ section: { signingKey: '[redacted]' }, providers: { sinch: { keySecret: '[redacted]', region: 'eu' } } });
    expect(JSON.stringify(line)).not.toMatch(/sig-1|sec-2/);
  });

  it('masks numbers quoted inside carrier messages', () => {
    expect(maskPhonesInText("The 'To' number +15005550001 is not a valid phone number.")).toBe(
      "The 'To' number +1500***0001 is not a valid phone number.",
    );
  });

  it('masks a number quoted in the err of a "job failed" line', () => {
    const { log, lines } = capture();
    log.warn({ queue: 'send', jobId: '7', err: 'SB_VALIDATION_JOB: data: Unrecognized key: "+14155559876"' }, 'job failed');
    expect(JSON.stringify(lines()[0])).not.toContain('4155559876');
    expect(lines()[0]?.['err']).toContain('+1415***9876');
  });

  it('masks a number quoted in a lookup failure, as text or as an error object', () => {
    const { log, lines } = capture();
    log.warn(
      { provider: 'twilio', err: 'permanent: The requested resource /v2/PhoneNumbers/+14155559876 was not found' },
      'lookup failed; sending without it',
    );
    log.warn(
      {
        reason: 'HTTP 404 for +4915112345678',
        err: { message: 'no such number +4915112345678', stack: 'Error: no such number +4915112345678\n at x' },
      },
      'x',
    );
    const text = JSON.stringify(lines());
    expect(text).not.toMatch(/4155559876|4915112345678/);
  });
});

import { describe, expect, it } from 'vitest';
import type { Attempt, MessageRecord } from '../domain/message.ts';
import { countsAsOtpDelivery, verifyCredit } from './conversion-credit.ts';
import { messageFixture } from '../domain/message.fixture.ts';

const attempt = (n: number, a: Partial<Attempt>): Attempt => ({
  n,
  channel: 'sms',
  provider: 'messagebird',
  status: 'sent',
  startedAt: '2026-01-01T00:00:00Z',
  providerMessageId: `p${n}`,
  ...a,
});

function message(m: Partial<MessageRecord> = {}): MessageRecord {
  const base = { status: 'sent', purpose: 'otp', body: 'code {{code}}', otp: { length: 6, ttlSeconds: 300 } } as const;
  return messageFixture(
    { ...base, id: 'msg_01JDX0000000000000000000AB', expiresAt: '2026-01-01T00:05:00Z', attempts: [attempt(1, {})], ...m },
    '2026-01-01T00:00:00Z',
  );
}

const delivered = (m: MessageRecord): MessageRecord => ({
  ...m,
  status: 'delivered',
  attempts: m.attempts.map((a) => ({ ...a, status: 'delivered' as const })),
});
const verified = (m: MessageRecord, at = '2026-01-01T00:01:00Z'): MessageRecord => ({ ...m, verifiedAt: at });

describe('conversion credit', () => {
  it('counts the first carrier-reported delivery of an unverified OTP once', () => {
    const before = message();
    expect(countsAsOtpDelivery(before, delivered(before))).toBe(true);
    expect(countsAsOtpDelivery(delivered(before), delivered(before))).toBe(false);
    expect(countsAsOtpDelivery(verified(before), delivered(verified(before)))).toBe(false);
    expect(
      countsAsOtpDelivery(
        message({ purpose: 'transactional', otp: undefined }),
        delivered(message({ purpose: 'transactional', otp: undefined })),
      ),
    ).toBe(false);
  });

  it('credits a verify to the attempt that delivered the code', () => {
    const fixed = message({
      status: 'delivered',
      attempts: [attempt(1, { provider: 'twilio', status: 'undelivered' }), attempt(2, { provider: 'sinch', status: 'delivered' })],
    });
    expect(verifyCredit(fixed, verified(fixed))).toEqual({ provider: 'sinch', country: 'US', credit: { delivered: 0, verified: 1 } });
    expect(verifyCredit(verified(fixed), verified(fixed))).toBeUndefined();
  });

  it('credits the delivery too when the verify comes before any delivery report', () => {
    const m = message();
    expect(verifyCredit(m, verified(m))).toEqual({ provider: 'messagebird', country: 'US', credit: { delivered: 1, verified: 1 } });
  });

  it('credits nothing for a verify past the TTL, a push delivery or a code the upstream made itself', () => {
    const m = delivered(message());
    expect(verifyCredit(m, verified(m, '2026-01-01T00:06:00Z'))).toBeUndefined();
    const push = delivered(message({ attempts: [attempt(1, { channel: 'push', provider: 'fcm' })] }));
    expect(verifyCredit(push, verified(push))).toBeUndefined();
    const tx = delivered(message({ purpose: 'transactional', otp: undefined }));
    expect(verifyCredit(tx, verified(tx))).toBeUndefined();
  });
});

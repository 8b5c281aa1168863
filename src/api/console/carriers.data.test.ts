import { describe, expect, it } from 'vitest';
import type { MessageRecord } from '../../domain/message.ts';
import { sumSpend, utcDayStart } from './carriers.data.ts';

const msg = (country: string, attempts: Array<{ provider: string; amount?: number }>): MessageRecord =>
  ({
    country,
    attempts: attempts.map((a, i) => ({
      n: i + 1,
      channel: 'sms',
      provider: a.provider,
      status: 'delivered',
      startedAt: '',
      ...(a.amount !== undefined ? { cost: { amount: a.amount, currency: 'USD' } } : {}),
    })),
  }) as unknown as MessageRecord;

describe('sumSpend', () => {
  it('sums attempt costs per provider and country, largest first, skipping unpriced attempts', () => {
    const rows = sumSpend([
      msg('US', [
        { provider: 'messagebird', amount: 0.007 },
        { provider: 'twilio', amount: 0.0075 },
      ]),
      msg('US', [{ provider: 'twilio', amount: 0.0075 }]),
      msg('', [{ provider: 'fcm' }, { provider: 'sinch', amount: 0.048 }]),
    ]);
    expect(rows).toEqual([
      { provider: 'sinch', country: 'ZZ', currency: 'USD', amount: 0.048, attempts: 1 },
      { provider: 'twilio', country: 'US', currency: 'USD', amount: 0.015, attempts: 2 },
      { provider: 'messagebird', country: 'US', currency: 'USD', amount: 0.007, attempts: 1 },
    ]);
  });
});

describe('utcDayStart', () => {
  it('is midnight UTC of the same day', () => {
    expect(new Date(utcDayStart(Date.parse('2026-01-31T23:59:59.999Z'))).toISOString()).toBe('2026-01-31T00:00:00.000Z');
  });
});

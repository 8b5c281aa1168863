import { describe, expect, it } from 'vitest';
import { messageOutcome } from './message-outcome.ts';

describe('messageOutcome', () => {
  it('counts worker-side policy stops (SIM swap, pumping, invalid number) as refused', () => {
    for (const code of ['SB_POLICY_SIM_SWAP', 'SB_POLICY_PUMPING', 'SB_RECIPIENT_INVALID']) {
      expect(messageOutcome({ status: 'failed', error: { code, message: 'x' } })).toBe('refused');
    }
  });

  it('keeps carrier and routing failures as failed, and other terminal statuses as they are', () => {
    expect(messageOutcome({ status: 'failed', error: { code: 'SB_CARRIER_REJECTED', message: 'x' } })).toBe('failed');
    expect(messageOutcome({ status: 'failed', error: { code: 'SB_ROUTE_UNAVAILABLE', message: 'x' } })).toBe('failed');
    expect(messageOutcome({ status: 'delivered' })).toBe('delivered');
    expect(messageOutcome({ status: 'undelivered' })).toBe('undelivered');
    expect(messageOutcome({ status: 'expired' })).toBe('expired');
  });
});

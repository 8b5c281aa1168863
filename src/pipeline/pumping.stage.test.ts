import { describe, expect, it } from 'vitest';
import type { MessageRecord } from '../domain/message.ts';
import { applyPumpingVerdict, type PumpingVerdict } from './pumping.stage.ts';
import { messageFixture } from '../domain/message.fixture.ts';

const T0 = '2026-01-01T00:00:00.000Z';
const NOW = Date.parse('2026-01-01T00:05:00.000Z');
const AT = new Date(NOW).toISOString();

function draft(over: Partial<MessageRecord> = {}): MessageRecord {
  return messageFixture({ purpose: 'otp', body: 'Your code is {{code}}', timeline: [{ at: T0, type: 'accepted' }], ...over }, T0);
}

const shadow: PumpingVerdict = {
  block: false,
  detail: 'shadow (delivered): prefix: 12 sends in 60 s over the threshold 10',
  reasons: ['prefix: 12 sends in 60 s over the threshold 10'],
};
const blocking: PumpingVerdict = { ...shadow, block: true, detail: 'blocked: prefix: 12 sends in 60 s over the threshold 10' };

describe('applyPumpingVerdict', () => {
  it('records a shadow verdict in the timeline and leaves the message to be sent', () => {
    const d = draft();
    expect(applyPumpingVerdict(d, shadow, AT)).toBe(true);
    expect(d.timeline.at(-1)).toEqual({ at: AT, type: 'pumping', detail: shadow.detail });
    expect(d.updatedAt).toBe(AT);
    expect(d).toMatchObject({ status: 'accepted', final: false });
    expect(d.error).toBeUndefined();
  });

  it('fails the message SB_POLICY_PUMPING on a blocking verdict', () => {
    const d = draft();
    expect(applyPumpingVerdict(d, blocking, AT)).toBe(true);
    expect(d).toMatchObject({ status: 'failed', final: true, updatedAt: AT, error: { code: 'SB_POLICY_PUMPING' } });
    expect(d.timeline.map((t) => t.type)).toEqual(['accepted', 'pumping', 'failed']);
    expect(d.timeline[1]?.detail).toBe(blocking.detail);
  });

  it('changes nothing on a message already judged or past the guard', () => {
    const judged = draft({
      timeline: [
        { at: T0, type: 'accepted' },
        { at: T0, type: 'pumping', detail: shadow.detail },
      ],
    });
    const attempted = draft({ attempts: [{ n: 1, channel: 'sms', provider: 'twilio', status: 'queued', startedAt: T0 }] });
    for (const d of [judged, attempted]) {
      const before = structuredClone(d);
      expect(applyPumpingVerdict(d, blocking, AT)).toBe(false);
      expect(d).toEqual(before);
    }
  });
});

import { describe, expect, it } from 'vitest';
import type { Attempt, MessageRecord } from '../domain/message.ts';
import { PushAckLearner, pushOutcomeOf } from './push-ack-learner.ts';
import { createLogger } from '../logger.ts';

const push = (status: Attempt['status'], code?: string): Attempt => ({
  n: 1,
  channel: 'push',
  provider: 'fcm',
  status,
  startedAt: '2026-01-01T00:00:00Z',
  ...(code ? { error: { code, message: code } } : {}),
});
const msg = (attempts: Attempt[], token: string | null = 'tok'): MessageRecord => ({
  id: 'msg_01JDX0000000000000000000AB',
  keyName: 'k',
  status: 'sent',
  to: '+14155550100',
  country: 'US',
  channels: ['push', 'sms'],
  ...(token !== null ? { push: { token, enabled: true, ackTimeoutMs: 500 } } : {}),
  purpose: 'otp',
  body: '{{code}}',
  createdAt: '2026-01-01T00:00:00Z',
  updatedAt: '2026-01-01T00:00:00Z',
  attempts,
  timeline: [],
  final: false,
});

describe('push ack learner', () => {
  it('reads an ack and an ack timeout from the change of a push attempt', () => {
    expect(pushOutcomeOf(msg([push('sent')]), msg([push('delivered')]))).toBe(true);
    expect(pushOutcomeOf(msg([push('sent')]), msg([push('undelivered', 'SB_PUSH_ACK_TIMEOUT')]))).toBe(false);
  });

  it('ignores FCM refusals, repeats and changes that do not move a push attempt', () => {
    expect(pushOutcomeOf(msg([push('queued')]), msg([push('failed', 'SB_PUSH_UNREGISTERED')]))).toBeUndefined();
    expect(pushOutcomeOf(msg([push('delivered')]), msg([push('delivered')]))).toBeUndefined();
    expect(pushOutcomeOf(msg([push('sent')]), msg([push('sent')]))).toBeUndefined();
  });

  it('records each outcome once against the token, and nothing for a message without a token', async () => {
    const seen: Array<[string, boolean]> = [];
    const learner = new PushAckLearner({ recordOutcome: async (t, acked) => void seen.push([t, acked]) }, createLogger('silent'), () => 0);
    await learner.record(msg([push('sent')]), msg([push('delivered')]));
    await learner.record(msg([push('sent')], null), msg([push('delivered')], null));
    await learner.record(msg([push('delivered')]), msg([push('delivered')]));
    expect(seen).toEqual([['tok', true]]);
  });
});

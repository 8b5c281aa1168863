import { describe, expect, it } from 'vitest';
import type { MessageRecord } from './message.ts';
import { carrierOutcomeStep, exhaustedStep, reflectsOnProvider, type CarrierErrorInfo, type OutcomeContext } from './send-outcome.ts';
import { startAttempt } from './status.ts';

const T0 = '2026-01-01T00:00:00.000Z';
const T1 = '2026-01-01T00:00:01.000Z';

function withAttempt(channel: 'sms' | 'rcs' | 'whatsapp' = 'sms'): MessageRecord {
  const d: MessageRecord = {
    id: 'msg_01HZZZZZZZZZZZZZZZZZZZZZZZ',
    keyName: 'k',
    status: 'accepted',
    to: '+14155550100',
    country: 'US',
    channels: [channel],
    purpose: 'otp',
    body: 'code {{code}}',
    createdAt: T0,
    updatedAt: T0,
    attempts: [],
    timeline: [],
    final: false,
  };
  startAttempt(d, 1, channel, 'twilio', T0);
  return d;
}

const ctx = (over: Partial<OutcomeContext> = {}): OutcomeContext => ({
  n: 1,
  channel: 'sms',
  provider: 'twilio',
  at: T1,
  hasNextRung: false,
  canRetryJob: true,
  ...over,
});
const refusal = (over: Partial<CarrierErrorInfo>): CarrierErrorInfo => ({
  kind: 'retryable',
  scope: 'provider',
  ambiguous: false,
  message: 'boom',
  ...over,
});

describe('carrier outcome → message change', () => {
  it('records the carrier id, segments and cost of an accepted send and ends the job', () => {
    const d = withAttempt();
    const step = carrierOutcomeStep(
      { kind: 'accepted', providerMessageId: 'SM1', acceptedAt: T1, segments: 2, cost: { amount: 0.0158, currency: 'USD' } },
      ctx(),
    );
    step.mutate(d);
    expect(step.next).toBe('done');
    expect(d.status).toBe('queued');
    expect(d.attempts[0]).toMatchObject({ providerMessageId: 'SM1', acceptedAt: T1, segments: 2, cost: { amount: 0.0158 } });
    expect(d.timeline.at(-1)).toMatchObject({ type: 'carrier_accepted', detail: 'SM1' });
  });

  it('applies an acceptance twice as once (a lost race re-applies it)', () => {
    const d = withAttempt();
    const step = carrierOutcomeStep({ kind: 'accepted', providerMessageId: 'SM1', acceptedAt: T1 }, ctx());
    step.mutate(d);
    step.mutate(d);
    expect(d.timeline.filter((t) => t.type === 'carrier_accepted')).toHaveLength(1);
  });

  it('fails the attempt and moves to the next provider on a retryable error', () => {
    const d = withAttempt();
    const step = carrierOutcomeStep({ kind: 'error', error: refusal({ providerCode: '503' }) }, ctx());
    step.mutate(d);
    expect(step.next).toBe('next_provider');
    expect(d.attempts[0]).toMatchObject({ status: 'failed', error: { code: 'SB_ROUTE_UNAVAILABLE', providerCode: '503' } });
    expect(d.final).toBe(false);
  });

  it('ends the message on a refused recipient, whatever rungs follow', () => {
    const d = withAttempt();
    const step = carrierOutcomeStep(
      { kind: 'error', error: refusal({ kind: 'permanent', scope: 'recipient', providerCode: '21211' }) },
      ctx({ hasNextRung: true }),
    );
    step.mutate(d);
    expect(step.next).toBe('done');
    expect(d.status).toBe('failed');
    expect(d.error?.code).toBe('SB_CARRIER_REJECTED');
  });

  it('goes down the ladder on a channel refusal when a rung follows, and fails without one', () => {
    const err = refusal({ kind: 'permanent', scope: 'channel' });
    const withNext = withAttempt();
    const a = carrierOutcomeStep({ kind: 'error', error: err }, ctx({ hasNextRung: true }));
    a.mutate(withNext);
    expect(a.next).toBe('next_channel');
    expect(withNext.final).toBe(false);
    const last = withAttempt();
    const b = carrierOutcomeStep({ kind: 'error', error: err }, ctx({ hasNextRung: false }));
    b.mutate(last);
    expect(b.next).toBe('done');
    expect(last).toMatchObject({ status: 'failed', error: { code: 'SB_CHANNEL_UNSUPPORTED' } });
  });

  it('keeps an ambiguous attempt open and retries the job while runs remain', () => {
    const d = withAttempt();
    const step = carrierOutcomeStep({ kind: 'error', error: refusal({ ambiguous: true }) }, ctx({ canRetryJob: true }));
    step.mutate(d);
    expect(step.next).toBe('retry_job');
    expect(d.attempts[0]?.status).toBe('queued');
    expect(d.timeline.at(-1)).toMatchObject({ type: 'carrier_error', detail: 'retryable: outcome unknown' });
  });

  it('fails an ambiguous attempt on the last run', () => {
    const d = withAttempt();
    const step = carrierOutcomeStep({ kind: 'error', error: refusal({ ambiguous: true }) }, ctx({ canRetryJob: false }));
    step.mutate(d);
    expect(step.next).toBe('done');
    expect(d.final).toBe(true);
    expect(d.error?.code).toBe('SB_ROUTE_UNAVAILABLE');
  });

  it('sends any RCS refusal down the ladder with its RCS code', () => {
    const d = withAttempt('rcs');
    const step = carrierOutcomeStep(
      { kind: 'error', error: refusal({ kind: 'permanent', scope: 'channel' }) },
      ctx({ channel: 'rcs', hasNextRung: true }),
    );
    step.mutate(d);
    expect(step.next).toBe('next_channel');
    expect(d.attempts[0]?.error?.code).toBe('SB_RCS_NOT_CAPABLE');
  });

  it('fails the attempt as circuit-open and tries the next provider when the breaker refuses', () => {
    const d = withAttempt();
    const step = carrierOutcomeStep({ kind: 'breaker_open' }, ctx());
    step.mutate(d);
    expect(step.next).toBe('next_provider');
    expect(d.attempts[0]?.error).toEqual({ code: 'SB_ROUTE_UNAVAILABLE', message: 'twilio circuit open' });
  });

  it('counts provider-side errors against health, not recipient or channel refusals', () => {
    expect(reflectsOnProvider({ kind: 'retryable', scope: 'provider' })).toBe(true);
    expect(reflectsOnProvider({ kind: 'rate_limited', scope: 'provider' })).toBe(true);
    expect(reflectsOnProvider({ kind: 'permanent', scope: 'recipient' })).toBe(false);
    expect(reflectsOnProvider({ kind: 'permanent', scope: 'channel' })).toBe(false);
  });
});

describe('every candidate failed', () => {
  it('retries the job while attempts and runs remain', () => {
    const d = withAttempt();
    expect(exhaustedStep(d, { maxAttempts: 3, canRetryJob: true, at: T1 }).next).toBe('retry_job');
  });

  it('fails the message with the last error once attempts run out', () => {
    const d = withAttempt();
    const end = exhaustedStep(d, { maxAttempts: 1, canRetryJob: true, at: T1, lastError: refusal({ providerCode: '500' }) });
    expect(end.next).toBe('done');
    end.mutate?.(d);
    expect(d).toMatchObject({ final: true, error: { code: 'SB_ROUTE_UNAVAILABLE', providerCode: '500' } });
  });
});

describe('WhatsApp outcomes', () => {
  it('sends a not-on-WhatsApp refusal to the next rung at once, recording SB_WHATSAPP_NOT_REGISTERED', () => {
    const d = withAttempt('whatsapp');
    const step = carrierOutcomeStep(
      { kind: 'error', error: refusal({ kind: 'permanent', scope: 'channel', providerCode: '63024' }) },
      ctx({ channel: 'whatsapp', hasNextRung: true }),
    );
    step.mutate(d);
    expect(step.next).toBe('next_channel');
    expect(d.attempts[0]).toMatchObject({ status: 'failed', error: { code: 'SB_WHATSAPP_NOT_REGISTERED', providerCode: '63024' } });
    expect(d.final).toBe(false);
  });

  it('fails the message with SB_WHATSAPP_NOT_REGISTERED when WhatsApp was the only rung', () => {
    const d = withAttempt('whatsapp');
    const step = carrierOutcomeStep(
      { kind: 'error', error: refusal({ kind: 'permanent', scope: 'channel' }) },
      ctx({ channel: 'whatsapp', hasNextRung: false }),
    );
    step.mutate(d);
    expect(step.next).toBe('done');
    expect(d).toMatchObject({ final: true, status: 'failed', error: { code: 'SB_WHATSAPP_NOT_REGISTERED' } });
  });

  it('fails a retryable WhatsApp error over to the other provider, like SMS', () => {
    const step = carrierOutcomeStep(
      { kind: 'error', error: refusal({ kind: 'retryable', httpStatus: undefined } as Partial<CarrierErrorInfo>) },
      ctx({ channel: 'whatsapp', hasNextRung: true }),
    );
    expect(step.next).toBe('next_provider');
  });

  it('goes to the next rung with SB_WHATSAPP_FAILED once every WhatsApp provider failed, instead of a backoff', () => {
    const d = withAttempt('whatsapp');
    carrierOutcomeStep({ kind: 'error', error: refusal({ kind: 'retryable' }) }, ctx({ channel: 'whatsapp', hasNextRung: true })).mutate(d);
    const end = exhaustedStep(d, { maxAttempts: 3, canRetryJob: true, at: T1, channel: 'whatsapp', hasNextRung: true });
    expect(end.next).toBe('next_channel');
    end.mutate?.(d);
    expect(d.attempts[0]?.error?.code).toBe('SB_WHATSAPP_FAILED');
    expect(exhaustedStep(d, { maxAttempts: 3, canRetryJob: true, at: T1, channel: 'whatsapp', hasNextRung: false }).next).toBe('retry_job');
  });

  it('hands an ambiguous WhatsApp send out of job runs to the next rung', () => {
    const d = withAttempt('whatsapp');
    const step = carrierOutcomeStep(
      { kind: 'error', error: refusal({ kind: 'retryable', ambiguous: true }) },
      ctx({ channel: 'whatsapp', hasNextRung: true, canRetryJob: false }),
    );
    step.mutate(d);
    expect(step.next).toBe('next_channel');
    expect(d.attempts[0]?.error?.code).toBe('SB_WHATSAPP_FAILED');
  });
});

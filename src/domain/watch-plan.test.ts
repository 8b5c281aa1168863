import { describe, expect, it } from 'vitest';
import type { Attempt, MessageRecord } from './message.ts';
import {
  DUE_SLACK_MS,
  MAX_READ_GAP_MS,
  NO_EXPIRY_HORIZON_MS,
  STUCK_AFTER_MS,
  dlrTimeoutCandidate,
  firstWatchAt,
  planWatch,
  stuckSince,
  type WatchSettings,
} from './watch-plan.ts';
import { messageFixture } from './message.fixture.ts';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const iso = (ms: number): string => new Date(ms).toISOString();
const SETTINGS: Omit<WatchSettings, 'now'> = { reconcileAfterMs: 30_000, deliveryTimeoutMs: 20_000, maxAttempts: 3 };

function attempt(n: number, patch: Partial<Attempt> = {}): Attempt {
  return {
    n,
    channel: 'sms',
    provider: 'twilio',
    status: 'sent',
    startedAt: iso(T0),
    acceptedAt: iso(T0),
    providerMessageId: `SM${n}`,
    ...patch,
  };
}

function message(patch: Partial<MessageRecord> = {}): MessageRecord {
  const base = {
    status: 'sent',
    purpose: 'otp',
    body: 'code {{code}}',
    otp: { length: 6, ttlSeconds: 300, deliveryTimeoutMs: 20_000 },
  } as const;
  return messageFixture(
    { ...base, id: 'msg_01J00000000000000000000000', expiresAt: iso(T0 + 300_000), attempts: [attempt(1)], ...patch },
    iso(T0),
  );
}

const at = (now: number): WatchSettings => ({ ...SETTINGS, now });

describe('planWatch', () => {
  it('ends the watch of a terminal message without reading anything', () => {
    expect(planWatch(message({ status: 'delivered' }), {}, at(T0 + 20_000))).toMatchObject({ done: true, reads: [], expire: false });
  });

  it('reads an OTP attempt at its delivery timeout, before its first reconciliation, and flags the timeout', () => {
    const plan = planWatch(message(), {}, at(T0 + 20_000));
    expect(plan.reads).toEqual([1]);
    expect(plan.dlrTimeout).toBe(1);
    expect(plan.done).toBe(false);
  });

  it('counts a deadline a few milliseconds away as due (acceptance comes just after admission)', () => {
    const plan = planWatch(message({ attempts: [attempt(1, { acceptedAt: iso(T0 + 40) })] }), {}, at(T0 + 20_000));
    expect(plan.dlrTimeout).toBe(1);
    expect(
      planWatch(message({ attempts: [attempt(1, { acceptedAt: iso(T0 + DUE_SLACK_MS + 100) })] }), {}, at(T0 + 20_000)).dlrTimeout,
    ).toBeUndefined();
  });

  it('waits for the delivery timeout when it is not due yet', () => {
    const plan = planWatch(message(), {}, at(T0 + 5_000));
    expect(plan.reads).toEqual([]);
    expect(plan.dlrTimeout).toBeUndefined();
    expect(plan.nextAt).toBe(T0 + 20_000);
  });

  it('reads a transactional message first after reconcileAfterMs, then on a doubling back-off', () => {
    const msg = message({ purpose: 'transactional', otp: undefined });
    const first = planWatch(msg, {}, at(T0 + 30_000));
    expect(first.reads).toEqual([1]);
    expect(first.dlrTimeout).toBeUndefined();
    expect(first.schedule['1']).toEqual({ nextAt: T0 + 60_000, gapMs: 60_000 });
    expect(first.nextAt).toBe(T0 + 60_000);
    const second = planWatch(msg, first.schedule, at(T0 + 60_000));
    expect(second.reads).toEqual([1]);
    expect(second.schedule['1']).toEqual({ nextAt: T0 + 120_000, gapMs: 120_000 });
    const early = planWatch(msg, second.schedule, at(T0 + 90_000));
    expect(early.reads).toEqual([]);
    expect(early.nextAt).toBe(T0 + 120_000);
  });

  it('caps the back-off gap', () => {
    const msg = message({ purpose: 'transactional', otp: undefined, expiresAt: undefined });
    const plan = planWatch(msg, { '1': { nextAt: T0 + 1_000_000, gapMs: MAX_READ_GAP_MS } }, at(T0 + 1_000_000));
    expect(plan.schedule['1']?.gapMs).toBe(MAX_READ_GAP_MS);
  });

  it('does not time out a verified OTP, a delivered one, a timed-out attempt again, or past the attempt limit', () => {
    const now = at(T0 + 20_000);
    expect(planWatch(message({ verifiedAt: iso(T0 + 1_000) }), {}, now).dlrTimeout).toBeUndefined();
    expect(
      planWatch(message({ attempts: [attempt(1, { dlrTimeout: { at: iso(T0), next: 'provider' } })] }), {}, now).dlrTimeout,
    ).toBeUndefined();
    expect(
      planWatch(message({ attempts: [attempt(1, { status: 'undelivered' }), attempt(2, { status: 'undelivered' }), attempt(3)] }), {}, now)
        .dlrTimeout,
    ).toBeUndefined();
    expect(dlrTimeoutCandidate(message({ attempts: [attempt(1, { status: 'delivered' }), attempt(2)] }), SETTINGS)).toBeUndefined();
  });

  it('never reads or times out a push attempt (FCM has no status read; its ack timeout does that job)', () => {
    const plan = planWatch(message({ attempts: [attempt(1, { channel: 'push', provider: 'fcm' })] }), {}, at(T0 + 60_000));
    expect(plan.reads).toEqual([]);
    expect(plan.dlrTimeout).toBeUndefined();
  });

  it('reads every open attempt one last time at expiry, then expires', () => {
    const plan = planWatch(
      message({ attempts: [attempt(1, { dlrTimeout: { at: iso(T0), next: 'provider' } }), attempt(2, { provider: 'sinch' })] }),
      {},
      at(T0 + 300_000),
    );
    expect(plan.expire).toBe(true);
    expect(plan.reads).toEqual([1, 2]);
  });

  it('looks again soon while an attempt is on its way to a carrier', () => {
    const plan = planWatch(
      message({ status: 'queued', attempts: [attempt(1, { status: 'queued', providerMessageId: undefined, acceptedAt: undefined })] }),
      {},
      at(T0 + 20_000),
    );
    expect(plan.reads).toEqual([]);
    expect(plan.nextAt).toBe(T0 + 40_000);
  });

  it('stops reading a message without expiry once its validity horizon has passed', () => {
    const msg = message({ purpose: 'transactional', otp: undefined, expiresAt: undefined });
    const plan = planWatch(
      msg,
      { '1': { nextAt: T0 + NO_EXPIRY_HORIZON_MS + 1, gapMs: MAX_READ_GAP_MS } },
      at(T0 + NO_EXPIRY_HORIZON_MS + 2),
    );
    expect(plan.done).toBe(true);
  });
});

describe('firstWatchAt', () => {
  it('is the OTP delivery timeout, the first reconciliation otherwise, never after the expiry', () => {
    expect(firstWatchAt(message(), SETTINGS)).toBe(T0 + 20_000);
    expect(firstWatchAt(message({ otp: undefined }), SETTINGS)).toBe(T0 + 30_000);
    expect(firstWatchAt(message({ expiresAt: iso(T0 + 10_000) }), SETTINGS)).toBe(T0 + 10_000);
    expect(firstWatchAt(message({ otp: { length: 6, ttlSeconds: 300 } }), { ...SETTINGS, deliveryTimeoutMs: 7_000 })).toBe(T0 + 7_000);
  });
});

describe('stuckSince', () => {
  it('names the oldest open acceptance of a message open past the threshold, and nothing before it or once terminal', () => {
    const msg = message({
      attempts: [
        attempt(1, { dlrTimeout: { at: iso(T0), next: 'provider' } }),
        attempt(2, { provider: 'sinch', acceptedAt: iso(T0 + 20_000) }),
      ],
    });
    expect(stuckSince(msg, T0 + STUCK_AFTER_MS - 1)).toBeUndefined();
    expect(stuckSince(msg, T0 + STUCK_AFTER_MS)).toBe(T0);
    expect(stuckSince({ ...msg, status: 'delivered' }, T0 + STUCK_AFTER_MS)).toBeUndefined();
    expect(stuckSince(message({ attempts: [attempt(1, { channel: 'push', provider: 'fcm' })] }), T0 + STUCK_AFTER_MS)).toBeUndefined();
  });
});

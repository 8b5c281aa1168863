import { describe, expect, it } from 'vitest';
import type { MessageRecord } from './message.ts';
import { applyCallback, deriveMessageStatus, expire, finalize, markAccepted, moveAttempt, noteRead, startAttempt } from './status.ts';
import { maskPhone } from './mask.ts';
import { messageFixture } from './message.fixture.ts';

const T0 = '2026-01-01T00:00:00.000Z';
const at = (s: number): string => new Date(Date.parse(T0) + s * 1000).toISOString();

function draft(): MessageRecord {
  return messageFixture({}, T0);
}

function sentAttempt(msg: MessageRecord, n: number, sid: string): void {
  startAttempt(msg, n, 'sms', 'twilio', at(n));
  markAccepted(msg, n, { providerMessageId: sid, acceptedAt: at(n) }, at(n));
}

const cb = (sid: string, status: 'sent' | 'delivered' | 'undelivered' | 'failed', s: number, errorCode?: string) => ({
  providerMessageId: sid,
  status,
  rawStatus: status,
  at: at(s),
  ...(errorCode ? { errorCode } : {}),
});

describe('message status derivation', () => {
  it('stays accepted until the first attempt exists', () => {
    const m = draft();
    expect(deriveMessageStatus(m)).toBe('accepted');
    startAttempt(m, 1, 'sms', 'twilio', at(1));
    expect(m.status).toBe('queued');
  });

  it('follows the current attempt forward: queued, sent, delivered', () => {
    const m = draft();
    sentAttempt(m, 1, 'SM1');
    expect(applyCallback(m, cb('SM1', 'sent', 2)).applied).toBe(true);
    expect(m.status).toBe('sent');
    expect(applyCallback(m, cb('SM1', 'delivered', 3)).applied).toBe(true);
    expect(m.status).toBe('delivered');
    expect(m.attempts[0]?.deliveredAt).toBe(at(3));
  });

  it('absorbs a late sent that arrives after delivered', () => {
    const m = draft();
    sentAttempt(m, 1, 'SM1');
    applyCallback(m, cb('SM1', 'delivered', 3));
    const before = structuredClone(m);
    expect(applyCallback(m, cb('SM1', 'sent', 4)).applied).toBe(false);
    expect(m).toEqual(before);
  });

  it('applies a repeated callback once and records it once in the timeline', () => {
    const m = draft();
    sentAttempt(m, 1, 'SM1');
    const results = [1, 2, 3].map(() => applyCallback(m, cb('SM1', 'delivered', 5)).applied);
    expect(results).toEqual([true, false, false]);
    expect(m.timeline.filter((e) => e.type === 'callback')).toHaveLength(1);
  });

  it('skips straight from queued to delivered when the sent callback is lost', () => {
    const m = draft();
    sentAttempt(m, 1, 'SM1');
    applyCallback(m, cb('SM1', 'delivered', 2));
    expect(m.status).toBe('delivered');
    expect(m.attempts[0]?.sentAt).toBe(at(2));
  });

  it('keeps the message at sent while a new attempt runs after a failed one', () => {
    const m = draft();
    sentAttempt(m, 1, 'SM1');
    applyCallback(m, cb('SM1', 'sent', 2));
    applyCallback(m, cb('SM1', 'undelivered', 3, '30003'));
    expect(m.status).toBe('sent');
    sentAttempt(m, 2, 'SM2');
    expect(m.status).toBe('sent');
    applyCallback(m, cb('SM2', 'delivered', 6));
    expect(m.status).toBe('delivered');
  });

  it('becomes undelivered only when no further attempt will be made', () => {
    const m = draft();
    sentAttempt(m, 1, 'SM1');
    applyCallback(m, cb('SM1', 'undelivered', 3, '30005'));
    expect(m.status).toBe('queued');
    finalize(m, at(4));
    expect(m.status).toBe('undelivered');
    expect(m.error).toEqual({ code: 'SB_DELIVERY_FAILED', message: 'carrier reported undelivered (code 30005)', providerCode: '30005' });
  });

  it('lets a final callback settle a message that was finalized while its attempt was in flight', () => {
    const m = draft();
    sentAttempt(m, 1, 'SM1');
    finalize(m, at(2));
    expect(m.status).toBe('queued');
    applyCallback(m, cb('SM1', 'failed', 3, '30008'));
    expect(m.status).toBe('failed');
  });

  it('marks delivered as soon as any attempt is delivered, even an earlier one', () => {
    const m = draft();
    sentAttempt(m, 1, 'SM1');
    applyCallback(m, cb('SM1', 'sent', 2));
    sentAttempt(m, 2, 'SM2');
    applyCallback(m, cb('SM1', 'delivered', 3));
    expect(m.status).toBe('delivered');
  });

  it('never moves a terminal message, whatever arrives later', () => {
    const m = draft();
    sentAttempt(m, 1, 'SM1');
    applyCallback(m, cb('SM1', 'undelivered', 2));
    finalize(m, at(3));
    expect(m.status).toBe('undelivered');
    expect(applyCallback(m, cb('SM1', 'delivered', 9)).applied).toBe(false);
    expect(m.status).toBe('undelivered');
  });

  it('fails a message with no attempt when it is finalized with an error', () => {
    const m = draft();
    finalize(m, at(1), { code: 'SB_ROUTE_UNAVAILABLE', message: 'no provider' });
    expect(m.status).toBe('failed');
    expect(m.timeline.at(-1)?.type).toBe('failed');
  });

  it('ignores a callback for an unknown carrier id', () => {
    const m = draft();
    sentAttempt(m, 1, 'SM1');
    expect(applyCallback(m, cb('SMX', 'delivered', 2))).toEqual({ applied: false });
  });

  it('moves attempts forward only', () => {
    const m = draft();
    startAttempt(m, 1, 'sms', 'twilio', at(1));
    expect(moveAttempt(m, 1, 'sent', at(2))).toBe(true);
    expect(moveAttempt(m, 1, 'queued', at(3))).toBe(false);
    expect(moveAttempt(m, 1, 'failed', at(3))).toBe(true);
    expect(moveAttempt(m, 1, 'delivered', at(4))).toBe(false);
  });

  it('expires an undelivered message but never a delivered one', () => {
    const a = draft();
    sentAttempt(a, 1, 'SM1');
    expect(expire(a, at(400))).toBe(true);
    expect(a.status).toBe('expired');
    const b = draft();
    sentAttempt(b, 1, 'SM1');
    applyCallback(b, cb('SM1', 'delivered', 2));
    expect(expire(b, at(400))).toBe(false);
    expect(b.status).toBe('delivered');
  });
});

describe('maskPhone', () => {
  it('keeps the country prefix and the last four digits', () => {
    expect(maskPhone('+14155550100')).toBe('+1415***0100');
    expect(maskPhone('+4915112345678')).toBe('+4915*****5678');
  });
  it('masks anything that is not E.164 completely', () => {
    expect(maskPhone('hello')).toBe('***');
  });
});

describe('read receipts', () => {
  it('notes a read after delivered once on the timeline, without moving the status', () => {
    const m = draft();
    sentAttempt(m, 1, 'SM1');
    expect(noteRead(m, { providerMessageId: 'SM1', at: at(4) })).toBe(false);
    applyCallback(m, cb('SM1', 'delivered', 3));
    expect(noteRead(m, { providerMessageId: 'SM1', at: at(4) })).toBe(true);
    expect(noteRead(m, { providerMessageId: 'SM1', at: at(5) })).toBe(false);
    expect(m.status).toBe('delivered');
    expect(m.timeline.filter((e) => e.type === 'callback').map((e) => e.detail)).toEqual(['delivered', 'read']);
    expect(noteRead(m, { providerMessageId: 'SM9', at: at(6) })).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import type { Attempt } from '../domain/message.ts';
import { nextStep, planLadder } from './plan.stage.ts';

const all = (): boolean => true;
const att = (n: number, channel: Attempt['channel'], status: Attempt['status'], code?: string): Attempt => ({
  n,
  channel,
  provider: channel === 'push' ? 'fcm' : 'twilio',
  status,
  startedAt: '2026-01-01T00:00:00Z',
  ...(code ? { error: { code, message: code } } : {}),
});

describe('the channel ladder', () => {
  it('skips push when disabled or without a token, with the reason for the fallback event', () => {
    expect(planLadder({ channels: ['push', 'sms'], push: { enabled: false, ackTimeoutMs: 5000, token: 't' } }, all)).toEqual([
      { channel: 'push', skip: 'push_disabled' },
      { channel: 'sms' },
    ]);
    const ladder = planLadder({ channels: ['push', 'sms'], push: { enabled: true, ackTimeoutMs: 5000 } }, all);
    expect(nextStep({ attempts: [] }, ladder)).toEqual({ channel: 'sms', fallback: { reason: 'push_no_token', skippedChannel: 'push' } });
  });

  it('drops channels no provider serves', () => {
    expect(planLadder({ channels: ['voice', 'sms'] }, (c) => c === 'sms')).toEqual([{ channel: 'sms' }]);
  });

  it('stays on push while it waits for an ack, then moves on with the push failure reason', () => {
    const ladder = planLadder({ channels: ['push', 'sms'], push: { enabled: true, ackTimeoutMs: 5000, token: 't' } }, all);
    expect(nextStep({ attempts: [] }, ladder)).toEqual({ channel: 'push' });
    expect(nextStep({ attempts: [att(1, 'push', 'sent')] }, ladder)).toEqual({ channel: 'push' });
    expect(nextStep({ attempts: [att(1, 'push', 'undelivered', 'SB_PUSH_ACK_TIMEOUT')] }, ladder)).toEqual({
      channel: 'sms',
      fallback: { reason: 'ack_timeout' },
    });
    expect(nextStep({ attempts: [att(1, 'push', 'failed', 'SB_PUSH_UNREGISTERED')] }, ladder)).toEqual({
      channel: 'sms',
      fallback: { reason: 'push_unregistered' },
    });
    expect(nextStep({ attempts: [att(1, 'push', 'failed', 'SB_PUSH_FAILED'), att(2, 'sms', 'queued')] }, ladder)).toEqual({
      channel: 'sms',
    });
  });

  it('moves past a channel that refused the recipient at channel level, and ends when nothing is left', () => {
    const ladder = planLadder({ channels: ['sms', 'voice'] }, all);
    expect(nextStep({ attempts: [att(1, 'sms', 'failed', 'SB_CHANNEL_UNSUPPORTED')] }, ladder)).toEqual({
      channel: 'voice',
      fallback: { reason: 'landline' },
    });
    expect(
      nextStep({ attempts: [att(1, 'sms', 'failed', 'SB_CHANNEL_UNSUPPORTED')] }, planLadder({ channels: ['sms'] }, all)),
    ).toBeUndefined();
  });

  it('fails WhatsApp over between providers, then leaves it with the reason that ended it', () => {
    const ladder = planLadder({ channels: ['push', 'whatsapp', 'sms'], push: { enabled: true, ackTimeoutMs: 5000 } }, all);
    expect(nextStep({ attempts: [] }, ladder)).toEqual({
      channel: 'whatsapp',
      fallback: { reason: 'push_no_token', skippedChannel: 'push' },
    });
    // A provider's 5xx is not the end of WhatsApp: the other provider is tried on the same rung.
    expect(nextStep({ attempts: [att(1, 'whatsapp', 'failed', 'SB_ROUTE_UNAVAILABLE')] }, ladder)).toEqual({ channel: 'whatsapp' });
    expect(nextStep({ attempts: [att(1, 'whatsapp', 'failed', 'SB_WHATSAPP_NOT_REGISTERED')] }, ladder)).toEqual({
      channel: 'sms',
      fallback: { reason: 'whatsapp_not_registered' },
    });
    expect(nextStep({ attempts: [att(1, 'whatsapp', 'undelivered', 'SB_WHATSAPP_FAILED')] }, ladder)).toEqual({
      channel: 'sms',
      fallback: { reason: 'whatsapp_failed' },
    });
    expect(
      nextStep({ attempts: [att(1, 'whatsapp', 'failed', 'SB_WHATSAPP_FAILED')] }, planLadder({ channels: ['whatsapp'] }, all)),
    ).toBeUndefined();
  });

  it('never goes back to WhatsApp once a later rung has an attempt', () => {
    const ladder = planLadder({ channels: ['whatsapp', 'sms'] }, all);
    expect(nextStep({ attempts: [att(1, 'whatsapp', 'sent'), att(2, 'sms', 'undelivered')] }, ladder)).toEqual({ channel: 'sms' });
    expect(nextStep({ attempts: [att(1, 'whatsapp', 'sent')] }, ladder)).toEqual({ channel: 'whatsapp' });
  });
});

import { describe, expect, it } from 'vitest';
import type { MessageRecord } from '../../domain/message.ts';
import { buildPicture, formatDuration } from './message-lanes.ts';

const T0 = Date.parse('2026-01-31T08:00:00.000Z');
const at = (ms: number): string => new Date(T0 + ms).toISOString();

function message(over: Partial<MessageRecord>): MessageRecord {
  return {
    id: 'msg_01JAAAAAAAAAAAAAAAAAAAAAAA',
    keyName: 'sandbox',
    status: 'delivered',
    to: '+14155550100',
    country: 'US',
    channels: ['push', 'sms'],
    purpose: 'otp',
    body: 'code {{code}}',
    createdAt: at(0),
    updatedAt: at(7_000),
    attempts: [],
    timeline: [],
    final: true,
    ...over,
  };
}

describe('buildPicture', () => {
  it('draws push sent, the ack timeout, SMS via the next carrier, its delivery and the verification', () => {
    const m = message({
      verifiedAt: at(9_000),
      attempts: [
        {
          n: 1,
          channel: 'push',
          provider: 'fcm',
          status: 'undelivered',
          startedAt: at(70),
          acceptedAt: at(120),
          error: { code: 'SB_PUSH_ACK_TIMEOUT', message: 'no ack' },
        },
        {
          n: 2,
          channel: 'sms',
          provider: 'messagebird',
          status: 'delivered',
          startedAt: at(5_070),
          acceptedAt: at(5_200),
          deliveredAt: at(6_600),
          fallback: { reason: 'ack_timeout', fromChannel: 'push', fromProvider: 'fcm' },
          cost: { amount: 0.007, currency: 'USD' },
        },
      ],
    });
    const p = buildPicture(m, T0 + 20_000);
    expect(p.lanes.map((l) => l.marks.map((k) => k.label))).toEqual([
      ['PUSH via fcm', 'sent +50 ms', 'ack timeout at 5.0 s'],
      ['SMS via messagebird', 'sent +130 ms', 'delivered 1.4 s later', 'verified 2.4 s later'],
    ]);
    expect(p.lanes[0]?.endMs).toBe(T0 + 5_070);
    expect(p.lanes[1]?.fallbackFrom).toEqual({ reason: 'ack_timeout', channel: 'push', provider: 'fcm' });
    expect(p.spanMs).toBe(9_000);
    expect(p.costs).toEqual([{ currency: 'USD', amount: 0.007 }]);
  });

  it('draws a delivery whose carrier time precedes our acceptance at the acceptance, and says so', () => {
    const m = message({
      attempts: [
        { n: 1, channel: 'sms', provider: 'messagebird', status: 'delivered', startedAt: at(0), acceptedAt: at(900), deliveredAt: at(400) },
      ],
    });
    const lane = buildPicture(m, T0).lanes[0];
    expect(lane?.marks.at(-1)).toEqual({ atMs: T0 + 900, kind: 'delivered', label: 'delivered (carrier time 500 ms before acceptance)' });
  });

  it('runs a live attempt up to now and ends a failed last one at its last timeline entry', () => {
    const live = buildPicture(
      message({
        status: 'sent',
        attempts: [{ n: 1, channel: 'sms', provider: 'twilio', status: 'sent', startedAt: at(0), acceptedAt: at(100) }],
      }),
      T0 + 3_000,
    );
    expect(live.lanes[0]?.endMs).toBe(T0 + 3_000);
    const failed = buildPicture(
      message({
        status: 'failed',
        attempts: [
          {
            n: 1,
            channel: 'sms',
            provider: 'twilio',
            status: 'failed',
            startedAt: at(0),
            error: { code: 'SB_CARRIER_REJECTED', message: 'invalid' },
          },
        ],
        timeline: [{ at: at(250), type: 'carrier_error', channel: 'sms', provider: 'twilio', detail: 'permanent' }],
      }),
      T0 + 9_000,
    );
    expect(failed.lanes[0]?.marks.at(-1)).toEqual({ atMs: T0 + 250, kind: 'failed', label: 'failed: SB_CARRIER_REJECTED' });
  });
});

describe('formatDuration', () => {
  it('reads as support says it', () => {
    expect([formatDuration(250), formatDuration(1_400), formatDuration(125_000)]).toEqual(['250 ms', '1.4 s', '2 min 5 s']);
  });
});

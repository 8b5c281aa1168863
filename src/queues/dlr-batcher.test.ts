import { describe, expect, it } from 'vitest';
import { DlrBatcher } from './dlr-batcher.ts';
import type { DlrJobData } from './queue-names.ts';

const event = (id: string): DlrJobData['events'][number] => ({
  provider: 'twilio',
  providerMessageId: id,
  messageId: `msg_${id}`,
  status: 'delivered',
  rawStatus: 'delivered',
  occurredAt: '2026-01-01T00:00:00.000Z',
});

function recorder(fail = false) {
  const calls: Array<{ data: DlrJobData; id: string }> = [];
  const add = async (data: DlrJobData, id: string): Promise<void> => {
    calls.push({ data, id });
    if (fail) throw new Error('Redis down');
  };
  return { calls, add };
}

describe('DlrBatcher', () => {
  it('queues callbacks that arrive within the window as one job, answering each once it is queued', async () => {
    const r = recorder();
    const b = new DlrBatcher(r.add, { windowMs: 20, maxEvents: 100 });
    await Promise.all([b.enqueue([event('a')], 'twilio.a.delivered'), b.enqueue([event('b'), event('c')], 'twilio.b.sent-delivered')]);
    expect(r.calls).toHaveLength(1);
    expect(r.calls[0]?.id).toBe('batch.twilio.a.delivered.2');
    expect(r.calls[0]?.data.events.map((e) => e.providerMessageId)).toEqual(['a', 'b', 'c']);
  });

  it('keeps a lone callback’s own de-duplicating job id', async () => {
    const r = recorder();
    const b = new DlrBatcher(r.add, { windowMs: 5, maxEvents: 100 });
    await b.enqueue([event('a')], 'twilio.a.delivered');
    expect(r.calls.map((c) => c.id)).toEqual(['twilio.a.delivered']);
  });

  it('queues at once when maxEvents are waiting, without waiting for the window', async () => {
    const r = recorder();
    const b = new DlrBatcher(r.add, { windowMs: 60_000, maxEvents: 2 });
    await Promise.all([b.enqueue([event('a')], 'a'), b.enqueue([event('b')], 'b')]);
    expect(r.calls).toHaveLength(1);
  });

  it('fails every callback of a batch that could not be queued, so each carrier retries', async () => {
    const r = recorder(true);
    const b = new DlrBatcher(r.add, { windowMs: 10, maxEvents: 100 });
    const results = await Promise.allSettled([b.enqueue([event('a')], 'a'), b.enqueue([event('b')], 'b')]);
    expect(results.map((x) => x.status)).toEqual(['rejected', 'rejected']);
  });
});

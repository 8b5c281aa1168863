import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { deletePrefix, testPrefix, testRedis } from '../../test/helpers/redis.ts';
import { newMessageId } from '../domain/ids.ts';
import type { MessageRecord } from '../domain/message.ts';
import { messageFixture } from '../domain/message.fixture.ts';
import { startAttempt } from '../domain/status.ts';
import { createMetrics } from '../metrics/metrics.ts';
import { MessageRecorder } from '../store/message-recorder.ts';
import { MessageStore } from '../store/message.store.ts';
import { SendContext } from './send-context.ts';

let redis: Redis;
let store: MessageStore;
let recorder: MessageRecorder;
let metrics: ReturnType<typeof createMetrics>;
const prefix = testPrefix('send-context');

async function admitted(): Promise<MessageRecord> {
  const createdAt = new Date().toISOString();
  const doc = messageFixture({ id: newMessageId(), timeline: [{ at: createdAt, type: 'accepted' }] }, createdAt);
  await store.intake(doc);
  return doc;
}

async function load(id: string): Promise<SendContext> {
  const ctx = await SendContext.load({ store, recorder }, id, 3);
  if (!ctx) throw new Error(`message ${id} not found`);
  return ctx;
}

/** An admitted message loaded into a context whose draft has started attempt 1 (not committed). */
async function withAttemptStarted(): Promise<{ doc: MessageRecord; ctx: SendContext }> {
  const doc = await admitted();
  const ctx = await load(doc.id);
  const at = new Date().toISOString();
  ctx.mutate((d) => startAttempt(d, 1, 'sms', 'twilio', at));
  return { doc, ctx };
}

beforeAll(() => {
  redis = testRedis();
  store = new MessageStore(redis, { prefix, retentionSeconds: 3600, idempotencyTtlSeconds: 600 });
  metrics = createMetrics({ defaultMetrics: false });
  recorder = new MessageRecorder(store, metrics, () => Date.now());
});
afterAll(async () => {
  await deletePrefix(redis, prefix);
  redis.disconnect();
});

describe('SendContext', () => {
  it('diffs a change after a commit against what that commit saved', async () => {
    const { doc, ctx } = await withAttemptStarted();
    expect(await ctx.commit()).toBe('committed');
    ctx.mutate((d) => {
      d.attempts[0]!.status = 'failed';
    });
    expect(await ctx.commit()).toBe('committed');
    const stored = await store.get(doc.id);
    expect(stored?.version).toBe(3);
    expect(stored?.doc.attempts.map((a) => a.status)).toEqual(['failed']);
    // Each commit's metrics saw its own change: had the second change leaked into the first
    // commit's saved copy, the second diff would be empty and the failure never counted.
    const counts = (await metrics.attempts.get()).values.filter((v) => v.labels['provider'] === 'twilio' && v.labels['channel'] === 'sms');
    const count = (status: string): number => counts.find((v) => v.labels['status'] === status)?.value ?? 0;
    expect(count('queued')).toBe(1);
    expect(count('failed')).toBe(1);
  });

  it('reports nothing to write when no change was made, and leaves the stored record alone', async () => {
    const doc = await admitted();
    const ctx = await load(doc.id);
    expect(ctx.dirty).toBe(false);
    expect(await ctx.commit()).toBe('unchanged');
    expect((await store.get(doc.id))?.version).toBe(1);
    expect(ctx.doc).toEqual((await store.get(doc.id))?.doc);
  });

  it('re-applies its pending changes to the fresh record after losing a race', async () => {
    const { doc, ctx } = await withAttemptStarted();
    // Another writer moves the message in between.
    await store.update(doc.id, (d) => {
      d.locale = 'fr-FR';
    });
    expect(await ctx.commit()).toBe('committed');
    const stored = await store.get(doc.id);
    expect(stored?.version).toBe(3);
    expect(stored?.doc.locale).toBe('fr-FR');
    expect(stored?.doc.attempts).toHaveLength(1);
  });

  it('gives up without writing when the reload before a carrier call finds the message terminal', async () => {
    const { doc, ctx } = await withAttemptStarted();
    await store.update(doc.id, (d) => {
      d.status = 'expired';
      d.final = true;
    });
    expect(await ctx.commit({ abortIfTerminal: true })).toBe('terminal');
    expect(ctx.doc.status).toBe('expired');
    expect(ctx.doc.attempts).toHaveLength(0);
    expect(ctx.dirty).toBe(false);
    // A later change starts from the terminal record, not from the abandoned draft.
    ctx.mutate((d) => {
      d.locale = 'de-DE';
    });
    expect((await store.get(doc.id))?.doc.locale).toBeUndefined();
  });
});

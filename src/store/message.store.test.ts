import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { deletePrefix, testPrefix, testRedis } from '../../test/helpers/redis.ts';
import { newMessageId } from '../domain/ids.ts';
import type { MessageRecord } from '../domain/message.ts';
import { startAttempt } from '../domain/status.ts';
import { MessageStore } from './message.store.ts';
import { messageFixture } from '../domain/message.fixture.ts';

let redis: Redis;
let store: MessageStore;
const prefix = testPrefix('store');

function doc(keyName = 'k1', at = Date.now()): MessageRecord {
  const createdAt = new Date(at).toISOString();
  return messageFixture({ id: newMessageId(at), keyName, timeline: [{ at: createdAt, type: 'accepted' }] }, createdAt);
}

beforeAll(() => {
  redis = testRedis();
  store = new MessageStore(redis, { prefix, retentionSeconds: 3600, idempotencyTtlSeconds: 600 });
});
afterAll(async () => {
  await deletePrefix(redis, prefix);
  redis.disconnect();
});

describe('MessageStore', () => {
  it('drops ids past retention from the listing indexes at most once a second per key', async () => {
    // Times in the past: the id factory is monotonic, so a future time would shift every later id.
    const now = Date.now() - 5_000;
    const stale = `msg_${'0'.repeat(26)}`;
    await redis.zadd(store.keys.keyIndex('trim'), 0, stale);
    await store.intake(doc('trim', now));
    expect(await redis.zscore(store.keys.keyIndex('trim'), stale)).toBeNull();
    // Within the second the index is left as it is; a second later it is trimmed again.
    await redis.zadd(store.keys.keyIndex('trim'), 0, stale);
    await store.intake(doc('trim', now + 500));
    expect(await redis.zscore(store.keys.keyIndex('trim'), stale)).toBe('0');
    await store.intake(doc('trim', now + 1_500));
    expect(await redis.zscore(store.keys.keyIndex('trim'), stale)).toBeNull();
    expect(await redis.zcard(store.keys.keyIndex('trim'))).toBe(3);
  });

  it('writes the first watch with the record, and ends it (and the stuck entry) in the commit that makes the message final', async () => {
    const a = doc();
    const due = Date.now() + 20_000;
    expect(await store.intake(a, undefined, [], [], { watchAt: due })).toEqual({ created: true });
    expect(Number(await redis.zscore(store.keys.watchDue, a.id))).toBe(due);
    await redis.hset(store.keys.watchState, a.id, '{"stuck":true}');
    await redis.zadd(store.keys.stuckSent, Date.now(), a.id);
    // A change that leaves the message open keeps its watch.
    await store.update(a.id, (d) => startAttempt(d, 1, 'sms', 'twilio', new Date().toISOString()));
    expect(await redis.zscore(store.keys.watchDue, a.id)).not.toBeNull();
    await store.update(a.id, (d) => {
      d.status = 'delivered';
      d.final = true;
    });
    expect(await redis.zscore(store.keys.watchDue, a.id)).toBeNull();
    expect(await redis.hexists(store.keys.watchState, a.id)).toBe(0);
    expect(await redis.zscore(store.keys.stuckSent, a.id)).toBeNull();
  });

  it("sends a commit's extra commands with it, and surfaces their errors", async () => {
    const a = doc();
    await store.intake(a);
    const counter = `${prefix}:extra:${a.id}`;
    const first = await store.commit(a.id, 1, { ...a, body: 'changed' }, {}, (p) => {
      p.incrby(counter, 5).expire(counter, 60);
    });
    expect(first).toEqual({ kind: 'applied', version: 2 });
    expect(await redis.get(counter)).toBe('5');
    expect(await redis.ttl(counter)).toBeGreaterThan(50);
    await redis.set(counter, 'not a number');
    await expect(store.commit(a.id, 2, { ...a, body: 'again' }, {}, (p) => void p.incrby(counter, 1))).rejects.toThrow(/not an integer/);
    // The commit itself went out with the failing extra, in the same write.
    expect((await store.get(a.id))?.version).toBe(3);
  });

  it('creates a message and its idempotency key in one step, and answers replays from the key', async () => {
    const a = doc();
    expect(await store.intake(a, { keyHash: 'h1', requestHash: 'r1' })).toEqual({ created: true });
    const b = doc();
    const replay = await store.intake(b, { keyHash: 'h1', requestHash: 'r1' });
    expect(replay).toMatchObject({ created: false, existing: { id: a.id, hash: 'r1', state: 'pending' } });
    expect(await store.get(b.id)).toBeUndefined();
    expect((await store.get(a.id))?.doc).toEqual(a);
    expect(await redis.ttl(store.keys.idempotency('k1', 'h1'))).toBeGreaterThan(500);
  });

  it('scopes idempotency keys per API key', async () => {
    expect(await store.intake(doc('k1'), { keyHash: 'shared', requestHash: 'r' })).toEqual({ created: true });
    expect(await store.intake(doc('k2'), { keyHash: 'shared', requestHash: 'r' })).toEqual({ created: true });
  });

  it('applies concurrent updates without losing any', async () => {
    const m = doc();
    await store.intake(m);
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        store.update(m.id, (d) => {
          d.timeline.push({ at: new Date().toISOString(), type: 'callback', detail: `u${i}` });
          return true;
        }),
      ),
    );
    const stored = await store.get(m.id);
    expect(stored?.version).toBe(11);
    expect(
      stored?.doc.timeline
        .filter((t) => t.type === 'callback')
        .map((t) => t.detail)
        .sort(),
    ).toEqual(Array.from({ length: 10 }, (_, i) => `u${i}`).sort());
  });

  it('writes nothing when the mutation declines, and nothing for a missing message', async () => {
    const m = doc();
    await store.intake(m);
    expect(await store.update(m.id, () => false)).toBeUndefined();
    expect((await store.get(m.id))?.version).toBe(1);
    expect(await store.update('msg_01JAAAAAAAAAAAAAAAAAAAAAAA', () => true)).toBeUndefined();
  });

  it('keeps accepted messages on the sweeper worklist until their first attempt', async () => {
    const m = doc('k1', Date.now() - 60_000);
    await store.intake(m);
    expect(await store.staleAccepted(Date.now() - 30_000, 1000)).toContain(m.id);
    await store.update(m.id, (d) => (startAttempt(d, 1, 'sms', 'twilio', new Date().toISOString()), true));
    expect(await store.staleAccepted(Date.now() - 30_000, 1000)).not.toContain(m.id);
  });

  it("lists a key's messages newest first, filtered, with a cursor", async () => {
    const ids: string[] = [];
    const marks: number[] = [];
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setTimeout(r, 15));
      marks.push(Date.now());
      const m = doc('lister', marks[i]);
      ids.push(m.id);
      await store.intake(m);
    }
    await store.update(ids[3] as string, (d) => (startAttempt(d, 1, 'sms', 'twilio', new Date().toISOString()), true));
    const p1 = await store.list({ keyName: 'lister', limit: 2 });
    expect(p1.items.map((m) => m.id)).toEqual([ids[4], ids[3]]);
    const p2 = await store.list({ keyName: 'lister', limit: 2, cursor: p1.nextCursor ?? undefined });
    expect(p2.items.map((m) => m.id)).toEqual([ids[2], ids[1]]);
    const queued = await store.list({ keyName: 'lister', limit: 10, status: 'queued' });
    expect(queued.items.map((m) => m.id)).toEqual([ids[3]]);
    const window = await store.list({ keyName: 'lister', limit: 10, sinceMs: marks[2] as number, untilMs: (marks[4] as number) - 1 });
    expect(window.items.map((m) => m.id)).toEqual([ids[3], ids[2]]);
  });

  it('keeps the send ledger per attempt', async () => {
    const id = newMessageId();
    expect(await store.ledger(id, 1)).toBeUndefined();
    await store.ledgerSending(id, 1);
    expect(await store.ledger(id, 1)).toEqual({ state: 'sending' });
    await store.ledgerSent(id, 1, 'SM123');
    expect(await store.ledger(id, 1)).toEqual({ state: 'sent', providerMessageId: 'SM123' });
    expect(await store.ledger(id, 2)).toBeUndefined();
  });
});

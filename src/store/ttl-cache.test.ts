import { describe, expect, it } from 'vitest';
import { TtlCache } from './ttl-cache.ts';

function counter(): { load: () => Promise<number>; calls: () => number } {
  let n = 0;
  return { load: async () => ++n, calls: () => n };
}

describe('TtlCache', () => {
  it('reuses a load for the cache time on its clock, then loads again', async () => {
    let clock = 100;
    const cache = new TtlCache<number>({ ttlMs: 1_000, now: () => clock });
    const c = counter();
    expect(await cache.get('a', c.load)).toBe(1);
    clock += 999;
    expect(await cache.get('a', c.load)).toBe(1);
    clock += 1;
    expect(await cache.get('a', c.load)).toBe(2);
    expect(await cache.get('b', c.load)).toBe(3);
  });

  it('shares one load between concurrent callers', async () => {
    const cache = new TtlCache<number>({ ttlMs: 1_000, now: () => 0 });
    const c = counter();
    expect(await Promise.all([cache.get('a', c.load), cache.get('a', c.load), cache.get('a', c.load)])).toEqual([1, 1, 1]);
    expect(c.calls()).toBe(1);
  });

  it('forgets a failed load so the next caller tries again', async () => {
    const cache = new TtlCache<number>({ ttlMs: 1_000, now: () => 0 });
    await expect(cache.get('a', () => Promise.reject(new Error('redis down')))).rejects.toThrow('redis down');
    expect(await cache.get('a', async () => 7)).toBe(7);
  });

  it('treats an entry as stale when the clock goes backwards', async () => {
    let clock = 5_000;
    const cache = new TtlCache<number>({ ttlMs: 1_000, now: () => clock });
    const c = counter();
    await cache.get('a', c.load);
    clock = 4_000;
    expect(await cache.get('a', c.load)).toBe(2);
  });

  it('caches nothing with a cache time of zero', async () => {
    const cache = new TtlCache<number>({ ttlMs: 0, now: () => 0 });
    const c = counter();
    await cache.get('a', c.load);
    expect(await cache.get('a', c.load)).toBe(2);
    expect(cache.size).toBe(0);
  });

  it('takes a written value as fresh from now', async () => {
    const cache = new TtlCache<number>({ ttlMs: 1_000, now: () => 0 });
    const c = counter();
    await cache.get('a', c.load);
    cache.set('a', 42);
    expect(await cache.get('a', c.load)).toBe(42);
  });

  it('holds at most maxEntries, dropping stale entries first and then the oldest', async () => {
    let clock = 0;
    const cache = new TtlCache<number>({ ttlMs: 1_000, now: () => clock, maxEntries: 3 });
    const c = counter();
    await cache.get('old', c.load);
    clock = 1_500;
    await cache.get('a', c.load);
    await cache.get('b', c.load);
    await cache.get('c', c.load);
    expect(cache.size).toBe(3);
    const before = c.calls();
    // 'old' was stale and went first; a, b, c are kept.
    for (const k of ['a', 'b', 'c']) await cache.get(k, c.load);
    expect(c.calls()).toBe(before);
    await cache.get('d', c.load);
    expect(cache.size).toBe(3);
    // 'a' (the oldest fresh entry) made room for 'd'.
    await cache.get('a', c.load);
    expect(c.calls()).toBe(before + 2);
  });
});

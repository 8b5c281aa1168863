/**
 * A small in-process cache of loads that stay fresh for a fixed time on an injected clock. It keeps
 * the promise, not the value, so concurrent jobs asking for the same entry share one Redis read; a
 * failed load is forgotten at once so the next caller retries. It lives on the instance that owns
 * it (no module-level state) and holds at most `maxEntries`, dropping stale entries first and then
 * the oldest, so a stream of distinct keys (number prefixes) cannot grow it without bound.
 */
export class TtlCache<T> {
  private readonly entries = new Map<string, { at: number; value: Promise<T> }>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(opts: { ttlMs: number; now: () => number; maxEntries?: number }) {
    this.ttlMs = opts.ttlMs;
    this.now = opts.now;
    this.maxEntries = opts.maxEntries ?? 10_000;
  }

  /** The cached value of `key` when fresh, else the result of `load` (cached from now on). */
  get(key: string, load: () => Promise<T>): Promise<T> {
    const now = this.now();
    const hit = this.entries.get(key);
    // A clock that went backwards makes an entry stale rather than fresh for longer.
    if (hit !== undefined && now >= hit.at && now - hit.at < this.ttlMs) return hit.value;
    const value = load();
    this.put(key, value, now);
    value.catch(() => {
      if (this.entries.get(key)?.value === value) this.entries.delete(key);
    });
    return value;
  }

  /** Replaces `key` with a value known now (a write the owner just made). */
  set(key: string, value: T): void {
    this.put(key, Promise.resolve(value), this.now());
  }

  /** Entries held (tests). */
  get size(): number {
    return this.entries.size;
  }

  private put(key: string, value: Promise<T>, now: number): void {
    if (this.ttlMs <= 0) return;
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) {
      for (const [k, e] of this.entries) if (now - e.at >= this.ttlMs || now < e.at) this.entries.delete(k);
      const oldest = this.entries.keys().next();
      if (this.entries.size >= this.maxEntries && !oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(key, { at: now, value });
  }
}

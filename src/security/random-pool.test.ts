import { describe, expect, it } from 'vitest';
import { pooledRandomBytes } from './random-pool.ts';

describe('pooledRandomBytes', () => {
  it('hands out each byte once, across refills, in copies of the asked length', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 1_000; i++) {
      const b = pooledRandomBytes(12);
      expect(b).toHaveLength(12);
      seen.add(b.toString('hex'));
    }
    // 1,000 draws of 96 bits (three refills of the 4 KiB pool): a repeat would mean reuse.
    expect(seen.size).toBe(1_000);
    const big = pooledRandomBytes(10_000);
    expect(big).toHaveLength(10_000);
    expect(new Set(big).size).toBeGreaterThan(200);
  });

  it('returns a copy the pool does not change later', () => {
    const a = pooledRandomBytes(16);
    const keep = Buffer.from(a);
    for (let i = 0; i < 600; i++) pooledRandomBytes(16);
    expect(a.equals(keep)).toBe(true);
  });
});

import { describe, expect, it } from 'vitest';
import { MESSAGE_ID_RE, newMessageId, pooledRandom } from './ids.ts';

describe('pooledRandom', () => {
  it('draws bytes in [0, 1) across pool refills, each of the 256 values about equally often', () => {
    const counts = new Array<number>(256).fill(0);
    const draws = 256 * 200; // a dozen refills of the 4 KiB pool
    for (let i = 0; i < draws; i++) {
      const r = pooledRandom();
      expect(r >= 0 && r < 1).toBe(true);
      const byte = r * 256;
      expect(Number.isInteger(byte)).toBe(true);
      counts[byte] = (counts[byte] ?? 0) + 1;
    }
    // 200 expected per value; a uniform source stays well inside [120, 280] (> 5 sigma).
    expect(Math.min(...counts)).toBeGreaterThan(120);
    expect(Math.max(...counts)).toBeLessThan(280);
  });
});

describe('newMessageId', () => {
  it('gives unique ids that sort in creation order, within one millisecond and across them', () => {
    const ids: string[] = [];
    const t = Date.now();
    for (let i = 0; i < 10_000; i++) ids.push(newMessageId(t + Math.floor(i / 1_000)));
    for (const id of ids) expect(id).toMatch(MESSAGE_ID_RE);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });
});

import { describe, expect, it } from 'vitest';
import { forEachKeyedLane } from './keyed-lanes.ts';

describe('forEachKeyedLane', () => {
  it('keeps each key’s items in order while keys run side by side, never more lanes than asked', async () => {
    const items = ['a1', 'b1', 'a2', 'c1', 'b2', 'a3'];
    const seen: string[] = [];
    let running = 0;
    let peak = 0;
    await forEachKeyedLane(
      items,
      (s) => s[0] as string,
      2,
      async (group) => {
        running++;
        peak = Math.max(peak, running);
        for (const item of group) {
          await new Promise((r) => setTimeout(r, 1));
          seen.push(item);
        }
        running--;
      },
    );
    expect(peak).toBe(2);
    expect(seen.filter((s) => s.startsWith('a'))).toEqual(['a1', 'a2', 'a3']);
    expect(seen.filter((s) => s.startsWith('b'))).toEqual(['b1', 'b2']);
    expect([...seen].sort()).toEqual([...items].sort());
  });
});

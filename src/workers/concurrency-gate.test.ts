import { describe, expect, it } from 'vitest';
import { ConcurrencyGate } from './concurrency-gate.ts';

describe('ConcurrencyGate', () => {
  it('runs at most its limit of tasks at once, in arrival order, and frees the slot of a task that throws', async () => {
    const gate = new ConcurrencyGate(2);
    const started: number[] = [];
    let peak = 0;
    const releases: Array<() => void> = [];
    const task = (i: number) =>
      gate.run(async () => {
        started.push(i);
        peak = Math.max(peak, gate.running);
        await new Promise<void>((resolve) => releases.push(resolve));
        if (i === 1) throw new Error('task 1 fails');
        return i;
      });
    const results = [0, 1, 2, 3].map((i) => task(i).catch((err: Error) => err.message));
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([0, 1]);
    releases[1]?.();
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([0, 1, 2]);
    releases[0]?.();
    await new Promise((r) => setImmediate(r));
    releases[2]?.();
    releases[3]?.();
    expect(await Promise.all(results)).toEqual([0, 'task 1 fails', 2, 3]);
    expect(peak).toBe(2);
    expect(gate.running).toBe(0);
  });
});

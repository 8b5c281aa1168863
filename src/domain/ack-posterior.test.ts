import { describe, expect, it } from 'vitest';
import { ackPosterior, pushVerdict, regularizedIncompleteBeta, type PushPredictionOptions } from './ack-posterior.ts';

const opts: PushPredictionOptions = {
  minAckProbability: 0.25,
  confidence: 0.9,
  priorAcks: 1,
  priorMisses: 1,
  halfLifeMs: 7 * 86_400_000,
  exploreEvery: 10,
};
const never = (misses: number, skips = 0) => ({ acks: 0, misses, at: 0, skips });

describe('regularized incomplete beta', () => {
  it('matches closed forms', () => {
    // Beta(1, b): P(X ≤ x) = 1 − (1 − x)^b; Beta(a, 1): x^a; Beta(1, 1) is uniform.
    expect(regularizedIncompleteBeta(0.3, 1, 5)).toBeCloseTo(1 - 0.7 ** 5, 10);
    expect(regularizedIncompleteBeta(0.3, 4, 1)).toBeCloseTo(0.3 ** 4, 10);
    expect(regularizedIncompleteBeta(0.42, 1, 1)).toBeCloseTo(0.42, 10);
    expect(regularizedIncompleteBeta(0.5, 7.5, 7.5)).toBeCloseTo(0.5, 10);
    // Integer parameters: a binomial tail, I_x(a, b) = P(Bin(a + b − 1, x) ≥ a). Beta(2, 9) at 0.25.
    const tail = 1 - (0.75 ** 10 + 10 * 0.25 * 0.75 ** 9);
    expect(regularizedIncompleteBeta(0.25, 2, 9)).toBeCloseTo(tail, 10);
    expect(regularizedIncompleteBeta(0.9, 30, 2)).toBeCloseTo(0.9 ** 31 + 31 * 0.1 * 0.9 ** 30, 10);
  });

  it('refuses parameters that are not positive', () => {
    expect(() => regularizedIncompleteBeta(0.5, 0, 1)).toThrow(RangeError);
  });
});

describe('push verdict', () => {
  it('pushes a token it knows nothing about', () => {
    expect(pushVerdict(undefined, 0, opts)).toEqual({ kind: 'push', pAckRateAtLeast: expect.closeTo(0.75, 9) });
  });

  it('skips a token that never acks from its 9th message on with the defaults', () => {
    expect(pushVerdict(never(7), 0, opts).kind).toBe('push');
    expect(pushVerdict(never(8), 0, opts)).toEqual({ kind: 'skip', pAckRateAtLeast: expect.closeTo(0.75 ** 9, 9) });
  });

  it('explores on every exploreEvery-th message of a run of skips', () => {
    expect(pushVerdict(never(20, 8), 0, opts).kind).toBe('skip');
    expect(pushVerdict(never(20, 9), 0, opts).kind).toBe('explore');
    expect(pushVerdict(never(20, 500), 0, { ...opts, exploreEvery: 0 }).kind).toBe('skip');
  });

  it('pushes again after one ack, and keeps pushing a token that acks half the time', () => {
    expect(pushVerdict({ acks: 1, misses: 8, at: 0, skips: 0 }, 0, opts).kind).toBe('push');
    expect(pushVerdict({ acks: 20, misses: 20, at: 0, skips: 0 }, 0, opts).kind).toBe('push');
  });

  it('lets evidence decay back to the prior with its half-life', () => {
    expect(ackPosterior(never(8), 7 * 86_400_000, opts)).toEqual({ alpha: 1, beta: 5 });
    expect(pushVerdict(never(8), 7 * 86_400_000, opts).kind).toBe('push');
  });
});

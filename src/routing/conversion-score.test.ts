import { describe, expect, it } from 'vitest';
import { conversionFactor, conversionRatio } from './conversion-score.ts';

const opts = { weight: 1, minSamples: 20, floor: 0.02 };

describe('conversion term', () => {
  it('is neutral below the sample threshold, whatever the ratio', () => {
    expect(conversionFactor({ delivered: 19.9, verified: 0 }, opts)).toBe(1);
    expect(conversionFactor(undefined, opts)).toBe(1);
  });

  it('divides the price by the verified share once enough OTPs were delivered', () => {
    expect(conversionFactor({ delivered: 40, verified: 30 }, opts)).toBeCloseTo(4 / 3, 9);
    expect(conversionFactor({ delivered: 40, verified: 40 }, opts)).toBe(1);
  });

  it('caps a route whose codes are never verified at 1 / floor', () => {
    expect(conversionFactor({ delivered: 25, verified: 0 }, opts)).toBeCloseTo(50, 9);
    expect(conversionFactor({ delivered: 25, verified: 0 }, { ...opts, floor: 0.1 })).toBeCloseTo(10, 9);
  });

  it('raises the ratio to the configured weight, and weight 0 turns the term off', () => {
    expect(conversionFactor({ delivered: 40, verified: 20 }, { ...opts, weight: 2 })).toBeCloseTo(4, 9);
    expect(conversionFactor({ delivered: 40, verified: 0 }, { ...opts, weight: 0 })).toBe(1);
  });

  it('clamps the ratio to [0, 1] and has none without a delivered OTP', () => {
    expect(conversionRatio({ delivered: 10, verified: 10.4 })).toBe(1);
    expect(conversionRatio({ delivered: 0, verified: 0 })).toBeUndefined();
    expect(conversionRatio({ delivered: 8, verified: 2 })).toBe(0.25);
  });
});

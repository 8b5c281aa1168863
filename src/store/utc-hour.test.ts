import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { conversionHour } from './conversion.store.ts';
import { hourBucket } from './pumping.store.ts';
import { utcHour, utcHours } from './utc-hour.ts';

const HOUR = 3_600_000;
const iso = (ms: number): string => new Date(ms).toISOString().slice(0, 13).replace(/[-T]/g, '');
/** 0000-01-01 to 9999-12-31: the years a 10-digit field can name. */
const MIN_MS = new Date('0000-01-01T00:00:00Z').getTime();
const MAX_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

describe('UTC hour fields', () => {
  it('name an hour as its ISO date and hour, across days, months, leap days and years', () => {
    expect(utcHour(Date.parse('2026-03-04T05:59:59.999Z'))).toBe('2026030405');
    expect(utcHour(Date.parse('2024-02-29T23:00:00Z'))).toBe('2024022923');
    expect(utcHour(Date.parse('2100-03-01T00:00:00Z'))).toBe('2100030100');
    expect(utcHour(Date.parse('1969-12-31T23:30:00Z'))).toBe('1969123123');
    expect(utcHour(0)).toBe('1970010100');
  });

  it('equal the ISO-derived name for any time from year 0 to 9999', () => {
    fc.assert(
      fc.property(fc.integer({ min: MIN_MS, max: MAX_MS }), (ms) => {
        expect(utcHour(ms)).toBe(iso(ms));
      }),
      { numRuns: 5_000 },
    );
  });

  it('keep hourBucket and conversionHour naming the same hours as before', () => {
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2100, 0, 1) }), (ms) => {
        expect(hourBucket(ms)).toBe(iso(ms));
        expect(conversionHour(ms)).toBe(iso(ms));
      }),
    );
  });

  it('list every hour overlapping a window, oldest first, the same as one ISO name per hour', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: Date.UTC(1990, 0, 1), max: Date.UTC(2090, 0, 1) }),
        fc.integer({ min: 0, max: 200 * HOUR }),
        (to, span) => {
          const from = to - span;
          const expected: string[] = [];
          for (let t = Math.floor(from / HOUR) * HOUR; t <= to; t += HOUR) expected.push(iso(t));
          expect(utcHours(from, to)).toEqual(expected);
        },
      ),
      { numRuns: 500 },
    );
    const at = Date.parse('2026-12-31T22:10:00Z');
    expect(utcHours(at - 24 * HOUR, at)).toHaveLength(25);
    expect(utcHours(at, at + 2 * HOUR)).toEqual(['2026123122', '2026123123', '2027010100']);
    expect(utcHours(at + HOUR, at)).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import type { MessageRecord } from '../../domain/message.ts';
import { consoleMessageQuerySchema, metadataMatches, withoutEmptyFields } from './message-search.ts';

const doc = (metadata: Record<string, unknown> | undefined): MessageRecord =>
  ({ id: 'msg_01JAAAAAAAAAAAAAAAAAAAAAAA', metadata }) as unknown as MessageRecord;

describe('metadataMatches', () => {
  it('compares strings as they are and other values as JSON text', () => {
    const m = doc({ tenant: 'acme', n: 3, flag: true, nested: { a: 1 }, eq: 'a=b' });
    expect(metadataMatches(m, 'tenant=acme')).toBe(true);
    expect(metadataMatches(m, 'tenant=acm')).toBe(false);
    expect(metadataMatches(m, 'n=3')).toBe(true);
    expect(metadataMatches(m, 'flag=true')).toBe(true);
    expect(metadataMatches(m, 'nested={"a":1}')).toBe(true);
    expect(metadataMatches(m, 'eq=a=b')).toBe(true);
    expect(metadataMatches(m, 'missing=')).toBe(false);
    expect(metadataMatches(doc(undefined), 'tenant=acme')).toBe(false);
    // Inherited names are not metadata.
    expect(metadataMatches(doc({}), 'constructor=function Object() { [native code] }')).toBe(false);
  });
});

describe('consoleMessageQuerySchema', () => {
  it('reads form times as UTC and Unix times as seconds or milliseconds', () => {
    const q = consoleMessageQuerySchema.parse({ since: '2026-01-31T08:00', until: '1769846400' });
    expect(q.since).toBe(Date.parse('2026-01-31T08:00:00Z'));
    expect(q.until).toBe(1_769_846_400_000);
    expect(consoleMessageQuerySchema.parse({ since: '2026-01-31' }).since).toBe(Date.parse('2026-01-31T00:00:00Z'));
    expect(consoleMessageQuerySchema.parse({ since: '2026-01-31T08:00:00+02:00' }).since).toBe(Date.parse('2026-01-31T06:00:00Z'));
  });

  it('refuses what it cannot read, and treats empty form fields as absent', () => {
    for (const bad of [
      { since: 'yesterday' },
      { since: '2026-13-45' },
      { meta: 'novalue' },
      { status: 'lost' },
      { limit: '0' },
      { other: 'x' },
    ]) {
      expect(consoleMessageQuerySchema.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
    expect(consoleMessageQuerySchema.parse(withoutEmptyFields({ id: '', to: ' ', status: '' }))).toEqual({ limit: 50 });
  });
});

import { describe, expect, it } from 'vitest';
import { isSameOrigin } from './console-guard.ts';

const req = (headers: Record<string, string>): { headers: Record<string, string> } => ({ headers });

describe('isSameOrigin', () => {
  it('accepts posts from the console’s own pages and from clients that are not browsers', () => {
    expect(isSameOrigin(req({ host: '127.0.0.1:3000', origin: 'http://127.0.0.1:3000', 'sec-fetch-site': 'same-origin' }))).toBe(true);
    expect(isSameOrigin(req({ host: 'gw.internal:3000', origin: 'https://ops.example.com' }), ['https://ops.example.com'])).toBe(true);
    expect(isSameOrigin(req({ host: '127.0.0.1:3000' }))).toBe(true);
  });

  it('refuses posts another site made the browser send', () => {
    expect(isSameOrigin(req({ host: '127.0.0.1:3000', origin: 'http://evil.example' }))).toBe(false);
    expect(isSameOrigin(req({ host: '127.0.0.1:3000', origin: 'null' }))).toBe(false);
    expect(isSameOrigin(req({ host: '127.0.0.1:3000', 'sec-fetch-site': 'cross-site' }))).toBe(false);
    expect(isSameOrigin(req({ host: '127.0.0.1:3000', origin: 'http://127.0.0.1:3000', 'sec-fetch-site': 'same-site' }))).toBe(false);
    expect(isSameOrigin(req({ origin: 'http://127.0.0.1:3000' }))).toBe(false);
  });
});

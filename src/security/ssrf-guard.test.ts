import { describe, expect, it } from 'vitest';
import { createSsrfGuard, embeddedIpv4, forbiddenAddressKind, isMetadataAddress, type ResolveHost } from './ssrf-guard.ts';

const live = { allowPrivateTargets: false, requireHttps: true } as const;

/** A resolver answering from a table (names it does not know fail like NXDOMAIN). */
function table(entries: Record<string, string[]>): ResolveHost {
  return async (host) => {
    const addrs = entries[host];
    if (addrs === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return addrs.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
}

describe('forbiddenAddressKind', () => {
  it('names every forbidden range and lets public addresses through', () => {
    const cases: Array<[string, string | undefined]> = [
      ['127.0.0.1', 'loopback'],
      ['127.255.0.9', 'loopback'],
      ['10.0.0.1', 'private'],
      ['172.16.5.4', 'private'],
      ['172.31.255.255', 'private'],
      ['192.168.1.1', 'private'],
      ['169.254.10.10', 'link-local'],
      ['169.254.169.254', 'metadata'],
      ['100.64.0.1', 'carrier-grade NAT'],
      ['0.0.0.0', 'unspecified'],
      ['224.0.0.251', 'multicast'],
      ['::1', 'loopback'],
      ['::', 'unspecified'],
      ['fe80::1', 'link-local'],
      ['fc00::1', 'unique-local'],
      ['fd12:3456::1', 'unique-local'],
      ['fd00:ec2::254', 'metadata'],
      ['ff02::1', 'multicast'],
      ['8.8.8.8', undefined],
      ['172.32.0.1', undefined],
      ['100.128.0.1', undefined],
      ['2606:4700::1111', undefined],
    ];
    for (const [ip, kind] of cases) expect(forbiddenAddressKind(ip), ip).toBe(kind);
  });

  it('sees through IPv4-mapped, IPv4-compatible and NAT64 IPv6 forms', () => {
    expect(embeddedIpv4('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(embeddedIpv4('::ffff:7f00:1')).toBe('127.0.0.1');
    expect(embeddedIpv4('64:ff9b::a00:1')).toBe('10.0.0.1');
    expect(forbiddenAddressKind('::ffff:7f00:1')).toBe('loopback (IPv4 inside IPv6)');
    expect(forbiddenAddressKind('[::ffff:a9fe:a9fe]')).toBe('metadata');
    expect(isMetadataAddress('::ffff:169.254.169.254')).toBe(true);
    expect(forbiddenAddressKind('::ffff:8.8.8.8')).toBeUndefined();
  });
});

describe('checkUrl (admission, no DNS)', () => {
  const guard = createSsrfGuard(live);

  it('refuses http, literal forbidden IPs in any spelling, and internal names', () => {
    for (const url of [
      'http://hooks.example.com/x',
      'https://127.0.0.1/x',
      'https://10.0.0.1/x',
      'https://169.254.169.254/latest/meta-data/',
      'https://[::1]:8443/x',
      'https://[::ffff:127.0.0.1]/x',
      'https://2130706433/x',
      'https://0x7f.1/x',
      'https://localhost/x',
      'https://api.localhost/x',
      'https://metadata.google.internal/x',
      'ftp://example.com/x',
      'not a url',
    ]) {
      expect(guard.checkUrl(url), url).toMatchObject({ ok: false });
    }
  });

  it('accepts a public https URL', () => {
    expect(guard.checkUrl('https://hooks.example.com/switchboard')).toBeUndefined();
    expect(guard.checkUrl('https://93.184.215.14:8443/x')).toBeUndefined();
  });

  it('allows loopback when private targets are allowed, but never a metadata address', () => {
    const sandbox = createSsrfGuard({ allowPrivateTargets: true, requireHttps: false });
    expect(sandbox.checkUrl('http://127.0.0.1:9999/hooks')).toBeUndefined();
    expect(sandbox.checkUrl('http://localhost:9999/hooks')).toBeUndefined();
    expect(sandbox.checkUrl('http://169.254.169.254/')).toMatchObject({ ok: false, reason: expect.stringContaining('metadata') });
  });

  it('exempts allowed targets, except metadata addresses', () => {
    const guard2 = createSsrfGuard({ ...live, allowedTargets: ['10.20.0.0/16', '169.254.0.0/16'] });
    expect(guard2.checkUrl('https://10.20.3.4/x')).toBeUndefined();
    expect(guard2.checkUrl('https://10.21.3.4/x')).toMatchObject({ ok: false });
    expect(guard2.checkUrl('https://169.254.169.254/x')).toMatchObject({ ok: false });
  });
});

describe('vet (delivery, after DNS)', () => {
  const resolve = table({
    'hooks.example.com': ['93.184.215.14'],
    'rebind.example.com': ['93.184.215.14', '127.0.0.1'],
    'meta.example.com': ['169.254.169.254'],
    'v6.example.com': ['::1'],
    'private.example.com': ['10.0.0.1'],
  });
  const guard = createSsrfGuard({ ...live, resolve });

  it('hands back the vetted address of a public name', async () => {
    expect(await guard.vet('https://hooks.example.com/x')).toMatchObject({ ok: true, address: '93.184.215.14', family: 4 });
  });

  it('refuses a name when any of its addresses is forbidden', async () => {
    for (const host of ['rebind.example.com', 'meta.example.com', 'v6.example.com', 'private.example.com']) {
      expect(await guard.vet(`https://${host}/x`), host).toMatchObject({ ok: false, reason: expect.stringContaining(host) });
    }
  });

  it('refuses a name that does not resolve', async () => {
    expect(await guard.vet('https://nowhere.example.com/x')).toMatchObject({ ok: false, reason: expect.stringContaining('ENOTFOUND') });
  });
});

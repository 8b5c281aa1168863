import { describe, expect, it } from 'vitest';
import { effectiveKeyPrefix, isClusterUrl, maskRedisUrl, parseRedisUrl, RedisUrlError } from './redis-url.parse.ts';

describe('parseRedisUrl', () => {
  it('reads one server with credentials, a database and TLS', () => {
    expect(parseRedisUrl('redis://127.0.0.1:6379')).toEqual({ kind: 'standalone', options: { host: '127.0.0.1', port: 6379 } });
    expect(parseRedisUrl('rediss://app:s%3Acret@cache.example.com:6380/3')).toEqual({
      kind: 'standalone',
      options: { host: 'cache.example.com', port: 6380, username: 'app', password: 's:cret', db: 3, tls: {} },
    });
    expect(parseRedisUrl('redis://[::1]:7000')).toEqual({ kind: 'standalone', options: { host: '::1', port: 7000 } });
  });

  it('reads a Sentinel URL whose sentinels share the master password, or have their own', () => {
    expect(parseRedisUrl('redis+sentinel://:pw@s1:26379,s2/mymaster/2')).toEqual({
      kind: 'sentinel',
      options: {
        sentinels: [
          { host: 's1', port: 26379 },
          { host: 's2', port: 26379 },
        ],
        name: 'mymaster',
        db: 2,
        password: 'pw',
        sentinelPassword: 'pw',
      },
    });
    expect(parseRedisUrl('rediss+sentinel://app:pw@s1:26379/main?sentinelUsername=watch&sentinelPassword=s%40pw')).toEqual({
      kind: 'sentinel',
      options: {
        sentinels: [{ host: 's1', port: 26379 }],
        name: 'main',
        username: 'app',
        password: 'pw',
        sentinelUsername: 'watch',
        sentinelPassword: 's@pw',
        tls: {},
        sentinelTLS: {},
        enableTLSForSentinelMode: true,
      },
    });
  });

  it('reads a Cluster URL as seed nodes with per-node credentials, with TLS for rediss-cluster://', () => {
    expect(parseRedisUrl('redis-cluster://u:p@10.0.0.1:7000,10.0.0.2:7001,10.0.0.3')).toEqual({
      kind: 'cluster',
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 7001 },
        { host: '10.0.0.3', port: 6379 },
      ],
      nodeOptions: { username: 'u', password: 'p' },
      tls: false,
    });
    expect(parseRedisUrl('rediss-cluster://cfg.cache.example.com:6379/')).toEqual({
      kind: 'cluster',
      nodes: [{ host: 'cfg.cache.example.com', port: 6379 }],
      nodeOptions: { tls: {} },
      tls: true,
    });
  });

  it('refuses unusable URLs naming the accepted forms, never the password', () => {
    const cases = [
      'http://u:hunter2@x',
      'redis+sentinel://:hunter2@s1:26379',
      'redis-cluster://:hunter2@n1:7000/0',
      'redis-cluster://:hunter2@n1:99999',
      'redis://:hunter2@host:6379/x',
      'redis://:hunter2@host:6379?tls=1',
      'not a url :hunter2@',
    ];
    for (const url of cases) {
      let caught: unknown;
      try {
        parseRedisUrl(url);
      } catch (err) {
        caught = err;
      }
      expect(caught, url).toBeInstanceOf(RedisUrlError);
      const message = (caught as Error).message;
      expect(message, url).not.toContain('hunter2');
      expect(message, url).toContain('redis-cluster://[user:pw@]host:port[,host:port…]');
    }
  });
});

describe('key prefix under Cluster', () => {
  it('wraps the prefix in a hash tag only for Cluster URLs and keeps a tag given explicitly', () => {
    expect(isClusterUrl('rediss-cluster://h:1')).toBe(true);
    expect(isClusterUrl('redis+sentinel://h:1/m')).toBe(false);
    expect(effectiveKeyPrefix('redis-cluster://h:7000', 'sb')).toBe('{sb}');
    expect(effectiveKeyPrefix('redis-cluster://h:7000', '{sb}')).toBe('{sb}');
    expect(effectiveKeyPrefix('redis://h:6379', 'sb')).toBe('sb');
    expect(effectiveKeyPrefix('redis://h:6379', '{sb}')).toBe('{sb}');
  });
});

describe('maskRedisUrl', () => {
  it('hides user and password and leaves the rest readable', () => {
    expect(maskRedisUrl('redis://u:p@h:6379/1')).toBe('redis://***@h:6379/1');
    expect(maskRedisUrl('redis+sentinel://:p@s1:1,s2:2/m')).toBe('redis+sentinel://***@s1:1,s2:2/m');
    expect(maskRedisUrl('redis://h:6379')).toBe('redis://h:6379');
  });
});

import { describe, expect, it } from 'vitest';
import { RedisUrlError, redactRedisUrl, redisOptionsFromUrl } from './redis-connection.ts';

describe('redactRedisUrl', () => {
  it('hides the password of every URL form and leaves the rest readable', () => {
    expect(redactRedisUrl('redis://u:p%40ss@cache:6380/3')).toBe('redis://u:***@cache:6380/3');
    expect(redactRedisUrl('rediss://:only-pw@cache:6380')).toBe('rediss://:***@cache:6380');
    expect(redactRedisUrl('redis://legacy-pw@cache')).toBe('redis://***@cache');
    expect(redactRedisUrl('redis+sentinel://:pw@s1:26379,s2:26380/mymaster')).toBe('redis+sentinel://:***@s1:26379,s2:26380/mymaster');
    expect(redactRedisUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
  });
});

describe('redisOptionsFromUrl', () => {
  it('reads host, port, db and credentials from redis:// and rediss://', () => {
    expect(redisOptionsFromUrl('redis://127.0.0.1:6379')).toEqual({ host: '127.0.0.1', port: 6379 });
    expect(redisOptionsFromUrl('rediss://u:p%40ss@cache.example.com:6380/3')).toEqual({
      host: 'cache.example.com',
      port: 6380,
      username: 'u',
      password: 'p@ss',
      db: 3,
      tls: {},
    });
  });

  it('reads a Sentinel URL with several sentinels, a master name and a db', () => {
    expect(redisOptionsFromUrl('redis+sentinel://:pw@s1:26379,s2:26380/mymaster/2')).toEqual({
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26380 },
      ],
      name: 'mymaster',
      db: 2,
      password: 'pw',
      sentinelPassword: 'pw',
    });
  });

  it('says what is wrong with an unusable URL', () => {
    expect(() => redisOptionsFromUrl('redis+sentinel://s1:26379')).toThrow(RedisUrlError);
    expect(() => redisOptionsFromUrl('not a url')).toThrow(/not a URL/);
    expect(() => redisOptionsFromUrl('http://x')).toThrow(/unsupported scheme/);
  });
});

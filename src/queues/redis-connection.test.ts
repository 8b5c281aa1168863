import { describe, expect, it } from 'vitest';
import { RedisUrlError, redisOptionsFromUrl } from './redis-connection.ts';

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

describe('createRedis', () => {
  it('builds an ioredis Cluster for a Cluster URL, with the node options BullMQ workers require', async () => {
    const { Cluster } = await import('ioredis');
    const { createRedis } = await import('./redis-connection.ts');
    const worker = createRedis('redis-cluster://:pw@127.0.0.1:1,127.0.0.1:2', 'worker', { lazyConnect: true });
    const producer = createRedis('redis-cluster://127.0.0.1:1', 'producer', { lazyConnect: true });
    try {
      expect(worker).toBeInstanceOf(Cluster);
      const w = worker as InstanceType<typeof Cluster>;
      expect(w.options.redisOptions).toMatchObject({ password: 'pw', maxRetriesPerRequest: null });
      expect(w.options.enableOfflineQueue).toBe(true);
      const p = producer as InstanceType<typeof Cluster>;
      expect(p.options.enableOfflineQueue).toBe(false);
      expect(p.options.redisOptions).toMatchObject({ maxRetriesPerRequest: 1, connectTimeout: 2_000 });
    } finally {
      worker.disconnect();
      producer.disconnect();
    }
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { deletePrefix, testPrefix, testRedis } from '../../test/helpers/redis.ts';
import { redisKeys } from '../store/redis-keys.ts';
import { EndpointRegistryStore } from './endpoint-registry.store.ts';

let redis: Redis;
let store: EndpointRegistryStore;
const prefix = testPrefix('endpoints');
const T0 = Date.parse('2026-05-01T10:00:00Z');

beforeAll(() => {
  redis = testRedis();
  store = new EndpointRegistryStore(redis, redisKeys(prefix));
});
afterAll(async () => {
  await deletePrefix(redis, prefix);
  redis.disconnect();
});

describe('EndpointRegistryStore', () => {
  it('remembers endpoints as deliveries check them, and lists them enabled', async () => {
    expect(await store.check('https://a.example/hooks', T0)).toEqual({ state: 'enabled' });
    expect(await store.check('https://b.example/hooks', T0 + 1)).toEqual({ state: 'enabled' });
    expect(await store.list()).toEqual([
      { url: 'https://b.example/hooks', state: 'enabled' },
      { url: 'https://a.example/hooks', state: 'enabled' },
    ]);
    expect(await store.get('https://never.example/')).toBeUndefined();
  });

  it('disables an endpoint with when and why, keeps the first reason, and lists it first', async () => {
    await store.disable('https://a.example/hooks', 'HTTP 410 Gone', T0 + 10);
    await store.disable('https://a.example/hooks', 'later reason', T0 + 20);
    const disabled = {
      url: 'https://a.example/hooks',
      state: 'disabled',
      disabledAt: new Date(T0 + 10).toISOString(),
      reason: 'HTTP 410 Gone',
    };
    expect(await store.check('https://a.example/hooks', T0 + 30)).toEqual({
      state: 'disabled',
      disabledAt: disabled.disabledAt,
      reason: 'HTTP 410 Gone',
    });
    expect(await store.get('https://a.example/hooks')).toEqual(disabled);
    expect((await store.list())[0]).toEqual(disabled);
  });

  it('enables an endpoint again, and says whether it was disabled', async () => {
    expect(await store.enable('https://a.example/hooks')).toBe(true);
    expect(await store.enable('https://a.example/hooks')).toBe(false);
    expect(await store.get('https://a.example/hooks')).toEqual({ url: 'https://a.example/hooks', state: 'enabled' });
    expect(await store.check('https://a.example/hooks', T0 + 40)).toEqual({ state: 'enabled' });
  });
});

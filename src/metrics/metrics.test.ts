import { describe, expect, it } from 'vitest';
import { parsePrometheusText } from '../../test/helpers/prometheus-text.ts';
import { createMetrics } from './metrics.ts';

async function redisUpValue(check?: () => Promise<boolean>): Promise<number | undefined> {
  const metrics = createMetrics({ defaultMetrics: false, ...(check ? { redisUp: check } : {}) });
  const samples = parsePrometheusText(await metrics.registry.metrics());
  return samples.find((s) => s.name === 'switchboard_redis_up')?.value;
}

describe('switchboard_redis_up', () => {
  it('reports 1 when the Redis check answers at scrape time', async () => {
    expect(await redisUpValue(async () => true)).toBe(1);
  });

  it('reports 0 when the check says no or throws, and the scrape still answers', async () => {
    expect(await redisUpValue(async () => false)).toBe(0);
    expect(await redisUpValue(() => Promise.reject(new Error('Connection is closed.')))).toBe(0);
  });

  it('rechecks on every scrape', async () => {
    let up = true;
    const metrics = createMetrics({ defaultMetrics: false, redisUp: async () => up });
    const value = async (): Promise<number | undefined> =>
      parsePrometheusText(await metrics.registry.metrics()).find((s) => s.name === 'switchboard_redis_up')?.value;
    expect(await value()).toBe(1);
    up = false;
    expect(await value()).toBe(0);
  });
});

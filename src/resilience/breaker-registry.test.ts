import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProviderError } from '../../providers/errors.ts';
import { deletePrefix, testPrefix, testRedis } from '../../test/helpers/redis.ts';
import { createLogger } from '../logger.ts';
import { BreakerOpenError, BreakerRegistry, type BreakerOptions } from './breaker-registry.ts';

let redis: Redis;
const prefixes: string[] = [];
const log = createLogger('silent');

function options(prefix: string, over: Partial<BreakerOptions> = {}): BreakerOptions {
  return {
    prefix,
    threshold: 0.5,
    samplingMs: 2_000,
    minimumRps: 1,
    halfOpenAfterMs: 300,
    maxHalfOpenAfterMs: 1_200,
    sharedRefreshMs: 50,
    ...over,
  };
}

const retryable = (): ProviderError => new ProviderError('503', { kind: 'retryable', provider: 'twilio' });
const geo = (): ProviderError => new ProviderError('21408', { kind: 'permanent', scope: 'provider', provider: 'twilio' });

async function fail(b: BreakerRegistry, err: () => ProviderError, times: number): Promise<void> {
  for (let i = 0; i < times; i++) {
    await b.execute('twilio', 'sms', false, () => Promise.reject(err())).catch(() => undefined);
  }
}

beforeAll(() => {
  redis = testRedis();
});
afterAll(async () => {
  for (const p of prefixes) await deletePrefix(redis, p);
  redis.disconnect();
});

function fresh(): string {
  const p = testPrefix('brk');
  prefixes.push(p);
  return p;
}

describe('BreakerRegistry', () => {
  it('opens on retryable failures and refuses calls while open', async () => {
    const b = new BreakerRegistry(redis, options(fresh()), log);
    b.track([['twilio', 'sms']]);
    await fail(b, retryable, 10);
    expect(b.status('twilio', 'sms').state).toBe('open');
    expect(await b.acquire('twilio', 'sms')).toEqual({ allowed: false, probe: false });
    await expect(b.execute('twilio', 'sms', false, () => Promise.resolve(1))).rejects.toBeInstanceOf(BreakerOpenError);
    expect(b.gauge()).toEqual([{ provider: 'twilio', channel: 'sms', value: 2 }]);
    b.stop();
  });

  it('does not count permanent provider refusals against the breaker', async () => {
    const b = new BreakerRegistry(redis, options(fresh()), log);
    await fail(b, geo, 20);
    expect(b.status('twilio', 'sms').state).toBe('closed');
    b.stop();
  });

  it("shows one worker's open breaker to another within a second", async () => {
    const prefix = fresh();
    const a = new BreakerRegistry(redis, options(prefix), log);
    const other = new BreakerRegistry(redis, options(prefix, { halfOpenAfterMs: 5_000 }), log);
    a.track([['twilio', 'sms']]);
    other.track([['twilio', 'sms']]);
    await fail(a, retryable, 10);
    const openedAt = Date.now();
    while (other.status('twilio', 'sms').state !== 'open' && Date.now() - openedAt < 2_000) await new Promise((r) => setTimeout(r, 10));
    expect(other.status('twilio', 'sms').state).toBe('open');
    expect(Date.now() - openedAt).toBeLessThan(1_000);
    a.stop();
    other.stop();
  });

  it('admits one probe at a time after the half-open delay, and closes everywhere on its success', async () => {
    const prefix = fresh();
    const a = new BreakerRegistry(redis, options(prefix), log);
    const b = new BreakerRegistry(redis, options(prefix), log);
    a.track([['twilio', 'sms']]);
    b.track([['twilio', 'sms']]);
    await fail(a, retryable, 10);
    await b.refresh(true);
    expect(b.status('twilio', 'sms').state).toBe('open');
    await new Promise((r) => setTimeout(r, 350));
    await Promise.all([a.refresh(true), b.refresh(true)]);
    const gates = await Promise.all([a.acquire('twilio', 'sms'), b.acquire('twilio', 'sms')]);
    expect(gates.filter((g) => g.allowed)).toHaveLength(1);
    const prober = gates[0]?.allowed ? b : a;
    await prober.execute('twilio', 'sms', true, () => Promise.resolve('ok'));
    await Promise.all([a.refresh(true), b.refresh(true)]);
    expect(b.status('twilio', 'sms').state).toBe('closed');
    a.stop();
    b.stop();
  });

  it("closes every worker's own open breaker once another worker's probe succeeds", async () => {
    const prefix = fresh();
    const a = new BreakerRegistry(redis, options(prefix), log);
    const b = new BreakerRegistry(redis, options(prefix), log);
    a.track([['twilio', 'sms']]);
    b.track([['twilio', 'sms']]);
    await fail(a, retryable, 10);
    await fail(b, retryable, 10);
    // Past cockatiel's first (jittered) half-open delay of 300 ms, short of maxHalfOpenAfterMs.
    await new Promise((r) => setTimeout(r, 600));
    await Promise.all([a.refresh(true), b.refresh(true)]);
    expect(await a.acquire('twilio', 'sms')).toEqual({ allowed: true, probe: true });
    await a.execute('twilio', 'sms', true, () => Promise.resolve('ok'));
    await b.refresh(true);
    expect(b.status('twilio', 'sms').state).toBe('closed');
    expect(await b.acquire('twilio', 'sms')).toEqual({ allowed: true, probe: false });
    a.stop();
    b.stop();
  });

  it('re-opens with a longer delay when the probe fails', async () => {
    const prefix = fresh();
    const a = new BreakerRegistry(redis, options(prefix), log);
    a.track([['twilio', 'sms']]);
    await fail(a, retryable, 10);
    await new Promise((r) => setTimeout(r, 350));
    await a.refresh(true);
    const gate = await a.acquire('twilio', 'sms');
    expect(gate).toEqual({ allowed: true, probe: true });
    await a.execute('twilio', 'sms', true, () => Promise.reject(retryable())).catch(() => undefined);
    const s = a.status('twilio', 'sms');
    expect(s.state).toBe('open');
    expect(s.state === 'open' && s.halfOpenInMs).toBeGreaterThan(400);
    a.stop();
  });
});

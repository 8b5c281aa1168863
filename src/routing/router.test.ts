import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { ProviderId } from '../../providers/provider.ts';
import { listPrice, tierDiscount, tierMonth, type PricingTable } from './price-book.ts';
import { NEUTRAL_HEALTH, healthFactor, route, type CandidateInput, type HealthSnapshot } from './router.ts';

const pricing = parse(readFileSync(new URL('../../config/pricing.yaml', import.meta.url), 'utf8')) as PricingTable;
const ORDER: ProviderId[] = ['twilio', 'sinch', 'messagebird'];

function candidates(
  country: string,
  opts: Partial<Record<ProviderId, Partial<CandidateInput>>> = {},
  counts: Partial<Record<ProviderId, number>> = {},
): CandidateInput[] {
  return ORDER.map((provider) => ({
    provider,
    price: listPrice(pricing, provider, country),
    discount: tierDiscount(pricing.tiers[provider], counts[provider] ?? 0),
    health: NEUTRAL_HEALTH,
    breakerOpen: false,
    ...opts[provider],
  }));
}

const pick = (country: string, opts?: Parameters<typeof candidates>[1], counts?: Parameters<typeof candidates>[2]) =>
  route({ channel: 'sms', country, order: ORDER, candidates: candidates(country, opts, counts), minSamples: 20, priced: true });

describe('router', () => {
  it.each([
    ['US', 'messagebird', 0.007],
    ['DE', 'messagebird', 0.0088],
    ['AU', 'sinch', 0.0058],
  ])('sends %s traffic to %s, the cheapest healthy carrier', (country, provider, price) => {
    const r = pick(country);
    expect(r.kind).toBe('ok');
    if (r.kind !== 'ok') return;
    expect(r.decision.provider).toBe(provider);
    expect(r.decision.reason).toBe('cheapest');
    expect(r.decision.candidates.find((c) => c.provider === provider)).toMatchObject({
      price,
      effectivePrice: price,
      health: 1,
      score: price,
    });
    expect(r.ranked[0]).toBe(provider);
    expect(r.ranked).toHaveLength(3);
  });

  it('changes effective prices and the choice once a volume tier threshold is crossed', () => {
    const r = pick('US', {}, { twilio: 1_000_000 });
    expect(r.decision.provider).toBe('twilio');
    expect(r.decision.candidates.find((c) => c.provider === 'twilio')).toMatchObject({ price: 0.0075, effectivePrice: 0.00375 });
    expect(pick('US', {}, { twilio: 999_998 }).decision.provider).toBe('messagebird');
  });

  it('prices an unknown country at the default region', () => {
    const r = pick('BR');
    expect(r.decision.candidates.map((c) => c.price)).toEqual([0.05, 0.048, 0.052]);
    expect(r.decision.provider).toBe('sinch');
  });

  it('prefers a country price over the region price', () => {
    const table: PricingTable = {
      ...pricing,
      prices: { ...pricing.prices, twilio: { ...pricing.prices.twilio, countries: { US: 0.001 } } },
    };
    expect(listPrice(table, 'twilio', 'US')).toBe(0.001);
    expect(listPrice(table, 'twilio', 'CA')).toBe(0.0075);
  });

  it('answers none when no provider has a price or is listed', () => {
    const r = route({ channel: 'sms', country: 'US', order: [], candidates: candidates('US'), minSamples: 20, priced: true });
    expect(r.kind).toBe('none');
    const noPrice = route({
      channel: 'sms',
      country: 'US',
      order: ORDER,
      candidates: candidates('US').map((c) => ({ ...c, price: undefined })),
      minSamples: 20,
      priced: true,
    });
    expect(noPrice.kind).toBe('none');
    expect(noPrice.decision.candidates.every((c) => c.excluded === 'no_price')).toBe(true);
  });

  it('delays rather than fails when every breaker is open, until the earliest half-open', () => {
    const r = pick('US', {
      twilio: { breakerOpen: true, halfOpenInMs: 8_000 },
      sinch: { breakerOpen: true, halfOpenInMs: 3_000 },
      messagebird: { breakerOpen: true, halfOpenInMs: 9_000 },
    });
    expect(r).toMatchObject({ kind: 'all_open', retryInMs: 3_000, decision: { reason: 'all_breakers_open' } });
  });

  it('excludes an open breaker and takes the next best', () => {
    const r = pick('US', { messagebird: { breakerOpen: true } });
    expect(r.decision.provider).toBe('twilio');
    expect(r.decision.candidates.find((c) => c.provider === 'messagebird')?.excluded).toBe('breaker_open');
  });

  it('breaks ties by the routing.yaml order', () => {
    const same = ORDER.map((provider) => ({ provider, price: 0.01, discount: 0, health: NEUTRAL_HEALTH, breakerOpen: false }));
    const r = route({
      channel: 'sms',
      country: 'US',
      order: ['sinch', 'twilio', 'messagebird'],
      candidates: same,
      minSamples: 20,
      priced: true,
    });
    expect(r.kind === 'ok' && r.ranked).toEqual(['sinch', 'twilio', 'messagebird']);
    expect(r.decision.reason).toBe('tie_order');
  });

  it('lets poor health outweigh a lower price, but only after enough samples', () => {
    const sick: HealthSnapshot = { errorRate: 0.5, dlrSuccess: 0.8, dlrP50Ms: 5_000, samples: 50 };
    expect(healthFactor(sick, 20)).toBeCloseTo(1 + 2 + 0.4 + 0.5);
    expect(pick('US', { messagebird: { health: sick } }).decision).toMatchObject({ provider: 'twilio', reason: 'health' });
    expect(pick('US', { messagebird: { health: { ...sick, samples: 19 } } }).decision.provider).toBe('messagebird');
  });

  it('moves traffic off the cheapest carrier when its delivered codes are never verified', () => {
    const conversion = { weight: 1, minSamples: 20, floor: 0.02 };
    const grey: HealthSnapshot = { ...NEUTRAL_HEALTH, conversion: { delivered: 30, verified: 0 } };
    const good: HealthSnapshot = { ...NEUTRAL_HEALTH, conversion: { delivered: 30, verified: 27 } };
    const cands = candidates('US', { messagebird: { health: grey }, twilio: { health: good }, sinch: { health: good } });
    const r = route({ channel: 'sms', country: 'US', order: ORDER, candidates: cands, minSamples: 20, priced: true, conversion });
    expect(r.decision).toMatchObject({ provider: 'twilio', reason: 'conversion' });
    const mb = r.decision.candidates.find((c) => c.provider === 'messagebird');
    expect(mb).toMatchObject({ price: 0.007, health: 1, conversion: 50, score: 0.35 });
    expect(r.decision.candidates.find((c) => c.provider === 'twilio')?.conversion).toBeCloseTo(1 / 0.9, 6);
    expect(r.kind === 'ok' && r.ranked.at(-1)).toBe('messagebird');
  });

  it('leaves the choice to price while conversion samples are too few, and shows the neutral term', () => {
    const conversion = { weight: 1, minSamples: 20, floor: 0.02 };
    const young: HealthSnapshot = { ...NEUTRAL_HEALTH, conversion: { delivered: 19, verified: 0 } };
    const r = route({
      channel: 'sms',
      country: 'US',
      order: ORDER,
      candidates: candidates('US', { messagebird: { health: young } }),
      minSamples: 20,
      priced: true,
      conversion,
    });
    expect(r.decision).toMatchObject({ provider: 'messagebird', reason: 'cheapest' });
    expect(r.decision.candidates.every((c) => c.conversion === 1)).toBe(true);
  });

  it('keeps the ranking when every carrier converts alike', () => {
    const conversion = { weight: 1, minSamples: 20, floor: 0.02 };
    const same: HealthSnapshot = { ...NEUTRAL_HEALTH, conversion: { delivered: 50, verified: 30 } };
    const r = route({
      channel: 'sms',
      country: 'US',
      order: ORDER,
      candidates: candidates('US', { twilio: { health: same }, sinch: { health: same }, messagebird: { health: same } }),
      minSamples: 20,
      priced: true,
      conversion,
    });
    expect(r.decision).toMatchObject({ provider: 'messagebird', reason: 'cheapest' });
  });

  it('caps the latency term at 1', () => {
    expect(healthFactor({ errorRate: 0, dlrSuccess: 1, dlrP50Ms: 60_000, samples: 100 }, 20)).toBe(2);
  });

  it('keys the tier counter by UTC month', () => {
    expect(tierMonth(Date.UTC(2026, 0, 31, 23, 59))).toBe('2026-01');
    expect(tierDiscount([{ from: 10, discount: 0.5 }], 10)).toBe(0.5);
    expect(tierDiscount([{ from: 10, discount: 0.5 }], 9)).toBe(0);
  });
});

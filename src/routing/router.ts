/**
 * The router (DESIGN §6.4): pure, so every decision can be table-tested and stored with its
 * inputs. Each candidate is scored
 *   effectivePrice × (1 + 4·errorRate + 2·(1 − dlrSuccess) + min(1, dlrP50 / 10 s)),
 * lower wins; ties go by the provider order in routing.yaml. Health is neutral until enough samples.
 * When conversion scoring is configured the score is further multiplied by the conversion term
 * (conversion-score.ts): delivered OTPs that are never verified make a carrier expensive.
 */
import { providerRegistry } from '../../providers/index.ts';
import type { Channel, ProviderId } from '../../providers/provider.ts';
import type { RoutingDecision } from '../domain/message.ts';
import { conversionFactor, type ConversionScoreOptions, type ConversionSnapshot } from './conversion-score.ts';

export interface HealthSnapshot {
  errorRate: number;
  dlrSuccess: number;
  dlrP50Ms: number;
  samples: number;
  /** Decayed delivered and verified OTP counts (conversion-score.ts); absent = neutral. */
  conversion?: ConversionSnapshot;
}

export const NEUTRAL_HEALTH: HealthSnapshot = { errorRate: 0, dlrSuccess: 1, dlrP50Ms: 0, samples: 0 };

export interface CandidateInput {
  provider: ProviderId;
  /** Undefined when the provider has no price for this country (it is then excluded). */
  price: number | undefined;
  discount: number;
  health: HealthSnapshot;
  breakerOpen: boolean;
  /** Milliseconds until its breaker allows a probe (only when open). */
  halfOpenInMs?: number;
}

export interface RouteInput {
  channel: Channel;
  country: string;
  /** routing.yaml order for this channel and country (tie-break). */
  order: readonly ProviderId[];
  candidates: readonly CandidateInput[];
  /** Samples before health counts (neutral below). */
  minSamples: number;
  /** Channels without per-message prices (push) route by order and health only. */
  priced: boolean;
  /** The conversion term's settings; without them the term is left out (and not shown). */
  conversion?: ConversionScoreOptions;
}

export type RouteResult =
  | { kind: 'ok'; ranked: ProviderId[]; decision: RoutingDecision }
  | { kind: 'none'; decision: RoutingDecision }
  | { kind: 'all_open'; retryInMs: number; decision: RoutingDecision };

/** The health multiplier of a candidate (1 = perfect or not enough samples yet). */
export function healthFactor(h: HealthSnapshot, minSamples: number): number {
  if (h.samples < minSamples) return 1;
  return 1 + 4 * h.errorRate + 2 * (1 - h.dlrSuccess) + Math.min(1, h.dlrP50Ms / 10_000);
}

const round = (n: number): number => Math.round(n * 1e9) / 1e9;

export function route(input: RouteInput): RouteResult {
  const orderIndex = (p: ProviderId): number => {
    const i = input.order.indexOf(p);
    return i === -1 ? Number.MAX_SAFE_INTEGER : i;
  };
  const rows = input.candidates
    .filter((c) => input.order.includes(c.provider))
    .map((c) => {
      const price = input.priced ? c.price : 0;
      const effectivePrice = price === undefined ? undefined : round(price * (1 - c.discount));
      const factor = healthFactor(c.health, input.minSamples);
      const conv = input.conversion !== undefined ? conversionFactor(c.health.conversion, input.conversion) : 1;
      const score = effectivePrice === undefined ? undefined : round(effectivePrice * factor * conv);
      // What the score would be without the conversion term: tells whether that term decided.
      const healthScore = effectivePrice === undefined ? undefined : round(effectivePrice * factor);
      const excluded = price === undefined ? 'no_price' : c.breakerOpen ? 'breaker_open' : undefined;
      return { c, price, effectivePrice, factor, conv, score, healthScore, excluded };
    })
    .sort((a, b) => orderIndex(a.c.provider) - orderIndex(b.c.provider));

  const usable = rows.filter((r) => r.excluded === undefined);
  usable.sort((a, b) => (a.score as number) - (b.score as number) || orderIndex(a.c.provider) - orderIndex(b.c.provider));
  const winner = usable[0];

  let reason = 'none';
  if (winner) {
    const cheapest = Math.min(...usable.map((r) => r.effectivePrice as number));
    const tied = usable.filter((r) => r.score === winner.score).length > 1;
    const bestWithoutConversion = Math.min(...usable.map((r) => r.healthScore as number));
    if (usable.length === 1) reason = 'only_candidate';
    else if (tied) reason = 'tie_order';
    else if (winner.healthScore !== bestWithoutConversion) reason = 'conversion';
    else if (winner.effectivePrice === cheapest) reason = input.priced ? 'cheapest' : 'healthiest';
    else reason = 'health';
  } else if (rows.some((r) => r.excluded === 'breaker_open')) reason = 'all_breakers_open';

  const decision: RoutingDecision = {
    // No candidate at all (no enabled provider carries the channel): the registry's first id stands in.
    provider: winner?.c.provider ?? rows[0]?.c.provider ?? providerRegistry.ids[0],
    reason,
    candidates: rows.map((r) => ({
      provider: r.c.provider,
      ...(r.price !== undefined ? { price: r.price } : {}),
      ...(r.effectivePrice !== undefined ? { effectivePrice: r.effectivePrice } : {}),
      health: round(r.factor),
      ...(input.conversion !== undefined ? { conversion: round(r.conv) } : {}),
      ...(r.score !== undefined ? { score: r.score } : {}),
      ...(r.excluded !== undefined ? { excluded: r.excluded } : {}),
    })),
  };
  if (winner) return { kind: 'ok', ranked: usable.map((r) => r.c.provider), decision };
  const open = rows.filter((r) => r.excluded === 'breaker_open');
  if (open.length > 0) {
    return { kind: 'all_open', retryInMs: Math.max(0, Math.min(...open.map((r) => r.c.halfOpenInMs ?? 1_000))), decision };
  }
  return { kind: 'none', decision };
}

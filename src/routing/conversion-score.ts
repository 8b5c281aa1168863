/**
 * The conversion term of the routing score (DESIGN §6.4): route on what converts, not on what the
 * carrier claims. A grey route reports `delivered` for codes that never reach a handset; its
 * delivery ratio looks perfect, so only the share of delivered OTPs that are then verified
 * (typed back within their TTL) exposes it.
 *
 * Per provider×country two time-decayed counters are kept (health.store.ts): `delivered`, the
 * OTP messages a carrier reported delivered, and `verified`, those of them verified in time. Both
 * decay with the same half-life H, so `ratio = verified / delivered` is an exponentially weighted
 * moving average of conversion, each message weighing 0.5^(age / H).
 *
 * The term multiplies the rest of the score:
 *
 *   conversionFactor = (1 / max(floor, ratio))^weight      (1 below `minSamples` delivered OTPs)
 *
 * With `weight` 1 the score becomes price × health / conversion: the expected cost of one
 * verified login, which is what an OTP sender buys. A country where every carrier converts at 60 %
 * multiplies every candidate by the same 1.67 and leaves the ranking to price and health; a
 * carrier whose codes are never typed is scored at `1 / floor` (50 × its price by default) and
 * loses its traffic even when it is the cheapest. A carrier without enough samples is neutral
 * (factor 1, as if it converted perfectly): optimism under uncertainty, so unmeasured carriers
 * get traffic and are measured. Once a carrier loses its traffic its counters stop growing and
 * decay; when they fall below `minSamples` it is neutral again and gets a few messages to prove
 * itself — a recovered route wins its traffic back, a grey one is excluded again after at most
 * about `minSamples / 2` more messages.
 */

/** Decayed counts of one provider×country: OTPs the carrier reported delivered, and those verified. */
export interface ConversionSnapshot {
  delivered: number;
  verified: number;
}

/** `routing.conversion` in the configuration (defaults in the config schema). */
export interface ConversionScoreOptions {
  /** Exponent of the term; 0 turns it off, 1 scores cost per verified code. */
  weight: number;
  /** Decayed delivered OTPs below which the term is neutral. */
  minSamples: number;
  /** Lowest ratio the term divides by: caps the factor at `(1 / floor)^weight`. */
  floor: number;
}

/** verified / delivered, clamped to [0, 1]; undefined without a delivered OTP yet. */
export function conversionRatio(c: ConversionSnapshot | undefined): number | undefined {
  if (c === undefined || !(c.delivered > 0)) return undefined;
  // A verify is credited after its delivery, so its weight decayed less: the raw ratio can pass 1.
  return Math.min(1, Math.max(0, c.verified / c.delivered));
}

/** The multiplier of a candidate's score (≥ 1; exactly 1 when neutral). */
export function conversionFactor(c: ConversionSnapshot | undefined, opts: ConversionScoreOptions): number {
  if (opts.weight === 0 || c === undefined || c.delivered < opts.minSamples) return 1;
  const ratio = conversionRatio(c) ?? 1;
  return (1 / Math.max(opts.floor, ratio)) ** opts.weight;
}

/**
 * Whether a push is worth its ack timeout (predicted push skip, CONTRACTS §4
 * `push_predicted_unacked`). Pure: the evidence is read by the push-skip stage.
 *
 * Model. Each push token acks a push within its ack timeout with an unknown probability p. Its
 * acks and misses (ack timeouts) update a Beta posterior:
 *
 *   p ~ Beta(α, β),  α = α₀ + acks·d,  β = β₀ + misses·d,  d = 0.5^(age / halfLife)
 *
 * where α₀, β₀ are the prior pseudo-counts (`push.prediction.priorAcks`, `priorMisses`; 1 and 1,
 * a uniform prior) and `age` is the time since the evidence was last updated: old evidence
 * decays back to the prior, so a device that went quiet months ago is given the benefit of the
 * doubt again.
 *
 * Decision. Push is skipped when the posterior is confident the ack rate is too low:
 *
 *   P(p ≥ τ | evidence) = 1 − I_τ(α, β)  <  1 − confidence
 *
 * with τ = `minAckProbability` and I the regularized incomplete beta function. Equivalently, the
 * one-sided `confidence` upper credible bound of p is below τ. With the defaults (τ = 0.25,
 * confidence 0.9, uniform prior) a token that never acks has P = 0.75^(1 + misses), so push is
 * skipped from its 9th message on (8 misses: 0.75⁹ ≈ 0.075 < 0.1); one ack after that gives
 * Beta(2, 9), P ≈ 0.24, and push is used again.
 *
 * Exploration. A skipped token gets no pushes, so no new evidence: every `exploreEvery`-th
 * message of a run of skips is pushed anyway (a deterministic schedule rather than a coin, so a
 * retried job decides the same way and the cost is bounded: at most one ack timeout per
 * `exploreEvery` messages). An ack on such a push brings push back. The run of skips ends with
 * the next ack or ack timeout; an exploration push that FCM refuses outright leaves the run as
 * it is, so the following messages explore too — at the cost of an FCM error each (an immediate
 * fallback), not of an ack timeout.
 */

/** A token's stored evidence: decayed acks and misses, when last updated, skips since the last push. */
export interface AckEvidence {
  acks: number;
  misses: number;
  at: number;
  skips: number;
}

/** `push.prediction` in the configuration (defaults in the config schema). */
export interface PushPredictionOptions {
  minAckProbability: number;
  confidence: number;
  priorAcks: number;
  priorMisses: number;
  halfLifeMs: number;
  exploreEvery: number;
}

export type PushVerdict = { kind: 'push' | 'skip' | 'explore'; pAckRateAtLeast: number };

/** ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9; ~15 significant digits). */
function lnGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
    -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  const y = x - 1;
  let sum = c[0] as number;
  for (let i = 1; i < 9; i++) sum += (c[i] as number) / (y + i);
  const t = y + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (y + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** Continued fraction of the incomplete beta function (modified Lentz). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-12) break;
  }
  return h;
}

/** The regularized incomplete beta function I_x(a, b) = P(X ≤ x) for X ~ Beta(a, b). */
export function regularizedIncompleteBeta(x: number, a: number, b: number): number {
  if (!(a > 0) || !(b > 0)) throw new RangeError(`Beta parameters must be positive (got ${a}, ${b})`);
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(lnGamma(a + b) - lnGamma(a) - lnGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  // The continued fraction converges fast for x < (a + 1) / (a + b + 2); use the symmetry otherwise.
  if (x < (a + 1) / (a + b + 2)) return (front * betaContinuedFraction(a, b, x)) / a;
  return 1 - (front * betaContinuedFraction(b, a, 1 - x)) / b;
}

/** The posterior Beta(α, β) of a token's ack probability at `now` (no evidence: the prior). */
export function ackPosterior(e: AckEvidence | undefined, now: number, opts: PushPredictionOptions): { alpha: number; beta: number } {
  if (e === undefined) return { alpha: opts.priorAcks, beta: opts.priorMisses };
  const d = 0.5 ** (Math.max(0, now - e.at) / opts.halfLifeMs);
  return { alpha: opts.priorAcks + Math.max(0, e.acks) * d, beta: opts.priorMisses + Math.max(0, e.misses) * d };
}

/** Push, skip, or push anyway to explore (see the module comment for the rule). */
export function pushVerdict(e: AckEvidence | undefined, now: number, opts: PushPredictionOptions): PushVerdict {
  const { alpha, beta } = ackPosterior(e, now, opts);
  const pAckRateAtLeast = 1 - regularizedIncompleteBeta(opts.minAckProbability, alpha, beta);
  if (pAckRateAtLeast >= 1 - opts.confidence) return { kind: 'push', pAckRateAtLeast };
  if (opts.exploreEvery > 0 && (e?.skips ?? 0) + 1 >= opts.exploreEvery) return { kind: 'explore', pAckRateAtLeast };
  return { kind: 'skip', pAckRateAtLeast };
}

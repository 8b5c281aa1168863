/**
 * Circuit breakers per provider×channel (DESIGN §6.5, §7). Each worker runs a local cockatiel
 * SamplingBreaker (50 % failures over 10 s at ≥ 2 rps) that counts only the errors that are the
 * provider's fault (retryable, auth). When one opens, it publishes a shared "open" signal in Redis
 * that every worker reads within `sharedRefreshMs`, so the whole fleet stops sending at once;
 * after the half-open delay exactly one worker at a time (a `SET NX` probe lock) may try again.
 * The probe's outcome closes the breaker everywhere or re-opens it with a longer delay (up to 60 s).
 */
import {
  BrokenCircuitError,
  CircuitState,
  ExponentialBackoff,
  SamplingBreaker,
  circuitBreaker,
  handleWhen,
  type CircuitBreakerPolicy,
} from 'cockatiel';
import type { RedisClient } from '../store/redis-client.ts';
import { isProviderError } from '../../providers/index.ts';
import type { Channel, ProviderId } from '../../providers/provider.ts';
import type { Logger } from '../logger.ts';

export interface BreakerOptions {
  prefix: string;
  threshold: number;
  samplingMs: number;
  minimumRps: number;
  halfOpenAfterMs: number;
  maxHalfOpenAfterMs: number;
  sharedRefreshMs: number;
}

/** 0 closed, 1 half-open, 2 open — the values of `switchboard_breaker_state`. */
export type BreakerStatus = { state: 'closed' } | { state: 'half_open' } | { state: 'open'; halfOpenInMs: number };

interface SharedOpen {
  until: number;
  backoffMs: number;
}

/** Thrown instead of calling the carrier when the breaker is open; the caller skips the provider. */
export class BreakerOpenError extends Error {
  constructor(provider: ProviderId, channel: Channel) {
    super(`${provider}/${channel}: circuit open; fail over to another provider`);
    this.name = 'BreakerOpenError';
  }
}

const countsAgainstBreaker = (err: unknown): boolean => isProviderError(err) && err.countsAgainstBreaker;

export class BreakerRegistry {
  private readonly redis: RedisClient;
  private readonly opts: BreakerOptions;
  private readonly log: Logger;
  private readonly local = new Map<string, CircuitBreakerPolicy>();
  private shared = new Map<string, SharedOpen>();
  /** When this worker last published each pair's open signal: a read that began earlier must not erase it. */
  private readonly publishedAt = new Map<string, number>();
  /** Pairs whose shared signal the last refresh found in Redis. */
  private sharedInRedis = new Set<string>();
  /** When each local breaker last opened. */
  private readonly openedAt = new Map<string, number>();
  private readonly pairs = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private lastRefresh = 0;
  private readonly now: () => number;
  private readonly onClose: (provider: ProviderId, channel: Channel) => Promise<void>;

  constructor(
    redis: RedisClient,
    opts: BreakerOptions,
    log: Logger,
    now: () => number = Date.now,
    onClose: (provider: ProviderId, channel: Channel) => Promise<void> = async () => undefined,
  ) {
    this.redis = redis;
    this.opts = opts;
    this.log = log;
    this.now = now;
    this.onClose = onClose;
  }

  private sharedKey(pair: string): string {
    return `${this.opts.prefix}:breaker:${pair}`;
  }

  private probeKey(pair: string): string {
    return `${this.opts.prefix}:breaker-probe:${pair}`;
  }

  /** Registers the provider×channel pairs this process may use, and starts reading shared signals. */
  track(pairs: ReadonlyArray<readonly [ProviderId, Channel]>): void {
    for (const [p, c] of pairs) this.pairs.add(`${p}:${c}`);
    if (!this.timer && this.opts.sharedRefreshMs > 0) {
      this.timer = setInterval(() => void this.refresh().catch(() => undefined), this.opts.sharedRefreshMs);
      this.timer.unref();
    }
  }

  /** Re-reads every shared open signal (at most once per `sharedRefreshMs`, unless forced). */
  async refresh(force = false): Promise<void> {
    const now = this.now();
    if (!force && now - this.lastRefresh < this.opts.sharedRefreshMs / 2) return;
    this.lastRefresh = now;
    const pairs = [...this.pairs];
    if (pairs.length === 0) return;
    const values = await this.redis.mget(...pairs.map((p) => this.sharedKey(p)));
    const next = new Map<string, SharedOpen>();
    pairs.forEach((pair, i) => {
      const v = values[i];
      if (typeof v === 'string') next.set(pair, JSON.parse(v) as SharedOpen);
      else {
        // Published here after this read was sent: the read cannot know it yet; keep it.
        const mine = this.shared.get(pair);
        if (mine && (this.publishedAt.get(pair) ?? -Infinity) >= now) next.set(pair, mine);
      }
    });
    // A signal gone from Redis means a probe closed the breaker elsewhere (or the signal lapsed):
    // close this worker's breaker too. Cockatiel half-opens only on a call, and routing makes no
    // call to a provider it sees open, so it would otherwise stay open here for good.
    for (const pair of this.sharedInRedis) {
      if (!next.has(pair) && this.local.get(pair)?.state === CircuitState.Open) this.local.delete(pair);
    }
    this.sharedInRedis = new Set(next.keys());
    this.shared = next;
  }

  private policy(provider: ProviderId, channel: Channel): CircuitBreakerPolicy {
    const pair = `${provider}:${channel}`;
    let p = this.local.get(pair);
    if (!p) {
      p = circuitBreaker(handleWhen(countsAgainstBreaker), {
        breaker: new SamplingBreaker({ threshold: this.opts.threshold, duration: this.opts.samplingMs, minimumRps: this.opts.minimumRps }),
        halfOpenAfter: new ExponentialBackoff({ initialDelay: this.opts.halfOpenAfterMs, maxDelay: this.opts.maxHalfOpenAfterMs }),
      });
      p.onBreak(() => {
        this.openedAt.set(pair, this.now());
        this.log.warn({ provider, channel }, 'circuit breaker opened');
        void this.publishOpen(pair, this.opts.halfOpenAfterMs).catch(() => undefined);
      });
      this.local.set(pair, p);
      this.pairs.add(pair);
    }
    return p;
  }

  private async publishOpen(pair: string, backoffMs: number): Promise<void> {
    const open: SharedOpen = { until: this.now() + backoffMs, backoffMs };
    this.shared.set(pair, open);
    this.publishedAt.set(pair, this.now());
    await this.redis.set(this.sharedKey(pair), JSON.stringify(open), 'PX', backoffMs + this.opts.maxHalfOpenAfterMs * 2);
  }

  /** The state routing sees: the shared signal first, then this worker's own breaker. */
  status(provider: ProviderId, channel: Channel): BreakerStatus {
    const pair = `${provider}:${channel}`;
    const now = this.now();
    const shared = this.shared.get(pair);
    if (shared) return now < shared.until ? { state: 'open', halfOpenInMs: shared.until - now } : { state: 'half_open' };
    const local = this.local.get(pair)?.state;
    // Open here but never shared (publishing failed): past the longest half-open delay, let a probe through.
    if (local === CircuitState.Open && now - (this.openedAt.get(pair) ?? now) >= this.opts.maxHalfOpenAfterMs)
      return { state: 'half_open' };
    if (local === CircuitState.Open || local === CircuitState.Isolated) return { state: 'open', halfOpenInMs: this.opts.halfOpenAfterMs };
    if (local === CircuitState.HalfOpen) return { state: 'half_open' };
    return { state: 'closed' };
  }

  /**
   * Whether this worker may call the provider now. Half-open admits one probe across all workers.
   * Returns `probe: true` when this call is that probe.
   */
  async acquire(provider: ProviderId, channel: Channel): Promise<{ allowed: boolean; probe: boolean }> {
    await this.refresh();
    const s = this.status(provider, channel);
    if (s.state === 'closed') return { allowed: true, probe: false };
    if (s.state === 'open') return { allowed: false, probe: false };
    const pair = `${provider}:${channel}`;
    const got = await this.redis.set(this.probeKey(pair), '1', 'PX', this.opts.halfOpenAfterMs, 'NX');
    // The fleet-wide probe decides now; this worker's own breaker (whose jittered half-open delay
    // may not have passed yet) must not veto it. Its outcome is published for everyone in execute().
    if (got === 'OK') this.local.delete(pair);
    return { allowed: got === 'OK', probe: got === 'OK' };
  }

  /** Runs one carrier call through the breaker; a probe's outcome closes or re-opens it for everyone. */
  async execute<T>(provider: ProviderId, channel: Channel, probe: boolean, fn: () => Promise<T>): Promise<T> {
    const pair = `${provider}:${channel}`;
    try {
      const result = await this.policy(provider, channel).execute(fn);
      if (probe) {
        this.shared.delete(pair);
        await this.redis.del(this.sharedKey(pair), this.probeKey(pair));
        this.log.info({ provider, channel }, 'circuit breaker closed after a successful probe');
        await this.onClose(provider, channel).catch(() => undefined);
      }
      return result;
    } catch (err) {
      if (err instanceof BrokenCircuitError) throw new BreakerOpenError(provider, channel);
      if (probe) {
        if (countsAgainstBreaker(err)) {
          const prev = this.shared.get(pair)?.backoffMs ?? this.opts.halfOpenAfterMs;
          await this.publishOpen(pair, Math.min(prev * 2, this.opts.maxHalfOpenAfterMs));
        }
        await this.redis.del(this.probeKey(pair));
      }
      throw err;
    }
  }

  /** Every tracked pair's gauge value (0 closed, 1 half-open, 2 open). */
  gauge(): Array<{ provider: string; channel: string; value: number }> {
    return [...this.pairs].map((pair) => {
      const [provider = '', channel = ''] = pair.split(':');
      const s = this.status(provider as ProviderId, channel as Channel).state;
      return { provider, channel, value: s === 'open' ? 2 : s === 'half_open' ? 1 : 0 };
    });
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

/**
 * Every Prometheus metric of CONTRACTS §7, defined once, on one registry per process (never
 * prom-client's global one: two gateways in one test process must not share counters).
 * Series of closed label sets start at 0 so dashboards and `rate()` see them before the first event.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { providerRegistry, type ProviderRegistry } from '../../providers/index.ts';

export const METRIC_CHANNELS = ['push', 'whatsapp', 'rcs', 'sms', 'voice'] as const;
/** The `provider` label set: every registered provider (CONTRACTS §7 closed sets). */
export const METRIC_PROVIDERS: readonly string[] = providerRegistry.ids;
export const METRIC_OUTCOMES = ['delivered', 'undelivered', 'failed', 'expired', 'refused'] as const;
export const METRIC_ATTEMPT_STATUSES = ['queued', 'sent', 'delivered', 'undelivered', 'failed'] as const;
export const METRIC_ERROR_KINDS = ['permanent', 'retryable', 'rate_limited', 'auth'] as const;
export const METRIC_WEBHOOK_RESULTS = ['success', 'failure', 'disabled', 'dead_letter'] as const;
export const METRIC_CALLBACK_RESULTS = ['accepted', 'rejected', 'failed'] as const;
export const METRIC_OTP_RESULTS = ['valid', 'invalid', 'locked', 'expired'] as const;
export const METRIC_COST_KINDS = ['message', 'lookup'] as const;
export const METRIC_LOOKUP_RESULTS = ['valid', 'invalid', 'landline', 'unknown', 'error'] as const;
export const METRIC_LOOKUP_CACHE = ['hit', 'miss'] as const;
export const METRIC_POLICY_REASONS = [
  'opted_out',
  'country_not_allowed',
  'rate_limited',
  'sim_swap',
  'invalid_number',
  'pumping',
  'callback_url',
] as const;
/** Reasons the router gives for a choice (src/routing/router.ts). */
export const ROUTE_REASONS = ['cheapest', 'healthiest', 'health', 'conversion', 'tie_order', 'only_candidate'] as const;
export const METRIC_QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized', 'waiting-children'] as const;
export const FALLBACK_REASONS = [
  'push_disabled',
  'push_no_token',
  'push_unregistered',
  'push_error',
  'ack_timeout',
  'push_predicted_unacked',
  'whatsapp_not_registered',
  'whatsapp_failed',
  'rcs_not_capable',
  'rcs_failed',
  'landline',
  'provider_error',
  'undelivered',
  'dlr_timeout',
  'sim_swap_push_only',
] as const;
/**
 * What a carrier status read (reconciliation) found: the final status it applied, `pending` (not
 * final yet, or nothing new), `not_found` (the carrier does not know the id), `error` (the read
 * failed), `unsupported` (the carrier offers no status read for the channel).
 */
export const METRIC_RECONCILIATION_RESULTS = [
  'delivered',
  'undelivered',
  'failed',
  'pending',
  'not_found',
  'error',
  'unsupported',
] as const;

const PREFIX = 'switchboard_';

export interface Metrics {
  registry: Registry;
  messages: Counter<'channel' | 'provider' | 'country' | 'outcome'>;
  attempts: Counter<'channel' | 'provider' | 'status'>;
  sendDuration: Histogram<'provider' | 'channel'>;
  acceptToSend: Histogram;
  deliveryLatency: Histogram<'provider' | 'channel'>;
  fallbacks: Counter<'from' | 'to' | 'reason'>;
  providerErrors: Counter<'provider' | 'kind'>;
  webhookDeliveries: Counter<'result'>;
  webhookDeadLetters: Gauge;
  queueJobs: Gauge<'queue' | 'state'>;
  carrierCallbacks: Counter<'provider' | 'result'>;
  breakerState: Gauge<'provider' | 'channel'>;
  routeDecisions: Counter<'provider' | 'reason'>;
  otpVerifications: Counter<'result'>;
  costUsd: Counter<'provider' | 'country' | 'kind'>;
  lookups: Counter<'provider' | 'result' | 'cache'>;
  policyBlocks: Counter<'reason'>;
  redisUp: Gauge;
  rcsChecks: Counter<'result' | 'cache'>;
  reconciliations: Counter<'provider' | 'result'>;
  messagesStuckSent: Gauge;
  watches: Gauge<'state'>;
  otpConversionRatio: Gauge<'provider' | 'country'>;
}

export interface MetricsOptions {
  /** Collects `switchboard_webhook_dead_letters` at scrape time. */
  deadLetterCount?: () => Promise<number>;
  /** Collects `switchboard_queue_jobs` at scrape time (the `api` role only, CONTRACTS §7). */
  queueCounts?: () => Promise<Array<{ queue: string; counts: Record<string, number> }>>;
  defaultMetrics?: boolean;
  /**
   * The providers whose `provider` label values start at 0 (their modules say which take part in
   * lookups and reconciliation); the built-in registry by default.
   */
  providers?: ProviderRegistry;
  /** Collects `switchboard_breaker_state` at scrape time (workers: their breaker registry). */
  breakerStates?: () => Array<{ provider: string; channel: string; value: number }>;
  /**
   * Collects `switchboard_redis_up` (1 when this process's Redis answers PING, else 0) at scrape
   * time: `/metrics` keeps answering while Redis is down, so `up` alone cannot raise that alarm.
   */
  redisUp?: () => Promise<boolean>;
  /** Collects `switchboard_messages_stuck_sent` at scrape time (the `api` role only, like queue depth). */
  stuckSent?: () => Promise<number>;
  /** Collects `switchboard_watches` at scrape time (the `api` role only, like queue depth). */
  watchCounts?: () => Promise<{ scheduled: number; overdue: number }>;
  /**
   * Collects `switchboard_otp_conversion_ratio` at scrape time: the verified / delivered OTP
   * EWMA of each provider×country this process last read or wrote (no Redis call at scrape).
   */
  conversionRatios?: () => Array<{ provider: string; country: string; value: number }>;
}

function cross<A extends string, B extends string>(as: readonly A[], bs: readonly B[]): Array<[A, B]> {
  return as.flatMap((a) => bs.map((b): [A, B] => [a, b]));
}

export function createMetrics(opts: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  const registers = [registry];
  const providers = opts.providers ?? providerRegistry;
  const providerIds = providers.ids;
  const lookupProviders = providers.modules.filter((m) => m.lookups).map((m) => m.id);
  const statusReadProviders = providers.modules.filter((m) => m.statusReads).map((m) => m.id);
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: PREFIX });

  const messages = new Counter({
    name: `${PREFIX}messages_total`,
    help: 'Messages that reached a terminal status, once each (refused: admission or policy refusal).',
    labelNames: ['channel', 'provider', 'country', 'outcome'] as const,
    registers,
  });
  const attempts = new Counter({
    name: `${PREFIX}attempts_total`,
    help: 'Attempt status transitions, by channel, provider and the status reached.',
    labelNames: ['channel', 'provider', 'status'] as const,
    registers,
  });
  const sendDuration = new Histogram({
    name: `${PREFIX}send_duration_seconds`,
    help: 'Duration of one carrier send call, success or failure.',
    labelNames: ['provider', 'channel'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const acceptToSend = new Histogram({
    name: `${PREFIX}accept_to_send_seconds`,
    help: 'From admission to the first carrier acceptance of a message.',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });
  const deliveryLatency = new Histogram({
    name: `${PREFIX}delivery_latency_seconds`,
    help: 'From carrier acceptance to the delivery report (or push ack).',
    labelNames: ['provider', 'channel'] as const,
    buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120],
    registers,
  });
  const fallbacks = new Counter({
    name: `${PREFIX}fallbacks_total`,
    help: 'Attempts that failed into another attempt, by channel pair and reason.',
    labelNames: ['from', 'to', 'reason'] as const,
    registers,
  });
  const providerErrors = new Counter({
    name: `${PREFIX}provider_errors_total`,
    help: 'Classified carrier errors on send.',
    labelNames: ['provider', 'kind'] as const,
    registers,
  });
  const webhookDeliveries = new Counter({
    name: `${PREFIX}webhook_deliveries_total`,
    help: 'Outbound webhook delivery tries by result.',
    labelNames: ['result'] as const,
    registers,
  });
  const deadLetterCount = opts.deadLetterCount;
  const webhookDeadLetters = new Gauge({
    name: `${PREFIX}webhook_dead_letters`,
    help: 'Webhook events that exhausted their retries and wait for replay.',
    registers,
    ...(deadLetterCount
      ? {
          async collect(this: Gauge) {
            this.set(await deadLetterCount().catch(() => 0));
          },
        }
      : {}),
  });
  const queueCounts = opts.queueCounts;
  const queueJobs = new Gauge({
    name: `${PREFIX}queue_jobs`,
    help: 'Jobs per queue and state (reported by the api role).',
    labelNames: ['queue', 'state'] as const,
    registers,
    ...(queueCounts
      ? {
          async collect(this: Gauge<'queue' | 'state'>) {
            const all = await queueCounts().catch(() => []);
            for (const { queue, counts } of all) {
              for (const state of METRIC_QUEUE_STATES) this.set({ queue, state }, counts[state] ?? 0);
            }
          },
        }
      : {}),
  });
  const carrierCallbacks = new Counter({
    name: `${PREFIX}carrier_callbacks_total`,
    help: 'Carrier callbacks received: accepted (verified and queued), rejected (signature), failed (could not queue).',
    labelNames: ['provider', 'result'] as const,
    registers,
  });

  const breakerStates = opts.breakerStates;
  const breakerState = new Gauge({
    name: `${PREFIX}breaker_state`,
    help: 'Circuit breaker per provider and channel: 0 closed, 1 half-open, 2 open.',
    labelNames: ['provider', 'channel'] as const,
    registers,
    ...(breakerStates
      ? {
          collect(this: Gauge<'provider' | 'channel'>) {
            for (const b of breakerStates()) this.set({ provider: b.provider, channel: b.channel }, b.value);
          },
        }
      : {}),
  });
  const routeDecisions = new Counter({
    name: `${PREFIX}route_decisions_total`,
    help:
      'Routing decisions by chosen provider and reason (cheapest, healthiest, ' +
      'health, conversion, tie_order, only_candidate, all_breakers_open, none).',
    labelNames: ['provider', 'reason'] as const,
    registers,
  });
  for (const provider of providerIds) {
    for (const reason of ROUTE_REASONS) routeDecisions.inc({ provider, reason }, 0);
  }
  for (const reason of ['all_breakers_open', 'none'] as const) routeDecisions.inc({ provider: 'none', reason }, 0);

  const otpVerifications = new Counter({
    name: `${PREFIX}otp_verifications_total`,
    help: 'OTP verification requests by result (valid, invalid, locked, expired).',
    labelNames: ['result'] as const,
    registers,
  });

  const costUsd = new Counter({
    name: `${PREFIX}cost_usd_total`,
    help: 'Spend in USD: carrier-reported where given, else the price book (kind: message, lookup).',
    labelNames: ['provider', 'country', 'kind'] as const,
    registers,
  });
  const lookups = new Counter({
    name: `${PREFIX}lookup_total`,
    help: 'Number lookups by provider, result and whether the cache answered.',
    labelNames: ['provider', 'result', 'cache'] as const,
    registers,
  });
  const policyBlocks = new Counter({
    name: `${PREFIX}policy_blocks_total`,
    help: 'Messages refused or stopped by policy, by reason (pumping in shadow mode: flagged but delivered).',
    labelNames: ['reason'] as const,
    registers,
  });

  const redisUpCheck = opts.redisUp;
  const redisUp = new Gauge({
    name: `${PREFIX}redis_up`,
    help: 'Whether this process reaches Redis (1) or not (0), checked at scrape time.',
    registers,
    ...(redisUpCheck
      ? {
          async collect(this: Gauge) {
            this.set((await redisUpCheck().catch(() => false)) ? 1 : 0);
          },
        }
      : {}),
  });

  const rcsChecks = new Counter({
    name: `${PREFIX}rcs_capability_checks_total`,
    help: 'RCS capability answers (RBM) by result and cache; agent_not_launched needs ops.',
    labelNames: ['result', 'cache'] as const,
    registers,
  });
  for (const result of ['capable', 'not_capable', 'agent_not_launched', 'unknown'] as const) {
    for (const cache of ['hit', 'miss'] as const) rcsChecks.inc({ result, cache }, 0);
  }

  const reconciliations = new Counter({
    name: `${PREFIX}reconciliations_total`,
    help: 'Carrier status reads of attempts without a final callback, by provider and what they found.',
    labelNames: ['provider', 'result'] as const,
    registers,
  });
  for (const provider of statusReadProviders) {
    for (const result of METRIC_RECONCILIATION_RESULTS) reconciliations.inc({ provider, result }, 0);
  }

  const stuckSent = opts.stuckSent;
  const messagesStuckSent = new Gauge({
    name: `${PREFIX}messages_stuck_sent`,
    help:
      'Messages still not final 5 minutes or more after a carrier accepted them ' +
      '(reconciliation has not settled them), read from Redis at scrape time.',
    registers,
    ...(stuckSent
      ? {
          async collect(this: Gauge) {
            this.set(await stuckSent().catch(() => 0));
          },
        }
      : {}),
  });

  const watchCounts = opts.watchCounts;
  const watches = new Gauge({
    name: `${PREFIX}watches`,
    help:
      "Open messages' deadline watches: scheduled in all, and overdue (due 30 s ago or more and not fired: " +
      'no worker is firing them), read from Redis at scrape time.',
    labelNames: ['state'] as const,
    registers,
    ...(watchCounts
      ? {
          async collect(this: Gauge<'state'>) {
            const c = await watchCounts().catch(() => ({ scheduled: 0, overdue: 0 }));
            this.set({ state: 'scheduled' }, c.scheduled);
            this.set({ state: 'overdue' }, c.overdue);
          },
        }
      : {}),
  });
  watches.set({ state: 'scheduled' }, 0);
  watches.set({ state: 'overdue' }, 0);

  const conversionRatios = opts.conversionRatios;
  const otpConversionRatio = new Gauge({
    name: `${PREFIX}otp_conversion_ratio`,
    help: 'Verified / delivered OTPs per provider and country (time-decayed), the conversion term of the routing score.',
    labelNames: ['provider', 'country'] as const,
    registers,
    ...(conversionRatios
      ? {
          collect(this: Gauge<'provider' | 'country'>) {
            for (const r of conversionRatios()) this.set({ provider: r.provider, country: r.country }, r.value);
          },
        }
      : {}),
  });

  for (const result of METRIC_OTP_RESULTS) otpVerifications.inc({ result }, 0);
  for (const reason of METRIC_POLICY_REASONS) policyBlocks.inc({ reason }, 0);
  for (const provider of lookupProviders) {
    for (const result of METRIC_LOOKUP_RESULTS) for (const cache of METRIC_LOOKUP_CACHE) lookups.inc({ provider, result, cache }, 0);
  }
  for (const [channel, provider] of cross(METRIC_CHANNELS, providerIds)) {
    for (const status of METRIC_ATTEMPT_STATUSES) attempts.inc({ channel, provider, status }, 0);
  }
  for (const [provider, kind] of cross(providerIds, METRIC_ERROR_KINDS)) providerErrors.inc({ provider, kind }, 0);
  for (const result of METRIC_WEBHOOK_RESULTS) webhookDeliveries.inc({ result }, 0);
  for (const [provider, result] of cross(providerIds, METRIC_CALLBACK_RESULTS)) carrierCallbacks.inc({ provider, result }, 0);
  for (const [from, to] of cross(METRIC_CHANNELS, METRIC_CHANNELS)) {
    for (const reason of FALLBACK_REASONS) fallbacks.inc({ from, to, reason }, 0);
  }

  return {
    registry,
    messages,
    attempts,
    sendDuration,
    acceptToSend,
    deliveryLatency,
    fallbacks,
    providerErrors,
    webhookDeliveries,
    webhookDeadLetters,
    queueJobs,
    carrierCallbacks,
    breakerState,
    routeDecisions,
    otpVerifications,
    costUsd,
    lookups,
    policyBlocks,
    redisUp,
    rcsChecks,
    reconciliations,
    messagesStuckSent,
    watches,
    otpConversionRatio,
  };
}

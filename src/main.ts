/**
 * Composition root: builds every part from the configuration for a role
 * (`api | worker | sandbox | all`, DESIGN §2) and hands back one `close()` that drains them in order.
 *
 * {@link buildServices} builds what the roles share once (Redis connections, stores, queues,
 * provider adapters, routing state, metrics, keys, the recorder); {@link startSandbox},
 * {@link startWorker} and {@link startApi} each start one role on them, and
 * {@link startSwitchboard} composes them (`all` runs all three). The provider construction
 * ({@link createAdapters}, {@link providerConfigOf}) stays one block of its own.
 */
import type { FastifyInstance } from 'fastify';
import type { RedisClient } from './store/redis-client.ts';
import { createProviders, providerRegistry } from '../providers/index.ts';
import type { ProviderAdapter, ProviderId } from '../providers/provider.ts';
import { ApiKeyRing } from './security/api-keys.ts';
import type { Config } from './config/config.schema.ts';
import type { Logger } from './logger.ts';
import { IntakeSweeper } from './queues/intake-sweeper.ts';
import { WATCH_OVERDUE_MS, WatchSchedule } from './store/watch-schedule.store.ts';
import { QueueSet } from './queues/queue-set.ts';
import { maskRedisUrl } from './config/redis-url.parse.ts';
import { DlrBatcher } from './queues/dlr-batcher.ts';
import { createRedis, pingRedis } from './queues/redis-connection.ts';
import { WorkerSet } from './workers/worker-set.ts';
import { createMetrics, type Metrics } from './metrics/metrics.ts';
import { startOpsServer } from './metrics/ops-server.ts';
import { createRawAdmission } from './pipeline/admit.stage.ts';
import { CONVERSION_CACHE_MS, REPORTER_CACHE_MS } from './pipeline/pumping.stage.ts';
import { MessageRecorder } from './store/message-recorder.ts';
import { BreakerRegistry } from './resilience/breaker-registry.ts';
import { HealthStore, TierCounter } from './routing/health.store.ts';
import { startSandboxListener } from './sandbox/sandbox-role.ts';
import { createKeyRing, resolveMasterKey, type KeyRing } from './security/master-key.ts';
import { createSsrfGuard, type ResolveHost, type SsrfGuard } from './security/ssrf-guard.ts';
import { AuditTrail } from './policy/audit-trail.ts';
import { ConversionReporters } from './policy/conversion-reporters.ts';
import { ConversionCreditObserver } from './routing/conversion-credit.ts';
import { PushAckLearner } from './pipeline/push-ack-learner.ts';
import { PushAckPosteriorStore } from './store/push-ack-posterior.store.ts';
import { AuditStore } from './store/audit.store.ts';
import { ConversionStore } from './store/conversion.store.ts';
import { StuckIndex } from './store/stuck-index.store.ts';
import { PumpingStore } from './store/pumping.store.ts';
import { SuppressionStore } from './store/suppression.store.ts';
import { LookupCache } from './store/lookup-cache.store.ts';
import { MessageStore } from './store/message.store.ts';
import { ReplicaWait } from './store/replica-wait.ts';
import { DeadLetterStore } from './webhooks/dead-letter.store.ts';
import { EndpointRegistryStore } from './webhooks/endpoint-registry.store.ts';
import { WebhookDeliveryLog } from './webhooks/webhook-delivery-log.store.ts';
import { OutboxRelay } from './webhooks/outbox-relay.ts';
import { resolveWebhookSecrets, webhookSecretsByKey } from './webhooks/webhook-secrets.ts';
import { createWebhookWorker } from './webhooks/webhook.worker.ts';

export type Role = 'api' | 'worker' | 'sandbox' | 'all';
export const ROLES: readonly Role[] = ['api', 'worker', 'sandbox', 'all'];

/** Redis did not answer at start; the message says how to get one. */
export class RedisUnreachableError extends Error {
  constructor(url: string) {
    super(
      `Redis is not reachable at ${maskRedisUrl(url)}. Start one (e.g. \`redis-server ` +
        `--daemonize yes\`, or \`docker compose up -d redis\`) or point REDIS_URL at yours.`,
    );
    this.name = 'RedisUnreachableError';
  }
}

export interface RunningSwitchboard {
  role: Role;
  apiUrl?: string;
  sandboxUrl?: string;
  api?: FastifyInstance;
  sandbox?: FastifyInstance;
  metrics?: Metrics;
  /** Worker-only processes: the `/metrics` listener on METRICS_PORT. */
  opsUrl?: string;
  /** Set when this process generated the sandbox webhook secret (print it once). */
  generatedWebhookSecret?: string;
  /** Graceful stop: stop intake, drain workers, close connections. */
  close(): Promise<void>;
}

export interface StartOptions {
  role: Role;
  config: Config;
  log: Logger;
  now?: () => number;
  /** Wait this long for Redis at start before giving up. */
  redisWaitMs?: number;
  /** Name resolution of the webhook SSRF guard (tests map names to chosen addresses); the system's by default. */
  resolveHost?: ResolveHost;
}

async function waitForRedis(client: RedisClient, url: string, ms: number): Promise<void> {
  if (client.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new RedisUnreachableError(url));
    }, ms);
    const onReady = (): void => {
      cleanup();
      resolve();
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      client.off('ready', onReady);
    };
    client.on('ready', onReady);
  });
}

/** Builds the adapters of every enabled provider; in sandbox mode they point at the carrier sandbox. */
export function createAdapters(config: Config): Map<ProviderId, ProviderAdapter> {
  const baseUrl = config.mode === 'sandbox' ? config.sandbox.url : undefined;
  return createProviders(providerRegistry, config.providers, {
    timeoutMs: config.send.carrierTimeoutMs,
    ...(baseUrl !== undefined ? { baseUrl } : {}),
  });
}

/**
 * What a role's shutdown runs, in push order; `close()` runs them in reverse, so what started last
 * (the listeners) stops first and the Redis connections everything else uses stop last.
 */
export type Closer = () => Promise<unknown>;

/** How {@link buildServices} builds the shared services. */
export interface ServiceOptions {
  log: Logger;
  now: () => number;
  /** Wait this long for Redis at start before giving up. */
  redisWaitMs?: number;
  /** Name resolution of the webhook SSRF guard; the system's by default. */
  resolveHost?: ResolveHost;
  /**
   * Whether this process reports queue depth and stuck messages: the api role only (CONTRACTS §7),
   * so worker replicas do not multiply the gauges.
   */
  reportQueueDepth: boolean;
}

/**
 * The services every role but `sandbox` shares, built once per process by {@link buildServices}:
 * the Redis connections' users (stores, queues), the provider adapters, routing state, metrics,
 * keys and the recorder. The role start functions only wire these into listeners and workers.
 */
export interface Services {
  config: Config;
  log: Logger;
  now: () => number;
  /** The gateway's own connection (auto-pipelined); BullMQ queues and workers have their own. */
  producer: RedisClient;
  store: MessageStore;
  queues: QueueSet;
  deadLetters: DeadLetterStore;
  endpoints: EndpointRegistryStore;
  webhookLog: WebhookDeliveryLog;
  adapters: Map<ProviderId, ProviderAdapter>;
  health: HealthStore;
  breakers: BreakerRegistry;
  metrics: Metrics;
  keyRing: KeyRing;
  audit: AuditTrail;
  /** One instance for the guard and the conversion observer: a report seen here refreshes the guard's cache. */
  pumpingStore: PumpingStore;
  suppression: SuppressionStore;
  ssrf: SsrfGuard;
  pushPosterior: PushAckPosteriorStore;
  recorder: MessageRecorder;
  tiers: TierCounter;
}

/**
 * Builds the shared services once, in the order their start-up needs (Redis answers first; the
 * master key before what HMACs with it), pushing each one's shutdown onto `closers`.
 */
export async function buildServices(config: Config, opts: ServiceOptions, closers: Closer[]): Promise<Services> {
  const { log, now } = opts;
  // Auto-pipelining: the commands that concurrent jobs and requests issue in one event-loop turn
  // leave in one socket write, not one write (a syscall) each. This connection carries only the
  // gateway's own commands; BullMQ's, which are known to misbehave with it, keep connections of their own.
  const producer = createRedis(config.redis.url, 'producer', { enableAutoPipelining: true });
  closers.push(async () => producer.quit().catch(() => producer.disconnect()));
  await waitForRedis(producer, config.redis.url, opts.redisWaitMs ?? 3_000);

  const store = new MessageStore(producer, {
    prefix: config.redis.prefix,
    retentionSeconds: config.messages.retentionSeconds,
    idempotencyTtlSeconds: config.intake.idempotencyTtlSeconds,
  });
  // BullMQ defines its ~50 scripts as commands on the connection it is given, and ioredis copies
  // every defined command onto each pipeline it creates: on a shared connection each of the
  // store's commits paid for that copy (~80 µs of worker CPU a message). The queues get their own.
  const queueConn = createRedis(config.redis.url, 'producer');
  closers.push(async () => queueConn.quit().catch(() => queueConn.disconnect()));
  await waitForRedis(queueConn, config.redis.url, opts.redisWaitMs ?? 3_000);
  const queues = new QueueSet(queueConn, {
    prefix: config.redis.prefix,
    sendJobAttempts: config.send.jobAttempts,
    sendBackoffMs: config.send.backoffMs,
    dlrUnknownRetryForMs: config.dlr.unknownRetryForMs,
    webhookAttempts: config.webhooks.retrySchedule.length + 1,
    sendBatchMax: config.intake.sendBatchMax,
    onSendAddError: (err, messageIds) =>
      log.warn(
        { messageIds, err: err instanceof Error ? err.message : String(err) },
        'send job not queued; the intake sweeper will queue it',
      ),
  });
  closers.push(() => queues.close());
  const deadLetters = new DeadLetterStore(producer, store.keys, config.webhooks.deadLetterRetentionSeconds);
  const endpoints = new EndpointRegistryStore(producer, store.keys);
  const webhookLog = new WebhookDeliveryLog(producer, store.keys, config.messages.retentionSeconds);
  const adapters = createAdapters(config);
  closers.push(async () => Promise.all([...adapters.values()].map((a) => a.close?.())));
  const health = new HealthStore(producer, {
    prefix: config.redis.prefix,
    ...config.health,
    conversionHalfLifeMs: config.routing.conversion.halfLifeMs,
    cacheMs: 1_000,
  });
  const breakers = new BreakerRegistry(
    producer,
    { prefix: config.redis.prefix, ...config.breaker },
    log.child({ component: 'breakers' }),
    now,
    (provider) => health.resetSendErrors(provider),
  );
  breakers.track([...adapters.values()].flatMap((a) => a.channels.map((c) => [a.id, c] as const)));
  closers.push(async () => breakers.stop());
  const metrics = createMetrics({
    deadLetterCount: () => deadLetters.count(),
    breakerStates: () => breakers.gauge(),
    redisUp: () => pingRedis(producer, 500),
    conversionRatios: () => health.conversionRatios(),
    ...(opts.reportQueueDepth
      ? {
          stuckSent: async () => new StuckIndex(producer, store.keys).count(),
          watchCounts: async () => new WatchSchedule(producer, store.keys).counts(now() - WATCH_OVERDUE_MS),
          queueCounts: async () =>
            Promise.all(
              [queues.send, queues.dlr, queues.events].map(async (q) => ({
                queue: q.name,
                counts: await q.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized', 'waiting-children'),
              })),
            ),
        }
      : {}),
  });
  // Both roles need the subkeys: the worker encrypts codes, the API verifies them and HMACs numbers.
  const keyRing = createKeyRing(
    await resolveMasterKey({
      ...(config.secrets.encryptionKey !== undefined ? { configured: config.secrets.encryptionKey } : {}),
      mode: config.mode,
      redis: producer,
      redisKey: store.keys.secret('master-key'),
    }),
  );
  const audit = new AuditTrail(new AuditStore(producer, store.keys, config.audit.maxLen), keyRing, log.child({ component: 'audit' }));
  const pumpingStore = new PumpingStore(producer, store.keys, { reporterCacheMs: REPORTER_CACHE_MS, now });
  const suppression = new SuppressionStore(producer, store.keys);
  const ssrf = createSsrfGuard({
    allowPrivateTargets: config.webhooks.allowPrivateTargets,
    requireHttps: config.webhooks.requireHttps,
    allowedTargets: config.webhooks.allowedTargets,
    ...(opts.resolveHost !== undefined ? { resolve: opts.resolveHost } : {}),
  });
  const pushPosterior = new PushAckPosteriorStore(producer, store.keys, keyRing.subkey('push-token-hmac'), {
    halfLifeMs: config.push.prediction.halfLifeMs,
    retentionSeconds: config.push.prediction.retentionSeconds,
  });
  const recorder = new MessageRecorder(
    store,
    metrics,
    now,
    [
      new ConversionReporters(pumpingStore, log),
      new ConversionCreditObserver(health, log, now),
      new PushAckLearner(pushPosterior, log, now),
    ],
    audit,
  );
  const tiers = new TierCounter(producer, config.redis.prefix, 1_000);
  return {
    config,
    log,
    now,
    producer,
    store,
    queues,
    deadLetters,
    endpoints,
    webhookLog,
    adapters,
    health,
    breakers,
    metrics,
    keyRing,
    audit,
    pumpingStore,
    suppression,
    ssrf,
    pushPosterior,
    recorder,
    tiers,
  };
}

/**
 * Starts the outbox relay, which both the api and the worker role run: whichever process saved a
 * change, its webhook events reach the `events` queue even if that process dies right after.
 */
export function startOutboxRelay(s: Services, closers: Closer[]): void {
  const relay = new OutboxRelay({ redis: s.producer, keys: s.store.keys, queues: s.queues, log: s.log }, s.config.webhooks.relayIntervalMs);
  relay.start();
  closers.push(() => relay.stop());
}

/** What {@link startSandbox} started: fields of {@link RunningSwitchboard}, so `all` merges them in. */
export type StartedSandbox = Required<Pick<RunningSwitchboard, 'sandbox'>> & Pick<RunningSwitchboard, 'sandboxUrl'>;

/** The `sandbox` role: the carrier emulators and scenario API on their own listener (DESIGN §8). */
export async function startSandbox(config: Config, log: Logger, closers: Closer[]): Promise<StartedSandbox> {
  const sandbox = await startSandboxListener(config, log);
  closers.push(() => sandbox.close());
  return { sandbox: sandbox.app, ...(sandbox.url !== undefined ? { sandboxUrl: sandbox.url } : {}) };
}

/** What {@link startWorker} started (`opsUrl` only with `opsServer`): fields of {@link RunningSwitchboard}. */
export type StartedWorker = Pick<RunningSwitchboard, 'generatedWebhookSecret' | 'opsUrl'>;

/**
 * The `worker` role: the pipeline's BullMQ workers (send, dlr, raw admission), the webhook
 * delivery worker and the intake sweeper. `opsServer`: a worker-only process has no API listener,
 * so it opens its own for `/metrics`, `/healthz` and `/readyz`.
 */
export async function startWorker(s: Services, closers: Closer[], opts: { opsServer: boolean }): Promise<StartedWorker> {
  const { config, log, now, producer, store, queues, metrics, ssrf } = s;
  const started: StartedWorker = {};
  const workerConn = createRedis(config.redis.url, 'worker');
  closers.push(async () => workerConn.quit().catch(() => workerConn.disconnect()));
  const webhookSecrets = await resolveWebhookSecrets({
    ...(config.secrets.webhookSecret !== undefined ? { configured: config.secrets.webhookSecret } : {}),
    mode: config.mode,
    redis: producer,
    redisKey: store.keys.secret('webhook-secret'),
  });
  if (webhookSecrets.generated) started.generatedWebhookSecret = webhookSecrets.secrets[0];
  const publicUrl = config.api.publicUrl ?? `http://127.0.0.1:${config.api.port}`;
  const workers = new WorkerSet(
    {
      config,
      redis: producer,
      store,
      recorder: s.recorder,
      metrics,
      queues,
      adapters: s.adapters,
      health: s.health,
      tiers: s.tiers,
      breakers: s.breakers,
      keyRing: s.keyRing,
      lookupCache: new LookupCache(producer, {
        prefix: config.redis.prefix,
        lineTypeTtlSeconds: config.lookup.lineTypeTtlSeconds,
        simSwapTtlSeconds: config.lookup.simSwapTtlSeconds,
      }),
      log: log.child({ role: 'worker' }),
      publicUrl,
      now,
      suppression: s.suppression,
      pushPosterior: s.pushPosterior,
      pumping: {
        store: s.pumpingStore,
        conversions: new ConversionStore(producer, store.keys, { countsCacheMs: CONVERSION_CACHE_MS, now }),
      },
    },
    workerConn,
    createRawAdmission(
      {
        config,
        store,
        queues,
        adapters: s.adapters,
        keyRing: s.keyRing,
        metrics,
        log: log.child({ role: 'admit' }),
        now,
        ssrf,
        suppression: s.suppression,
        audit: s.audit,
      },
      new ApiKeyRing(config.apiKeys, config),
    ),
  );
  closers.push(() => workers.close());
  const webhookWorker = createWebhookWorker(
    {
      redis: producer,
      keys: store.keys,
      deadLetters: s.deadLetters,
      endpoints: s.endpoints,
      metrics,
      log: log.child({ role: 'webhooks' }),
      now,
      deliveryLog: s.webhookLog,
      retry: (item, priorTries, delayMs) => queues.addEventRetry(item, priorTries, delayMs),
    },
    workerConn,
    {
      prefix: config.redis.prefix,
      concurrency: config.webhooks.concurrency,
      retryScheduleMs: config.webhooks.retrySchedule,
      jitter: config.webhooks.jitter,
      timeoutMs: config.webhooks.timeoutMs,
      retryAfterCapMs: config.webhooks.retryAfterCapMs,
      secrets: webhookSecrets.secrets,
      secretsFor: webhookSecretsByKey(config.apiKeys),
      guard: ssrf,
    },
  );
  webhookWorker.on('error', (err) => log.error({ err: err.message }, 'webhook worker error'));
  closers.push(() => webhookWorker.close());
  await Promise.all([workers.waitUntilReady(), webhookWorker.waitUntilReady()]);
  const sweeper = new IntakeSweeper(
    { redis: producer, store, queues, log, now },
    { afterMs: config.intake.sweepAfterMs, intervalMs: config.intake.sweepIntervalMs },
  );
  sweeper.start();
  closers.push(() => sweeper.stop());
  if (opts.opsServer) {
    const ops = await startOpsServer({
      port: config.metrics.port,
      host: config.api.host,
      registry: metrics.registry,
      pingRedis: () => pingRedis(producer),
    });
    closers.push(() => new Promise<void>((resolve) => ops.close(() => resolve())));
    const address = ops.address();
    const opsUrl = typeof address === 'object' && address ? `http://127.0.0.1:${address.port}` : undefined;
    if (opsUrl !== undefined) started.opsUrl = opsUrl;
    log.info({ url: opsUrl }, 'worker metrics and health listening');
  }
  return started;
}

/** What {@link startApi} started: fields of {@link RunningSwitchboard}. */
export type StartedApi = Required<Pick<RunningSwitchboard, 'api' | 'apiUrl'>>;

/** The `api` role: the Fastify app (admission, callbacks, console, docs) on `API_PORT`. */
export async function startApi(s: Services, closers: Closer[]): Promise<StartedApi> {
  const { config, log, now, producer, store, queues } = s;
  // Loaded only by the roles that serve HTTP: Fastify's plugins, Swagger and Bull Board are
  // ~10 MiB a worker process has no use for.
  const { createApiApp } = await import('./api/api-app.ts');
  // Callbacks arriving within 5 ms share one dlr job (up to 200 events): a carrier waits 5 ms
  // longer for its 204, and a message's callbacks stop costing a BullMQ job each.
  const dlrBatcher = new DlrBatcher((data, dedupeId) => queues.addDlr(data, dedupeId), { windowMs: 5, maxEvents: 200 }, now);
  closers.push(async () => dlrBatcher.flush());
  const app = createApiApp({
    dlrBatcher,
    config,
    redis: producer,
    store,
    queues,
    adapters: s.adapters,
    keys: new ApiKeyRing(config.apiKeys, config),
    keyRing: s.keyRing,
    recorder: s.recorder,
    metrics: s.metrics,
    deadLetters: s.deadLetters,
    endpoints: s.endpoints,
    log: log.child({ role: 'api' }),
    now,
    ssrf: s.ssrf,
    suppression: s.suppression,
    audit: s.audit,
    ...(config.intake.waitReplicas > 0
      ? {
          replicaWait: new ReplicaWait(producer, store.keys.acceptedIndex, config.intake.waitReplicas, config.intake.waitReplicasTimeoutMs),
        }
      : {}),
    routing: { health: s.health, tiers: s.tiers, breakers: s.breakers },
    webhookLog: s.webhookLog,
  });
  await app.listen({ port: config.api.port, host: config.api.host });
  closers.push(() => app.close());
  const address = app.server.address();
  const apiUrl = typeof address === 'object' && address ? `http://127.0.0.1:${address.port}` : `http://127.0.0.1:${config.api.port}`;
  log.info({ url: apiUrl, mode: config.mode }, 'API listening');
  return { api: app, apiUrl };
}

/**
 * Starts a role (`all` composes the others: the sandbox first in sandbox mode, then the shared
 * services, the worker, the API last, so `/readyz` answers only once everything behind it runs).
 * On a failed start, what did start is closed again before the error is rethrown.
 */
export async function startSwitchboard(opts: StartOptions): Promise<RunningSwitchboard> {
  const { role, config, log } = opts;
  const now = opts.now ?? Date.now;
  const closers: Closer[] = [];
  const running: RunningSwitchboard = {
    role,
    async close() {
      for (const close of closers.splice(0).reverse()) {
        try {
          await close();
        } catch (err) {
          log.warn({ err: (err as Error).message }, 'error while closing');
        }
      }
    },
  };

  try {
    if (role === 'sandbox' || (role === 'all' && config.mode === 'sandbox')) {
      Object.assign(running, await startSandbox(config, log, closers));
      if (role === 'sandbox') return running;
    }
    const services = await buildServices(
      config,
      {
        log,
        now,
        reportQueueDepth: role === 'api' || role === 'all',
        ...(opts.redisWaitMs !== undefined ? { redisWaitMs: opts.redisWaitMs } : {}),
        ...(opts.resolveHost !== undefined ? { resolveHost: opts.resolveHost } : {}),
      },
      closers,
    );
    running.metrics = services.metrics;
    startOutboxRelay(services, closers);
    if (role === 'worker' || role === 'all') Object.assign(running, await startWorker(services, closers, { opsServer: role === 'worker' }));
    if (role === 'api' || role === 'all') Object.assign(running, await startApi(services, closers));
    return running;
  } catch (err) {
    await running.close();
    throw err;
  }
}

/**
 * What the pipeline stages need, injected by the composition root (no module-level singletons).
 */
import type { RedisClient } from '../store/redis-client.ts';
import type { ProviderAdapter, ProviderId } from '../../providers/provider.ts';
import type { Config } from '../config/config.schema.ts';
import type { Logger } from '../logger.ts';
import type { QueueSet } from '../queues/queue-set.ts';
import type { KeyRing } from '../security/master-key.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { BreakerRegistry } from '../resilience/breaker-registry.ts';
import type { HealthStore, TierCounter } from '../routing/health.store.ts';
import type { LookupCache } from '../store/lookup-cache.store.ts';
import type { MessageStore } from '../store/message.store.ts';
import type { PushAckPosteriorStore } from '../store/push-ack-posterior.store.ts';
import type { SuppressionStore } from '../store/suppression.store.ts';
import type { ConversionStore } from '../store/conversion.store.ts';
import type { PumpingStore } from '../store/pumping.store.ts';
import type { MessageRecorder } from '../store/message-recorder.ts';

/**
 * What the pumping stage needs beyond the pipeline's usual deps (the stores' read and count calls
 * only). Declared here, not in pumping.stage.ts, which reads `PipelineDeps`: one direction, no type
 * cycle (DESIGN §3).
 */
export interface PumpingStageDeps {
  store: Pick<PumpingStore, 'count' | 'isReporter'>;
  conversions: Pick<ConversionStore, 'counts'>;
}

/** Everything a stage may use; each stage takes the `Pick` it reads, so a unit test builds only that. */
export interface PipelineDeps {
  config: Config;
  /** The producer connection, for small stage caches (RCS capability). */
  redis: RedisClient;
  store: MessageStore;
  /** Every message change goes through the recorder (events + metrics). */
  recorder: MessageRecorder;
  metrics: Metrics;
  queues: QueueSet;
  adapters: ReadonlyMap<ProviderId, ProviderAdapter>;
  keyRing: KeyRing;
  health: HealthStore;
  tiers: TierCounter;
  breakers: BreakerRegistry;
  lookupCache: LookupCache;
  log: Logger;
  /** Base URL carriers post callbacks to (`SWITCHBOARD_PUBLIC_URL`). */
  publicUrl: string;
  now: () => number;
  /** Opt-out list: a send refused as unsubscribed (Twilio 21610) adds the number. */
  suppression: SuppressionStore;
  /** SMS-pumping guard state. */
  pumping: PumpingStageDeps;
  /** Each push token's ack evidence (predicted push skip); without it push is never skipped. */
  pushPosterior?: PushAckPosteriorStore;
}

/**
 * What the API needs, injected by the composition root so tests build an app around a real
 * Redis and fake nothing else.
 */
import type { RedisClient } from '../store/redis-client.ts';
import type { ProviderAdapter, ProviderId } from '../../providers/provider.ts';
import type { Config } from '../config/config.schema.ts';
import type { Logger } from '../logger.ts';
import type { DlrBatcher } from '../queues/dlr-batcher.ts';
import type { QueueSet } from '../queues/queue-set.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { MessageRecorder } from '../store/message-recorder.ts';
import type { KeyRing } from '../security/master-key.ts';
import type { SsrfGuard } from '../security/ssrf-guard.ts';
import type { AuditTrail } from '../policy/audit-trail.ts';
import type { SuppressionStore } from '../store/suppression.store.ts';
import type { MessageStore } from '../store/message.store.ts';
import type { ReplicaWait } from '../store/replica-wait.ts';
import type { BreakerRegistry } from '../resilience/breaker-registry.ts';
import type { HealthStore, TierCounter } from '../routing/health.store.ts';
import type { DeadLetterStore } from '../webhooks/dead-letter.store.ts';
import type { EndpointRegistryStore } from '../webhooks/endpoint-registry.store.ts';
import type { WebhookDeliveryLog } from '../webhooks/webhook-delivery-log.store.ts';
import type { ApiKeyRing } from '../security/api-keys.ts';

export interface ApiDeps {
  config: Config;
  redis: RedisClient;
  store: MessageStore;
  queues: QueueSet;
  /** Carrier callbacks onto the `dlr` queue, in batches. */
  dlrBatcher: DlrBatcher;
  adapters: ReadonlyMap<ProviderId, ProviderAdapter>;
  keys: ApiKeyRing;
  /** HKDF subkeys: OTP HMACs (verify) and phone/user tokens (rate-limit keys). */
  keyRing: KeyRing;
  /** Verification and conversion change the message like any stage: events and metrics included. */
  recorder: MessageRecorder;
  metrics: Metrics;
  deadLetters: DeadLetterStore;
  /** Webhook endpoints and their enabled/disabled state. */
  endpoints: EndpointRegistryStore;
  log: Logger;
  now: () => number;
  /** SSRF guard of `callbackUrl`s at admission. */
  ssrf: SsrfGuard;
  /** The opt-out list: admission refuses its numbers, inbound STOP/START move it. */
  suppression: SuppressionStore;
  /** The audit stream: admission decisions, opt-outs, `GET /v1/audit`. */
  audit: AuditTrail;
  /** Set when `intake.waitReplicas` > 0: a 202 waits until that many replicas hold the message. */
  replicaWait?: ReplicaWait;
  /** What routing reads (the ops console shows breakers, health and the route each country takes now). */
  routing: { health: HealthStore; tiers: TierCounter; breakers: BreakerRegistry };
  /** Each webhook try's answer, per message (the ops console's message page). */
  webhookLog: WebhookDeliveryLog;
}

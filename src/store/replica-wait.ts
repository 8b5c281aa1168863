/**
 * Synchronous replication on demand (Redis `WAIT`). Redis replicates asynchronously: a primary
 * that dies a few milliseconds after answering may take the last writes with it, and a Sentinel
 * or Cluster failover promotes a replica without them. Deployments that must never lose an
 * accepted message set `intake.waitReplicas`, and the API answers 202 only once that many
 * replicas acknowledged every write the connection made so far (the message, its idempotency
 * record and its jobs).
 */
import type { RedisClient } from './redis-client.ts';

/** Fewer replicas acknowledged than configured; the write is on the primary only. */
export class NotReplicatedError extends Error {
  readonly acknowledged: number;
  readonly wanted: number;
  constructor(acknowledged: number, wanted: number, timeoutMs: number) {
    super(
      `${acknowledged} of ${wanted} replica(s) acknowledged within ${timeoutMs} ms; the message is on the primary only. ` +
        'Retry with the same Idempotency-Key (the replay answers the same message), or check the replicas (INFO replication).',
    );
    this.name = 'NotReplicatedError';
    this.acknowledged = acknowledged;
    this.wanted = wanted;
  }
}

export class ReplicaWait {
  private readonly redis: RedisClient;
  private readonly slotKey: string;
  private readonly replicas: number;
  private readonly timeoutMs: number;

  /**
   * `slotKey` is any key under the deployment's prefix: under Redis Cluster it routes `WAIT`
   * (which names no key) to the primary that holds the prefix's slot, on the same connection
   * that made the writes.
   */
  constructor(redis: RedisClient, slotKey: string, replicas: number, timeoutMs: number) {
    this.redis = redis;
    this.slotKey = slotKey;
    this.replicas = replicas;
    this.timeoutMs = timeoutMs;
  }

  /** Resolves once enough replicas hold this connection's writes; throws `NotReplicatedError` otherwise. */
  async confirm(): Promise<void> {
    if (this.replicas <= 0) return;
    const results = await this.redis.pipeline().exists(this.slotKey).call('WAIT', this.replicas, this.timeoutMs).exec();
    const [, waitResult] = results ?? [];
    if (waitResult === undefined) throw new NotReplicatedError(0, this.replicas, this.timeoutMs);
    const [err, acknowledged] = waitResult;
    if (err) throw err;
    const n = Number(acknowledged);
    if (!(n >= this.replicas)) throw new NotReplicatedError(Number.isFinite(n) ? n : 0, this.replicas, this.timeoutMs);
  }
}

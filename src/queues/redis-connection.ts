/**
 * Redis connections (CONTRACTS §5 `REDIS_URL`). Producers fail fast when Redis is down (the API
 * must answer 503 at once, never hang), workers wait for it to come back (DESIGN §7) — so the two
 * roles get differently configured clients.
 */
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { RedisClient } from '../store/redis-client.ts';
import { parseRedisUrl, RedisUrlError } from '../config/redis-url.parse.ts';

export { RedisUrlError } from '../config/redis-url.parse.ts';

export type { RedisClient } from '../store/redis-client.ts';

/**
 * Turns `redis://`, `rediss://` or `redis+sentinel://[:pw@]h:p[,h:p…]/<master>[/<db>]` into
 * ioredis options. A Cluster URL has no single-client options: use `createRedis`.
 */
export function redisOptionsFromUrl(url: string): RedisOptions {
  const target = parseRedisUrl(url);
  if (target.kind === 'cluster') throw new RedisUrlError('a Cluster URL needs a Cluster client (createRedis), not single-server options');
  return target.options;
}

export type RedisRole = 'producer' | 'worker';

const RETRY = (times: number): number => Math.min(100 * 2 ** Math.min(times, 6), 2_000);

function roleOptions(role: RedisRole): RedisOptions {
  return role === 'producer'
    ? { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2_000, commandTimeout: 5_000 }
    : { maxRetriesPerRequest: null, enableReadyCheck: true };
}

/**
 * Cluster client options. BullMQ's blocking worker connections need `maxRetriesPerRequest: null`
 * on the node connections (it reads them from `redisOptions`); producers keep the fail-fast node
 * options and no offline queue at the cluster level, so intake answers 503 while slots move
 * instead of queueing requests in memory. TLS endpoints are dialled by the name given (certificates
 * name the host, not the address `CLUSTER SLOTS` reports).
 */
function clusterOptions(role: RedisRole, nodeOptions: RedisOptions, tls: boolean, extra: RedisOptions): ClusterOptions {
  const { maxRetriesPerRequest, enableOfflineQueue, enableAutoPipelining, ...nodeExtra } = extra;
  const node = {
    ...nodeOptions,
    ...roleOptions(role),
    ...nodeExtra,
    ...(maxRetriesPerRequest !== undefined ? { maxRetriesPerRequest } : {}),
  };
  return {
    redisOptions: node,
    enableOfflineQueue: enableOfflineQueue ?? role === 'worker',
    enableReadyCheck: true,
    // A Cluster pipelines per node itself: the option belongs here, not in the node options.
    ...(enableAutoPipelining !== undefined ? { enableAutoPipelining } : {}),
    clusterRetryStrategy: RETRY,
    retryDelayOnFailover: 100,
    retryDelayOnClusterDown: 100,
    retryDelayOnTryAgain: 100,
    slotsRefreshTimeout: 2_000,
    ...(tls ? { dnsLookup: (address: string, callback: (err: Error | null, address: string) => void) => callback(null, address) } : {}),
  };
}

/**
 * A client for `role`: producers have no offline queue and a short connect timeout so requests
 * fail fast; workers retry forever (`maxRetriesPerRequest: null`, as BullMQ requires). A
 * `redis-cluster://` URL gets an ioredis `Cluster` with the same split.
 */
export function createRedis(url: string, role: RedisRole, extra: RedisOptions = {}): RedisClient {
  const target = parseRedisUrl(url);
  const client: RedisClient =
    target.kind === 'cluster'
      ? new Cluster(target.nodes, clusterOptions(role, target.nodeOptions, target.tls, extra))
      : new Redis({ ...target.options, ...roleOptions(role), lazyConnect: false, retryStrategy: RETRY, ...extra });
  // Connection errors are reported through readiness and the callers' failures; an unhandled
  // 'error' event would crash the process while Redis restarts.
  client.on('error', () => undefined);
  return client;
}

/** Resolves when `client` answers PING within `timeoutMs`; false otherwise. */
export async function pingRedis(client: RedisClient, timeoutMs = 1_000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const result = await Promise.race([
      client.ping(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
      }),
    ]);
    return result === 'PONG';
  } catch {
    return false;
  } finally {
    if (timer) clearTimeout(timer);
  }
}

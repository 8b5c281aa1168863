/**
 * The webhook endpoints Switchboard posts to and whether each one is enabled (CONTRACTS §3,
 * `GET /v1/webhooks/endpoints`, `POST /v1/webhooks/endpoints/enable`). An endpoint that answers
 * 410 Gone is disabled: its events are dead-lettered (never dropped) until an operator enables it
 * again, here or by replaying one of its dead letters.
 *
 * Endpoints are remembered as events are addressed to them (a capped ZSET scored by last use), so
 * ops can list what is in use without a separate registry to maintain.
 */
import type { RedisClient } from '../store/redis-client.ts';
import type { RedisKeys } from '../store/redis-keys.ts';

/** How many endpoints are remembered; the least recently used fall off first. */
export const KNOWN_ENDPOINTS_CAP = 10_000;

/** A delivery refreshes its endpoint's last use at most this often per process (one HGET otherwise). */
const TOUCH_EVERY_MS = 60_000;
/** Endpoints whose last refresh this process remembers. */
const TOUCH_CACHE_SIZE = 1_000;

export type EndpointState = 'enabled' | 'disabled';

/** One endpoint as ops see it; `disabledAt` and `reason` only while disabled. */
export interface WebhookEndpoint {
  url: string;
  state: EndpointState;
  /** RFC 3339 time the endpoint was disabled. */
  disabledAt?: string;
  /** Why, e.g. `HTTP 410 Gone`. */
  reason?: string;
}

/** What a delivery needs to know before it posts. */
export type EndpointCheck = { state: 'enabled' } | { state: 'disabled'; disabledAt: string; reason: string };

interface DisabledEntry {
  disabledAt: string;
  reason: string;
}

function parseEntry(raw: string): DisabledEntry {
  try {
    const v = JSON.parse(raw) as Partial<DisabledEntry>;
    return {
      disabledAt: typeof v.disabledAt === 'string' ? v.disabledAt : new Date(0).toISOString(),
      reason: typeof v.reason === 'string' ? v.reason : 'disabled',
    };
  } catch {
    return { disabledAt: new Date(0).toISOString(), reason: 'disabled' };
  }
}

/**
 * The store of endpoint states. The webhook worker calls {@link EndpointRegistryStore.check}
 * once per delivery (one round trip that also records the endpoint as in use); the API and the
 * ops console call {@link EndpointRegistryStore.list} and {@link EndpointRegistryStore.enable}.
 */
export class EndpointRegistryStore {
  private readonly redis: RedisClient;
  private readonly keys: RedisKeys;
  /** url → when this process last recorded it as in use. */
  private readonly touched = new Map<string, number>();

  constructor(redis: RedisClient, keys: RedisKeys) {
    this.redis = redis;
    this.keys = keys;
  }

  /**
   * Whether `url` may be posted to now. One round trip; it also records the endpoint as in use,
   * at most once a minute per process, so a busy endpoint costs one HGET per delivery.
   */
  async check(url: string, nowMs: number): Promise<EndpointCheck> {
    const last = this.touched.get(url);
    let raw: unknown;
    if (last !== undefined && nowMs - last < TOUCH_EVERY_MS) {
      raw = await this.redis.hget(this.keys.disabledEndpoints, url);
    } else {
      const res = await this.redis.multi().hget(this.keys.disabledEndpoints, url).zadd(this.keys.knownEndpoints, nowMs, url).exec();
      raw = res?.[0]?.[1];
      this.touched.delete(url);
      this.touched.set(url, nowMs);
      if (this.touched.size > TOUCH_CACHE_SIZE) this.touched.delete(this.touched.keys().next().value as string);
      // A new endpoint: keep the list bounded (rare, so not on every delivery).
      if (res?.[1]?.[1] === 1) await this.redis.zremrangebyrank(this.keys.knownEndpoints, 0, -(KNOWN_ENDPOINTS_CAP + 1));
    }
    if (typeof raw !== 'string') return { state: 'enabled' };
    return { state: 'disabled', ...parseEntry(raw) };
  }

  /** Disables `url` (first reason wins while it stays disabled). */
  async disable(url: string, reason: string, nowMs: number): Promise<void> {
    const entry: DisabledEntry = { disabledAt: new Date(nowMs).toISOString(), reason };
    await this.redis
      .multi()
      .hsetnx(this.keys.disabledEndpoints, url, JSON.stringify(entry))
      .zadd(this.keys.knownEndpoints, nowMs, url)
      .exec();
  }

  /**
   * Enables `url` again; true when it was disabled. Its dead letters stay where they are: replay
   * them (`POST /v1/webhooks/dead-letters/:eventId/replay`) once the receiver works.
   */
  async enable(url: string): Promise<boolean> {
    return (await this.redis.hdel(this.keys.disabledEndpoints, url)) === 1;
  }

  /** One endpoint's state; `undefined` when Switchboard never addressed an event to it. */
  async get(url: string): Promise<WebhookEndpoint | undefined> {
    const [[, raw] = [null, null], [, score] = [null, null]] = ((await this.redis
      .multi()
      .hget(this.keys.disabledEndpoints, url)
      .zscore(this.keys.knownEndpoints, url)
      .exec()) ?? []) as Array<[Error | null, string | null]>;
    if (typeof raw === 'string') return { url, state: 'disabled', ...parseEntry(raw) };
    return score === null ? undefined : { url, state: 'enabled' };
  }

  /** Endpoints, disabled ones first (newest first), then enabled ones by most recent use; at most `limit`. */
  async list(limit = 500): Promise<WebhookEndpoint[]> {
    const [disabled, recent] = await Promise.all([
      this.redis.hgetall(this.keys.disabledEndpoints),
      this.redis.zrevrange(this.keys.knownEndpoints, 0, limit - 1),
    ]);
    const out: WebhookEndpoint[] = Object.entries(disabled)
      .map(([url, raw]) => ({ url, state: 'disabled' as const, ...parseEntry(raw) }))
      .sort((a, b) => (a.disabledAt < b.disabledAt ? 1 : a.disabledAt > b.disabledAt ? -1 : 0));
    for (const url of recent) if (disabled[url] === undefined) out.push({ url, state: 'enabled' });
    return out.slice(0, limit);
  }
}

/**
 * Redis connections (CONTRACTS §5 `REDIS_URL`). Producers fail fast when Redis is down (the API
 * must answer 503 at once, never hang), workers wait for it to come back (DESIGN §7) — so the two
 * roles get differently configured clients.
 */
import { Redis, type RedisOptions } from 'ioredis';

/** Thrown for a `REDIS_URL` we cannot use; the message says what form is expected. */
export class RedisUrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RedisUrlError';
  }
}

/**
 * `url` fit for a log line or an error message: the password (of `user:pw@` or `:pw@`) is
 * replaced by `***`, so a failed start never prints the credential it was given.
 */
export function redactRedisUrl(url: string): string {
  return url.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^@/]*)@/, (_m, scheme: string, auth: string) => {
    const colon = auth.indexOf(':');
    return colon === -1 ? `${scheme}***@` : `${scheme}${auth.slice(0, colon)}:***@`;
  });
}

/**
 * Turns `redis://`, `rediss://` or `redis+sentinel://[:pw@]h:p[,h:p…]/<master>[/<db>]` into
 * ioredis options.
 */
export function redisOptionsFromUrl(url: string): RedisOptions {
  if (url.startsWith('redis+sentinel://')) {
    const rest = url.slice('redis+sentinel://'.length);
    const at = rest.lastIndexOf('@', rest.indexOf('/') === -1 ? undefined : rest.indexOf('/'));
    const auth = at === -1 ? '' : rest.slice(0, at);
    const afterAuth = at === -1 ? rest : rest.slice(at + 1);
    const [hostList = '', master, db] = afterAuth.split('/');
    if (!master) throw new RedisUrlError('REDIS_URL: a sentinel URL needs the master name: redis+sentinel://host:26379/mymaster');
    const sentinels = hostList.split(',').map((hp) => {
      const [host = '', port = '26379'] = hp.split(':');
      if (!host) throw new RedisUrlError(`REDIS_URL: bad sentinel address "${hp}"`);
      return { host, port: Number(port) };
    });
    const password = auth.includes(':') ? decodeURIComponent(auth.slice(auth.indexOf(':') + 1)) : auth ? decodeURIComponent(auth) : undefined;
    return {
      sentinels,
      name: master,
      ...(db !== undefined && db !== '' ? { db: Number(db) } : {}),
      ...(password ? { password, sentinelPassword: password } : {}),
    };
  }
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new RedisUrlError(`REDIS_URL: "${redactRedisUrl(url)}" is not a URL (expected redis://host:6379)`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new RedisUrlError(`REDIS_URL: unsupported scheme ${u.protocol}`);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : undefined;
  return {
    host: u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(db !== undefined && Number.isInteger(db) ? { db } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

export type RedisRole = 'producer' | 'worker';

/**
 * A client for `role`: producers have no offline queue and a short connect timeout so requests
 * fail fast; workers retry forever (`maxRetriesPerRequest: null`, as BullMQ requires).
 */
export function createRedis(url: string, role: RedisRole, extra: RedisOptions = {}): Redis {
  const base = redisOptionsFromUrl(url);
  const roleOptions: RedisOptions =
    role === 'producer'
      ? { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2_000, commandTimeout: 5_000 }
      : { maxRetriesPerRequest: null, enableReadyCheck: true };
  const client = new Redis({
    ...base,
    ...roleOptions,
    lazyConnect: false,
    retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 6), 2_000),
    ...extra,
  });
  // Connection errors are reported through readiness and the callers' failures; an unhandled
  // 'error' event would crash the process while Redis restarts.
  client.on('error', () => undefined);
  return client;
}

/** Resolves when `client` answers PING within `timeoutMs`; false otherwise. */
export async function pingRedis(client: Redis, timeoutMs = 1_000): Promise<boolean> {
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

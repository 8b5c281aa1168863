/**
 * Recognises a Redis that cannot be reached, so every error handler answers 503 `SB_UNAVAILABLE`
 * (retry shortly) instead of a 500 or a hang.
 */
/**
 * What ioredis (standalone, Cluster, Sentinel) and BullMQ say when Redis is away, not ready or a
 * read-only replica: a stateless pattern (no `g` flag), so one is shared.
 */
const UNAVAILABLE = new RegExp(
  [
    "Stream isn't writeable",
    'Connection is closed',
    'connect ECONNREFUSED',
    'Command timed out',
    'Reached the max retries',
    "Cluster isn't ready",
    'CLUSTERDOWN',
    'TRYAGAIN',
    'Too many Cluster redirections',
    'Failed to refresh slots cache',
    'All sentinels are unreachable',
    '^READONLY',
    '^LOADING',
    '^MASTERDOWN',
  ].join('|'),
  'i',
);

/** Whether an error means Redis could not be reached (→ 503, never a hang or a 500). */
export function isRedisUnavailable(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { name?: unknown; message?: unknown; code?: unknown };
  const msg = typeof e.message === 'string' ? e.message : '';
  return e.name === 'MaxRetriesPerRequestError' || e.code === 'ECONNREFUSED' || e.code === 'ECONNRESET' || UNAVAILABLE.test(msg);
}

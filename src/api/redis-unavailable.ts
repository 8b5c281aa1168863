/**
 * Recognises a Redis that cannot be reached, so every error handler answers 503 `SB_UNAVAILABLE`
 * (retry shortly) instead of a 500 or a hang.
 */
/** Whether an error means Redis could not be reached (→ 503, never a hang or a 500). */
export function isRedisUnavailable(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { name?: unknown; message?: unknown; code?: unknown };
  const msg = typeof e.message === 'string' ? e.message : '';
  return (
    e.name === 'MaxRetriesPerRequestError' ||
    e.code === 'ECONNREFUSED' ||
    e.code === 'ECONNRESET' ||
    /Stream isn't writeable|Connection is closed|connect ECONNREFUSED|Command timed out|Reached the max retries|Cluster isn't ready|CLUSTERDOWN|TRYAGAIN|Too many Cluster redirections|Failed to refresh slots cache|All sentinels are unreachable|^READONLY|^LOADING|^MASTERDOWN/i.test(msg)
  );
}

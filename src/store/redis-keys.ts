/**
 * Every Redis key Switchboard writes outside BullMQ, in one place, under the configured prefix
 * (CONTRACTS §5 `SWITCHBOARD_REDIS_PREFIX`), so a test or a second deployment on the same Redis
 * never touches another's data.
 */
export interface RedisKeys {
  message(id: string): string;
  idempotency(keyName: string, keyHash: string): string;
  ledger(id: string, attempt: number): string;
  /** ZSET: messages still `accepted`, scored by creation time (the sweeper's worklist). */
  acceptedIndex: string;
  /** ZSET (lexicographic, score 0): message ids of one API key, for listing. */
  keyIndex(keyName: string): string;
  /** ZSET (lexicographic, score 0): every message id, for admin listing. */
  allIndex: string;
  /** LIST: webhook events written with their change, waiting to be moved to the `events` queue. */
  outbox: string;
  /** ZSET: dead-lettered webhook events (member = event id, score = time), details in `deadLetter(id)`. */
  deadLetters: string;
  deadLetter(eventId: string): string;
  /** HASH: disabled webhook endpoints (field = URL, value = JSON `{disabledAt, reason}`). */
  disabledEndpoints: string;
  /** ZSET: webhook endpoints events were addressed to (member = URL, score = last use, ms). */
  knownEndpoints: string;
  /** LIST: the webhook delivery tries of one message's events, newest first (the ops console reads it). */
  webhookLog(messageId: string): string;
  lock(name: string): string;
  secret(name: string): string;
  /** ZSET sliding window of one admission limit (member = message id, score = admission time). */
  rateLimit(kind: 'key' | 'otp-user' | 'otp-number', keyName: string, token?: string): string;
  /** HASH `fails`, `verified`: the verification state of one message's code. */
  otpAttempts(messageId: string): string;
  /** HASH of conversion counters for one UTC hour (`YYYYMMDDHH`), per country and number prefix. */
  conversions(hour: string): string;
  /** STRING: the opt-out entry of one phone token (suppression list, no expiry). */
  optOut(phoneToken: string): string;
  /**
   * Pumping guard state: of one dimension token, `b` its HASH (sliding-window slots and baseline) and
   * `t` its tripwire HASH; `m` with a message id, that message's "counted" marker.
   */
  pumping(kind: 'b' | 't' | 'm', tokenOrMessageId: string): string;
  /** HASH: API keys that reported a conversion (field = key name, value = last report ms). */
  conversionReporters: string;
  /** STREAM: the audit trail (capped with `MAXLEN ~`). */
  audit: string;
  /**
   * ZSET: messages still open long after a carrier took them (member = message id, score = that
   * acceptance, ms), kept by their watches; `switchboard_messages_stuck_sent` counts it.
   */
  stuckSent: string;
  /**
   * ZSET: each open message's next deadline (member = message id, score = when its watch is due, ms on
   * the pipeline's clock). Written by the intake call and by each firing; the worker's watch poller
   * claims due entries with a lease, so a killed worker's watch comes due again.
   */
  watchDue: string;
  /** HASH: the back-off state of watches that have one (field = message id, value = JSON). */
  watchState: string;
  /** HASH `t a m s`: the ack evidence of one push token, keyed by an HMAC of the token (never the token). */
  pushAckPosterior(tokenHash: string): string;
}

export function redisKeys(prefix: string): RedisKeys {
  return {
    message: (id) => `${prefix}:msg:${id}`,
    idempotency: (keyName, keyHash) => `${prefix}:idem:${keyName}:${keyHash}`,
    ledger: (id, n) => `${prefix}:ledger:${id}:${n}`,
    acceptedIndex: `${prefix}:idx:accepted`,
    keyIndex: (keyName) => `${prefix}:idx:key:${keyName}`,
    allIndex: `${prefix}:idx:all`,
    outbox: `${prefix}:outbox`,
    deadLetters: `${prefix}:dlq`,
    deadLetter: (eventId) => `${prefix}:dlq:${eventId}`,
    disabledEndpoints: `${prefix}:webhooks:disabled-endpoints`,
    knownEndpoints: `${prefix}:webhooks:endpoints`,
    webhookLog: (messageId) => `${prefix}:webhooks:log:${messageId}`,
    lock: (name) => `${prefix}:lock:${name}`,
    secret: (name) => `${prefix}:secret:${name}`,
    rateLimit: (kind, keyName, token) => `${prefix}:rl:${kind}:${keyName}${token !== undefined ? `:${token}` : ''}`,
    otpAttempts: (messageId) => `${prefix}:otp:${messageId}`,
    conversions: (hour) => `${prefix}:conv:${hour}`,
    optOut: (token) => `${prefix}:optout:${token}`,
    pumping: (kind, token) => `${prefix}:pump:${kind}:${token}`,
    conversionReporters: `${prefix}:pump:reporters`,
    stuckSent: `${prefix}:idx:stuck`,
    watchDue: `${prefix}:watch:due`,
    watchState: `${prefix}:watch:state`,
    audit: `${prefix}:audit`,
    pushAckPosterior: (tokenHash) => `${prefix}:pushack:${tokenHash}`,
  };
}

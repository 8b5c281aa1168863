/**
 * Status rules of CONTRACTS §2, as pure functions over a message draft. Carriers retry and reorder
 * callbacks (reference §6), so every transition is monotonic: a late `sent` after `delivered`, or
 * the same `delivered` three times, is absorbed rather than applied.
 */
import {
  TERMINAL_ATTEMPT_STATUSES,
  TERMINAL_MESSAGE_STATUSES,
  type Attempt,
  type AttemptStatus,
  type Channel,
  type ErrorInfo,
  type FallbackReason,
  type MessageRecord,
  type MessageStatus,
  type ProviderId,
  type TimelineEntry,
} from './message.ts';

const ATTEMPT_RANK: Record<AttemptStatus, number> = { queued: 0, sent: 1, delivered: 2, undelivered: 2, failed: 2 };
const MESSAGE_RANK: Record<MessageStatus, number> = {
  accepted: 0,
  queued: 1,
  sent: 2,
  delivered: 3,
  undelivered: 3,
  failed: 3,
  expired: 3,
};

export function isTerminalMessageStatus(s: MessageStatus): boolean {
  return TERMINAL_MESSAGE_STATUSES.has(s);
}

export function isTerminalAttemptStatus(s: AttemptStatus): boolean {
  return TERMINAL_ATTEMPT_STATUSES.has(s);
}

/** An attempt only moves forward; once terminal it never changes. */
export function canMoveAttempt(from: AttemptStatus, to: AttemptStatus): boolean {
  return ATTEMPT_RANK[to] > ATTEMPT_RANK[from];
}

/**
 * The message status implied by its attempts (CONTRACTS §2):
 * `accepted` until the first attempt; then the furthest status of the current attempt, never
 * backwards; `delivered` as soon as one attempt is; `undelivered`/`failed` only once `final`.
 */
export function deriveMessageStatus(msg: Pick<MessageRecord, 'status' | 'attempts' | 'final'>): MessageStatus {
  if (isTerminalMessageStatus(msg.status)) return msg.status;
  if (msg.attempts.some((a) => a.status === 'delivered')) return 'delivered';
  const current = msg.attempts[msg.attempts.length - 1];
  if (current === undefined) return msg.final ? 'failed' : msg.status;
  if (current.status === 'undelivered' || current.status === 'failed') {
    return msg.final ? current.status : msg.status;
  }
  return MESSAGE_RANK[current.status] > MESSAGE_RANK[msg.status] ? current.status : msg.status;
}

function push(msg: MessageRecord, entry: TimelineEntry): void {
  msg.timeline.push(entry);
}

/** Recomputes `status` and `updatedAt`; returns whether the status changed. */
export function settle(msg: MessageRecord, at: string): boolean {
  const next = deriveMessageStatus(msg);
  msg.updatedAt = at;
  if (next === msg.status) return false;
  msg.status = next;
  return true;
}

/** Starts attempt `n` (or returns it when a retried job finds it already started). */
export function startAttempt(
  msg: MessageRecord,
  n: number,
  channel: Channel,
  provider: ProviderId,
  at: string,
  fallbackReason?: FallbackReason,
  skippedChannel?: Channel,
): Attempt {
  const existing = msg.attempts.find((a) => a.n === n);
  if (existing) return existing;
  const attempt: Attempt = { n, channel, provider, status: 'queued', startedAt: at };
  const previous = msg.attempts[msg.attempts.length - 1];
  if (fallbackReason !== undefined && skippedChannel !== undefined) {
    attempt.fallback = { reason: fallbackReason, fromChannel: skippedChannel };
    push(msg, { at, type: 'fallback', channel, provider, detail: `${fallbackReason}: ${skippedChannel} skipped → ${channel}/${provider}` });
  } else if (fallbackReason !== undefined && previous !== undefined) {
    attempt.fallback = { reason: fallbackReason, fromChannel: previous.channel, fromProvider: previous.provider };
    push(msg, {
      at,
      type: 'fallback',
      channel,
      provider,
      detail: `${fallbackReason}: ${previous.channel}/${previous.provider} → ${channel}/${provider}`,
    });
  }
  msg.attempts.push(attempt);
  push(msg, { at, type: 'attempt', channel, provider, detail: `attempt ${n}` });
  settle(msg, at);
  return attempt;
}

/** Records the carrier's acceptance of attempt `n` (its message id, segments, cost). */
export function markAccepted(
  msg: MessageRecord,
  n: number,
  info: { providerMessageId: string; acceptedAt: string; segments?: number; cost?: { amount: number; currency: string } },
  at: string,
): void {
  const attempt = msg.attempts.find((a) => a.n === n);
  if (!attempt) return;
  if (attempt.providerMessageId === undefined) {
    attempt.providerMessageId = info.providerMessageId;
    attempt.acceptedAt = info.acceptedAt;
    if (info.segments !== undefined) attempt.segments = info.segments;
    if (info.cost !== undefined) attempt.cost = info.cost;
    push(msg, { at, type: 'carrier_accepted', channel: attempt.channel, provider: attempt.provider, detail: info.providerMessageId });
  }
  settle(msg, at);
}

/**
 * Moves attempt `n` to `status` if that is forward. Returns false (and changes nothing) for a
 * late or repeated report.
 */
export function moveAttempt(msg: MessageRecord, n: number, status: AttemptStatus, at: string, error?: ErrorInfo): boolean {
  const attempt = msg.attempts.find((a) => a.n === n);
  if (!attempt || !canMoveAttempt(attempt.status, status)) return false;
  attempt.status = status;
  if (status === 'sent') attempt.sentAt = at;
  if (status === 'delivered') {
    attempt.deliveredAt = at;
    attempt.sentAt ??= at;
  }
  if (error !== undefined && (status === 'failed' || status === 'undelivered')) attempt.error = error;
  return true;
}

/**
 * Applies a carrier callback to the attempt that carries `providerMessageId`; a status read of the
 * carrier (`source: 'reconciled'`) is applied the very same way, only its timeline entry differs.
 */
export function applyCallback(
  msg: MessageRecord,
  cb: {
    providerMessageId: string;
    status: AttemptStatus;
    rawStatus: string;
    errorCode?: string;
    errorMessage?: string;
    at: string;
    source?: 'callback' | 'reconciled';
  },
): { applied: boolean; attempt?: Attempt } {
  const attempt = msg.attempts.find((a) => a.providerMessageId === cb.providerMessageId);
  if (!attempt) return { applied: false };
  const error: ErrorInfo | undefined =
    cb.errorCode !== undefined || cb.status === 'undelivered' || cb.status === 'failed'
      ? {
          code: 'SB_DELIVERY_FAILED',
          message: cb.errorMessage ?? `carrier reported ${cb.rawStatus}${cb.errorCode ? ` (code ${cb.errorCode})` : ''}`,
          ...(cb.errorCode !== undefined ? { providerCode: cb.errorCode } : {}),
        }
      : undefined;
  if (!moveAttempt(msg, attempt.n, cb.status, cb.at, error)) return { applied: false, attempt };
  push(msg, {
    at: cb.at,
    type: cb.source ?? 'callback',
    channel: attempt.channel,
    provider: attempt.provider,
    detail: cb.errorCode ? `${cb.rawStatus} (${cb.errorCode})` : cb.rawStatus,
  });
  settle(msg, cb.at);
  return { applied: true, attempt };
}

/**
 * Notes a read receipt (WhatsApp, RCS) of an attempt that is already delivered: the status does
 * not move (read is delivered-or-better), the timeline says when it was read, once. Returns
 * whether it noted anything (false for an unknown attempt, one not delivered, or a repeat).
 */
export function noteRead(msg: MessageRecord, cb: { providerMessageId: string; at: string; source?: 'callback' | 'reconciled' }): boolean {
  const attempt = msg.attempts.find((a) => a.providerMessageId === cb.providerMessageId);
  if (attempt === undefined || attempt.status !== 'delivered') return false;
  if (
    msg.timeline.some(
      (t) =>
        (t.type === 'callback' || t.type === 'reconciled') &&
        t.detail === 'read' &&
        t.provider === attempt.provider &&
        t.channel === attempt.channel,
    )
  )
    return false;
  push(msg, { at: cb.at, type: cb.source ?? 'callback', channel: attempt.channel, provider: attempt.provider, detail: 'read' });
  msg.updatedAt = cb.at > msg.updatedAt ? cb.at : msg.updatedAt;
  return true;
}

/** No further attempt will be made: the message may now settle as undelivered/failed. */
export function finalize(msg: MessageRecord, at: string, error?: ErrorInfo): void {
  msg.final = true;
  if (error !== undefined && msg.error === undefined && !msg.attempts.some((a) => a.status === 'delivered')) {
    msg.error = error;
    push(msg, { at, type: 'failed', detail: error.code });
  } else if (msg.error === undefined) {
    const last = msg.attempts[msg.attempts.length - 1];
    if (last?.error && (last.status === 'failed' || last.status === 'undelivered')) msg.error = last.error;
  }
  settle(msg, at);
}

/** Marks the message expired unless something was already delivered or it is terminal. */
export function expire(msg: MessageRecord, at: string): boolean {
  if (isTerminalMessageStatus(msg.status)) return false;
  if (msg.attempts.some((a) => a.status === 'delivered')) return false;
  msg.status = 'expired';
  msg.final = true;
  msg.updatedAt = at;
  msg.error ??= { code: 'SB_MESSAGE_EXPIRED', message: 'the message expired before any delivery' };
  push(msg, { at, type: 'expired' });
  return true;
}

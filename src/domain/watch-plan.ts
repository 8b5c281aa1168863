/**
 * The deadlines of one message (CONTRACTS §4 "Never stuck"), as pure functions: when its carrier
 * status must be read because no final callback came (reconciliation), when an OTP attempt has
 * gone too long without `delivered` (DLR timeout), and when it expires. The message's single
 * delayed `watch` job asks "what is due now, and when next?" each time it fires, so nothing scans
 * and nothing runs on the hot path: a message delivered in time costs one firing that finds it
 * terminal, as its expiry did before.
 */
import type { Attempt, MessageRecord } from './message.ts';
import { isTerminalAttemptStatus, isTerminalMessageStatus } from './status.ts';

/** When a readable attempt is read next, and the back-off gap after that read. */
export interface ReadSlot {
  nextAt: number;
  gapMs: number;
}

/** Read slots by attempt number (carried from one watch firing to the next, so restarts keep the back-off). */
export type ReadSchedule = Readonly<Record<string, ReadSlot>>;

export interface WatchSettings {
  now: number;
  /** First status read this long after the carrier accepted an attempt (`dlr.reconcileAfterMs`). */
  reconcileAfterMs: number;
  /** The OTP delivery timeout for messages that do not carry their own (`otp.deliveryTimeoutMs`). */
  deliveryTimeoutMs: number;
  /** At most this many attempts per message (`messages.maxAttempts`). */
  maxAttempts: number;
}

/** Reads stop doubling at this gap. */
export const MAX_READ_GAP_MS = 30 * 60_000;
/** The watch wakes at least this often while a message is open, so attempts started elsewhere are seen. */
export const MAX_WAKE_GAP_MS = 10 * 60_000;
/**
 * How long reads go on for a message without `expiresAt`: Sinch's maximum validity (3 days, the
 * longest of the carriers'), after which no carrier still tries to deliver it.
 */
export const NO_EXPIRY_HORIZON_MS = 3 * 86_400_000;
/**
 * A message still open this long after a carrier accepted its oldest open attempt is "stuck in
 * sent" (the `switchboard_messages_stuck_sent` gauge): reconciliation should have settled it.
 */
export const STUCK_AFTER_MS = 5 * 60_000;

/** When the oldest open, carrier-accepted attempt of an open message was accepted, if it was long enough ago to count as stuck. */
export function stuckSince(msg: MessageRecord, now: number): number | undefined {
  if (isTerminalMessageStatus(msg.status)) return undefined;
  const accepted = msg.attempts.filter((a) => isReadable(a) && a.acceptedAt !== undefined).map((a) => Date.parse(a.acceptedAt as string));
  if (accepted.length === 0) return undefined;
  const oldest = Math.min(...accepted);
  return now - oldest >= STUCK_AFTER_MS ? oldest : undefined;
}

/** A deadline this close counts as due now (the watch fires at admission time + timeout, acceptance comes a few ms later). */
export const DUE_SLACK_MS = 500;

export interface WatchPlan {
  /** The message is terminal, or its reads are over: the watch ends. */
  done: boolean;
  /** `expiresAt` has passed: expire it (after the reads, which may still find a delivery). */
  expire: boolean;
  /** Attempt numbers to read at the carrier now. */
  reads: number[];
  /** The current OTP attempt whose delivery timeout is due (the caller checks there is somewhere else to send). */
  dlrTimeout?: number;
  /** Read slots after this firing's reads. */
  schedule: Record<string, ReadSlot>;
  /** When to fire next; undefined when `done`. */
  nextAt?: number;
}

/** Whether the carrier can still tell us something about this attempt: accepted, not final, not push (FCM has no status). */
export function isReadable(a: Attempt): boolean {
  return a.channel !== 'push' && a.providerMessageId !== undefined && !isTerminalAttemptStatus(a.status);
}

/** The delivery timeout of an OTP message, or undefined when it has none (not an OTP). */
export function deliveryTimeoutOf(msg: Pick<MessageRecord, 'otp'>, fallbackMs: number): number | undefined {
  if (msg.otp === undefined) return undefined;
  return msg.otp.deliveryTimeoutMs ?? fallbackMs;
}

/** Until when reads go on: the message's validity. */
export function readHorizon(msg: Pick<MessageRecord, 'expiresAt' | 'createdAt'>): number {
  return msg.expiresAt !== undefined ? Date.parse(msg.expiresAt) : Date.parse(msg.createdAt) + NO_EXPIRY_HORIZON_MS;
}

/**
 * The current attempt when its DLR timeout applies: an OTP message, not verified, nothing
 * delivered, the latest attempt accepted by a carrier and still open, not timed out before, and
 * room for one more attempt.
 */
export function dlrTimeoutCandidate(
  msg: MessageRecord,
  s: Pick<WatchSettings, 'deliveryTimeoutMs' | 'maxAttempts'>,
): { attempt: Attempt; deadline: number } | undefined {
  const timeout = deliveryTimeoutOf(msg, s.deliveryTimeoutMs);
  if (timeout === undefined || msg.verifiedAt !== undefined || msg.final) return undefined;
  if (msg.attempts.some((a) => a.status === 'delivered') || msg.attempts.length >= s.maxAttempts) return undefined;
  const current = msg.attempts[msg.attempts.length - 1];
  if (current === undefined || current.dlrTimeout !== undefined || !isReadable(current) || current.acceptedAt === undefined)
    return undefined;
  return { attempt: current, deadline: Date.parse(current.acceptedAt) + timeout };
}

/** When the first watch of a freshly admitted message fires: its first deadline, at the latest its expiry. */
export function firstWatchAt(
  msg: Pick<MessageRecord, 'otp' | 'expiresAt' | 'createdAt'>,
  s: Pick<WatchSettings, 'reconcileAfterMs' | 'deliveryTimeoutMs'>,
): number {
  const created = Date.parse(msg.createdAt);
  const timeout = deliveryTimeoutOf(msg, s.deliveryTimeoutMs);
  const first = created + Math.min(s.reconcileAfterMs, timeout ?? Infinity);
  return msg.expiresAt !== undefined ? Math.min(first, Date.parse(msg.expiresAt)) : first;
}

/**
 * What is due for `msg` at `s.now`, given the read slots of earlier firings, and when to fire next.
 * An attempt is first read `reconcileAfterMs` after its acceptance, then after doubling gaps (capped
 * at {@link MAX_READ_GAP_MS}) until the message's validity ends. An attempt whose DLR timeout is due
 * is read at once too: a lost `delivered` must not cause a resend.
 */
export function planWatch(msg: MessageRecord, schedule: ReadSchedule, s: WatchSettings): WatchPlan {
  const { now } = s;
  if (isTerminalMessageStatus(msg.status)) return { done: true, expire: false, reads: [], schedule: {} };
  const horizon = readHorizon(msg);
  const expiresAt = msg.expiresAt !== undefined ? Date.parse(msg.expiresAt) : undefined;
  const expire = expiresAt !== undefined && expiresAt <= now;
  const next: Record<string, ReadSlot> = {};
  const reads: number[] = [];
  const wakes: number[] = [];

  const candidate = dlrTimeoutCandidate(msg, s);
  const dlrDue = candidate !== undefined && candidate.deadline <= now + DUE_SLACK_MS;
  for (const a of msg.attempts) {
    if (!isReadable(a) || a.acceptedAt === undefined) continue;
    const slot = schedule[String(a.n)] ?? { nextAt: Date.parse(a.acceptedAt) + s.reconcileAfterMs, gapMs: s.reconcileAfterMs };
    const due = (slot.nextAt <= now + DUE_SLACK_MS && slot.nextAt <= horizon) || (dlrDue && candidate?.attempt.n === a.n) || expire;
    if (due) {
      reads.push(a.n);
      const gapMs = Math.min(MAX_READ_GAP_MS, slot.gapMs * 2);
      next[String(a.n)] = { nextAt: now + slot.gapMs, gapMs };
    } else {
      next[String(a.n)] = slot;
    }
    const upcoming = next[String(a.n)]?.nextAt;
    if (upcoming !== undefined && upcoming <= horizon) wakes.push(upcoming);
  }
  if (candidate !== undefined && !dlrDue) wakes.push(candidate.deadline);
  if (expiresAt !== undefined && !expire) wakes.push(expiresAt);

  // An attempt on its way to a carrier (or a follow-up about to start) has no deadline yet: look
  // again once its delivery timeout (or first read) could be due.
  const last = msg.attempts[msg.attempts.length - 1];
  const inFlight =
    last === undefined ||
    (last.channel !== 'push' && last.providerMessageId === undefined && last.status === 'queued') ||
    last.dlrTimeout !== undefined;
  if (inFlight && !expire) {
    const timeout = deliveryTimeoutOf(msg, s.deliveryTimeoutMs);
    wakes.push(now + Math.min(s.reconcileAfterMs, timeout ?? Infinity));
  }

  const open = !expire && (now < horizon || expiresAt !== undefined);
  if (open) wakes.push(now + MAX_WAKE_GAP_MS);
  const nextAt = wakes.length > 0 ? Math.min(...wakes.map((w) => Math.max(w, now + 1))) : undefined;
  const done = !expire && reads.length === 0 && !dlrDue && (nextAt === undefined || (expiresAt === undefined && nextAt > horizon));
  return {
    done,
    expire,
    reads,
    ...(dlrDue && candidate !== undefined ? { dlrTimeout: candidate.attempt.n } : {}),
    schedule: next,
    ...(done || nextAt === undefined ? {} : { nextAt }),
  };
}

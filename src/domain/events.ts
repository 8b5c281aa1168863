/**
 * Webhook events derived from a message change (CONTRACTS §4). Pure: the store calls this on the
 * draft before its compare-and-set, so an event is written atomically with the change it reports
 * (the outbox), numbered by a per-message `sequence` that receivers order by.
 */
import { newEventId } from './ids.ts';
import { maskPhone } from './mask.ts';
import type { Attempt, ErrorInfo, FallbackReason, MessageRecord, Money } from './message.ts';

export interface WebhookEventData {
  messageId: string;
  status: string;
  channel: string | null;
  provider: string | null;
  to: string;
  attempt: number;
  sequence: number;
  /** A fallback's reason; on `message.failed` by the pumping guard, `pumping_suspected`. */
  reason?: FallbackReason | 'pumping_suspected';
  fromChannel?: string;
  toChannel?: string;
  error?: ErrorInfo;
  providerMessageId?: string;
  cost?: Money;
  metadata: Record<string, unknown>;
}

export interface WebhookEvent {
  type: string;
  id: string;
  timestamp: string;
  data: WebhookEventData;
}

/** One event bound for one endpoint, as written to the outbox. */
export interface OutboxItem {
  event: WebhookEvent;
  url: string;
  keyName: string;
}

function currentAttempt(m: MessageRecord): Attempt | undefined {
  return m.attempts.find((a) => a.status === 'delivered') ?? m.attempts[m.attempts.length - 1];
}

function totalCost(m: MessageRecord): Money | undefined {
  const costs = m.attempts.map((a) => a.cost).filter((c): c is Money => c !== undefined);
  if (costs.length === 0) return undefined;
  return { amount: Math.round(costs.reduce((s, c) => s + c.amount, 0) * 1e6) / 1e6, currency: costs[0]?.currency ?? 'USD' };
}

function baseData(m: MessageRecord, attempt: Attempt | undefined, sequence: number): WebhookEventData {
  const cost = totalCost(m);
  return {
    messageId: m.id,
    status: m.status,
    channel: attempt?.channel ?? null,
    provider: attempt?.provider ?? null,
    to: maskPhone(m.to),
    attempt: attempt?.n ?? 0,
    sequence,
    ...(attempt?.providerMessageId !== undefined ? { providerMessageId: attempt.providerMessageId } : {}),
    ...(cost !== undefined ? { cost } : {}),
    metadata: m.metadata ?? {},
  };
}

/**
 * Events for the change `before → after` (before undefined at intake), in the order they happened:
 * fallbacks first (a new attempt replacing a failed one), then the status change, then verification.
 * Bumps `after.eventSeq`. Returns nothing when the message has no callback URL.
 */
export function deriveEvents(before: MessageRecord | undefined, after: MessageRecord, now: number): OutboxItem[] {
  if (after.callbackUrl === undefined) return [];
  const url = after.callbackUrl;
  const timestamp = new Date(now).toISOString();
  const events: WebhookEvent[] = [];
  const next = (): number => {
    after.eventSeq = (after.eventSeq ?? 0) + 1;
    return after.eventSeq;
  };
  const known = new Set(before?.attempts.map((a) => a.n) ?? []);
  for (const a of after.attempts) {
    if (known.has(a.n) || a.fallback === undefined) continue;
    const data = baseData(after, a, next());
    events.push({
      type: 'message.fallback',
      id: newEventId(now),
      timestamp,
      data: { ...data, status: after.status, reason: a.fallback.reason, fromChannel: a.fallback.fromChannel, toChannel: a.channel },
    });
  }
  if (before === undefined || before.status !== after.status) {
    const data = baseData(after, currentAttempt(after), next());
    events.push({
      type: `message.${after.status}`,
      id: newEventId(now),
      timestamp,
      data: {
        ...data,
        ...(after.error !== undefined && ['failed', 'undelivered', 'expired'].includes(after.status) ? { error: after.error } : {}),
        ...(after.status === 'failed' && after.error?.code === 'SB_POLICY_PUMPING' ? { reason: 'pumping_suspected' as const } : {}),
      },
    });
  }
  if (after.verifiedAt !== undefined && before?.verifiedAt === undefined && before !== undefined) {
    events.push({ type: 'message.verified', id: newEventId(now), timestamp, data: baseData(after, currentAttempt(after), next()) });
  }
  return events.map((event) => ({ event, url, keyName: after.keyName }));
}

/**
 * A message as the ops console draws it: one lane per attempt on a shared time axis, each with the
 * moments that matter to support ("push sent → ack timeout at 5 s → SMS via messagebird →
 * delivered 1.4 s later → verified"). Pure: derived from the stored document alone, so the picture
 * shows what happened (the timeline), never what was planned.
 */
import type { Attempt, FallbackReason, MessageRecord, TimelineEntry } from '../../domain/message.ts';

/** What a mark on a lane stands for (the renderer colours by it). */
export type LaneMarkKind = 'start' | 'sent' | 'delivered' | 'failed' | 'fallback' | 'verified' | 'callback';

export interface LaneMark {
  atMs: number;
  kind: LaneMarkKind;
  label: string;
}

export interface Lane {
  n: number;
  channel: Attempt['channel'];
  provider: Attempt['provider'];
  status: Attempt['status'];
  /** Why this attempt was started, when it replaced another or a skipped channel. */
  fallbackFrom?: { reason: FallbackReason; channel: string; provider?: string };
  startMs: number;
  /** Where the lane's bar ends: its final report, the next attempt's start, or now for a live one. */
  endMs: number;
  marks: LaneMark[];
  error?: Attempt['error'];
  cost?: Attempt['cost'];
  providerMessageId?: string;
}

export interface MessagePicture {
  originMs: number;
  /** Width of the axis in milliseconds (never zero). */
  spanMs: number;
  lanes: Lane[];
  verifiedAtMs?: number;
  /** Sum of the attempts' costs, by currency. */
  costs: Array<{ currency: string; amount: number }>;
}

/** "1.4 s", "250 ms", "2 min 5 s": durations as support reads them. */
export function formatDuration(ms: number): string {
  const abs = Math.abs(ms);
  if (abs < 1_000) return `${Math.round(ms)} ms`;
  if (abs < 60_000) return `${(ms / 1_000).toFixed(1)} s`;
  const minutes = Math.floor(abs / 60_000);
  const seconds = Math.round((abs % 60_000) / 1_000);
  return `${ms < 0 ? '-' : ''}${minutes} min ${seconds} s`;
}

const FALLBACK_TEXT: Partial<Record<FallbackReason, string>> = {
  ack_timeout: 'ack timeout',
  push_disabled: 'push disabled',
  push_no_token: 'no push token',
  push_unregistered: 'push token unregistered',
  push_error: 'push error',
  whatsapp_not_registered: 'not on WhatsApp',
  whatsapp_failed: 'WhatsApp failed',
  rcs_not_capable: 'not RCS-capable',
  rcs_failed: 'RCS failed',
  landline: 'landline',
  provider_error: 'provider error',
  undelivered: 'undelivered',
  sim_swap_push_only: 'SIM swap: push only',
};

/** Human text of a fallback reason. */
export function fallbackText(reason: FallbackReason | string): string {
  return FALLBACK_TEXT[reason as FallbackReason] ?? reason.replaceAll('_', ' ');
}

const ms = (iso: string | undefined): number | undefined => {
  if (iso === undefined) return undefined;
  const t = Date.parse(iso);
  return Number.isFinite(t) ? t : undefined;
};

/** Timeline entries about one attempt: its channel and provider, from its start until the next attempt's. */
function entriesOf(m: MessageRecord, a: Attempt, next: Attempt | undefined): TimelineEntry[] {
  const from = ms(a.startedAt) ?? 0;
  const until = next ? (ms(next.startedAt) ?? Infinity) : Infinity;
  return m.timeline.filter((t) => {
    const at = ms(t.at) ?? 0;
    return t.channel === a.channel && t.provider === a.provider && at >= from && at <= until;
  });
}

/** The picture of one message at `nowMs` (live attempts reach up to now). */
export function buildPicture(m: MessageRecord, nowMs: number): MessagePicture {
  const originMs = ms(m.createdAt) ?? nowMs;
  const verifiedAtMs = ms(m.verifiedAt);
  const lanes: Lane[] = m.attempts.map((a, i) => {
    const next = m.attempts[i + 1];
    const startMs = ms(a.startedAt) ?? originMs;
    const sentMs = ms(a.acceptedAt) ?? ms(a.sentAt);
    const marks: LaneMark[] = [{ atMs: startMs, kind: 'start', label: `${a.channel.toUpperCase()} via ${a.provider}` }];
    if (sentMs !== undefined) marks.push({ atMs: sentMs, kind: 'sent', label: `sent +${formatDuration(sentMs - startMs)}` });
    const deliveredMs = ms(a.deliveredAt);
    let endMs: number;
    if (deliveredMs !== undefined) {
      const base = sentMs ?? startMs;
      // Delivery times are the carrier's; some report whole seconds, so a fast delivery can carry
      // a time before our own acceptance. Drawn at the acceptance, and said so.
      const label =
        deliveredMs >= base
          ? `delivered ${formatDuration(deliveredMs - base)} later`
          : `delivered (carrier time ${formatDuration(base - deliveredMs)} before acceptance)`;
      endMs = Math.max(deliveredMs, base);
      marks.push({ atMs: endMs, kind: 'delivered', label });
    } else if (a.status === 'failed' || a.status === 'undelivered') {
      const entries = entriesOf(m, a, next);
      const lastEntry = ms(entries[entries.length - 1]?.at);
      endMs = next?.fallback !== undefined ? (ms(next.startedAt) ?? lastEntry ?? startMs) : (lastEntry ?? startMs);
      const reason = next?.fallback?.reason;
      // Measured from the attempt's start: the ack timer (and a carrier's validity) starts before the call.
      const label =
        reason !== undefined
          ? `${fallbackText(reason)} at ${formatDuration(endMs - startMs)}`
          : `${a.status}${a.error ? `: ${a.error.code}` : ''}`;
      marks.push({ atMs: endMs, kind: reason !== undefined ? 'fallback' : 'failed', label });
    } else {
      endMs = Math.max(nowMs, startMs);
    }
    if (verifiedAtMs !== undefined && a.status === 'delivered') {
      marks.push({ atMs: verifiedAtMs, kind: 'verified', label: `verified ${formatDuration(verifiedAtMs - endMs)} later` });
      endMs = Math.max(endMs, verifiedAtMs);
    }
    return {
      n: a.n,
      channel: a.channel,
      provider: a.provider,
      status: a.status,
      ...(a.fallback !== undefined
        ? {
            fallbackFrom: {
              reason: a.fallback.reason,
              channel: a.fallback.fromChannel,
              ...(a.fallback.fromProvider !== undefined ? { provider: a.fallback.fromProvider } : {}),
            },
          }
        : {}),
      startMs,
      endMs,
      marks: marks.sort((x, y) => x.atMs - y.atMs),
      ...(a.error !== undefined ? { error: a.error } : {}),
      ...(a.cost !== undefined ? { cost: a.cost } : {}),
      ...(a.providerMessageId !== undefined ? { providerMessageId: a.providerMessageId } : {}),
    };
  });
  const lastMs = Math.max(
    originMs,
    verifiedAtMs ?? originMs,
    ...lanes.map((l) => l.endMs),
    ...lanes.flatMap((l) => l.marks.map((k) => k.atMs)),
  );
  const byCurrency = new Map<string, number>();
  for (const a of m.attempts) if (a.cost) byCurrency.set(a.cost.currency, (byCurrency.get(a.cost.currency) ?? 0) + a.cost.amount);
  return {
    originMs,
    spanMs: Math.max(1, lastMs - originMs),
    lanes,
    ...(verifiedAtMs !== undefined ? { verifiedAtMs } : {}),
    costs: [...byCurrency].map(([currency, amount]) => ({ currency, amount: Math.round(amount * 1e6) / 1e6 })),
  };
}

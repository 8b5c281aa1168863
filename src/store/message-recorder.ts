/**
 * The recorder, the record stage of DESIGN §6.6: every change to a message goes through here, so
 * each one is saved with its webhook events atomically (the outbox) and counted in the metrics
 * exactly once — in the process whose compare-and-set won.
 *
 * It lives in store/, under the pipeline, because otp/, policy/ and routing/ record changes (or
 * observe them) too and import nothing above them (layering, DESIGN §3). The audit trail (policy/)
 * reaches it as a {@link CommitAuditor}, injected by the composition root.
 */
import { messageOutcome } from '../domain/message-outcome.ts';
import { deriveEvents } from '../domain/events.ts';
import type { MessageRecord } from '../domain/message.ts';
import { isTerminalMessageStatus } from '../domain/status.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { AuditStore } from './audit.store.ts';
import type { CommitWrites, MessageStore, StoredMessage } from './message.store.ts';

/**
 * What the recorder asks the audit trail (policy/audit-trail.ts): the audit entries a change writes
 * inside its own commit, or none. A port rather than the class, so the store does not import policy.
 */
export interface CommitAuditor {
  commitEntries(before: MessageRecord, after: MessageRecord): ReturnType<AuditStore['forCommit']> | undefined;
}

/**
 * Something told about every saved change after its compare-and-set won (the audit trail, the
 * pumping guard's conversion reporters). Must not throw: the change is already saved.
 */
export interface ChangeObserver {
  record(before: MessageRecord, after: MessageRecord): Promise<void>;
}

const seconds = (fromIso: string, toIso: string): number => Math.max(0, (Date.parse(toIso) - Date.parse(fromIso)) / 1000);

export class MessageRecorder {
  private readonly store: MessageStore;
  private readonly metrics: Metrics;
  private readonly now: () => number;
  private readonly observers: readonly ChangeObserver[];
  private readonly audit: CommitAuditor | undefined;

  /**
   * `observers`: told about every saved change after it was saved (conversion reporters); none in
   * unit tests. `audit`: the audit trail, whose entries ride inside each commit (no round trip of
   * their own, none written for a lost race).
   */
  constructor(store: MessageStore, metrics: Metrics, now: () => number, observers: readonly ChangeObserver[] = [], audit?: CommitAuditor) {
    this.store = store;
    this.metrics = metrics;
    this.now = now;
    this.observers = observers;
    this.audit = audit;
  }

  /**
   * What is written with the change `before → after` in its commit: its webhook events (this
   * bumps `after.eventSeq`) and audit entries.
   */
  writesFor(before: MessageRecord, after: MessageRecord): CommitWrites {
    const outbox = deriveEvents(before, after, this.now());
    const audit = this.audit?.commitEntries(before, after);
    return { ...(outbox.length > 0 ? { outbox } : {}), ...(audit !== undefined ? { audit } : {}) };
  }

  /** After a commit won: metrics, then the observers. */
  async committed(before: MessageRecord, after: MessageRecord): Promise<void> {
    this.observe(before, after);
    for (const o of this.observers) await o.record(before, after);
  }

  /**
   * `MessageStore.update` plus events, audit, metrics and the observers. `known`: a copy the
   * caller has just read (saves the first read).
   */
  async update<R>(
    id: string,
    mutate: (draft: MessageRecord) => R | false,
    known?: StoredMessage,
  ): Promise<{ before: MessageRecord; after: MessageRecord; result: R } | undefined> {
    const res = await this.store.update(id, mutate, (before, after) => this.writesFor(before, after), known);
    if (res) await this.committed(res.before, res.after);
    return res;
  }

  /** Counts what changed between two versions of a message. */
  observe(before: MessageRecord, after: MessageRecord): void {
    const m = this.metrics;
    const firstAcceptedBefore = before.attempts.some((a) => a.acceptedAt !== undefined);
    for (const a of after.attempts) {
      const prev = before.attempts.find((p) => p.n === a.n);
      const labels = { channel: a.channel, provider: a.provider };
      if (!prev) {
        m.attempts.inc({ ...labels, status: 'queued' });
        if (a.fallback) m.fallbacks.inc({ from: a.fallback.fromChannel, to: a.channel, reason: a.fallback.reason });
      }
      if (a.status !== 'queued' && a.status !== prev?.status) m.attempts.inc({ ...labels, status: a.status });
      if (a.acceptedAt !== undefined && prev?.acceptedAt === undefined && !firstAcceptedBefore) {
        m.acceptToSend.observe(seconds(after.createdAt, a.acceptedAt));
      }
      if (a.cost !== undefined && prev?.cost === undefined) {
        m.costUsd.inc(
          { provider: a.provider, country: after.country || 'ZZ', kind: 'message' },
          a.cost.currency === 'USD' ? a.cost.amount : 0,
        );
      }
      if (a.status === 'delivered' && prev?.status !== 'delivered' && a.deliveredAt !== undefined) {
        m.deliveryLatency.observe(labels, seconds(a.acceptedAt ?? a.startedAt, a.deliveredAt));
      }
    }
    if (isTerminalMessageStatus(after.status) && !isTerminalMessageStatus(before.status)) {
      const current = after.attempts.find((a) => a.status === 'delivered') ?? after.attempts[after.attempts.length - 1];
      m.messages.inc({
        channel: current?.channel ?? 'none',
        provider: current?.provider ?? 'none',
        country: after.country || 'ZZ',
        outcome: messageOutcome(after),
      });
    }
  }
}

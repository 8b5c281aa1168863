/**
 * What the audit stream says about a message change. The recorder (store/message-recorder.ts)
 * hands every change it saved here, so every path that moves a message — send, callbacks,
 * fallbacks, expiry, verification, the pumping guard — is audited the same way without each
 * stage remembering to. Admission writes its own entries (accepted atomically with the record,
 * refusals after the refusal).
 *
 * Auditing never fails a change: the change is already saved when this runs, so an audit write
 * error is logged and dropped (the stream is a trail for humans, not a source of truth).
 */
import type { MessageRecord } from '../domain/message.ts';
import { isTerminalMessageStatus } from '../domain/status.ts';
import type { Logger } from '../logger.ts';
import { phoneToken } from '../security/hmac.ts';
import type { KeyRing } from '../security/master-key.ts';
import type { AuditDecision, AuditEntry, AuditStore } from '../store/audit.store.ts';
import type { CommitAuditor } from '../store/message-recorder.ts';

export class AuditTrail implements CommitAuditor {
  private readonly store: AuditStore;
  private readonly keyRing: KeyRing;
  private readonly log: Logger | undefined;

  constructor(store: AuditStore, keyRing: KeyRing, log?: Logger) {
    this.store = store;
    this.keyRing = keyRing;
    this.log = log;
  }

  get auditStore(): AuditStore {
    return this.store;
  }

  /** The common fields of an entry about `msg` (who, to which number token, which message). */
  entryFor(
    msg: Pick<MessageRecord, 'id' | 'keyName' | 'to' | 'country'>,
    decision: AuditDecision,
    at: string,
    extra: Partial<AuditEntry> = {},
  ): AuditEntry {
    return {
      at,
      decision,
      key: msg.keyName,
      phone: phoneToken(this.keyRing, msg.to),
      messageId: msg.id,
      country: msg.country || 'ZZ',
      ...extra,
    };
  }

  /** The entries a saved change `before → after` produces (pure apart from the HMAC). */
  entriesFor(before: MessageRecord, after: MessageRecord): AuditEntry[] {
    const out: AuditEntry[] = [];
    const at = after.updatedAt;
    for (const a of after.attempts) {
      const prev = before.attempts.find((p) => p.n === a.n);
      if (a.acceptedAt !== undefined && prev?.acceptedAt === undefined) {
        out.push(this.entryFor(after, 'sent', a.acceptedAt, { channel: a.channel, provider: a.provider, detail: `attempt ${a.n}` }));
      }
    }
    const seen = before.timeline.length;
    for (const t of after.timeline.slice(seen)) {
      if (t.type === 'pumping')
        out.push(
          this.entryFor(after, 'flagged', t.at, { code: 'SB_POLICY_PUMPING', ...(t.detail !== undefined ? { detail: t.detail } : {}) }),
        );
    }
    if (isTerminalMessageStatus(after.status) && !isTerminalMessageStatus(before.status)) {
      const current = after.attempts.find((a) => a.status === 'delivered') ?? after.attempts[after.attempts.length - 1];
      out.push(
        this.entryFor(after, after.status as AuditDecision, at, {
          ...(current ? { channel: current.channel, provider: current.provider } : {}),
          ...(after.error ? { code: after.error.code } : {}),
        }),
      );
    }
    if (after.verifiedAt !== undefined && before.verifiedAt === undefined) out.push(this.entryFor(after, 'verified', after.verifiedAt));
    return out;
  }

  /**
   * What the change produced, in the shape a message commit writes (lua/commit.lua), so the trail
   * costs no round trip of its own and a lost race writes no entry; undefined when there is none.
   */
  commitEntries(before: MessageRecord, after: MessageRecord): ReturnType<AuditStore['forCommit']> | undefined {
    const entries = this.entriesFor(before, after);
    return entries.length === 0 ? undefined : this.store.forCommit(entries);
  }

  /** Appends what the change produced; never throws. */
  async record(before: MessageRecord, after: MessageRecord): Promise<void> {
    try {
      await this.store.append(...this.entriesFor(before, after));
    } catch (err) {
      this.log?.warn({ err: (err as Error).message, messageId: after.id }, 'audit stream write failed');
    }
  }

  /** Appends entries built elsewhere (admission refusals, opt-outs); never throws. */
  async append(...entries: AuditEntry[]): Promise<void> {
    try {
      await this.store.append(...entries);
    } catch (err) {
      this.log?.warn({ err: (err as Error).message }, 'audit stream write failed');
    }
  }

  /** The phone token of a number (for entries and `GET /v1/audit?to=`). */
  phoneToken(e164: string): string {
    return phoneToken(this.keyRing, e164);
  }
}

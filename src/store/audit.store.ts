/**
 * The audit stream: one capped Redis stream (`XADD … MAXLEN ~ N`) of who sent what to
 * which number and what became of it — admission decisions (accepted, refused with its code),
 * carrier acceptance, final outcomes, verifications, pumping flags and opt-outs.
 *
 * It outlives the messages it describes, so it never holds a number: the recipient appears only as
 * its HMAC phone token (src/security/hmac.ts), which an operator can compute for a number they
 * already know (`GET /v1/audit?to=`) but cannot reverse. Entries hold no message text or code.
 */
import type { RedisClient } from './redis-client.ts';
import type { IntakeAudit } from './message.store.ts';
import type { RedisKeys } from './redis-keys.ts';

/** What happened. Admission: `accepted | refused`; pipeline: the rest; inbound: `opted_out | opted_in`. */
export type AuditDecision =
  'accepted' | 'refused' | 'sent' | 'delivered' | 'undelivered' | 'failed' | 'expired' | 'verified' | 'flagged' | 'opted_out' | 'opted_in';

/** One audit entry. Every field but `at` and `decision` is optional; none holds a number in clear. */
export interface AuditEntry {
  at: string;
  decision: AuditDecision;
  /** API key name (who). */
  key?: string;
  /** Phone token of the recipient (to whom). */
  phone?: string;
  messageId?: string;
  country?: string;
  channel?: string;
  provider?: string;
  /** `SB_*` code of a refusal or failure. */
  code?: string;
  detail?: string;
}

/** An entry as read back, with its stream id (`<ms>-<seq>`). */
export type AuditRecord = AuditEntry & { id: string };

const FIELDS: ReadonlyArray<keyof AuditEntry> = [
  'at',
  'decision',
  'key',
  'phone',
  'messageId',
  'country',
  'channel',
  'provider',
  'code',
  'detail',
];

/** Filters of {@link AuditStore.list}; entries are scanned newest first. */
export interface AuditQuery {
  limit: number;
  phone?: string;
  key?: string;
  messageId?: string;
  decision?: string;
}

/** Most entries one filtered read scans before it answers with what it found. */
const MAX_SCAN = 20_000;

export class AuditStore {
  private readonly redis: RedisClient;
  private readonly keys: RedisKeys;
  private readonly maxLen: number;

  constructor(redis: RedisClient, keys: RedisKeys, maxLen: number) {
    this.redis = redis;
    this.keys = keys;
    this.maxLen = maxLen;
  }

  private static flat(entry: AuditEntry): Record<string, string> {
    const out: Record<string, string> = {};
    for (const f of FIELDS) {
      const v = entry[f];
      if (v !== undefined && v !== '') out[f] = v;
    }
    return out;
  }

  /** The entry in the shape the intake Lua call writes (accepted, atomically with the message). */
  forIntake(entry: AuditEntry): IntakeAudit {
    return { key: this.keys.audit, maxLen: this.maxLen, fields: AuditStore.flat(entry) };
  }

  /** Entries in the shape a message commit writes them (lua/commit.lua: with the change or not at all). */
  forCommit(entries: readonly AuditEntry[]): { key: string; maxLen: number; entries: Array<Record<string, string>> } {
    return { key: this.keys.audit, maxLen: this.maxLen, entries: entries.map((e) => AuditStore.flat(e)) };
  }

  /** Appends entries (one round trip); the stream keeps about `maxLen` of the newest. */
  async append(...entries: AuditEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const e of entries) pipeline.xadd(this.keys.audit, 'MAXLEN', '~', this.maxLen, '*', ...Object.entries(AuditStore.flat(e)).flat());
    await pipeline.exec();
  }

  /** Newest first, filtered; scans at most 20,000 entries for one page. */
  async list(q: AuditQuery): Promise<AuditRecord[]> {
    const out: AuditRecord[] = [];
    let end = '+';
    let scanned = 0;
    const batch = Math.max(q.limit, 500);
    while (out.length < q.limit && scanned < MAX_SCAN) {
      const rows = await this.redis.xrevrange(this.keys.audit, end, '-', 'COUNT', batch);
      if (rows.length === 0) break;
      scanned += rows.length;
      for (const [id, flat] of rows) {
        const rec: Record<string, string> = { id };
        for (let i = 0; i + 1 < flat.length; i += 2) rec[flat[i] as string] = flat[i + 1] as string;
        const r = rec as unknown as AuditRecord;
        if (q.phone !== undefined && r.phone !== q.phone) continue;
        if (q.key !== undefined && r.key !== q.key) continue;
        if (q.messageId !== undefined && r.messageId !== q.messageId) continue;
        if (q.decision !== undefined && r.decision !== q.decision) continue;
        out.push(r);
        if (out.length === q.limit) break;
      }
      if (rows.length < batch) break;
      end = `(${rows[rows.length - 1]?.[0] ?? '0'}`;
    }
    return out;
  }
}

/**
 * The Redis store of messages, idempotency keys and the send ledger.
 *
 * A message is one document (hash fields `v` = version, `doc` = JSON) so that every change —
 * an attempt, a callback, a fallback — is a read, a pure domain function and one Lua
 * compare-and-set. Workers and the API may race on the same message; the loser re-reads and
 * re-applies, which is safe because every domain transition is monotonic.
 */
import { readFileSync } from 'node:fs';
import type { ChainableCommander } from 'ioredis';
import type { RedisClient } from './redis-client.ts';
import { messageIdBoundAt } from '../domain/ids.ts';
import type { OutboxItem } from '../domain/events.ts';
import { cloneMessage, type MessageRecord, type MessageStatus } from '../domain/message.ts';
import { isTerminalMessageStatus } from '../domain/status.ts';
import { redisKeys, type RedisKeys } from './redis-keys.ts';

const lua = (name: string): string => readFileSync(new URL(`./lua/${name}`, import.meta.url), 'utf8');
const INTAKE_LUA = lua('intake.lua');
const COMMIT_LUA = lua('commit.lua');

/** What an idempotency key remembers: the request's fingerprint and the message it created. */
export interface IdempotencyRecord {
  /** SHA-256 of the canonical request body. */
  hash: string;
  id: string;
  /** `pending` until the send job is queued. */
  state: 'pending' | 'done';
  at: number;
}

/**
 * One admission rate limit checked and counted inside the intake call (CONTRACTS §3): at most
 * `max` admissions per sliding `windowMs` in the ZSET `key`. `enforce: false` is shadow mode:
 * counted and reported, never refused.
 */
export interface IntakeLimit {
  name: string;
  key: string;
  max: number;
  windowMs: number;
  enforce: boolean;
}

/**
 * A policy refusal checked inside the intake call: the request is refused when `key` exists
 * (e.g. the number's opt-out entry). Checked before the limits, so a refusal never counts.
 */
export interface IntakeBlock {
  name: string;
  key: string;
}

/** An audit-stream entry written in the intake call, so "accepted" is recorded with the message. */
export interface IntakeAudit {
  key: string;
  maxLen: number;
  fields: Record<string, string>;
}

export type IntakeResult =
  | { created: true; /** Limits over their maximum in shadow mode (absent when none). */ shadowed?: string[] }
  | { created: false; existing: IdempotencyRecord }
  | { created: false; limited: { name: string; retryAfterMs: number } }
  | { created: false; blocked: { name: string } };

export interface StoredMessage {
  doc: MessageRecord;
  version: number;
  /** The stored JSON `doc` was parsed from: a working copy parses it again instead of re-serialising `doc`. */
  text?: string;
}

/** What the send ledger holds for one attempt (DESIGN §6.5). */
export type LedgerEntry = { state: 'sending' } | { state: 'sent'; providerMessageId: string };

/**
 * Everything written with a message change or not at all, in the same Lua call: the webhook
 * events it causes, its audit-stream entries (flat field lists) and send-ledger marks of its
 * attempts (`null` deletes the mark: the call certainly never left).
 */
export interface CommitWrites {
  outbox?: readonly OutboxItem[];
  audit?: { key: string; maxLen: number; entries: ReadonlyArray<Record<string, string>> };
  ledger?: ReadonlyArray<{ attempt: number; value: LedgerEntry | null }>;
}

/** The outcome of one {@link MessageStore.commit}: the new version, or why nothing was written. */
export type CommitResult = { kind: 'applied'; version: number } | { kind: 'conflict' } | { kind: 'missing' };

function ledgerValue(entry: LedgerEntry | null): string {
  if (entry === null) return '';
  return entry.state === 'sending' ? 'sending' : `sent:${entry.providerMessageId}`;
}

function parseLedger(v: string | null | undefined): LedgerEntry | undefined {
  if (v === null || v === undefined) return undefined;
  if (v === 'sending') return { state: 'sending' };
  return { state: 'sent', providerMessageId: v.slice('sent:'.length) };
}

/** Thrown when an update keeps losing races; the caller's job should retry later. */
export class StoreContentionError extends Error {
  constructor(id: string) {
    super(`message ${id}: too many concurrent updates; retry the job`);
    this.name = 'StoreContentionError';
  }
}

export interface ListFilter {
  keyName?: string;
  status?: MessageStatus;
  channel?: string;
  provider?: string;
  sinceMs?: number;
  untilMs?: number;
  limit: number;
  cursor?: string;
  /** A further condition on the document (the ops console's metadata filter); applied after the others. */
  where?: (doc: MessageRecord) => boolean;
  /** Most ids one page reads before it answers with a cursor (default 2,000). */
  maxScan?: number;
}

/** The list query fields both the API and the console take (`since`/`until` in ms). */
export interface ListQuery {
  status?: MessageStatus | undefined;
  channel?: string | undefined;
  provider?: string | undefined;
  since?: number | undefined;
  until?: number | undefined;
  cursor?: string | undefined;
  limit: number;
}

/** A {@link ListFilter} from a parsed list query: the fields that were given, nothing else. */
export function listFilterOf(q: ListQuery, keyName?: string): ListFilter {
  return {
    limit: q.limit,
    ...(keyName !== undefined ? { keyName } : {}),
    ...(q.status !== undefined ? { status: q.status } : {}),
    ...(q.channel !== undefined ? { channel: q.channel } : {}),
    ...(q.provider !== undefined ? { provider: q.provider } : {}),
    ...(q.since !== undefined ? { sinceMs: q.since } : {}),
    ...(q.until !== undefined ? { untilMs: q.until } : {}),
    ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
  };
}

type RedisWithScripts = RedisClient & {
  sbIntake(numKeys: number, ...args: Array<string | number>): Promise<Array<number | string>>;
  sbCommit(numKeys: number, ...args: Array<string | number>): Promise<number>;
};

export interface MessageStoreOptions {
  prefix: string;
  retentionSeconds: number;
  idempotencyTtlSeconds: number;
}

export class MessageStore {
  readonly keys: RedisKeys;
  private readonly redis: RedisWithScripts;
  private readonly opts: MessageStoreOptions;
  /** When (the intake clock) this process last trimmed each key's listing index; see {@link indexTrimBound}. */
  private readonly trimmedAt = new Map<string, number>();

  constructor(redis: RedisClient, opts: MessageStoreOptions) {
    this.keys = redisKeys(opts.prefix);
    this.opts = opts;
    const r = redis as RedisWithScripts;
    if (typeof r.sbIntake !== 'function') {
      // No fixed key count: the rate-limit windows are keys too (one per limit).
      r.defineCommand('sbIntake', { lua: INTAKE_LUA });
      r.defineCommand('sbCommit', { lua: COMMIT_LUA });
    }
    this.redis = r;
  }

  /**
   * The id below which a key's listing index (and the all-messages index) drops entries past
   * retention, or '' to leave them: trimming once a second per key keeps the indexes as short as
   * trimming on every intake did, within a second, for two commands fewer a message.
   */
  private indexTrimBound(keyName: string, createdMs: number): string {
    const last = this.trimmedAt.get(keyName);
    if (last !== undefined && Math.abs(createdMs - last) < 1_000) return '';
    if (this.trimmedAt.size >= 10_000) this.trimmedAt.clear();
    this.trimmedAt.set(keyName, createdMs);
    return messageIdBoundAt(createdMs - this.opts.retentionSeconds * 1000, 'low');
  }

  /**
   * Creates the message and (optionally) claims its idempotency key in one atomic step, or
   * returns the record the key already holds. `limits` are checked and counted in the same step,
   * after the replay check: a replay never counts, and a refusal writes nothing. `watchAt` sets the
   * message's first deadline in the watch schedule in the same step (the admission path always
   * passes it), so an admitted message is never without its watch.
   */
  async intake(
    doc: MessageRecord,
    idem?: { keyHash: string; requestHash: string },
    outbox: readonly OutboxItem[] = [],
    limits: readonly IntakeLimit[] = [],
    policy: { blocks?: readonly IntakeBlock[]; audit?: IntakeAudit; watchAt?: number } = {},
  ): Promise<IntakeResult> {
    const blocks = policy.blocks ?? [];
    const createdMs = Date.parse(doc.createdAt);
    const record: IdempotencyRecord | undefined = idem
      ? { hash: idem.requestHash, id: doc.id, state: 'pending', at: createdMs }
      : undefined;
    const idemKey = idem ? this.keys.idempotency(doc.keyName, idem.keyHash) : this.keys.idempotency('-', '-');
    const keys = [
      this.keys.message(doc.id),
      idemKey,
      this.keys.acceptedIndex,
      this.keys.keyIndex(doc.keyName),
      this.keys.allIndex,
      this.keys.outbox,
      ...limits.map((l) => l.key),
      ...blocks.map((b) => b.key),
      ...(policy.audit ? [policy.audit.key] : []),
      this.keys.watchDue,
    ];
    const reply = await this.redis.sbIntake(
      keys.length,
      ...keys,
      JSON.stringify(doc),
      this.opts.retentionSeconds,
      record ? JSON.stringify(record) : '',
      this.opts.idempotencyTtlSeconds,
      createdMs,
      doc.id,
      this.indexTrimBound(doc.keyName, createdMs),
      limits.length,
      ...limits.flatMap((l) => [l.max, l.windowMs, l.enforce ? '1' : '0']),
      blocks.length,
      policy.audit ? policy.audit.maxLen : '',
      policy.audit ? JSON.stringify(Object.entries(policy.audit.fields).flat()) : '',
      policy.watchAt !== undefined ? Math.round(policy.watchAt) : '',
      ...outbox.map((o) => JSON.stringify(o)),
    );
    const [kind, second, ...rest] = reply;
    const limitName = (i: number | string | undefined): string => limits[Number(i) - 1]?.name ?? 'unknown';
    if (kind === 1) {
      const shadowed = rest.map(limitName);
      return shadowed.length > 0 ? { created: true, shadowed } : { created: true };
    }
    if (kind === 2) return { created: false, limited: { name: limitName(rest[0]), retryAfterMs: Number(second) } };
    if (kind === 3) return { created: false, blocked: { name: blocks[Number(rest[0]) - 1]?.name ?? 'unknown' } };
    return { created: false, existing: JSON.parse(String(second)) as IdempotencyRecord };
  }

  /** Marks an idempotency record as answered (its job is queued). */
  async markIdempotencyDone(keyName: string, keyHash: string, record: IdempotencyRecord): Promise<void> {
    await this.redis.set(this.keys.idempotency(keyName, keyHash), JSON.stringify({ ...record, state: 'done' }), 'KEEPTTL', 'XX');
  }

  async get(id: string): Promise<StoredMessage | undefined> {
    const [v, doc] = await this.redis.hmget(this.keys.message(id), 'v', 'doc');
    return parseStored(v, doc);
  }

  /**
   * The one read of a send job: the message and the ledger marks of its attempts 1..`attempts`, in
   * one round trip (HMGET and MGET sent together).
   */
  async load(id: string, attempts: number): Promise<{ stored: StoredMessage; ledger: Map<number, LedgerEntry>; json: string } | undefined> {
    const ns = Array.from({ length: attempts }, (_, i) => i + 1);
    // Two plain commands, not an explicit pipeline: on the auto-pipelined connection they leave in
    // the same socket write as every other job's commands of this tick (an explicit pipeline writes
    // on its own, one syscall per job).
    const [docReply, ledgerReply] = await Promise.all([
      this.redis.hmget(this.keys.message(id), 'v', 'doc'),
      ns.length > 0 ? this.redis.mget(...ns.map((n) => this.keys.ledger(id, n))) : Promise.resolve([] as Array<string | null>),
    ]);
    const [v, doc] = docReply;
    const stored = parseStored(v, doc);
    if (!stored) return undefined;
    const ledger = new Map<number, LedgerEntry>();
    ledgerReply.forEach((raw, i) => {
      const entry = parseLedger(raw);
      if (entry) ledger.set(i + 1, entry);
    });
    // The document as stored: a caller that keeps a working copy parses it again (cheaper than a deep copy).
    return { stored, ledger, json: doc as string };
  }

  /**
   * Writes `draft` as the next version of the message if it is still at `version`, with `writes`
   * in the same Lua call. `before` queues commands into the same round trip ahead of the commit,
   * applied whatever the commit's outcome (facts that hold either way: a carrier's acceptance in
   * the ledger, provider health, volume tiers). `json`: `draft` already serialized, when the caller
   * needs the text too (it parses a fresh working copy from it).
   */
  async commit(
    id: string,
    version: number,
    draft: MessageRecord,
    writes: CommitWrites = {},
    before?: (p: ChainableCommander) => void,
    json: string = JSON.stringify(draft),
  ): Promise<CommitResult> {
    const outbox = writes.outbox ?? [];
    const audit = writes.audit;
    const ledger = writes.ledger ?? [];
    const keys = [
      this.keys.message(id),
      this.keys.acceptedIndex,
      this.keys.outbox,
      audit?.key ?? this.keys.audit,
      this.keys.watchDue,
      this.keys.watchState,
      this.keys.stuckSent,
      ...ledger.map((l) => this.keys.ledger(id, l.attempt)),
    ];
    const args: Array<string | number> = [
      keys.length,
      ...keys,
      version,
      json,
      id,
      draft.status === 'accepted' && !draft.final ? '1' : '0',
      outbox.length,
      audit?.entries.length ?? 0,
      audit?.maxLen ?? 0,
      this.opts.retentionSeconds,
      isTerminalMessageStatus(draft.status) ? '1' : '0',
      ...outbox.map((o) => JSON.stringify(o)),
      ...(audit?.entries ?? []).map((e) => JSON.stringify(Object.entries(e).flat())),
      ...ledger.map((l) => ledgerValue(l.value)),
    ];
    let reply: number;
    if (before === undefined) {
      reply = await this.redis.sbCommit(...(args as [number, ...Array<string | number>]));
    } else {
      // The extras go out with the commit, in order, in this tick's auto-pipelined write (an
      // explicit pipeline would cost a socket write of its own); their errors surface like the commit's.
      const { commander, sent } = recordingCommander(this.redis);
      before(commander);
      const [extras, committed] = await Promise.all([
        Promise.allSettled(sent),
        this.redis.sbCommit(...(args as [number, ...Array<string | number>])),
      ]);
      for (const r of extras) if (r.status === 'rejected') throw r.reason;
      reply = committed;
    }
    if (reply > 0) return { kind: 'applied', version: reply };
    return reply === 0 ? { kind: 'conflict' } : { kind: 'missing' };
  }

  /**
   * Applies `mutate` to a fresh copy of the message and saves it if nobody wrote in between;
   * otherwise re-reads and re-applies. `mutate` returns false to leave the message unchanged.
   * `derive` turns the change into what is written with it (webhook events, audit entries), in
   * the same atomic step. `known` is a copy the caller has just read (saves the first read).
   */
  async update<R>(
    id: string,
    mutate: (draft: MessageRecord) => R | false,
    derive?: (before: MessageRecord, after: MessageRecord) => CommitWrites,
    known?: StoredMessage,
  ): Promise<{ before: MessageRecord; after: MessageRecord; result: R } | undefined> {
    let current = known;
    for (let i = 0; i < 25; i++) {
      current ??= await this.get(id);
      if (!current) return undefined;
      const draft = current.text !== undefined ? (JSON.parse(current.text) as MessageRecord) : cloneMessage(current.doc);
      const result = mutate(draft);
      if (result === false) return undefined;
      const applied = await this.commit(id, current.version, draft, derive ? derive(current.doc, draft) : {});
      if (applied.kind === 'applied') return { before: current.doc, after: draft, result };
      if (applied.kind === 'missing') return undefined;
      current = undefined;
    }
    throw new StoreContentionError(id);
  }

  /** Newest first; the cursor is the last id of the previous page (ids sort by creation time). */
  async list(filter: ListFilter): Promise<{ items: MessageRecord[]; nextCursor: string | null }> {
    const index = filter.keyName ? this.keys.keyIndex(filter.keyName) : this.keys.allIndex;
    let max = filter.untilMs !== undefined ? `[${messageIdBoundAt(filter.untilMs, 'high')}` : '+';
    if (filter.cursor !== undefined) max = `(${filter.cursor}`;
    const min = filter.sinceMs !== undefined ? `[${messageIdBoundAt(filter.sinceMs, 'low')}` : '-';
    const items: MessageRecord[] = [];
    const batch = Math.max(filter.limit, 50);
    let scanned = 0;
    let lastSeen: string | undefined;
    // Filters apply after reading; bound the work of one page and hand back a cursor instead.
    const maxScan = filter.maxScan ?? 2_000;
    while (items.length < filter.limit && scanned < maxScan) {
      const ids = await this.redis.zrevrangebylex(index, max, min, 'LIMIT', 0, batch);
      if (ids.length === 0) {
        lastSeen = undefined;
        break;
      }
      scanned += ids.length;
      const pipeline = this.redis.pipeline();
      for (const id of ids) pipeline.hget(this.keys.message(id), 'doc');
      const docs = (await pipeline.exec()) ?? [];
      for (let i = 0; i < ids.length; i++) {
        lastSeen = ids[i];
        const raw = docs[i]?.[1];
        if (typeof raw !== 'string') continue;
        const doc = JSON.parse(raw) as MessageRecord;
        if (matches(doc, filter)) items.push(doc);
        if (items.length === filter.limit) break;
      }
      if (ids.length < batch && items.length < filter.limit) {
        lastSeen = undefined;
        break;
      }
      max = `(${lastSeen}`;
    }
    return { items, nextCursor: lastSeen ?? null };
  }

  /** Ids of messages still `accepted` that were created before `beforeMs` (the sweeper's worklist). */
  async staleAccepted(beforeMs: number, limit: number): Promise<string[]> {
    return this.redis.zrangebyscore(this.keys.acceptedIndex, 0, beforeMs, 'LIMIT', 0, limit);
  }

  async dropFromAccepted(id: string): Promise<void> {
    await this.redis.zrem(this.keys.acceptedIndex, id);
  }

  // ---- send ledger (DESIGN §6.5): `sending` before the carrier call, `sent:<id>` after ----

  async ledger(id: string, attempt: number): Promise<LedgerEntry | undefined> {
    return parseLedger(await this.redis.get(this.keys.ledger(id, attempt)));
  }

  async ledgerSending(id: string, attempt: number): Promise<void> {
    await this.redis.set(this.keys.ledger(id, attempt), 'sending', 'EX', this.opts.retentionSeconds);
  }

  async ledgerSent(id: string, attempt: number, providerMessageId: string): Promise<void> {
    await this.redis.set(this.keys.ledger(id, attempt), `sent:${providerMessageId}`, 'EX', this.opts.retentionSeconds);
  }

  async ledgerClear(id: string, attempt: number): Promise<void> {
    await this.redis.del(this.keys.ledger(id, attempt));
  }
}

/**
 * A stand-in for a pipeline whose commands go straight to `redis` (auto-pipelined), keeping each
 * command's promise: the `before` extras of a commit are written through the pipeline interface.
 */
function recordingCommander(redis: RedisClient): { commander: ChainableCommander; sent: Array<Promise<unknown>> } {
  const sent: Array<Promise<unknown>> = [];
  const commander: ChainableCommander = new Proxy(redis, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const result: unknown = Reflect.apply(value, target, args);
        if (result instanceof Promise) sent.push(result);
        return commander;
      };
    },
  }) as unknown as ChainableCommander;
  return { commander, sent };
}

function parseStored(v: string | null | undefined, doc: string | null | undefined): StoredMessage | undefined {
  if (v === null || doc === null || v === undefined || doc === undefined) return undefined;
  return { doc: JSON.parse(doc) as MessageRecord, version: Number(v), text: doc };
}

function matches(doc: MessageRecord, f: ListFilter): boolean {
  if (f.status !== undefined && doc.status !== f.status) return false;
  const last = doc.attempts.find((a) => a.status === 'delivered') ?? doc.attempts[doc.attempts.length - 1];
  if (f.channel !== undefined && last?.channel !== f.channel) return false;
  if (f.provider !== undefined && last?.provider !== f.provider) return false;
  if (f.where !== undefined && !f.where(doc)) return false;
  return true;
}

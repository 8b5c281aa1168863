/**
 * The unit of work of one `send` job (DESIGN §6, "one unit of work per job"): the message and its
 * ledger marks are read once, stages change an in-memory draft, and the draft is written only at
 * the points crash safety needs — before a carrier call (attempt started + ledger `sending`) and
 * after it (outcome + ledger `sent` + health + tier + events + audit) — each one round trip.
 *
 * Every change is kept as a function and applied to the draft at once. When a commit loses its
 * compare-and-set (a callback, an ack or the expiry wrote in between), the message is read again
 * and the pending functions are applied to the fresh copy: every transition is monotonic
 * (domain/status.ts), so re-applying is safe.
 */
import type { ChainableCommander } from 'ioredis';
import type { MessageRecord } from '../domain/message.ts';
import { isTerminalMessageStatus } from '../domain/status.ts';
import { StoreContentionError, type LedgerEntry, type MessageStore } from '../store/message.store.ts';
import type { MessageRecorder } from '../store/message-recorder.ts';

/** A change to the draft; returns false when it did not apply (and then changed nothing). */
export type Mutation = (draft: MessageRecord) => unknown;

/** Extra writes of one commit (see {@link SendContext.commit}). */
export interface CommitOptions {
  /** Ledger marks written with the change, or not at all (`null` deletes one). */
  ledger?: ReadonlyArray<{ attempt: number; value: LedgerEntry | null }>;
  /** Commands for the same round trip, applied whatever the commit's outcome. */
  before?: (p: ChainableCommander) => void;
  /**
   * Give up (writing nothing of the document) when a reload shows the message went terminal in
   * between: the pre-send commit, whose carrier call must then not happen.
   */
  abortIfTerminal?: boolean;
  /**
   * Keep trying for this long when Redis itself fails (a blip, a restart): the post-send commit,
   * which records what a carrier already has. Past it the error fails the job, whose retry finds
   * the ledger at `sending` and resends as `ambiguous_resend`.
   */
  persistForMs?: number;
}

export type CommitOutcome = 'committed' | 'unchanged' | 'terminal' | 'gone';

export interface SendContextDeps {
  store: MessageStore;
  recorder: MessageRecorder;
}

const MAX_RACES = 25;

export class SendContext {
  readonly id: string;
  private readonly deps: SendContextDeps;
  private readonly attempts: number;
  private base: MessageRecord;
  /** `base` as stored: the source of the working copy (a parse is cheaper than a deep copy). */
  private baseJson: string;
  /**
   * The draft: `base` itself until the first change after a load or a commit, then a copy. Most
   * jobs end with a commit after which nothing changes, so the copy is made only when needed.
   */
  private draft: MessageRecord;
  private version: number;
  private pending: Mutation[] = [];
  private onCommit: Array<() => void> = [];
  private ledgerMarks: Map<number, LedgerEntry>;
  /** Extra writes queued for the next commit (a failed attempt's ledger mark, its health sample). */
  private carried: { ledger: Array<{ attempt: number; value: LedgerEntry | null }>; before: Array<(p: ChainableCommander) => void> } = {
    ledger: [],
    before: [],
  };

  private constructor(
    deps: SendContextDeps,
    id: string,
    attempts: number,
    doc: MessageRecord,
    json: string,
    version: number,
    ledger: Map<number, LedgerEntry>,
  ) {
    this.deps = deps;
    this.id = id;
    this.attempts = attempts;
    this.base = doc;
    this.baseJson = json;
    this.draft = doc;
    this.version = version;
    this.ledgerMarks = ledger;
  }

  /** One round trip: the message and the ledger marks of attempts 1..`attempts`; undefined when the message is gone. */
  static async load(deps: SendContextDeps, id: string, attempts: number): Promise<SendContext | undefined> {
    const loaded = await deps.store.load(id, attempts);
    if (!loaded) return undefined;
    return new SendContext(deps, id, attempts, loaded.stored.doc, loaded.json, loaded.stored.version, loaded.ledger);
  }

  /** The draft: the message with every change so far, committed or not. Read it; change it through {@link mutate}. */
  get doc(): MessageRecord {
    return this.draft;
  }

  /** Whether changes wait for the next commit. */
  get dirty(): boolean {
    return this.pending.length > 0 || this.carried.ledger.length > 0 || this.carried.before.length > 0;
  }

  /** The ledger mark of attempt `n` as last read or written by this job. */
  ledger(n: number): LedgerEntry | undefined {
    return this.ledgerMarks.get(n);
  }

  /** Applies `fn` to the draft now and keeps it for the next commit (and for a re-apply after a lost race). */
  mutate(fn: Mutation): boolean {
    if (this.draft === this.base) this.draft = JSON.parse(this.baseJson) as MessageRecord;
    const applied = fn(this.draft) !== false;
    if (applied) this.pending.push(fn);
    return applied;
  }

  /** Runs `fn` once the pending changes are saved (metrics and logs of a change count it once, when it is saved). */
  afterCommit(fn: () => void): void {
    this.onCommit.push(fn);
  }

  /** Queues writes for the next commit, whichever it is (a failed attempt's ledger mark and health sample). */
  carry(writes: { ledger?: { attempt: number; value: LedgerEntry | null }; before?: (p: ChainableCommander) => void }): void {
    if (writes.ledger) this.carried.ledger.push(writes.ledger);
    if (writes.before) this.carried.before.push(writes.before);
  }

  /**
   * Writes the pending changes and `opts`' extras in one round trip. Returns `unchanged` when
   * there was nothing to write, `terminal` when `abortIfTerminal` found the message terminal (the
   * draft is then the stored message), `gone` when the message no longer exists.
   */
  async commit(opts: CommitOptions = {}): Promise<CommitOutcome> {
    const ledger = [...this.carried.ledger, ...(opts.ledger ?? [])];
    const befores = [...this.carried.before, ...(opts.before ? [opts.before] : [])];
    if (this.pending.length === 0 && ledger.length === 0 && befores.length === 0) return 'unchanged';
    const before = befores.length > 0 ? (p: ChainableCommander) => befores.forEach((b) => b(p)) : undefined;
    const deadline = opts.persistForMs !== undefined ? Date.now() + opts.persistForMs : 0;
    let sendBefore = before;
    for (let race = 0; race < MAX_RACES; race++) {
      const writes = { ...this.deps.recorder.writesFor(this.base, this.draft), ledger };
      const json = JSON.stringify(this.draft);
      let result;
      try {
        result = await this.deps.store.commit(this.id, this.version, this.draft, writes, sendBefore, json);
      } catch (err) {
        if (Date.now() >= deadline) throw err;
        await new Promise((resolve) => setTimeout(resolve, 200));
        // Redis failed mid-call: nothing tells whether anything landed, so read again and send it
        // all again (the ledger mark is idempotent; a health sample may count twice).
        await this.reload().catch(() => undefined);
        continue;
      }
      // The extras ahead of the commit hold whatever the commit's outcome: never send them twice.
      sendBefore = undefined;
      if (result.kind === 'applied') {
        const committedBase = this.base;
        this.version = result.version;
        for (const l of ledger) {
          if (l.value === null) this.ledgerMarks.delete(l.attempt);
          else this.ledgerMarks.set(l.attempt, l.value);
        }
        this.pending = [];
        this.carried = { ledger: [], before: [] };
        this.base = this.draft;
        this.baseJson = json;
        await this.deps.recorder.committed(committedBase, this.base);
        const hooks = this.onCommit;
        this.onCommit = [];
        for (const fn of hooks) fn();
        return 'committed';
      }
      if (result.kind === 'missing') return 'gone';
      if (!(await this.reload())) return 'gone';
      if (opts.abortIfTerminal && isTerminalMessageStatus(this.base.status)) {
        this.pending = [];
        this.onCommit = [];
        this.draft = this.base;
        return 'terminal';
      }
    }
    throw new StoreContentionError(this.id);
  }

  /**
   * Reads the message again (another writer moved it: a lost race, or a stage that writes on its
   * own such as push) and re-applies the pending changes to it. Returns false when it is gone.
   */
  async reload(): Promise<boolean> {
    const loaded = await this.deps.store.load(this.id, this.attempts);
    if (!loaded) return false;
    this.base = loaded.stored.doc;
    this.baseJson = loaded.json;
    this.version = loaded.stored.version;
    this.ledgerMarks = loaded.ledger;
    this.draft = this.pending.length > 0 ? (JSON.parse(loaded.json) as MessageRecord) : this.base;
    for (const fn of this.pending) fn(this.draft);
    return true;
  }
}

/**
 * The bench's view of the carrier sandbox (CONTRACTS §6): scenario settings, the `accepted`
 * counter (a send whose 201 was fully written: what "the carrier received it" means here) and
 * the request log, whose entries carry our message id (`reference`) and the time of receipt.
 */
import { sleep } from './processes.ts';

interface Counters {
  requests: number;
  accepted: number;
  rejected: number;
  callbacksSent: number;
  callbacksFailed: number;
}

interface LogEntry {
  at: string;
  reference?: string;
  status: number;
  path: string;
}

async function json<T>(url: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${init.method ?? 'GET'} ${url}: ${res.status} ${text.slice(0, 200)}`);
  return JSON.parse(text) as T;
}

export class SandboxClient {
  readonly url: string;

  constructor(url: string) {
    this.url = url;
  }

  async configure(provider: string, patch: Record<string, unknown>): Promise<void> {
    await json(`${this.url}/_sandbox/providers/${provider}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(patch),
    });
  }

  async counters(provider = 'twilio'): Promise<Counters> {
    return (await json<{ counters: Counters }>(`${this.url}/_sandbox/providers/${provider}`)).counters;
  }

  /** Entries at or after `sinceMs`, newest first (the ring keeps the last 10,000). */
  async log(sinceMs: number, limit = 10_000, provider = 'twilio'): Promise<LogEntry[]> {
    return json<LogEntry[]>(`${this.url}/_sandbox/log?provider=${provider}&since=${Math.floor(sinceMs)}&limit=${limit}`);
  }

  /** Receipt time of the newest accepted send, in epoch ms. */
  async newestAcceptedAt(): Promise<number | undefined> {
    const entries = await this.log(0, 50);
    const hit = entries.find((e) => e.status === 201);
    return hit ? Date.parse(hit.at) : undefined;
  }

  /**
   * Waits until `accepted` reaches `target` (bounded: gives up after `stallMs` without progress or
   * at `deadlineMs`). Returns the count reached.
   */
  async waitForAccepted(target: number, opts: { stallMs: number; deadlineMs: number; onProgress?: (n: number) => void }): Promise<number> {
    let last = -1;
    let lastChange = Date.now();
    for (let i = 0; i < 1_000_000; i++) {
      const { accepted } = await this.counters();
      opts.onProgress?.(accepted);
      if (accepted >= target) return accepted;
      if (accepted !== last) {
        last = accepted;
        lastChange = Date.now();
      }
      if (Date.now() - lastChange > opts.stallMs || Date.now() > opts.deadlineMs) return accepted;
      await sleep(50);
    }
    return last;
  }
}

/**
 * Collects carrier receipt times by message id from the sandbox log while a latency step runs:
 * one poll a second with `since` = the newest entry seen, so each entry is read about once and
 * the 10,000-entry ring cannot overflow between polls below 10,000 sends a second.
 */
export class ReceiptCollector {
  private readonly sandbox: SandboxClient;
  private sinceMs: number;
  readonly receivedAt = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;

  constructor(sandbox: SandboxClient, sinceMs: number) {
    this.sandbox = sandbox;
    this.sinceMs = sinceMs;
  }

  start(intervalMs = 1_000): void {
    this.timer = setInterval(() => void this.poll(), intervalMs);
  }

  async poll(): Promise<void> {
    if (this.polling) return this.polling;
    this.polling = (async () => {
      try {
        const entries = await this.sandbox.log(this.sinceMs);
        for (const e of entries) {
          if (e.status !== 201 || e.reference === undefined) continue;
          const at = Date.parse(e.at);
          if (!this.receivedAt.has(e.reference)) this.receivedAt.set(e.reference, at);
          if (at > this.sinceMs) this.sinceMs = at;
        }
      } catch {
        // a missed poll is caught up by the next one
      } finally {
        this.polling = undefined;
      }
    })();
    return this.polling;
  }

  /** Polls until every id is seen, or `stallMs` passes without news, or `deadlineMs`. */
  async waitFor(ids: readonly string[], opts: { stallMs: number; deadlineMs: number }): Promise<void> {
    let seen = -1;
    let lastChange = Date.now();
    for (let i = 0; i < 100_000; i++) {
      await this.poll();
      const have = ids.reduce((n, id) => n + (this.receivedAt.has(id) ? 1 : 0), 0);
      if (have === ids.length) return;
      if (have !== seen) {
        seen = have;
        lastChange = Date.now();
      }
      if (Date.now() - lastChange > opts.stallMs || Date.now() > opts.deadlineMs) return;
      await sleep(500);
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
